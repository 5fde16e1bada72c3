"""What the Attention tab shows, for any front end: the figures for a chosen layer / head / focus
token, the summary line, the token labels, the scaled dot-product numbers, the export and the code.

Gradio's tab and Streamlit's page both call these with core's plain results (AttentionMaps,
Saliency), so both show the same thing in the same words; the front ends only lay it out.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import attention, config
from core.attention import figures as fa
from core.attention.saliency import Saliency
from core.attention.scaled_dot_product import HeadMath, head_math
from core.controls import Control

EXAMPLES = [
    ["The animal didn't cross the street because it was too tired.", "", "minilm"],
    ["The cat sat on the mat.", "A dog slept on the rug.", "minilm"],
    ["The capital of France is", "", "smollm2-135m"],
    ["Attention 注意 🚀 unbelievably", "", "smollm2-135m"],
]
ALL = "all"
ENCODER_TARGET_WHY = ("MiniLM ships without a masked-token head, so saliency explains what it is built for, its "
                      "sentence vector; type a second sentence to explain the pair's cosine similarity")
EXPORTS = ("head view", "model view", "rollout", "saliency", "scaled dot-product", "next token")
INTRO = ("Type a sentence (or two, for an encoder's sentence pair) and walk through every layer and head. "
         "Beside the attention is **saliency**: how much each input token actually moved the model's output. "
         f"*{fa.CAVEAT}*")
PAIR_LABEL = ("Second sentence (optional; an encoder reads the pair as [CLS] A [SEP] B [SEP], "
              "a decoder reads them on two lines)")
MODEL_VIEW_HELP = ("Every layer (rows) × head (columns). **Click a tile** (or use the Layer and Head "
                   "controls above) to open it in the head view; a red frame marks it.")
ROLLOUT_HELP = ("Attention rollout multiplies the head-averaged maps of all layers (with the residual "
                "connection as an identity) to estimate how much each input token reaches each final position.")
MATH_HELP = ("For the chosen **layer**, **head** (a single head; *all* uses head 0) and **focus token** "
             "(none = the last token): q·kᵀ/√d_k, the softmax, and the weighted sum of the value vectors, "
             "recomputed from the model's own projections.")

# --- the tab's inputs, declared once (apps/gradio/controls.py and apps/streamlit/controls.py draw them) ---
RUN_LABEL = "Show attention"
MATH_LABEL = "Compute for this head and token"
EXPORT_LABEL = "Export as HTML (opens offline)"
PNG_NOTE = "For a PNG, use the camera icon in the figure's toolbar (top right of each plot)."
DETAIL_TABS = ("Model view", "Rollout", "Scaled dot-product", "Next token", "Export & code")
INPUT_CONTROLS = (  # what one model run takes: attention_maps(text, model, pair) and saliency(..., integrated)
    Control("text", "Sentence", "textarea", EXAMPLES[0][0], lines=2),
    Control("pair", PAIR_LABEL, "text", ""),
    # Keys here; each front end shows them as model_choices()' "key (kind)" labels.
    Control("model", "Model", "choice", attention.DEFAULT_MODEL, choices=tuple(attention.model_kinds())),
    Control("special", "Show special tokens", "check", True),
    Control("integrated", "Integrated gradients", "check", True),
)
# The view controls only redraw the stored result. Layer, head and focus depend on that result (the
# model's layer and head counts, its tokens): these declarations give their label and default, and
# the range or choices drawn before the first run (MiniLM-L6: 6 layers x 12 heads, no tokens yet);
# each front end replaces them with the computed result's own once it has one.
VIEW_CONTROLS = (
    Control("layer", "Layer", "slider", 0, minimum=0, maximum=5, step=1),
    Control("head", "Head (all = every head / their mean)", "choice", ALL,
            choices=(ALL, *(str(h) for h in range(12)))),
    Control("focus", "Focus token", "choice", -1, choices=(-1,)),  # -1 = none; the tokens come with a result
    Control("view", "Head view as", "radio", "lines", choices=("lines", "heatmap")),
)
EXPORT_CONTROL = Control("which", "Figure", "choice", EXPORTS[0], choices=EXPORTS)
TOKEN_COLOURS = {"special": "#d9d9d9", "token": "#fdd0a2", "sentence A": "#fdd0a2", "sentence B": "#c6dbef"}


def model_choices() -> list[tuple[str, str]]:
    """(label, key) for every model the tab can open, e.g. ("minilm (encoder)", "minilm")."""
    return [(f"{key} ({kind})", key) for key, kind in attention.model_kinds().items()]


def head_arg(head: str | int | None) -> int | None:
    """A head control's value ("all", "", None or a number) as a head index, None = every head."""
    return None if head in (None, "", ALL) else int(head)


