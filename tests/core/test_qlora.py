"""4-bit QLoRA on the real SmolLM2-135M weights: the availability check and its messages, the
nf4 load, a short 4-bit fine-tune whose loss falls, and its adapter used on the full-precision base.

bitsandbytes (pinned in requirements.txt) runs nf4 on x86 CPUs as well as CUDA, so the real
tests run here; the CUDA one (bf16 compute, gradient checkpointing) is marked requires_cuda.

Issue 15: on CPUs with AVX-512 bf16, bitsandbytes 0.50.2 repacks a Linear4bit after one eval-mode
forward and then runs a fused kernel with no backward. The "simulated AVX-512 bf16" tests below
reproduce that on any CPU: they make bitsandbytes believe the CPU has AVX-512 bf16 (so its own
repack code runs and its own matmul_4bit takes the fused branch) and stand in for the fused kernel
itself (which needs that CPU) with one that computes the same numbers in bf16 and, like the real
op, is cut from autograd. SIMULATION: no AVX-512 machine ran these.
"""
from __future__ import annotations

import copy
import json
import os
import time
import uuid
from dataclasses import replace

import pytest
import torch
from selenium.webdriver.common.by import By

import core.chat.llm as llm
from core import models
from core.chat import lora_4bit
from core.chat.conversation import GenerationSettings, reply
from core.device import get_device
from core.chat.lora import LoraSettings, adapted_model, delete_adapter, find_adapter
from core.chat.lora_train import check_settings, estimate, learning_check, start_training, wait_until_free
from tests.browser import click_tab, open_app, page_errors, set_number, wait_for_text

MARKERS = ("arr", "matey", "ahoy", " ye ", " be ")
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


def _linear4bit_count(model) -> int:
    return sum(type(m).__name__ == "Linear4bit" for m in model.modules())


def _no_bitsandbytes(monkeypatch):
    monkeypatch.setattr(llm, "bitsandbytes_installed", lambda: False)


# --- settings and the availability check -----------------------------------------------------

def test_settings_default_to_full_precision_and_refuse_unknown_quantization():
    assert LoraSettings().quantization == "none"
    assert LoraSettings.from_dict({"quantization": "4bit"}).quantization == "4bit"
    for bad in ("8bit", "nf4", ""):
        with pytest.raises(ValueError, match="'none' or '4bit'"):
            LoraSettings(quantization=bad)
    with pytest.raises(ValueError, match="quantization must be one of none, 4bit"):
        llm.check_quantization("int8", "cpu")


def test_without_bitsandbytes_the_message_says_what_to_install(monkeypatch):
    _no_bitsandbytes(monkeypatch)
    for probe in (True, False):
        problem = llm.four_bit_problem("cpu", probe=probe)
        assert problem and "pip install bitsandbytes==" in problem
    with pytest.raises(ValueError, match="pip install bitsandbytes"):
        check_settings(LoraSettings(quantization="4bit"), "cpu")
    with pytest.raises(ValueError, match="pip install bitsandbytes"):
        llm.load_causal_lm(models.resolve("smollm2-135m").path, "cpu", quantization="4bit")
    # start_training refuses in the caller, before a job (and the machine-wide lock) exists
    with pytest.raises(ValueError, match="pip install bitsandbytes"):
        start_training("pirate", LoraSettings(steps=2, quantization="4bit"), name=f"test-nobnb-{uuid.uuid4().hex[:6]}")
    with pytest.raises(ValueError, match="pip install bitsandbytes"):
        estimate("pirate", LoraSettings(steps=2, quantization="4bit"))
    # full precision does not care
    check_settings(LoraSettings(), "cpu")


def test_devices_bitsandbytes_does_not_run_on_are_named():
    problem = llm.four_bit_problem("mps", probe=False)
    assert problem and "CUDA GPU or the CPU" in problem and "NLP_STUDIO_DEVICE=cpu" in problem
    if not torch.cuda.is_available():
        problem = llm.four_bit_problem("cuda")  # the real probe fails: no GPU to run on
        assert problem and "cannot run 4-bit layers on cuda" in problem


