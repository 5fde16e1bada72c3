"""Plotly figures of the Transformer Lab: loss curves of both objectives side by side and the
fill-in predictions. Attention maps are drawn by core.attention.figures, the Attention tab's own
figures, from the AttentionMaps a run hands back."""
from __future__ import annotations

import plotly.graph_objects as go

from core.transformer_lab.train import FillIn, display_char

COLOURS = {"causal": "#1f77b4", "masked": "#d62728"}


def loss_figure(runs: dict[str, tuple[float, ...]], baseline: float | None = None) -> go.Figure:
    """One curve per objective ({"causal": losses, "masked": losses}) and the uniform-guess line."""
    fig = go.Figure()
    for objective, losses in runs.items():
        if losses:
            fig.add_trace(go.Scatter(x=list(range(1, len(losses) + 1)), y=list(losses), mode="lines",
                                     name=f"{objective} ({len(losses)} steps)",
                                     line=dict(color=COLOURS.get(objective, "#555"), width=2)))
    if baseline is not None:
        fig.add_hline(y=baseline, line=dict(color="#888", dash="dot"),
                      annotation_text=f"uniform guess ln(V) = {baseline:.2f}", annotation_position="top right")
    fig.update_layout(title=dict(text="Training loss (nats per predicted character)", x=0.01, font=dict(size=15)),
                      xaxis_title="step", yaxis_title="cross-entropy", height=340, plot_bgcolor="white",
                      paper_bgcolor="white", margin=dict(l=10, r=10, t=50, b=10), legend=dict(x=0.6, y=0.95))
    fig.update_yaxes(rangemode="tozero", gridcolor="#eee")
    return fig


def fill_in_figure(result: FillIn) -> go.Figure:
    """For each blank, its top guesses as bars (probability), labelled by position."""
    fig = go.Figure()
    for rank in range(len(result.blanks[0][1]) if result.blanks else 0):
        xs = [f"_ at {pos}" for pos, _ in result.blanks]
        ys = [guesses[rank][1] for _, guesses in result.blanks]
        text = [repr(display_char(guesses[rank][0])) for _, guesses in result.blanks]
        fig.add_trace(go.Bar(x=xs, y=ys, text=text, textposition="outside", name=f"guess {rank + 1}"))
    fig.update_layout(title=dict(text=f"Fill-in: {result.filled!r}", x=0.01, font=dict(size=15)), barmode="group",
                      yaxis=dict(title="probability", range=[0, 1.1]), height=320, plot_bgcolor="white",
                      paper_bgcolor="white", margin=dict(l=10, r=10, t=50, b=10))
    return fig
