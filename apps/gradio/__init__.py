"""One Gradio tab per module. Each module exposes TITLE, WEEKS, SUMMARY and build().

`build()` is called inside a `gr.Tab` and lays out that tab; it never loads a model
(models load on first use). The list and its order come from the one table of tabs,
`apps.tabs.TABS`: tab id `x` is module `apps.gradio.x`.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from apps.tabs import TABS

TAB_MODULES = tuple(f"apps.gradio.{tab_id}" for tab_id in TABS)


def tab_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in TAB_MODULES]
