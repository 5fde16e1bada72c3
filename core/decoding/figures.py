"""Plotly figures of the Decoding Lab: the beam-search tree and the next-token distributions."""
from __future__ import annotations

_LAYOUT = dict(template="plotly_white", margin=dict(l=40, r=20, t=50, b=40))


def _show(token: str) -> str:
    return token.replace("\n", "⏎").replace(" ", "␣") if token.strip() == "" else token.replace("\n", "⏎")


def _label(node, crowded: bool) -> str:
    if crowded:
        return _show(node.token) if node.best else ""
    return f"{_show(node.token)} ({node.score:.1f})" if node.kept or node.finished else _show(node.token)


def tree_figure(nodes):
    """The beam-search tree: x = step, one row per candidate; each candidate is joined to the beam it
    extends and labelled with its token and cumulative log-probability. Kept beams are solid, pruned
    candidates faint, finished ones are squares, the returned sequence is drawn thick in red."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if not nodes:
        return fig
    by_id = {n.id: n for n in nodes}
    # y: order of candidates within their step (0 = best), so the best beam runs along the top.
    rank: dict[int, int] = {}
    for n in nodes:
        rank[n.id] = sum(1 for m in nodes if m.step == n.step and m.id < n.id)
    y = {n.id: -rank[n.id] for n in nodes}
    y[-1] = 0
    # Past 10 steps the labels would overlap: then only the returned path is labelled (hover shows all).
    crowded = max(n.step for n in nodes) >= 10
    xs, ys, xs_best, ys_best = [], [], [], []
    for n in nodes:
        px, py = (n.step - 1, y[n.parent]) if n.parent != -1 else (-1, 0)
        target = (xs_best, ys_best) if n.best else (xs, ys)
        target[0].extend([px, n.step, None])
        target[1].extend([py, y[n.id], None])
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="#bbbbbb", width=1), hoverinfo="skip",
                             showlegend=False))
    fig.add_trace(go.Scatter(x=xs_best, y=ys_best, mode="lines", line=dict(color="#d62728", width=3),
                             hoverinfo="skip", name="returned sequence"))
    for label, pick, symbol, colour in (("kept beam", lambda n: n.kept and not n.finished, "circle", "#1f77b4"),
                                        ("pruned", lambda n: not n.kept and not n.finished, "circle-open", "#999999"),
                                        ("finished", lambda n: n.finished, "square", "#2ca02c")):
        chosen = [n for n in nodes if pick(n)]
        if not chosen:
            continue
        fig.add_trace(go.Scatter(
            x=[n.step for n in chosen], y=[y[n.id] for n in chosen], mode="markers+text", name=label,
            marker=dict(symbol=symbol, size=9, color=colour),
            text=[_label(n, crowded) for n in chosen],
            textposition="top center", textfont=dict(size=10, color="#333" if label != "pruned" else "#aaa"),
            customdata=[[n.logprob, n.score, "" if n.final_score is None else f"{n.final_score:.3f}"] for n in chosen],
            hovertext=[_show(n.token) for n in chosen],
            hovertemplate="step %{x}: %{hovertext}<br>log p(token) %{customdata[0]:.3f}<br>cumulative %{customdata[1]:.3f}"
                          "<br>final (length-penalised) %{customdata[2]}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[-1], y=[0], mode="markers+text", text=["prompt"], textposition="middle left",
                             marker=dict(size=10, color="black"), showlegend=False, hoverinfo="skip"))
    steps = max(n.step for n in nodes) + 1
    per_step = max(rank.values()) + 1
    fig.update_layout(title="Beam search tree (label: token (cumulative log-prob))",
                      xaxis=dict(title="step", dtick=1, range=[-2.6, steps]), yaxis=dict(visible=False),
                      height=max(320, 46 * per_step + 120),
                      legend=dict(orientation="h", y=-0.2), **_LAYOUT)
    del by_id
    return fig


def distribution_figure(steps, title: str):
    """The next-token distribution at each step: column = step, rows = the top tokens by
    probability (colour), the chosen token outlined by its label ✓."""
    import numpy as np
    import plotly.graph_objects as go

    if not steps:
        return go.Figure()
    k = min(len(s.top) for s in steps)
    z = np.array([[s.top[r][1] for s in steps] for r in range(k)])
    text = [[("✓ " if s.top[r][0] == s.token else "") + _show(s.top[r][0]) for s in steps] for r in range(k)]
    fig = go.Figure(go.Heatmap(z=z, x=list(range(len(steps))), y=[f"#{r + 1}" for r in range(k)], text=text,
                               texttemplate="%{text}", textfont=dict(size=10), colorscale="Blues", zmin=0, zmax=1,
                               hovertemplate="step %{x}, %{y}: %{text}<br>p = %{z:.3f}<extra></extra>",
                               colorbar=dict(title="p")))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=title, xaxis_title="step", height=80 + 34 * k, **_LAYOUT)
    return fig
