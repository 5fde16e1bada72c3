"""Plotly figures for attention, rollout, saliency and the scaled dot-product, from core's plain data.

No UI library here: Gradio's gr.Plot and Streamlit's st.plotly_chart both take these figures.
Token axes are numeric positions labelled with the tokens (two tokens may share a label).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from core.attention.maps import AttentionMaps
from core.attention.saliency import Saliency
from core.attention.scaled_dot_product import HeadMath

HEAD_COLOURS = qualitative.Plotly + qualitative.Dark2 + qualitative.Set1
MASKED = "#d9d9d9"  # the colour of cells a decoder may not attend to (its causal mask)
FONT = dict(size=13)
CAVEAT = "Attention is where a head looked, not an explanation of the output."


def kept(maps_special: tuple[bool, ...], show_special: bool) -> np.ndarray:
    """Indices of the tokens to draw."""
    idx = [i for i, s in enumerate(maps_special) if show_special or not s]
    return np.array(idx or range(len(maps_special)), dtype=int)


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.01, font=dict(size=15)), height=height, font=FONT,
                      margin=dict(l=10, r=10, t=60, b=10), plot_bgcolor="white", paper_bgcolor="white")
    return fig


def _token_axis(tokens: list[str], angle: int = -60) -> dict:
    return dict(tickmode="array", tickvals=list(range(len(tokens))), ticktext=tokens, tickangle=angle,
                showgrid=False, zeroline=False)


def unique_labels(tokens: list[str]) -> list[str]:
    """Tokens made unique with invisible zero-width spaces, so a categorical axis keeps two "the"s apart
    and hover text shows the token itself."""
    seen: dict[str, int] = {}
    out = []
    for t in tokens:
        n = seen.get(t, 0)
        seen[t] = n + 1
        out.append(t + "\u200b" * n)
    return out


def head_matrix(maps: AttentionMaps, layer: int, head: int | None) -> np.ndarray:
    """[T, T] for one head, or the mean of all heads when `head` is None."""
    maps.check_layer_head(layer, head)
    return maps.weights[layer, head] if head is not None else maps.weights[layer].mean(0)


def _masked(z: np.ndarray, decoder: bool, idx: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64).copy()
    if decoder:  # show the causal mask as grey cells rather than as zeros
        z[idx[None, :] > idx[:, None]] = np.nan
    return z


def heatmap(maps: AttentionMaps, layer: int, head: int | None, focus: int | None = None,
            show_special: bool = True) -> go.Figure:
    """One layer, one head (or the mean of heads): rows = query tokens, columns = the tokens they attend to."""
    idx = kept(maps.special, show_special)
    z = _masked(head_matrix(maps, layer, head)[np.ix_(idx, idx)], maps.kind == "decoder", idx)
    toks = unique_labels([maps.tokens[i] for i in idx])
    fig = go.Figure(go.Heatmap(z=z.astype(np.float32), x=toks, y=toks, colorscale="Blues", zmin=0,
                               zmax=float(np.nanmax(z)) if np.isfinite(z).any() else 1,
                               hovertemplate="%{y} → %{x}<br>weight %{z:.3f}<extra></extra>",
                               colorbar=dict(title="weight", thickness=12), xgap=1 if len(idx) < 40 else 0,
                               ygap=1 if len(idx) < 40 else 0))
    fig.update_xaxes(title="attends to (key)", side="bottom", tickangle=-60, type="category")
    fig.update_yaxes(title="token (query)", autorange="reversed", type="category")
    if focus is not None and focus in idx:
        r = int(np.where(idx == focus)[0][0])
        fig.add_shape(type="rect", x0=-0.5, x1=len(idx) - 0.5, y0=r - 0.5, y1=r + 0.5,
                      line=dict(color="#d62728", width=2))
    which = "mean of all heads" if head is None else f"head {head}"
    note = " · grey = causal mask (a decoder never looks ahead)" if maps.kind == "decoder" else ""
    size = max(420, min(900, 22 * len(idx) + 160))
    _layout(fig, f"Layer {layer}, {which}{note}", size)
    return fig.update_layout(plot_bgcolor=MASKED if maps.kind == "decoder" else "white")


def lines(maps: AttentionMaps, layer: int, heads: list[int] | None = None, focus: int | None = None,
          show_special: bool = True, min_weight: float = 0.02, top_k: int | None = None) -> go.Figure:
    """The head view: tokens on the left attend to tokens on the right; line opacity = weight.
    `heads` None = every head, each in its own colour. `focus` draws only that token's lines.
    `top_k` keeps each token's k strongest links (default: all up to 48 tokens, then 4)."""
    maps.check_layer_head(layer)
    heads = list(range(maps.n_heads)) if heads is None else heads
    for h in heads:
        maps.check_layer_head(layer, h)
    idx = kept(maps.special, show_special)
    pos = {int(t): n for n, t in enumerate(idx)}
    fig = go.Figure()
    levels = np.array([0.15, 0.45, 1.0])  # few opacity levels: each is a trace, and traces cost time
    src = np.array([focus] if focus is not None and focus in pos else list(idx), dtype=int)
    src_pos = np.array([pos[int(i)] for i in src], dtype=float)
    if top_k is None and len(idx) > 48 and len(src) > 1:
        top_k = 4
    for h in heads:
        w = maps.weights[layer, h]
        # One trace per opacity level (not per line): a few dozen traces instead of thousands.
        sub = w[np.ix_(src, idx)]  # [sources, kept]
        if top_k is not None and sub.shape[1] > top_k:  # long inputs: each token's strongest links only
            cut = -np.partition(-sub, top_k - 1, axis=1)[:, top_k - 1:top_k]
            sub = np.where(sub >= cut, sub, 0.0)
        r, c = np.nonzero(sub >= min_weight)
        bucket = np.minimum(np.searchsorted(levels, sub[r, c]), len(levels) - 1)
        colour = HEAD_COLOURS[h % len(HEAD_COLOURS)]
        for b in range(len(levels)):
            sel = bucket == b
            if not sel.any():
                continue
            n = int(sel.sum())
            xs = np.tile(np.array([0.0, 1.0, np.nan], dtype=np.float32), n)
            ys = np.stack([-src_pos[r[sel]], -c[sel].astype(float), np.full(n, np.nan)], 1).ravel().astype(np.float32)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", legendgroup=f"h{h}",
                                     name=f"head {h}", showlegend=b == int(bucket.max()),
                                     line=dict(color=colour, width=1 + 3 * levels[b]), opacity=float(levels[b])))
    toks = [maps.tokens[i] for i in idx]
    weight = ["bold" if focus is not None and int(i) == focus else "normal" for i in idx]
    for x, anchor in ((0, "middle left"), (1, "middle right")):
        fig.add_trace(go.Scatter(
            x=[x] * len(idx), y=[-n for n in range(len(idx))], mode="text", showlegend=False,
            text=[f"<b>{t}</b>" if wt == "bold" else t for t, wt in zip(toks, weight)],
            textposition=anchor, hoverinfo="text",
            hovertext=[f"token {i}: {maps.tokens[i]!r}" for i in idx]))
    fig.update_xaxes(visible=False, range=[-0.6, 1.6])
    fig.update_yaxes(visible=False, range=[-len(idx) + 0.5, 0.8])
    which = f"head {heads[0]}" if len(heads) == 1 else ("all heads" if len(heads) == maps.n_heads else f"heads {heads}")
    focus_txt = f", from {maps.tokens[focus]!r}" if focus is not None and focus in pos else ""
    return _layout(fig, f"Head view: layer {layer}, {which}{focus_txt} (left token attends to right token)",
                   max(420, 22 * len(idx) + 120))