def attention_row(maps: attention.AttentionMaps, layer: int, head: int | None) -> tuple[np.ndarray, str]:
    """The attention that sits next to saliency: from the predicting position for a decoder,
    received on average (the sentence vector is a mean) for an encoder."""
    m = fa.head_matrix(maps, layer, head)
    which = "mean of heads" if head is None else f"head {head}"
    if maps.kind == "decoder":
        return m[-1], f"attention from the last token (layer {layer}, {which})"
    return m.mean(0), f"attention received, mean over tokens (layer {layer}, {which})"


def code(text: str, pair: str, model: str, layer: int, head: int | None, focus: int | None, special: bool,
         view: str) -> str:
    """The "show the code" text that redraws the current view with this repo's core."""
    heads = "None" if head is None else f"[{head}]"
    pair_arg = f", text_pair={pair!r}" if pair.strip() else ""
    draw = (f"fa.lines(maps, layer={layer}, heads={heads}, focus={focus}, show_special={special})" if view == "lines"
            else f"fa.heatmap(maps, layer={layer}, head={head}, focus={focus}, show_special={special})")
    return f"""from core import attention
from core.attention import figures as fa
from core.attention.saliency import saliency

maps = attention.attention_maps({text!r}, {model!r}{pair_arg})
print(maps.tokens, maps.weights.shape)  # weights: [layers, heads, T, T]
fig = {draw}
fig.show()  # or fa.write_html(fig, "head_view.html")
fa.model_view(maps).show()
fa.rollout_heatmap(maps, attention.rollout(maps.weights)).show()
sal = saliency({text!r}, {model!r}{pair_arg})
fa.saliency_bars(sal).show()
"""


def token_labels(maps: attention.AttentionMaps, show_special: bool) -> list[tuple[str, str]]:
    """(token, category) for each shown token; category is one of TOKEN_COLOURS."""
    first = "sentence A" if 1 in maps.segment else "token"
    out = []
    for tok, sp, seg in zip(maps.tokens, maps.special, maps.segment):
        if sp and not show_special:
            continue
        out.append((tok, "special" if sp else ("sentence B" if seg == 1 else first)))
    return out


def visible_indices(maps: attention.AttentionMaps, show_special: bool) -> list[int]:
    """The token positions drawn when special tokens are shown or hidden."""
    return [int(i) for i in fa.kept(maps.special, show_special)]


def clamp_layer(maps: attention.AttentionMaps, layer: int) -> int:
    return int(min(max(int(layer), 0), maps.n_layers - 1))


def render_views(maps: attention.AttentionMaps | None, sal: Saliency | None, layer: int, head: Any, focus: Any,
                 special: bool, view: str) -> tuple[Any, Any, Any]:
    """Every figure that depends only on the stored result (no model call):
    (head view, saliency beside attention, model view). focus None or -1 = no focus token."""
    if maps is None:
        return None, None, None
    layer = clamp_layer(maps, layer)
    h = head_arg(head)
    focus = None if focus in (None, -1) else int(focus)
    if view == "lines":
        head_fig = fa.lines(maps, layer, None if h is None else [h], focus, special)
    else:
        head_fig = fa.heatmap(maps, layer, h, focus, special)
    sal_fig = None
    if sal is not None:
        row, label = attention_row(maps, layer, h)
        sal_fig = fa.saliency_bars(sal, row, label, special)
    model_fig = model_view(maps, special, layer, h)
    return head_fig, sal_fig, model_fig


def model_view(maps: attention.AttentionMaps, special: bool, layer: int, head: int | None) -> Any:
    """Every layer x head, the chosen (layer, head) framed in red."""
    return fa.model_view(maps, special, cell=config.MODEL_VIEW_CELL, selected=(layer, head))


def with_tile_targets(fig: Any) -> Any:
    """The model view made clickable where only point selections report clicks (Streamlit): an
    invisible 3x3 grid of markers over every tile, each carrying its (layer, head) as customdata,
    and the heatmap itself taken out of hover so the nearest marker answers the click."""
    import plotly.graph_objects as go

    meta = fig.layout.meta
    tile = int(meta["tile"])
    xs, ys, ids = [], [], []
    offsets = [tile * f - 0.5 for f in (1 / 6, 1 / 2, 5 / 6)]
    for layer in range(int(meta["layers"])):
        for head in range(int(meta["heads"])):
            for dy in offsets:
                for dx in offsets:
                    xs.append(head * tile + dx)
                    ys.append(layer * tile + dy)
                    ids.append([layer, head])
    fig.update_traces(hoverinfo="skip", selector=dict(type="heatmap"))
    fig.add_trace(go.Scatter(x=xs, y=ys, customdata=ids, mode="markers", showlegend=False,
                             marker=dict(size=12, opacity=0), hovertemplate="layer %{customdata[0]}, "
                             "head %{customdata[1]}<extra></extra>",
                             selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0))))
    return fig


