"""A causal LM without a chat template (GPT-2 style) gets a clear message, not a template error."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tokenizer_without_template():
    from transformers import AutoTokenizer

    from core import models
    from core.chat import llm

    folder = llm.ensure_hf_folder(models.resolve("smollm2-135m").path)
    tok = AutoTokenizer.from_pretrained(folder)
    assert tok.chat_template  # the real SmolLM2 has one...
    tok.chat_template = None  # ...a base model such as GPT-2 does not
    return tok


def test_chat_says_to_pick_an_instruct_model(tokenizer_without_template):
    from core.chat.conversation import build_prompt_ids

    with pytest.raises(ValueError, match="no chat template.*instruct model"):
        build_prompt_ids(tokenizer_without_template, [{"role": "user", "content": "Hello"}])


def test_lora_data_says_the_same(tokenizer_without_template):
    from core.chat.lora_data import Example, encode_example

    with pytest.raises(ValueError, match="no chat template"):
        encode_example(tokenizer_without_template, Example("Hi", "Arr, hello matey"), "")
