"""Home: what each tab shows and where it sits in the 9-week roadmap."""
from __future__ import annotations

import gradio as gr

from apps.tabs import HOME_INTRO, HOME_MODELS, TABS, overview_table

TITLE, WEEKS, SUMMARY = TABS["home"].heading


def build() -> None:
    gr.Markdown("# NLP Studio\n" + HOME_INTRO + "\n" + overview_table())
    gr.Markdown(HOME_MODELS)
