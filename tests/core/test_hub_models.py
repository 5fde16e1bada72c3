"""Hub chat models (qwen2.5-0.5b, smollm2-360m) through the registry path, with no hub.

Users with internet get these with `python -m core.download KEY`; here there is no hub, so each
test builds a TINY RANDOM-WEIGHT model of the same architecture (Qwen2, Llama) in a temporary
folder, with SmolLM2's real tokenizer and chat template, and points the model's environment
variable (spec.env_var, e.g. NLP_STUDIO_MODEL_QWEN2_5_0_5B) at it. That exercises exactly what a
downloaded folder goes through: resolve -> core.chat.llm loader -> chat -> LoRA training -> adapter
on disk -> chatting with the adapter. The weights are random: these tests check plumbing and
numbers that follow from it, never what the model says, and nothing here is shown to a user.
"""
from __future__ import annotations

import json
import math
import uuid
from pathlib import Path

import pytest
import torch

from core import models
from core.chat.conversation import DEFAULT_SYSTEM_PROMPT, GenerationSettings, build_prompt_ids, normalize_messages, reply, stream_reply
from core.chat.llm import LOADER_4BIT, ensure_hf_folder, four_bit_problem
from core.chat.lora import adapted_model, delete_adapter, find_adapter, list_adapters, LoraSettings
from core.chat.lora_train import finetune, wait_until_free
from core.registry import get_spec

FRANCE = [{"role": "user", "content": "What is the capital of France?"}]
ARCHS = {"qwen2.5-0.5b": "qwen2", "smollm2-360m": "llama"}


def _tiny_folder(root: Path, arch: str) -> Path:
    """A 2-layer, 64-wide random model of `arch` with SmolLM2's tokenizer (vocabulary 49,152)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, Qwen2Config

    tok = AutoTokenizer.from_pretrained(ensure_hf_folder(models.resolve("smollm2-135m").path))
    shape = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                 tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                 pad_token_id=tok.pad_token_id)
    config = Qwen2Config(**shape) if arch == "qwen2" else LlamaConfig(**shape)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    folder = root / f"tiny-random-{arch}"
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    return folder


def _forget(key: str) -> None:
    """Drop the random model from the process-wide cache so no later test sees it as `key`."""
    for slot in [s for s in models._cache if s[0] == key]:
        del models._cache[slot]


@pytest.fixture(scope="module", params=sorted(ARCHS))
def hub_model(request, tmp_path_factory):
    key = request.param
    folder = _tiny_folder(tmp_path_factory.mktemp(key), ARCHS[key])
    spec = get_spec(key)
    _forget(key)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(spec.env_var, str(folder))
        yield key, folder
        _forget(key)


def test_env_var_names_follow_the_registry():
    assert get_spec("qwen2.5-0.5b").env_var == "NLP_STUDIO_MODEL_QWEN2_5_0_5B"
    assert get_spec("smollm2-360m").env_var == "NLP_STUDIO_MODEL_SMOLLM2_360M"


def test_without_weights_the_hub_model_says_how_to_get_them(monkeypatch):
    spec = get_spec("qwen2.5-0.5b")
    monkeypatch.delenv(spec.env_var, raising=False)
    monkeypatch.setenv("NLP_STUDIO_CONFIG", "/nonexistent/models.local.json")
    monkeypatch.delenv("NLP_STUDIO_ALLOW_DOWNLOAD", raising=False)
    _forget(spec.key)
    with pytest.raises(models.ModelMissingError, match=r"python -m core.download qwen2.5-0.5b"):
        reply(FRANCE, model="qwen2.5-0.5b")
    monkeypatch.setenv(spec.env_var, "/nonexistent/qwen")
    with pytest.raises(models.ModelMissingError, match="does not exist"):
        models.resolve("qwen2.5-0.5b")


def test_the_registry_loads_the_folder_with_its_own_architecture(hub_model):
    key, folder = hub_model
    src = models.resolve(key)
    assert src.kind == "env" and src.path == folder
    loaded = models.load(key, "cpu")
    lm = loaded.model
    assert lm.folder == folder and lm.quantization == "none"
    assert lm.model.config.model_type == ARCHS[key]
    assert lm.n_params < 5_000_000  # the tiny stand-in, not a real checkpoint
    row = next(r for r in models.status() if r.key == key)
    assert row.state == "loaded" and str(folder) in row.source


def test_chat_through_the_registry_matches_a_direct_generate(hub_model):
    """Seeded sampling (a random model's greedy reply is one token repeated) gives varied tokens,
    so equal text means the registry path templated, generated and decoded like plain transformers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    key, folder = hub_model
    settings = GenerationSettings(max_new_tokens=12, temperature=1.0, top_p=0.9, seed=7)
    pieces = list(stream_reply(FRANCE, model=key, settings=settings))
    assert pieces and reply(FRANCE, model=key, settings=settings) == pieces[-1].strip()
    tok = AutoTokenizer.from_pretrained(folder)
    direct = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = build_prompt_ids(tok, normalize_messages(FRANCE, DEFAULT_SYSTEM_PROMPT))
    torch.manual_seed(7)
    with torch.no_grad():
        out = direct.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                              max_new_tokens=12, do_sample=True, temperature=1.0, top_p=0.9, top_k=0,
                              pad_token_id=tok.pad_token_id)
    expected = tok.decode(out[0, len(ids):], skip_special_tokens=True)
    assert len(set(out[0, len(ids):].tolist())) > 3  # varied tokens, not one repeated
    # exact on purpose: the same fp32 weights and kernels in one process give the same logits bit
    # for bit, hence the same sampled tokens; no text is compared across machines here
    assert pieces[-1] == expected


