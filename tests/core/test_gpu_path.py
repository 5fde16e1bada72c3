"""The GPU code path, checked without a GPU: where models run, the half-precision choices, and
the requires_cuda tests skipping with a reason. No GPU was lent to the session that wrote these
(issue 15); the requires_cuda tests themselves still need one (docs/chat.md says what was not
measured). torch.cuda is monkeypatched here, so these run the same on any machine."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from core import device
from core.chat import llm


@pytest.fixture
def fresh_device(monkeypatch):
    """get_device() recomputed under the test's environment, and recomputed again afterwards."""
    monkeypatch.delenv("NLP_STUDIO_DEVICE", raising=False)
    monkeypatch.delenv("NLP_STUDIO_TORCH_THREADS", raising=False)
    device.get_device.cache_clear()
    yield monkeypatch
    device.get_device.cache_clear()


def _gpu(monkeypatch, present: bool, bf16: bool = True):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: present)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_a_visible_gpu_is_chosen_and_can_be_overridden(fresh_device):
    _gpu(fresh_device, present=True)
    assert device.get_device() == "cuda"
    for wanted in ("cpu", "cuda:1"):
        fresh_device.setenv("NLP_STUDIO_DEVICE", wanted)
        device.get_device.cache_clear()
        assert device.get_device() == wanted


def test_asking_for_cuda_without_a_gpu_falls_back_to_cpu_with_a_warning(fresh_device):
    _gpu(fresh_device, present=False)
    fresh_device.setenv("NLP_STUDIO_DEVICE", "cuda")
    with pytest.warns(UserWarning, match="no CUDA GPU is visible; using cpu"):
        assert device.get_device() == "cpu"


def test_half_precision_only_on_cuda():
    assert device.use_fp16("cuda") and device.use_fp16("cuda:0")
    assert not device.use_fp16("cpu") and not device.use_fp16("mps")


@pytest.mark.parametrize("bf16, want", [(True, torch.bfloat16), (False, torch.float16)])
def test_4bit_compute_dtype_is_bf16_where_the_gpu_has_it_else_fp16(monkeypatch, bf16, want):
    _gpu(monkeypatch, present=True, bf16=bf16)
    assert llm.compute_dtype("cuda") == want and llm.compute_dtype("cuda:0") == want
    cfg = llm.four_bit_config("cuda")
    assert cfg.bnb_4bit_compute_dtype == want and cfg.bnb_4bit_quant_type == "nf4" and cfg.bnb_4bit_use_double_quant
    assert llm.compute_dtype("cpu") == torch.float32  # half precision is slower on a CPU


def _decorators(fn) -> list[str]:
    return [ast.unparse(d) for d in fn.decorator_list]


def test_requires_cuda_tests_are_registered_and_skip_with_a_reason(request):
    """Read from the test files' source (not the collected items), so this checks every
    requires_cuda test however this run was selected."""
    assert any(m.startswith("requires_cuda:") for m in request.config.getini("markers"))
    found = []
    for path in sorted(Path(__file__).parents[1].rglob("test_*.py")):
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.FunctionDef) and "pytest.mark.requires_cuda" in _decorators(fn):
                found.append(fn.name)
                skips = [d for d in _decorators(fn) if d.startswith("pytest.mark.skipif(") and "reason=" in d]
                assert skips and "torch.cuda.is_available()" in skips[0], \
                    f"{path.name}::{fn.name} is marked requires_cuda but does not skip with a reason without a GPU"
    assert "test_qlora_on_cuda_uses_half_precision_compute_and_trains" in found