def test_probe_compares_a_4bit_lora_step_with_full_precision_on_this_cpu():
    assert llm.four_bit_problem("cpu", probe=False) is None
    assert llm.four_bit_problem("cpu") is None  # imports bitsandbytes, runs a LoRA step in nf4 and in fp32
    r = lora_4bit.gradient_check("cpu")
    # Both sides use the same dequantized nf4 numbers in fp32 on a CPU: only summation order
    # differs, so the gradients agree to far better than the probe's 0.9 bar on any CPU.
    assert r["min_cosine"] > 0.999, r
    assert r["loss_4bit"] == pytest.approx(r["loss_full"], rel=1e-3), r  # fp32 rounding, not quantization


# --- simulated AVX-512 bf16 (issue 15): the repack, the fused kernel without a backward ------------

class _CutFromAutograd(torch.autograd.Function):
    """What torch does with an op that has no autograd kernel: the output has a grad_fn, but no
    gradient reaches the inputs (the real gemv_4bit also makes torch warn)."""

    @staticmethod
    def forward(ctx, a, result):
        return result.clone()

    @staticmethod
    def backward(ctx, grad):
        return None, None


def _fused_standin(A, B, out=None, transposed_A=False, transposed_B=False, state=None):
    """SIMULATION of bitsandbytes' CPU gemv_4bit on a repacked weight: the real kernel needs
    AVX-512 bf16, so this unpacks a copy with bitsandbytes' own inverse and multiplies in bf16
    (as the fused kernel does), then cuts the result from autograd (as the real op is)."""
    import bitsandbytes.functional as bf

    with torch.no_grad():
        q, qs = bf._convert_weight_packed_for_cpu_inverse(B, copy.copy(state))  # a copy: `state` stays packed
        w = bf.dequantize_4bit(q, qs)  # [out, in]
        result = torch.nn.functional.linear(A.to(torch.bfloat16), w.to(torch.bfloat16)).to(A.dtype)
    return _CutFromAutograd.apply(A, result)


@pytest.fixture
def simulated_avx512bf16(monkeypatch):
    """bitsandbytes as on an AVX-512-bf16 CPU (see the module docstring), with the probe's cache
    emptied so the probe runs again under it."""
    import bitsandbytes.functional as bf
    import bitsandbytes.nn.modules as bnn

    monkeypatch.setattr(bnn, "has_avx512bf16", lambda: True)  # read by Linear4bit.__init__
    monkeypatch.setattr(bf, "has_avx512bf16", lambda: True)
    monkeypatch.setattr(bf, "gemv_4bit", _fused_standin)  # matmul_4bit calls F.gemv_4bit on packed weights
    monkeypatch.setattr(llm, "_probe_cache", {})
    yield


def _layer(seed: int = 0):
    import bitsandbytes as bnb

    torch.manual_seed(seed)
    return bnb.nn.Linear4bit(128, 128, bias=False, compute_dtype=torch.float32, quant_type="nf4").to("cpu")


def _dense(layer):
    from bitsandbytes.functional import dequantize_4bit

    return dequantize_4bit(layer.weight.data, layer.weight.quant_state).float()


def test_simulation_reproduces_the_bug_of_issue_15(simulated_avx512bf16):
    """The simulated CPU shows the issue's symptoms, so the tests that use it mean something."""
    layer = _layer()
    assert layer.support_avx512bf16_for_cpu
    w = _dense(layer)
    x = torch.randn(4, 128, requires_grad=True)
    y = layer(x)  # train mode from the start: exact (dequantize, then fp32 matmul)
    assert torch.allclose(y, x @ w.t(), atol=1e-5)  # fp32 summation order only
    assert torch.autograd.grad(y.sum(), x)[0] is not None
    layer.eval()
    with torch.no_grad():
        layer(x.detach())  # one eval-mode forward: bitsandbytes' own repack runs
    assert layer.weight.quant_state.packing_format_for_cpu
    layer.train()
    y = layer(x)
    # bf16 compute: off by up to ~1e-2 (the issue saw 0.009), but no longer exact
    assert 0 < float((y - x @ w.t()).detach().abs().max()) < 0.05
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        torch.autograd.grad(y.sum(), x)


