"""Plotly figures for the Text Lab. UI-neutral: any front end can show them."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

LAYOUT = dict(template="plotly_white", font=dict(size=14), margin=dict(l=10, r=10, t=60, b=10))
POSITIVE, NEGATIVE = "#2ca02c", "#d62728"


def short(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "…"


def matrix_heatmap(values: np.ndarray, docs: list[str], terms: list[str], title: str) -> go.Figure:
    """Documents (rows) x terms (columns), one cell per value; zeros white."""
    fig = go.Figure(go.Heatmap(z=values, x=terms, y=docs, colorscale="Blues", zmin=0,
                               hovertemplate="%{y}<br>%{x}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=max(360, 26 * len(docs) + 160),
                      **LAYOUT)
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=11))
    fig.update_xaxes(tickangle=-45, tickfont=dict(size=11))
    return fig


def similarity_heatmap(sim: np.ndarray, labels: list[str], title: str) -> go.Figure:
    """Cosine similarity between documents, from 0 (these vectors have no negative entries) to the
    largest value shown; NaN cells (the diagonal) stay blank."""
    top = float(np.nanmax(sim)) if np.isfinite(sim).any() else 1.0
    fig = go.Figure(go.Heatmap(z=sim, x=labels, y=labels, colorscale="Viridis", zmin=0, zmax=max(top, 1e-9),
                               hovertemplate="%{y}<br>%{x}<br>cosine %{z:.3f}<extra></extra>"))
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=560, **LAYOUT)
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=10))
    fig.update_xaxes(tickangle=-45, tickfont=dict(size=10))
    return fig


def top_terms_bar(pairs: list[tuple[str, float]], title: str, value_name: str) -> go.Figure:
    """Horizontal bars, largest at the top."""
    pairs = pairs[::-1]
    fig = go.Figure(go.Bar(x=[v for _, v in pairs], y=[t for t, _ in pairs], orientation="h",
                           marker_color="#1f77b4", hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(title=dict(text=title, font=dict(size=15)), height=max(300, 28 * len(pairs) + 120),
                      xaxis_title=value_name, **LAYOUT)
    return fig


def contributions_bar(words: list[str], scores: list[float], title: str, unit: str) -> go.Figure:
    """One bar per word in sentence order: green pushes towards positive, red towards negative."""
    labels = [f"{i + 1}. {w}" for i, w in enumerate(words)][::-1]
    vals = list(scores)[::-1]
    fig = go.Figure(go.Bar(x=vals, y=labels, orientation="h",
                           marker_color=[POSITIVE if v > 0 else NEGATIVE if v < 0 else "#bbbbbb" for v in vals],
                           hovertemplate="%{y}: %{x:+.3f}<extra></extra>"))
    fig.update_layout(title=dict(text=title, font=dict(size=14)), xaxis_title=unit,
                      height=max(300, 24 * len(labels) + 130), **LAYOUT)
    fig.add_vline(x=0, line_color="#444", line_width=1)
    return fig


def accuracy_bars(names: list[str], accuracies: list[float], majority: float, title: str) -> go.Figure:
    """Held-out accuracy per method against the majority-class line."""
    fig = go.Figure(go.Bar(x=names, y=[100 * a for a in accuracies], marker_color="#1f77b4",
                           text=[f"{100 * a:.1f}%" for a in accuracies], textposition="outside"))
    fig.add_hline(y=100 * majority, line_dash="dash", line_color=NEGATIVE,
                  annotation_text=f"majority class {100 * majority:.1f}%", annotation_position="top left")
    fig.update_layout(title=dict(text=title, font=dict(size=15)), yaxis=dict(range=[0, 100], title="% correct"),
                      height=380, **LAYOUT)
    return fig
