"""Plotly figures of the Evaluation Lab (built in core so both front ends draw the same figure)."""
from __future__ import annotations

from typing import Any


def bleu_figure(ev) -> Any:
    """Corpus BLEU's four n-gram precisions and the brevity penalty: the parts of the score."""
    import plotly.graph_objects as go

    b = ev.bleu
    labels = [f"{n}-gram" for n in range(1, 5)] + ["brevity penalty × 100"]
    values = list(b.precisions) + [100 * b.bp]
    fig = go.Figure(go.Bar(x=labels, y=values, text=[f"{v:.1f}" for v in values], textposition="auto",
                           marker_color=["#93c5fd", "#60a5fa", "#3b82f6", "#1d4ed8", "#f59e0b"]))
    fig.update_layout(title=f"BLEU {b.score:.2f} = BP × geometric mean of the precisions",
                      yaxis=dict(title="percent", range=[0, 105]), height=300, margin=dict(l=40, r=10, t=40, b=30))
    return fig


def surprisal_figure(r) -> Any:
    """Each scored token's surprisal in bits, the worst ones darkest."""
    import plotly.graph_objects as go

    labels = [f"{i + 1}:{t}" for i, t in enumerate(r.tokens[1:])]
    s = list(r.surprisal_bits)
    fig = go.Figure(go.Bar(x=labels, y=s, marker=dict(color=s, colorscale="Reds", cmin=0),
                           hovertext=[f"top guess: {p!r}" for p in r.top_prediction]))
    fig.update_layout(title=f"Surprisal per token · perplexity {r.perplexity:.2f}", yaxis_title="bits",
                      height=320, margin=dict(l=40, r=10, t=40, b=60))
    return fig