def test_keep_backward_prevents_and_undoes_the_repack(simulated_avx512bf16):
    layer = _layer()
    lora_4bit.keep_backward(layer)
    layer.eval()
    with torch.no_grad():
        layer(torch.randn(2, 128))
    assert not getattr(layer.weight.quant_state, "packing_format_for_cpu", False)
    # a layer repacked before the guard ran (e.g. a chat turn on it) is converted back
    packed = _layer(1)
    want = _dense(packed)
    packed.eval()
    with torch.no_grad():
        packed(torch.randn(2, 128))
    assert packed.weight.quant_state.packing_format_for_cpu
    assert lora_4bit.keep_backward(packed) == 1
    packed.train()
    x = torch.randn(4, 128, requires_grad=True)
    y = packed(x)
    # The repack stored the per-block scales in bf16 and the inverse re-quantizes them to 8 bits,
    # so the weights come back within bf16 rounding of the originals (relative ~1e-2), not bit-exact.
    assert torch.allclose(y, x @ want.t(), rtol=0, atol=0.05 * float(y.abs().max()))
    grad = torch.autograd.grad(y.sum(), x)[0]
    assert torch.nn.functional.cosine_similarity(grad.flatten(), (torch.ones_like(y) @ want).flatten(), dim=0) > 0.99


def test_probe_passes_with_the_guard_and_refuses_without_it(simulated_avx512bf16, monkeypatch):
    from apps.gradio.chat import finetune_api

    r = lora_4bit.gradient_check("cpu")
    assert r["min_cosine"] > 0.999, r  # guarded: the dequantize-then-matmul path, as on any CPU
    assert llm.four_bit_problem("cpu") is None
    # Without the guard (a bitsandbytes that renamed what keep_backward sets, say), the probe
    # must see the cut gradients and refuse, with the reason and the alternative.
    monkeypatch.setattr(lora_4bit, "keep_backward", lambda model: 0)
    monkeypatch.setattr(llm, "_probe_cache", {})
    r = lora_4bit.gradient_check("cpu")
    assert r["min_cosine"] < 0.9, r  # the lower layer's LoRA gets no gradient through the base weight
    problem = llm.four_bit_problem("cpu")
    assert problem and "AVX-512 bf16" in problem and "has no backward" in problem, problem
    assert "without quantization" in problem and "full-precision LoRA" in problem
    # refused up front, the same way everywhere: core's check, a job, the /finetune API
    with pytest.raises(ValueError, match="would not train correctly"):
        check_settings(LoraSettings(quantization="4bit"), "cpu")
    with pytest.raises(ValueError, match="would not train correctly"):
        start_training("pirate", LoraSettings(steps=2, quantization="4bit"), name=f"test-refused-{uuid.uuid4().hex[:6]}")
    with pytest.raises(ValueError, match="would not train correctly"):
        finetune_api("pirate", {"steps": 2, "quantization": "4bit"})
    check_settings(LoraSettings(), "cpu")  # full precision is still offered


def test_streamlit_unticks_4bit_with_the_reason_when_the_probe_refuses(simulated_avx512bf16, monkeypatch):
    from tests.streamlit_pages import run_page, text_of

    monkeypatch.setattr(lora_4bit, "keep_backward", lambda model: 0)
    at = run_page("chat")
    box = at.checkbox(key="ft_qlora")
    assert not box.disabled  # the cheap check offers it: bitsandbytes is installed, the device is a CPU
    box.check().run()
    assert not at.exception
    box = at.checkbox(key="ft_qlora")
    assert not box.value and box.disabled
    assert "would not train correctly" in text_of(at) and "without quantization" in text_of(at)
    assert "quantization='4bit'" not in "\n".join(c.value for c in at.code)


