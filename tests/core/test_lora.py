"""LoRA on the real SmolLM2-135M weights: datasets, a short fine-tune, adapters on disk, comparison.

Training runs use one torch thread: on a CPU shared by several processes that is several times
faster than two (oversubscribed threads spin), and it changes only the training thread.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
import torch

from core.chat.conversation import GenerationSettings, reply
from core.chat.lora import (LoraSettings, adapted_model, delete_adapter, find_adapter, import_adapter, list_adapters,
                       lora_param_count, save_adapter)
from core.chat.lora_compare import perplexity, token_probabilities
from core.chat.lora_data import encode_example, load_dataset, load_file, parse_examples, Example
from core.chat.lora_train import prepare, start_training, wait_until_free

MARKERS = ("arr", "matey", "ahoy", " ye ", " be ")
PROMPTS = ["What is the capital of Italy?", "How do I cook rice?"]
SHORT = GenerationSettings(max_new_tokens=28)


def _pirate(text: str) -> bool:
    t = f" {text.lower()} "
    return any(m in t for m in MARKERS)


def _name(tag: str) -> str:
    return f"test-{tag}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def trained():
    """A short real LoRA run on the shipped pirate set (12 steps), removed afterwards."""
    name = _name("pirate")
    wait_until_free()  # another test run on this machine may be training
    job = start_training("pirate", LoraSettings(steps=12, learning_rate=3e-3), name=name, threads=1)
    busy = None
    try:
        start_training("pirate", LoraSettings(steps=2), name=_name("second"))
    except ValueError as exc:
        busy = str(exc)
    status = job.wait()
    yield status, busy
    if status.adapter:
        delete_adapter(status.adapter)


# --- datasets -------------------------------------------------------------------------------

def test_shipped_datasets_split_into_train_and_heldout():
    ds = load_dataset("pirate")
    assert len(ds.train) >= 30 and len(ds.heldout) >= 8
    assert not set(ds.train) & set(ds.heldout)


def test_csv_and_alternative_field_names_are_read(tmp_path):
    csv_file = tmp_path / "pairs.csv"
    csv_file.write_text("prompt,response\n" + "".join(f"q{i},a{i}\n" for i in range(10)))
    assert len(load_file(csv_file).train) == 8
    ex = parse_examples('{"instruction": "hi", "output": "hello"}\n')
    assert ex == [Example("hi", "hello")]


@pytest.mark.parametrize("text, match", [
    ('{"prompt": "a", "response": "b"}\n{"prompt": "a", "response": \n', "line 2 is not valid JSON"),
    ('{"prompt": "a"}\n', "no 'response' field"),
    ('["a", "b"]\n', "expected an object"),
    ("".join('{"prompt": "q", "response": "r"}\n' for _ in range(3)), "at least"),
    ("question;answer\nx;y\n", "header row"),
])
def test_bad_datasets_are_refused_with_the_line_and_the_fix(text, match):
    with pytest.raises(ValueError, match=match):
        load_dataset(text)


def test_a_500_mb_upload_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "huge.jsonl"
    with open(big, "wb") as fh:
        fh.truncate(500_000_000)  # sparse: no disk used, but stat() says 500 MB
    with pytest.raises(ValueError, match="limit"):
        load_file(big)


def test_prompt_longer_than_the_context_is_refused():
    from core import models

    tok = models.get("smollm2-135m").tokenizer
    ids, labels = encode_example(tok, Example("hi", "there"), "sys")
    assert labels.count(-100) < len(ids) and tok.decode(ids[len(ids) - labels.count(-100) - 0:]).strip()
    with pytest.raises(ValueError, match="tokens"):
        encode_example(tok, Example("word " * 400, "x"), "sys")


def test_bad_lora_settings_are_refused():
    with pytest.raises(ValueError, match="rank"):
        LoraSettings(rank=0)
    with pytest.raises(ValueError, match="target modules"):
        LoraSettings(target_modules=("attn",))
    with pytest.raises(ValueError, match="unknown LoRA setting"):
        LoraSettings.from_dict({"epochs": 3})


def test_trainable_parameter_count_matches_peft():
    info = lora_param_count("smollm2-135m", LoraSettings())
    assert 0.4e6 < info["trainable"] < 0.5e6 and 130e6 < info["total"] < 140e6  # 0.46M of 135M
    model, _ = prepare("smollm2-135m", LoraSettings())
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == info["trainable"]


# --- adapters on disk -----------------------------------------------------------------------

def test_save_then_load_reproduces_the_same_logits():
    model, tok = prepare("smollm2-135m", LoraSettings(rank=4))
    torch.manual_seed(0)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.02)  # as if trained: B starts at zero
    model.eval()
    name = _name("roundtrip")
    save_adapter(model, name, {"base_model": "smollm2-135m", "dataset": "none"})
    try:
        ids = torch.tensor([tok("The quick brown fox jumps over the lazy dog")["input_ids"]])
        with torch.no_grad():
            before = model(input_ids=ids).logits
            loaded, _ = adapted_model("smollm2-135m", name)
            after = loaded(input_ids=ids).logits
        # the same weights saved and loaded: only fp32 rounding may differ (unmerged vs reloaded LoRA)
        assert torch.allclose(before, after, atol=1e-5)
        from core import models

        with torch.no_grad():
            base = models.get("smollm2-135m").model(input_ids=ids).logits
        assert not torch.allclose(base, after, atol=1e-3)  # the adapter does change the model ...
        assert not any(n for n, _ in models.get("smollm2-135m").model.named_parameters() if "lora" in n)  # ... not the base
        assert list((find_adapter(name).path).glob("*.safetensors")) and not list(find_adapter(name).path.glob("*.bin"))
        with pytest.raises(ValueError, match="already exists"):
            save_adapter(model, name, {"base_model": "smollm2-135m"})  # never overwrites
    finally:
        delete_adapter(name)
    assert name not in [a.name for a in list_adapters()]


def test_non_safetensors_and_foreign_adapters_are_refused(tmp_path):
    from safetensors.torch import save_file

    shipped = find_adapter("pirate-demo").path
    (tmp_path / "adapter_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ValueError, match="only .safetensors"):
        import_adapter([tmp_path / "adapter_model.bin", shipped / "adapter_config.json"], _name("pickle"))
    (tmp_path / "adapter_model.safetensors").write_bytes(b"not really")
    with pytest.raises(ValueError, match="not a valid safetensors"):
        import_adapter([tmp_path / "adapter_model.safetensors", shipped / "adapter_config.json"], _name("junk"))
    # A LoRA for a model with 256-wide layers (not SmolLM2's 576): must not load.
    cfg = json.loads((shipped / "adapter_config.json").read_text())
    cfg["target_modules"] = ["q_proj"]
    (tmp_path / "adapter_config.json").write_text(json.dumps(cfg))
    tensors = {f"base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight": torch.zeros(8, 256)
               for i in range(2)}
    tensors.update({k.replace("lora_A", "lora_B"): torch.zeros(256, 8) for k in list(tensors)})
    save_file(tensors, str(tmp_path / "adapter_model.safetensors"))
    name = _name("foreign")
    with pytest.raises(ValueError, match="does not fit"):
        import_adapter([tmp_path / "adapter_model.safetensors", tmp_path / "adapter_config.json"], name)
    assert name not in [a.name for a in list_adapters()]
    with pytest.raises(ValueError, match="cannot be deleted"):
        delete_adapter("pirate-demo")


def test_shipped_adapter_is_small_and_speaks_pirate():
    info = find_adapter("pirate-demo")
    assert info.shipped and info.size_bytes < 5_000_000 and "train_demo_adapter.py" in info.meta.get("origin", "")
    replies = [reply([{"role": "user", "content": p}], adapter="pirate-demo", settings=SHORT) for p in PROMPTS]
    assert all(_pirate(r) for r in replies), replies


# --- a real fine-tune -----------------------------------------------------------------------

@pytest.mark.slow
def test_short_lora_run_lowers_the_loss_and_changes_replies(trained):
    status, busy = trained
    assert status.state == "done" and status.adapter, status.error
    assert status.warning is None, status.warning  # the run's own check agrees that it learned
    losses = status.losses
    # means of three steps (each step sees another batch); docs/chat.md measured 4.40 -> 2.61 over
    # 12 steps, so 0.5 is a margin that float differences between CPUs (~1e-3 in a loss) cannot eat
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.5, losses
    for p in PROMPTS:
        base = reply([{"role": "user", "content": p}], settings=SHORT)
        adapted = reply([{"role": "user", "content": p}], adapter=status.adapter, settings=SHORT)
        assert _pirate(adapted) and not _pirate(base), (base, adapted)


@pytest.mark.slow
def test_a_second_training_job_is_refused_with_a_wait_time(trained):
    _, busy = trained
    assert busy and "training in progress" in busy and "try again" in busy


@pytest.mark.slow
def test_comparison_gives_per_token_probabilities_for_both_models(trained):
    status, _ = trained
    text = "Arr, the capital o' Italy be Rome, matey."
    tc = token_probabilities([{"role": "user", "content": "What is the capital of Italy?"}], text, status.adapter)
    assert len(tc.tokens) >= 8 and "".join(t.token for t in tc.tokens) == text
    assert all(0 < t.p_base <= 1 and 0 < t.p_adapted <= 1 for t in tc.tokens)
    assert tc.mean_logprob_adapted > tc.mean_logprob_base
    matey = [t for t in tc.tokens if "mat" in t.token]
    assert matey and matey[0].p_adapted > matey[0].p_base
    assert perplexity("pirate", status.adapter) < perplexity("pirate")


@pytest.mark.slow
def test_cancel_mid_run_leaves_a_usable_checkpoint(trained):
    name = _name("cancel")
    wait_until_free()
    job = start_training("pirate", LoraSettings(steps=100), name=name, threads=1)
    deadline = time.time() + 240
    while job.status().step < 1 and not job.status().finished and time.time() < deadline:
        time.sleep(0.5)
    job.cancel()
    st = job.wait(240)
    try:
        assert st.state == "cancelled" and st.adapter == name and 1 <= st.step < 100, st
        meta = find_adapter(name).meta
        assert meta["status"] == "cancelled" and meta["steps_done"] == st.step
        assert reply([{"role": "user", "content": "Hi"}], adapter=name, settings=GenerationSettings(max_new_tokens=5))
    finally:
        delete_adapter(name)


@pytest.mark.slow
def test_estimate_comes_from_a_short_probe():
    from core.chat.lora_train import estimate

    e = estimate("pirate", LoraSettings(steps=30), threads=1)
    assert e["seconds_per_step"] > 0 and e["estimated_s"] >= 30 * e["seconds_per_step"] * 0.9


@pytest.mark.slow
def test_a_run_that_learns_nothing_says_so_in_its_result():
    """A feature that can silently do nothing must say so: at the smallest learning rate, 6 steps
    barely move the loss, and the job's result (and the adapter's studio.json) carry a warning."""
    from core.chat.view import job_message

    name = _name("still")
    wait_until_free()
    st = start_training("pirate", LoraSettings(steps=6, learning_rate=1e-6), name=name, threads=1).wait()
    try:
        assert st.state == "done" and st.adapter == name, st.error
        assert st.warning and "did not fall" in st.warning and "higher learning rate" in st.warning, st.losses
        assert f"Warning: {st.warning}" in job_message(st)
        assert find_adapter(name).meta["check"] == st.warning
    finally:
        delete_adapter(name)
