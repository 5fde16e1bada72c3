"""core.chat.llm and core.chat.conversation on the real SmolLM2-135M-Instruct weights (offline GGUF package)."""
from __future__ import annotations

import pytest

from core import models
from core.chat.conversation import GenerationSettings, build_prompt_ids, normalize_messages, reply, stream_reply
from core.chat.llm import CausalLM, ensure_hf_folder

Q = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="session")
def smollm() -> CausalLM:
    return models.get("smollm2-135m")


def test_gguf_becomes_a_cached_hf_folder(smollm):
    folder = smollm.folder
    assert (folder / "config.json").is_file() and list(folder.glob("*.safetensors"))
    assert ensure_hf_folder(folder) == folder  # a folder is returned as is
    src = models.resolve("smollm2-135m").path
    assert src.suffix == ".gguf" and ensure_hf_folder(src) == folder  # converted once, then reused
    assert 130e6 < smollm.n_params < 140e6


def test_not_a_model_path_is_refused(tmp_path):
    bad = tmp_path / "weights.bin"
    bad.write_bytes(b"x")
    with pytest.raises(ValueError, match="neither a model folder nor a .gguf"):
        ensure_hf_folder(bad)


def test_base_model_answers_a_factual_question(smollm):
    assert "paris" in reply(Q, settings=GenerationSettings(max_new_tokens=24)).lower()


def test_stream_yields_the_growing_reply_and_stops_when_closed(smollm):
    gen = stream_reply([{"role": "user", "content": "Tell me a long story about a dog."}],
                       settings=GenerationSettings(max_new_tokens=200))
    seen = [next(gen) for _ in range(4)]
    gen.close()  # the stop button
    assert all(b.startswith(a) for a, b in zip(seen, seen[1:])) and len(seen[-1]) > len(seen[0])


def test_sampling_with_a_seed_is_repeatable(smollm):
    s = GenerationSettings(temperature=0.9, top_p=0.9, max_new_tokens=6, seed=3)
    assert reply(Q, settings=s) == reply(Q, settings=s)  # same process, same kernels: bit-identical logits


def test_system_prompt_and_history_use_the_chat_template(smollm):
    msgs = normalize_messages([{"role": "user", "content": "hi"}], "Be terse.")
    assert msgs[0] == {"role": "system", "content": "Be terse."}
    text = smollm.tokenizer.decode(build_prompt_ids(smollm.tokenizer, msgs))
    assert "<|im_start|>system\nBe terse." in text and text.rstrip().endswith("<|im_start|>assistant")


def test_long_history_drops_oldest_turns_but_a_long_message_is_refused(smollm):
    tok = smollm.tokenizer
    history = []
    for i in range(12):
        history += [{"role": "user", "content": f"question {i} " + "word " * 30},
                    {"role": "assistant", "content": "answer " * 30}]
    history.append({"role": "user", "content": "last question"})
    ids = build_prompt_ids(tok, normalize_messages(history, "sys"), max_input_tokens=200)
    text = tok.decode(ids)
    assert len(ids) <= 200 and "last question" in text and "question 0 " not in text and "sys" in text
    with pytest.raises(ValueError, match="tokens"):
        build_prompt_ids(tok, normalize_messages([{"role": "user", "content": "word " * 400}], "s"), 200)


@pytest.mark.parametrize("messages, match", [
    ([], "non-empty"),
    ([{"role": "robot", "content": "hi"}], "valid roles"),
    ([{"content": "hi"}], "role"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}], "last message"),
    ([{"role": "user", "content": "x" * 100_000}], "limit"),
])
def test_bad_messages_are_refused_with_the_fix(messages, match):
    with pytest.raises(ValueError, match=match):
        normalize_messages(messages)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="temperature"):
        GenerationSettings(temperature=5)
    with pytest.raises(ValueError, match="max_new_tokens"):
        GenerationSettings(max_new_tokens=0)
    with pytest.raises(ValueError, match="unknown setting"):
        GenerationSettings.from_dict({"temprature": 0.5})
