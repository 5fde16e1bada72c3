"""Plotly figures for the Embedding Explorer. UI-neutral: any front end can show them."""
from __future__ import annotations

import plotly.graph_objects as go

from core.embeddings.sets import PointSet
from core.embeddings.projection import Projection
from core.embeddings.wordvectors import AxisScores, Neighbour

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f", "#bcbd22")
TEXT_LABEL_LIMIT = 150  # above this many points, names only on hover (a projector can't show more)
LAYOUT = dict(template="plotly_white", font=dict(size=15), margin=dict(l=10, r=10, t=60, b=10), height=620)


def projection_figure(points: PointSet, proj: Projection, labels: list[str] | None) -> go.Figure:
    """Scatter of projected points, one colour per label; WebGL for 2D so 10k+ points stay smooth."""
    groups: dict[str, list[int]] = {}
    for i, lab in enumerate(labels or ["points"] * len(points.texts)):
        groups.setdefault(lab, []).append(i)
    show_text = len(points.texts) <= TEXT_LABEL_LIMIT
    fig = go.Figure()
    for g, (lab, idx) in enumerate(groups.items()):
        colour = PALETTE[g % len(PALETTE)]
        texts = [points.texts[i] for i in idx]
        hover = [t if len(t) < 120 else t[:117] + "..." for t in texts]
        mode = "markers+text" if show_text else "markers"
        marker = dict(size=8 if show_text else 4, color=colour, opacity=0.85)
        label_text = [t if len(t) <= 28 else t[:25] + "..." for t in texts]
        if proj.dims == 3:
            fig.add_trace(go.Scatter3d(x=proj.coords[idx, 0], y=proj.coords[idx, 1], z=proj.coords[idx, 2],
                                       mode=mode, text=label_text, hovertext=hover, hoverinfo="text",
                                       marker=dict(marker, size=4 if show_text else 2), name=lab))
        else:
            fig.add_trace(go.Scattergl(x=proj.coords[idx, 0], y=proj.coords[idx, 1], mode=mode,
                                       text=label_text, hovertext=hover, hoverinfo="text",
                                       textposition="top center", marker=marker, name=lab))
    title = f"{points.description}: {proj.method.upper()} to {proj.dims}D ({proj.note})"
    fig.update_layout(title=dict(text=title, font=dict(size=16)), showlegend=labels is not None,
                      legend=dict(itemsizing="constant"), **LAYOUT)
    if proj.dims == 2:
        fig.update_xaxes(showticklabels=False, zeroline=False)
        fig.update_yaxes(showticklabels=False, zeroline=False)
    return fig


def neighbours_figure(query: str, found: list[Neighbour]) -> go.Figure:
    """Horizontal bars of cosine similarity, best at the top."""
    names = [n.text if len(n.text) <= 60 else n.text[:57] + "..." for n in found][::-1]
    scores = [n.score for n in found][::-1]
    fig = go.Figure(go.Bar(x=scores, y=names, orientation="h", marker_color="#1f77b4",
                           text=[f"{s:.3f}" for s in scores], textposition="outside",
                           hovertext=[n.text for n in found][::-1], hoverinfo="text+x"))
    short = query if len(query) <= 60 else query[:57] + "..."
    fig.update_layout(title=f"Nearest to “{short}” (cosine similarity)", xaxis=dict(range=[min(0, min(scores)), 1.08]),
                      **{**LAYOUT, "height": max(300, 42 * len(found) + 110)})
    fig.update_yaxes(automargin=True)
    return fig


def axes_figure(axes: AxisScores) -> go.Figure:
    """Words placed between two poles (x) and, optionally, two more (y)."""
    a, b = axes.x_poles
    y = axes.y if axes.y is not None else [0.0] * len(axes.words)
    fig = go.Figure(go.Scatter(x=axes.x, y=y, mode="markers+text", text=axes.words, textposition="top center",
                               marker=dict(size=10, color=list(axes.x), colorscale="RdBu", cmin=-1.5, cmax=1.5),
                               hovertemplate="%{text}<br>x=%{x:.2f}<br>y=%{y:.2f}<extra></extra>"))
    fig.add_vline(x=0, line_dash="dot", line_color="#999")
    xt = f"← {a}   ·   {b} →"
    layout = dict(LAYOUT)
    if axes.y is not None:
        c, d = axes.y_poles
        fig.add_hline(y=0, line_dash="dot", line_color="#999")
        layout.update(yaxis=dict(title=f"← {c}   ·   {d} →", zeroline=False))
    else:
        layout.update(height=360, yaxis=dict(visible=False, range=[-1, 1]))
    fig.update_layout(title="Semantic axes (−1 = first pole, +1 = second; scalar projection)",
                      xaxis=dict(title=xt, zeroline=False), **layout)
    return fig
