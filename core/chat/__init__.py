"""Chat with a language model: loading SmolLM2 (GGUF) or a hub model, streamed replies, a model server (OpenAI-compatible), LoRA and QLoRA fine-tuning with its data, training jobs and comparison, and the tab's view.

The package's public surface is `__all__`: its modules, and the names of `conversation` (the pipeline most callers want: `from core import chat; chat.<name>`)."""

from core.chat.conversation import (  # noqa: F401 - re-exported
    DEFAULT_MODEL,
    DEFAULT_SYSTEM_PROMPT,
    GenerationSettings,
    ROLES,
    build_prompt_ids,
    normalize_messages,
    reply,
    require_chat_template,
    resolve_model,
    stream_reply,
)

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_SYSTEM_PROMPT",
    "GenerationSettings",
    "ROLES",
    "build_prompt_ids",
    "normalize_messages",
    "reply",
    "require_chat_template",
    "resolve_model",
    "stream_reply",
    "conversation",
    "llm",
    "llm_server",
    "lora",
    "lora_4bit",
    "lora_compare",
    "lora_data",
    "lora_train",
    "serve_llm",
    "view",
]
