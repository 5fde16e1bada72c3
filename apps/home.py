"""Home: what each tab shows and where it sits in the 9-week roadmap."""
from __future__ import annotations

import gradio as gr

TITLE = "Home"
WEEKS = ""
SUMMARY = "This page."

INTRO = """
# NLP Studio
Real models you can touch, on a GPU or a CPU laptop, with no network once installed.
Every tab calls the same `core/` pipelines the tests and the API use, and every tab shows the
few lines of Python that reproduce what you see.
"""


def build() -> None:
    from apps import tab_modules

    rows = [
        f"| **{m.TITLE}** | {m.WEEKS} | {m.SUMMARY} |"
        for m in tab_modules()
        if m.__name__ != __name__
    ]
    gr.Markdown(INTRO + "\n| Tab | Roadmap week | What it shows |\n|---|---|---|\n" + "\n".join(rows))
    gr.Markdown(
        "Models load the first time a tab needs them (a few seconds), then stay in memory for "
        "every user. The **Models** tab lists each model, where its weights are, and how to get "
        "the ones that are missing."
    )
