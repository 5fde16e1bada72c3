"""Plotly figures of the Preference Lab: the DPO loss and accuracy, and each pair's chosen and
rejected rewards step by step (where a falling chosen reward that still wins is visible)."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from core.preference.dpo import DPOStatus

PAIR_COLOURS = qualitative.Plotly + qualitative.Dark2


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.01, font=dict(size=15)), height=height, plot_bgcolor="white",
                      paper_bgcolor="white", margin=dict(l=10, r=10, t=60, b=10))
    fig.update_xaxes(gridcolor="#eee")
    fig.update_yaxes(gridcolor="#eee", zeroline=True, zerolinecolor="#999")
    return fig


def loss_figure(st: DPOStatus) -> go.Figure:
    """Loss (left axis, with ln 2 = the loss before training) and pair accuracy (right axis) per step."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    steps = list(range(1, len(st.history) + 1))
    fig.add_trace(go.Scatter(x=steps, y=[h.loss for h in st.history], name="DPO loss", mode="lines+markers",
                             line=dict(color="#1f77b4", width=2)), secondary_y=False)
    fig.add_trace(go.Scatter(x=steps, y=[h.accuracy for h in st.history], name="accuracy (pairs won)",
                             mode="lines", line=dict(color="#2ca02c", dash="dash")), secondary_y=True)
    fig.add_hline(y=0.6931, line=dict(color="#888", dash="dot"), annotation_text="ln 2: π = π_ref",
                  annotation_position="top right")
    fig.update_yaxes(title_text="loss", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text="accuracy", range=[-0.05, 1.05], secondary_y=True, showgrid=False)
    fig.update_xaxes(title_text="step")
    return _layout(fig, "DPO loss and accuracy", 320)


def rewards_figure(st: DPOStatus) -> go.Figure:
    """Per pair: chosen reward (solid) and rejected reward (dashed) at each step; β·(log π − log π_ref)."""
    fig = go.Figure()
    steps = list(range(1, len(st.history) + 1))
    for i, pair in enumerate(st.pairs):
        colour = PAIR_COLOURS[i % len(PAIR_COLOURS)]
        label = pair.prompt if len(pair.prompt) <= 28 else pair.prompt[:27] + "…"
        fig.add_trace(go.Scatter(x=steps, y=[h.chosen[i] for h in st.history], mode="lines", legendgroup=str(i),
                                 name=f"{label} · chosen", line=dict(color=colour, width=2)))
        fig.add_trace(go.Scatter(x=steps, y=[h.rejected[i] for h in st.history], mode="lines", legendgroup=str(i),
                                 name=f"{label} · rejected", line=dict(color=colour, width=2, dash="dash")))
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="reward β·(log π − log π_ref)")
    fig.update_layout(legend=dict(font=dict(size=11)))
    return _layout(fig, "Rewards per pair (solid = chosen, dashed = rejected; won when solid is above)", 420)