def test_two_lora_steps_on_the_hub_model_give_an_adapter_for_it(hub_model):
    key, _ = hub_model
    wait_until_free()
    st = finetune("pirate", LoraSettings(steps=2, batch_size=2), name=f"test-hub-{uuid.uuid4().hex[:6]}",
                  model=key, threads=1)
    try:
        assert st.state == "done", st.error
        assert len(st.losses) == 2 and all(math.isfinite(x) for x in st.losses)
        # random weights predict the 49,152 tokens about uniformly: loss near ln(49152) = 10.8
        assert 9.0 < st.losses[0] < 12.5, st.losses
        info = find_adapter(st.adapter)
        assert info.base_model == key and info in list_adapters(key)
        assert st.adapter not in [a.name for a in list_adapters("smollm2-135m")]
        cfg = json.loads((info.path / "adapter_config.json").read_text())
        assert cfg["base_model_name_or_path"] == get_spec(key).hub_id  # portable: the hub id, not a local path
        model, _ = adapted_model(key, st.adapter)
        assert model.get_base_model().config.model_type == ARCHS[key]
        assert isinstance(reply(FRANCE, model=key, adapter=st.adapter, settings=GenerationSettings(max_new_tokens=4)),
                          str)
        with pytest.raises(ValueError, match=f"trained on {key}"):
            adapted_model("smollm2-135m", st.adapter)
    finally:
        if st.adapter:
            delete_adapter(st.adapter)


def test_qlora_on_the_hub_model(hub_model):
    key, _ = hub_model
    assert four_bit_problem("cpu") is None
    q = models.get(key, "cpu", loader=LOADER_4BIT)
    assert sum(type(m).__name__ == "Linear4bit" for m in q.model.modules()) == 2 * 7
    wait_until_free()
    st = finetune("pirate", LoraSettings(steps=2, batch_size=2, quantization="4bit"),
                  name=f"test-hubq-{uuid.uuid4().hex[:6]}", model=key, threads=1)
    try:
        assert st.state == "done", st.error
        assert len(st.losses) == 2 and all(math.isfinite(x) for x in st.losses)
        model, _ = adapted_model(key, st.adapter)  # on the full-precision base
        assert not any(type(m).__name__ == "Linear4bit" for m in model.modules())
    finally:
        if st.adapter:
            delete_adapter(st.adapter)
