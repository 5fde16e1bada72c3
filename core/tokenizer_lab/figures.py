"""Plotly figures of the Tokenizer Lab (built in core so both front ends draw the same figure)."""
from __future__ import annotations

from typing import Any


def compare_figure(views: list) -> Any:
    """Tokens per tokenizer (bars) and bytes per token (text on each bar)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(
        x=[v.title for v in views], y=[v.n_tokens for v in views],
        text=[f"{v.n_tokens} tokens · {v.bytes_per_token:.2f} B/token" for v in views],
        textposition="auto", marker_color=["#2563eb", "#16a34a", "#d97706"][:len(views)]))
    fig.update_layout(title="Same text, different token counts", yaxis_title="tokens (special tokens not counted)",
                      height=300, margin=dict(l=40, r=10, t=40, b=30))
    return fig
