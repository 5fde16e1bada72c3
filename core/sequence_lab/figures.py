"""Plotly figures of the Sequence Lab (UI-neutral: both front ends draw them as they are)."""
from __future__ import annotations

import numpy as np

COLOURS = {"RNN": "#d62728", "LSTM": "#1f77b4", "GRU": "#2ca02c"}
_LAYOUT = dict(template="plotly_white", margin=dict(l=50, r=20, t=50, b=40), height=360)


def loss_figure(reports, uniform: float):
    """Training loss per step, the three models side by side (shared y axis), with a uniform guess."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    fig = make_subplots(rows=1, cols=max(1, len(reports)), shared_yaxes=True,
                        subplot_titles=[r.kind for r in reports] or ["no run yet"])
    for i, r in enumerate(reports, start=1):
        steps = np.arange(1, len(r.losses) + 1)
        fig.add_trace(go.Scatter(x=steps, y=list(r.losses), mode="lines", name=f"{r.kind} train",
                                 line=dict(color=COLOURS.get(r.kind), width=1.5)), row=1, col=i)
        if r.val_loss is not None and len(r.losses):
            fig.add_trace(go.Scatter(x=[len(r.losses)], y=[r.val_loss], mode="markers", name=f"{r.kind} held-out",
                                     marker=dict(color=COLOURS.get(r.kind), symbol="diamond", size=10)), row=1, col=i)
        fig.add_hline(y=uniform, line=dict(dash="dot", color="grey"), row=1, col=i)
        fig.update_xaxes(title_text="step", row=1, col=i)
    fig.update_yaxes(title_text="loss (nats / character)", row=1, col=1)
    fig.update_layout(title=f"Training loss (dotted: a uniform guess, ln V = {uniform:.2f}; ◆ held-out text)",
                      showlegend=False, **_LAYOUT)
    return fig


def gradient_figure(profiles):
    """‖∂L/∂h_{T−d}‖ / ‖∂L/∂h_T‖ against d for each model, log scale: vanishing gradients, seen."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for g in profiles:
        if g is None:
            continue
        d = np.arange(len(g.norms))
        fig.add_trace(go.Scatter(x=d, y=g.relative, mode="lines+markers", marker=dict(size=4),
                                 name=f"{g.kind} (×10^{g.slope:.3f} per step)", line=dict(color=COLOURS.get(g.kind))))
    fig.update_yaxes(type="log", title_text="‖∂L/∂h(T−d)‖, relative to d = 0", exponentformat="power")
    fig.update_xaxes(title_text="distance back in time d (characters)")
    fig.update_layout(title="How far back the last prediction's gradient reaches", legend=dict(x=0.01, y=0.02),
                      **_LAYOUT)
    return fig


def _label(ch: str) -> str:
    return {"\n": "⏎", " ": "␣"}.get(ch, ch)


def step_figure(step, units: int = 24):
    """Heatmaps over the sequence (x: input characters): the hidden state h_t, the LSTM cell, and
    each gate, for the first `units` units."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    panels = [("hidden state h", step.hidden, "RdBu", -1, 1)]
    if step.cell is not None:
        panels.append(("cell state c", np.tanh(step.cell), "RdBu", -1, 1))
    panels += [(f"{name} gate", values, "Viridis", 0, 1) for name, values in step.gates.items()]
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[p[0] for p in panels])
    x = [f"{i}:{_label(c)}" for i, c in enumerate(step.chars)]
    first_of_scale = {}
    for row, (_, _, scale, _, _) in enumerate(panels, start=1):
        first_of_scale.setdefault(scale, row)
    for row, (name, values, scale, lo, hi) in enumerate(panels, start=1):
        z = values[:, :units].T  # [units, T]
        domain = fig.layout[f"yaxis{'' if row == 1 else row}"].domain  # this panel's vertical extent
        fig.add_trace(go.Heatmap(z=z, x=x, y=[f"u{u}" for u in range(z.shape[0])], colorscale=scale, zmin=lo, zmax=hi,
                                 showscale=first_of_scale[scale] == row,
                                 colorbar=dict(len=domain[1] - domain[0], y=(domain[0] + domain[1]) / 2,
                                               yanchor="middle", thickness=14),
                                 hovertemplate=f"{name}<br>%{{x}}<br>%{{y}}: %{{z:.3f}}<extra></extra>"),
                      row=row, col=1)
    fig.update_xaxes(tickangle=0, tickfont=dict(size=10), row=len(panels), col=1)
    fig.update_layout(title=f"{step.kind}: one character at a time (first {units} units)",
                      template="plotly_white", margin=dict(l=50, r=20, t=60, b=40),
                      height=170 * len(panels) + 80)
    return fig


def surprisal_figure(scores):
    """Surprisal (bits) of each token of the test sentence; hover shows its probability and context."""
    import plotly.graph_objects as go

    x = [f"{i}:{s.token}" for i, s in enumerate(scores)]
    fig = go.Figure(go.Bar(x=x, y=[s.surprisal for s in scores],
                           marker_color=["#ff7f0e" if s.unknown else "#1f77b4" for s in scores],
                           customdata=[[s.prob, " ".join(s.context)] for s in scores],
                           hovertemplate="%{x}<br>p = %{customdata[0]:.4g}<br>context: %{customdata[1]}"
                                         "<br>%{y:.2f} bits<extra></extra>"))
    fig.update_layout(title="Surprisal of each token, −log₂ p (orange: unknown word → <unk>)",
                      yaxis_title="bits", **_LAYOUT)
    return fig
