"""Models: every registered model, whether it is here, loaded or missing, and how to get it."""
from __future__ import annotations

import gradio as gr

from apps.tabs import TABS
from core import models
from core.models_view import COLUMNS, INTRO, status_table, summary

TITLE, WEEKS, SUMMARY = TABS["models_panel"].heading

WIDTHS = ["13%", "12%", "9%", "5%", "6%", "6%", "37%", "12%"]


def status_json() -> list[dict]:
    """API: the Models panel as plain data."""
    return [r.__dict__ for r in models.status()]


def build() -> None:
    gr.Markdown("### Models\n" + INTRO)
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
