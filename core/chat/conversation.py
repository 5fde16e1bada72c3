"""Chat with a causal LM: messages in, reply text out, streamed as it is generated.

    from core.chat.conversation import reply, stream_reply, GenerationSettings
    reply([{"role": "user", "content": "What is the capital of France?"}])
    for text in stream_reply(messages, adapter="pirate-demo"):   # the growing reply
        print(text)

The prompt is built with the model's own chat template. A history that does not fit the
context budget loses its oldest turns first (the system prompt is kept); a single message that
is too long on its own is refused with the limit in the message.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterator

from core.config import CHAT_MAX_INPUT_TOKENS, CHAT_MAX_MESSAGE_CHARS, CHAT_MAX_NEW_TOKENS

ROLES = ("system", "user", "assistant")
DEFAULT_MODEL = "smollm2-135m"
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."


@dataclass(frozen=True)
class GenerationSettings:
    """How to sample a reply.

    temperature 0 means greedy decoding (the same reply every time); top_p is nucleus
    sampling's probability mass; system_prompt is used when the messages carry none.
    """

    temperature: float = 0.0
    top_p: float = 0.9
    max_new_tokens: int = 128
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be between 0 and 2 (0 = greedy), got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if not 1 <= self.max_new_tokens <= CHAT_MAX_NEW_TOKENS:
            raise ValueError(f"max_new_tokens must be between 1 and {CHAT_MAX_NEW_TOKENS}, got {self.max_new_tokens}"
                             " (raise NLP_STUDIO_CHAT_MAX_NEW_TOKENS to allow more)")
        if len(self.system_prompt) > CHAT_MAX_MESSAGE_CHARS:
            raise ValueError(f"the system prompt is {len(self.system_prompt)} characters; the limit is "
                             f"{CHAT_MAX_MESSAGE_CHARS}")

    @classmethod
    def from_dict(cls, data: dict | None) -> "GenerationSettings":
        """From a JSON object (the API); unknown keys are refused with the valid ones listed."""
        data = dict(data or {})
        valid = set(cls.__dataclass_fields__)
        unknown = set(data) - valid
        if unknown:
            raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(valid))}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"bad settings: {exc}") from exc


def _text(content: Any) -> str:
    # gradio's Chatbot may hand content over as a list of parts ({"type": "text", "text": ...}).
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    if isinstance(content, (list, tuple)):
        return "".join(_text(c) for c in content)
    return "" if content is None else str(content)


def normalize_messages(messages: list[dict], system_prompt: str = "") -> list[dict]:
    """Validated `[{"role", "content"}]` with plain-string content, a system message first
    (the given `system_prompt` when the messages carry none), ending with a user turn."""
    if not isinstance(messages, (list, tuple)) or not messages:
        raise ValueError('messages must be a non-empty list of {"role": ..., "content": ...} objects')
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise ValueError(f'message {i} must be an object with "role" and "content", got {m!r:.80}')
        role = m["role"]
        if role not in ROLES:
            raise ValueError(f"message {i} has role {role!r}; valid roles: {', '.join(ROLES)}")
        text = _text(m["content"])
        if len(text) > CHAT_MAX_MESSAGE_CHARS:
            raise ValueError(f"message {i} is {len(text)} characters; the limit is {CHAT_MAX_MESSAGE_CHARS} "
                             "(shorten it, or raise NLP_STUDIO_CHAT_MAX_MESSAGE_CHARS)")
        out.append({"role": role, "content": text})
    if out[-1]["role"] != "user":
        raise ValueError("the last message must be from the user (the model answers it)")
    if out[0]["role"] != "system" and system_prompt.strip():
        out.insert(0, {"role": "system", "content": system_prompt.strip()})
    return out


def require_chat_template(tokenizer: Any) -> None:
    """A base model without a chat template (GPT-2) cannot take turns: say so, and what to pick."""
    if not getattr(tokenizer, "chat_template", None):
        name = getattr(tokenizer, "name_or_path", "") or "this model"
        raise ValueError(f"{name} has no chat template, so it cannot hold a conversation or learn from "
                         "prompt/response pairs. Pick an instruct model (smollm2-135m, smollm2-360m, "
                         "qwen2.5-0.5b); GPT-2 still works in the Attention tab.")


def build_prompt_ids(tokenizer: Any, messages: list[dict], max_input_tokens: int = CHAT_MAX_INPUT_TOKENS) -> list[int]:
    """Token ids of the chat-templated prompt, ready for the assistant's turn.

    Drops the oldest non-system turns until the prompt fits `max_input_tokens`.
    """
    require_chat_template(tokenizer)
    system = [m for m in messages[:1] if m["role"] == "system"]
    turns = messages[len(system):]
    while True:
        ids = tokenizer.apply_chat_template(system + turns, add_generation_prompt=True, tokenize=True)
        if hasattr(ids, "keys"):  # transformers 5 returns a BatchEncoding
            ids = ids["input_ids"]
        if len(ids) <= max_input_tokens:
            return list(ids)
        if len(turns) <= 1:
            raise ValueError(f"your message is {len(ids)} tokens with the system prompt; the model's input "
                             f"limit here is {max_input_tokens} tokens. Shorten it "
                             "(or raise NLP_STUDIO_CHAT_MAX_INPUT_TOKENS).")
        turns = turns[1:]
        while turns and turns[0]["role"] != "user":
            turns = turns[1:]
        if not turns:
            raise ValueError(f"the conversation does not fit in {max_input_tokens} tokens; clear it and start again")


def resolve_model(model: str = DEFAULT_MODEL, adapter: str | None = None):
    """The `(torch model, tokenizer)` to generate with: the registry's base model, or a copy of
    it with the named LoRA adapter applied (see core.chat.lora)."""
    from core import models

    if adapter:
        from core.chat.lora import adapted_model

        return adapted_model(model, adapter)
    lm = models.get(model)
    return lm.model, lm.tokenizer


def stream_reply(
    messages: list[dict],
    model: str = DEFAULT_MODEL,
    adapter: str | None = None,
    settings: GenerationSettings = GenerationSettings(),
    local: bool = False,
) -> Iterator[str]:
    """Yield the reply as it grows: each item is the WHOLE reply so far (not the new piece),
    which is what a chat widget wants to display. Closing the generator (a stop button)
    stops generation within one token.

    With a language-model server configured for `model` (core.chat.llm_server, NLP_STUDIO_LLM_URL) and
    no adapter, the reply comes from the server; `local=True` insists on the local weights (a
    side-by-side with an adapter, which only exists locally, compares like with like)."""
    from core.chat import llm_server

    if adapter is None and not local and llm_server.served(model):
        msgs = normalize_messages(messages, settings.system_prompt)
        text = ""
        for piece in llm_server.stream_chat(msgs, settings.temperature, settings.top_p, settings.max_new_tokens,
                                            settings.seed):
            text += piece
            yield text
        return
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

    lm, tokenizer = resolve_model(model, adapter)
    msgs = normalize_messages(messages, settings.system_prompt)
    budget = CHAT_MAX_INPUT_TOKENS
    ids = build_prompt_ids(tokenizer, msgs, budget)
    device = next(lm.parameters()).device
    input_ids = torch.tensor([ids], device=device)
    stop = threading.Event()

    class _Stop(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs) -> bool:
            return stop.is_set()

    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=120)
    kwargs = dict(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        max_new_tokens=settings.max_new_tokens,
        streamer=streamer,
        stopping_criteria=StoppingCriteriaList([_Stop()]),
        pad_token_id=tokenizer.pad_token_id,
    )
    if settings.temperature > 0:
        kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p, top_k=0)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    error: list[BaseException] = []

    def run() -> None:
        try:
            if settings.seed is not None:
                torch.manual_seed(settings.seed)
            with torch.inference_mode():
                lm.generate(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            error.append(exc)
            streamer.on_finalized_text("", stream_end=True)

    worker = threading.Thread(target=run, daemon=True, name="chat-generate")
    worker.start()
    text = ""
    try:
        for piece in streamer:
            if piece:
                text += piece
                yield text
    finally:
        stop.set()
        worker.join(timeout=30)
    if error:
        raise error[0]


def reply(
    messages: list[dict],
    model: str = DEFAULT_MODEL,
    adapter: str | None = None,
    settings: GenerationSettings = GenerationSettings(),
    local: bool = False,
) -> str:
    """The whole reply at once (the non-streaming twin of `stream_reply`)."""
    text = ""
    for text in stream_reply(messages, model, adapter, settings, local):
        pass
    return text.strip()