def tile_at(meta: dict, x: float, y: float) -> tuple[int, int] | None:
    """The (layer, head) under a click at grid cell (x, y) of the model view, from the tile geometry
    the figure keeps in layout.meta (tile size, layers, heads); None for a gap or outside."""
    tile = int(meta.get("tile") or 0)
    if tile <= 0 or x is None or y is None:
        return None
    layer, head = int(float(y) // tile), int(float(x) // tile)
    if not (0 <= layer < int(meta.get("layers", 0)) and 0 <= head < int(meta.get("heads", 0))):
        return None
    return layer, head


def summary(maps: attention.AttentionMaps, sal: Saliency, model_key: str) -> str:
    """The markdown line above the views: the model, its kind, sizes, saliency target and notices."""
    notes = [maps.notice] if maps.notice else []
    if sal.notice and sal.notice != maps.notice:
        notes.append(sal.notice.replace(maps.notice, "").strip())
    if sal.integrated is not None and sal.ig_gap is not None:
        total = abs(sal.target_value) or 1.0
        if sal.ig_gap > 0.1 * total:
            notes.append(f"Integrated gradients with {sal.ig_steps} steps miss the target change by "
                         f"{sal.ig_gap:.2f}; read them as a rough ranking (raise NLP_STUDIO_IG_STEPS for more).")
    kind = "decoder: causal, each token sees only itself and the tokens before it" if maps.kind == "decoder" \
        else "encoder: every token sees every token"
    notes.insert(0, f"**{model_key}**, {kind}: {maps.n_layers} layers × {maps.n_heads} heads, "
                    f"{len(maps.tokens)} tokens. Saliency target: {sal.target}"
                    + (f" ({ENCODER_TARGET_WHY})." if maps.kind == "encoder" else "."))
    return "  \n".join(notes)


def focus_choices(maps: attention.AttentionMaps) -> list[tuple[str, int]]:
    """(label, token index) for the focus control; -1 = no focus token."""
    return [("none", -1)] + [(f"{i}: {maps.tokens[i]}", i) for i in range(len(maps.tokens))]


@dataclass(frozen=True)
class MathView:
    math: HeadMath
    figure: Any  # plotly Figure
    rows: list[list]  # [j, token, q·k/√d_k (None where masked), softmax]


def math_view(maps: attention.AttentionMaps | None, text: str, pair: str, layer: int, head: Any,
              focus: Any) -> MathView:
    """The scaled dot-product for one head (all = head 0) and one query token (none = the last),
    recomputed from the model's own projections."""
    if maps is None:
        raise ValueError("Press “Show attention” first.")
    h = head_arg(head) or 0
    q = len(maps.tokens) - 1 if focus in (None, -1) else int(focus)
    hm = head_math(text, maps.model_key, int(layer), h, q, pair)
    rows = [[j, t, None if hm.masked[j] else round(float(hm.scores[j]), 4), round(float(hm.weights[j]), 4)]
            for j, t in enumerate(hm.tokens)]
    return MathView(hm, fa.head_math_figure(hm), rows)


def export_figure(maps: attention.AttentionMaps | None, sal: Saliency | None, which: str, layer: int, head: Any,
                  focus: Any, special: bool, view: str) -> Any:
    """The figure named `which` (one of EXPORTS) for the current choices, to write as HTML."""
    if maps is None:
        raise ValueError("Press “Show attention” first, then export.")
    if which == "scaled dot-product":
        raise ValueError("Export the scaled dot-product with the camera icon on its plot, or run the code box.")
    if which not in EXPORTS:
        raise ValueError(f"Choose a figure to export: {', '.join(EXPORTS)}")
    if which in ("rollout", "next token"):
        return (fa.rollout_heatmap(maps, attention.rollout(maps.weights), special) if which == "rollout"
                else fa.next_token_bars(maps))
    head_fig, sal_fig, model_fig = render_views(maps, sal, layer, head, focus, special, view)
    return {"head view": head_fig, "model view": model_fig, "saliency": sal_fig}[which]


def export_html(fig: Any, which: str, folder: str | Path) -> Path:
    """Write `fig` as a self-contained HTML file (opens offline) named after the figure."""
    return fa.write_html(fig, Path(folder) / f"attention_{which.replace(' ', '_')}.html")


def html_text(fig: Any) -> str:
    """`fig` as a self-contained HTML page (plotly.js inlined, so it opens offline), as export_html writes."""
    return fig.to_html(include_plotlyjs=True, full_html=True)
