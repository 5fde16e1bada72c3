"""One Gradio tab per module. Each module exposes TITLE, WEEKS, SUMMARY and build().

`build()` is called inside a `gr.Tab` and lays out that tab; it never loads a model
(models load on first use). The order here is the order of the tabs.
"""
from __future__ import annotations

import importlib
from types import ModuleType

TAB_MODULES = (
    "apps.gradio.home",
    "apps.gradio.embeddings",  # weeks 1, 5
    "apps.gradio.attention",  # weeks 4-5
    "apps.gradio.chat",  # week 6
    "apps.gradio.tts",  # week 8
    "apps.gradio.whisper",  # week 9
    "apps.gradio.image_search",  # week 9
    "apps.gradio.models_panel",
)


def tab_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in TAB_MODULES]
