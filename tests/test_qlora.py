"""4-bit QLoRA on the real SmolLM2-135M weights: the availability check and its messages, the
nf4 load, a short 4-bit fine-tune whose loss falls, and its adapter used on the full-precision base.

bitsandbytes (pinned in requirements.txt) runs nf4 on x86 CPUs as well as CUDA, so the real
tests run here; the CUDA one (bf16 compute, gradient checkpointing) is marked requires_cuda.
"""
from __future__ import annotations

import json
import os
import time
import uuid

import pytest
import torch
from selenium.webdriver.common.by import By

import core.llm as llm
from core import models
from core.chat import GenerationSettings, reply
from core.device import get_device
from core.lora import LoraSettings, adapted_model, delete_adapter, find_adapter
from core.lora_train import check_settings, estimate, start_training, wait_until_free
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


def test_probe_runs_a_real_4bit_matmul_on_this_cpu():
    assert llm.four_bit_problem("cpu", probe=False) is None
    assert llm.four_bit_problem("cpu") is None  # imports bitsandbytes and multiplies in nf4


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
