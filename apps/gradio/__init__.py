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


TABS_ENV = "NLP_STUDIO_TABS"  # e.g. "home,chat": serve only these tabs (a light replica, a quick start)


def tab_modules() -> list[ModuleType]:
    """Every tab's module in TABS order, or only those named in $NLP_STUDIO_TABS."""
    import os

    wanted = [t.strip() for t in os.environ.get(TABS_ENV, "").split(",") if t.strip()]
    unknown = [t for t in wanted if t not in TABS]
    if unknown:
        raise ValueError(f"{TABS_ENV} names unknown tabs {unknown}; known: {', '.join(TABS)}")
    return [importlib.import_module(name) for name in TAB_MODULES
            if not wanted or name.rsplit(".", 1)[1] in wanted]