def _shrink(m: np.ndarray, cell: int) -> np.ndarray:
    """Average-pool a [T, T] map down to at most cell x cell (for thumbnails)."""
    t = m.shape[0]
    if t <= cell:
        return m
    edges = np.linspace(0, t, cell + 1).astype(int)
    rows = np.add.reduceat(m, edges[:-1], axis=0) / np.diff(edges)[:, None]
    return np.add.reduceat(rows, edges[:-1], axis=1) / np.diff(edges)[None, :]


def model_view(maps: AttentionMaps, show_special: bool = True, cell: int = 32,
               selected: tuple[int, int | None] | None = None) -> go.Figure:
    """All layers x heads as small heatmaps tiled in one figure (rows = layers, columns = heads).
    Each tile is scaled to its own maximum so patterns (diagonal, previous token, [SEP]) show."""
    idx = kept(maps.special, show_special)
    n = min(len(idx), cell)
    gap = max(1, n // 8)
    L, H = maps.n_layers, maps.n_heads
    big = np.full((L * (n + gap), H * (n + gap)), np.nan)
    for l in range(L):
        for h in range(H):
            m = _shrink(maps.weights[l, h][np.ix_(idx, idx)], n)
            m = m / (m.max() or 1.0)
            if maps.kind == "decoder" and len(idx) <= cell:
                m = _masked(m, True, idx)
            r, c = l * (n + gap), h * (n + gap)
            big[r:r + n, c:c + n] = m
    # hoverinfo "none" (not "skip"): no label, but clicks still reach the page, which maps the
    # clicked cell back to (layer, head) with the tile size kept in layout.meta.
    fig = go.Figure(go.Heatmap(z=big.astype(np.float32), colorscale="Blues", zmin=0, zmax=1, showscale=False,
                               hoverinfo="none"))
    fig.update_layout(meta=dict(tile=n + gap, layers=L, heads=H))
    centre = (n - 1) / 2
    fig.update_xaxes(tickmode="array", tickvals=[h * (n + gap) + centre for h in range(H)],
                     ticktext=[f"h{h}" for h in range(H)], showgrid=False, zeroline=False, side="top")
    fig.update_yaxes(tickmode="array", tickvals=[l * (n + gap) + centre for l in range(L)],
                     ticktext=[f"L{l}" for l in range(L)], showgrid=False, zeroline=False, autorange="reversed",
                     scaleanchor="x")
    if selected is not None:  # (layer, head); head None frames the whole layer
        l, h = selected
        x0, x1 = (-1, H * (n + gap) - gap) if h is None else (h * (n + gap) - 1, h * (n + gap) + n)
        fig.add_shape(type="rect", x0=x0, x1=x1, y0=l * (n + gap) - 1, y1=l * (n + gap) + n,
                      line=dict(color="#d62728", width=3))
    tile = max(28, min(90, 900 // max(H, 1)))
    shrunk = f" (each map pooled to {n}x{n})" if len(idx) > cell else ""
    return _layout(fig, f"Model view: {L} layers x {H} heads{shrunk}. Click a tile to open it.",
                   min(4000, L * tile + 120))


def rollout_heatmap(maps: AttentionMaps, matrix: np.ndarray, show_special: bool = True) -> go.Figure:
    """Attention rollout [T, T]: how much of each token's final vector traces back to each input token."""
    idx = kept(maps.special, show_special)
    z = matrix[np.ix_(idx, idx)]
    toks = unique_labels([maps.tokens[i] for i in idx])
    fig = go.Figure(go.Heatmap(z=z.astype(np.float32), x=toks, y=toks, colorscale="Purples", zmin=0,
                               hovertemplate="%{y} ← %{x}<br>share %{z:.3f}<extra></extra>",
                               colorbar=dict(title="share", thickness=12)))
    fig.update_xaxes(title="input token", tickangle=-60, type="category")
    fig.update_yaxes(title="final position", autorange="reversed", type="category")
    return _layout(fig, "Attention rollout across all layers (head mean + residual, multiplied up the stack)",
                   max(420, min(900, 22 * len(idx) + 160)))


def saliency_bars(sal: Saliency, attention_row: np.ndarray | None = None, attention_label: str = "",
                  show_special: bool = True) -> go.Figure:
    """Saliency beside attention, one bar per token: attention (if given), gradient x input,
    integrated gradients. Signed: red raises the target, blue lowers it."""
    idx = kept(sal.special, show_special)
    toks = [sal.tokens[i] for i in idx]
    panels = []
    if attention_row is not None:
        panels.append((attention_label or "attention", attention_row[idx], False))
    panels.append(("gradient × input", sal.grad_x_input[idx], True))
    if sal.integrated is not None:
        panels.append((f"integrated gradients ({sal.ig_steps} steps)", sal.integrated[idx], True))
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[p[0] for p in panels])
    for r, (name, vals, signed) in enumerate(panels, start=1):
        colours = (["#d62728" if v >= 0 else "#1f77b4" for v in vals] if signed else "#6a51a3")
        fig.add_trace(go.Bar(x=list(range(len(idx))), y=vals, marker_color=colours, name=name, showlegend=False,
                             hovertext=toks, hovertemplate="%{hovertext}: %{y:.4f}<extra></extra>"), row=r, col=1)
    fig.update_xaxes(_token_axis(toks), row=len(panels), col=1)
    fig.update_xaxes(automargin=True)
    target = f"{sal.target} = {sal.target_value:.3f}"
    title = f"What drove the output (saliency)<br><sup>target: {target}<br>{CAVEAT}</sup>"
    fig.update_annotations(font=dict(size=13))
    return _layout(fig, title, 190 * len(panels) + 260).update_layout(margin=dict(t=125, b=90))


def next_token_bars(maps: AttentionMaps) -> go.Figure:
    """Decoder: the top-k next tokens with their probabilities."""
    if not maps.next_tokens:
        return _layout(go.Figure(), "Next-token distribution: only for decoders", 200)
    toks = [repr(t)[1:-1] or "(empty)" for t, _ in maps.next_tokens]
    probs = [p for _, p in maps.next_tokens]
    fig = go.Figure(go.Bar(x=probs, y=toks, orientation="h", marker_color="#31a354",
                           text=[f"{p:.1%}" for p in probs], textposition="outside",
                           hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(title="probability", range=[0, min(1.0, max(probs) * 1.25 + 0.02)])
    return _layout(fig, f"Next token after {maps.tokens[-1]!r} (top {len(toks)})", 60 + 28 * len(toks) + 60)


def head_math_figure(hm: HeadMath, dims: int = 32) -> go.Figure:
    """Scaled dot-product for one query token: q·k/√d_k, softmax, and the weighted value vectors
    (first `dims` dimensions) summed into the head's output."""
    T = len(hm.tokens)
    d = min(dims, hm.d_k)
    scores = np.where(hm.masked, np.nan, hm.scores)
    contrib = hm.weights[:, None] * hm.v[:, :d]
    z = np.vstack([contrib, hm.output[None, :d]])
    ylabels = [f"{w:.2f} × v({t})" for w, t in zip(hm.weights, hm.tokens)] + ["= output (sum)"]
    fig = make_subplots(rows=3, cols=1, row_heights=[0.2, 0.2, 0.6], vertical_spacing=0.13,
                        subplot_titles=[f"1. scores = q·k / √d_k  (d_k = {hm.d_k})"
                                        + ("  (grey: masked, −∞)" if hm.masked.any() else ""),
                                        "2. softmax(scores) = attention weights (sum 1)",
                                        f"3. weight × value vectors (first {d} of {hm.d_k} dims), summed to the output"])
    x = list(range(T))
    fig.add_trace(go.Bar(x=x, y=scores, marker_color="#756bb1", hovertext=hm.tokens, showlegend=False,
                         hovertemplate="%{hovertext}: %{y:.3f}<extra></extra>"), row=1, col=1)
    if hm.masked.any():
        fig.add_trace(go.Bar(x=[i for i in x if hm.masked[i]], y=[0.0001] * int(hm.masked.sum()),
                             marker_color=MASKED, showlegend=False, hoverinfo="skip"), row=1, col=1)
    fig.add_trace(go.Bar(x=x, y=hm.weights, marker_color="#3182bd", hovertext=hm.tokens, showlegend=False,
                         hovertemplate="%{hovertext}: %{y:.3f}<extra></extra>"), row=2, col=1)
    lim = float(np.abs(z).max()) or 1.0
    fig.add_trace(go.Heatmap(z=z, y=list(range(T + 1)), colorscale="RdBu", zmid=0, zmin=-lim, zmax=lim,
                             showscale=False, hovertemplate="dim %{x}: %{z:.3f}<extra></extra>"), row=3, col=1)
    for r in (1, 2):
        fig.update_xaxes(_token_axis(list(hm.tokens), -45 if T > 8 else 0), row=r, col=1)
    fig.update_yaxes(tickmode="array", tickvals=list(range(T + 1)), ticktext=ylabels, autorange="reversed",
                     row=3, col=1)
    fig.update_xaxes(title="value dimension", row=3, col=1)
    title = (f"Scaled dot-product, layer {hm.layer} head {hm.head}, query token {hm.query} "
             f"{hm.tokens[hm.query]!r} (real numbers from the model)")
    return _layout(fig, title, 640 + 18 * (T + 1))


def write_html(fig: go.Figure, path: str | Path) -> Path:
    """A self-contained HTML file of `fig` (plotly.js inlined, so it opens offline)."""
    path = Path(path)
    fig.write_html(path, include_plotlyjs=True, full_html=True)
    return path