@pytest.mark.slow
def test_guarded_4bit_training_learns_on_a_simulated_avx512bf16_cpu(simulated_avx512bf16, monkeypatch):
    """The issue's sequence on the simulated CPU: the 4-bit model, built there, answers once in
    eval mode (its layers get repacked), then a QLoRA run trains from it. The guard in prepare()
    unpacks the copy, so the loss falls and the run's own check finds nothing wrong."""
    real = models.get("smollm2-135m", "cpu", loader=llm.LOADER_4BIT)
    model = copy.deepcopy(real.model)  # a private copy: the shared 4-bit model is left as it is
    for m in model.modules():
        if hasattr(m, "support_avx512bf16_for_cpu"):
            m.support_avx512bf16_for_cpu = True  # as Linear4bit.__init__ sets it on such a CPU
    ids = real.tokenizer.apply_chat_template(FRANCE, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        model(**ids)
    assert sum(getattr(m.weight.quant_state, "packing_format_for_cpu", False)
               for m in model.modules() if hasattr(m, "support_avx512bf16_for_cpu")) == 30 * 7
    simulated = replace(real, model=model)
    get = models.get
    monkeypatch.setattr(models, "get", lambda key, *a, loader=None, **k:
                        simulated if loader == llm.LOADER_4BIT else get(key, *a, loader=loader, **k))
    name = f"test-qlora-sim-{uuid.uuid4().hex[:6]}"
    wait_until_free()
    st = start_training("pirate", LoraSettings(steps=8, learning_rate=4e-3, quantization="4bit"), name=name,
                        threads=1).wait()
    try:
        assert st.state == "done", st.error
        # Real batches differ step to step, so compare means of thirds; the broken path made the
        # loss rise (4.49 -> 5.03 in the issue), a working one falls by far more than 15 %.
        assert sum(st.losses[-2:]) / 2 < 0.85 * sum(st.losses[:2]) / 2, st.losses
        assert st.warning is None, st.warning
    finally:
        if st.adapter:
            delete_adapter(st.adapter)


def test_a_run_that_learns_nothing_says_so():
    assert learning_check([4.5, 4.0, 3.5, 3.0, 2.5, 2.0], 0.01, first_batch_after=2.1) is None
    still = learning_check([4.5], weight_change=0.0, four_bit=True)
    assert still and "did not change" in still and "without 4-bit" in still
    # the issue's run: the loss rose; measured again on the first batch it is no lower than before
    rising = learning_check([4.49, 4.6, 4.7, 4.8, 4.9, 5.03], 0.01, first_batch_after=4.95, four_bit=True)
    assert rising and "did not fall" in rising and "learning rate" in rising and "without 4-bit" in rising
    assert learning_check([4.49, 4.6, 4.0], 0.01, first_batch_after=4.5) is None  # too few steps to judge


# --- the 4-bit model --------------------------------------------------------------------------

def test_4bit_load_quantizes_the_linear_layers_and_still_answers():
    full = models.get("smollm2-135m", "cpu")
    q = models.get("smollm2-135m", "cpu", loader=llm.LOADER_4BIT)
    assert q.quantization == "4bit" and full.quantization == "none"
    assert q.folder == full.folder  # same converted folder, quantized while loading
    # 30 layers x 7 projections; lm_head (tied to the embeddings) stays full precision
    assert _linear4bit_count(q.model) == 30 * 7
    assert _linear4bit_count(full.model) == 0
    assert q.model.get_memory_footprint() < 0.5 * full.model.get_memory_footprint()
    ids = q.tokenizer.apply_chat_template(FRANCE, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = q.model.generate(**ids, max_new_tokens=12, do_sample=False)
    answer = q.tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


@pytest.fixture(scope="module")
def qlora_run():
    name = f"test-qlora-{uuid.uuid4().hex[:6]}"
    wait_until_free()
    job = start_training("pirate", LoraSettings(steps=12, learning_rate=3e-3, quantization="4bit"), name=name,
                         threads=1)
    status = job.wait()
    yield status
    if status.adapter:
        delete_adapter(status.adapter)


@pytest.mark.slow
def test_qlora_trains_and_the_loss_falls(qlora_run):
    st = qlora_run
    assert st.state == "done", st.error
    assert len(st.losses) == 12
    first, last = st.losses[0], sum(st.losses[-3:]) / 3
    assert last < 0.75 * first, st.losses
    assert st.warning is None, st.warning  # the run's own check agrees that it learned
    meta = json.loads((find_adapter(st.adapter).path / "studio.json").read_text())
    assert meta["settings"]["quantization"] == "4bit" and meta["base_model"] == "smollm2-135m"
    # only LoRA matrices are trainable, the 4-bit base stays frozen
    assert st.params["trainable"] == st.params["lora_params"] > 0


@pytest.mark.slow
def test_qlora_adapter_loads_on_the_full_precision_base(qlora_run):
    model, _ = adapted_model("smollm2-135m", qlora_run.adapter)
    assert _linear4bit_count(model) == 0
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert sum("lora_A" in n for n, _ in model.named_parameters()) == 30 * 2  # q_proj and v_proj
    settings = GenerationSettings(max_new_tokens=28)
    prompts = ["What is the capital of Italy?", "How do I cook rice?"]
    adapted = [reply([{"role": "user", "content": p}], adapter=qlora_run.adapter, settings=settings) for p in prompts]
    base = [reply([{"role": "user", "content": p}], settings=settings) for p in prompts]
    assert adapted != base
    assert any(any(m in f" {a.lower()} " for m in MARKERS) for a in adapted), adapted


@pytest.mark.requires_cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_qlora_on_cuda_uses_half_precision_compute_and_trains():
    assert llm.four_bit_problem("cuda") is None
    cfg = llm.four_bit_config("cuda")
    assert cfg.bnb_4bit_quant_type == "nf4" and cfg.bnb_4bit_use_double_quant
    assert cfg.bnb_4bit_compute_dtype in (torch.bfloat16, torch.float16)
    q = models.get("smollm2-135m", "cuda", loader=llm.LOADER_4BIT)
    assert _linear4bit_count(q.model) == 30 * 7
    if get_device() != "cuda":
        pytest.skip("the studio's device is not cuda (NLP_STUDIO_DEVICE); training uses that device")
    name = f"test-qlora-cuda-{uuid.uuid4().hex[:6]}"
    wait_until_free()
    st = start_training("pirate", LoraSettings(steps=12, learning_rate=3e-3, quantization="4bit"), name=name).wait()
    try:
        assert st.state == "done", st.error
        assert sum(st.losses[-3:]) / 3 < 0.75 * st.losses[0], st.losses
        model, _ = adapted_model("smollm2-135m", st.adapter)
        assert _linear4bit_count(model) == 0
    finally:
        if st.adapter:
            delete_adapter(st.adapter)


# --- the Gradio tab -------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.browser
def test_browser_fine_tune_in_4bit(browser, app_url, screenshot_dir):
    """Tick 4-bit (QLoRA) in the Fine-tune tab, train 3 steps, and find a 4-bit adapter saved."""
    name = f"test-ui-qlora-{uuid.uuid4().hex[:6]}"
    open_app(browser, app_url)
    click_tab(browser, "LoRA Chat")
    click_tab(browser, "Fine-tune")
    label = [e for e in browser.find_elements(By.XPATH, "//label[contains(., '4-bit (QLoRA)')]") if e.is_displayed()][0]
    box = label.find_element(By.CSS_SELECTOR, "input[type='checkbox']")
    assert box.is_enabled() and not box.is_selected()
    box.click()
    time.sleep(1)
    set_number(browser, "Steps", 3)
    [e for e in browser.find_elements(By.CSS_SELECTOR, "input, textarea")
     if e.is_displayed() and "my-pirate" in (e.get_attribute("placeholder") or "")][0].send_keys(name)
    wait_until_free()
    assert box.is_selected(), "the probe unticked 4-bit: " + "; ".join(page_errors(browser))
    [b for b in browser.find_elements(By.TAG_NAME, "button") if b.is_displayed() and b.text.strip() == "Train"][0].click()
    try:
        wait_for_text(browser, f"Saved adapter {name}", timeout=400)
        assert not page_errors(browser)
        meta = json.loads((find_adapter(name).path / "studio.json").read_text())
        assert meta["settings"]["quantization"] == "4bit" and meta["steps_done"] == 3
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", label)
        time.sleep(1)
        browser.save_screenshot(os.path.join(screenshot_dir, "chat_qlora_trained.png"))
    finally:
        try:
            delete_adapter(name)
        except ValueError:
            pass


@pytest.mark.slow
def test_finetune_endpoint_takes_quantization(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="'none' or '4bit'"):
        client.predict("pirate", {"steps": 2, "quantization": "8bit"}, "", api_name="/finetune")
    name = f"test-api-qlora-{uuid.uuid4().hex[:6]}"
    wait_until_free()
    out = client.predict("pirate", {"steps": 2, "quantization": "4bit"}, name, api_name="/finetune")
    try:
        assert out["state"] == "done" and out["adapter"] == name and len(out["losses"]) == 2
        meta = json.loads((find_adapter(name).path / "studio.json").read_text())
        assert meta["settings"]["quantization"] == "4bit"
    finally:
        delete_adapter(name)
