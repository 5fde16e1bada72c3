"""Attention page: every layer and head of an encoder (MiniLM) or a decoder (SmolLM2), beside what
drove the output (saliency), with rollout, the scaled dot-product in real numbers and the code.

"Show attention" runs the model once and keeps the result (AttentionMaps, Saliency) in
st.session_state; the layer / head / focus / view controls then only redraw, and each drawn figure is
kept until one of those choices changes. A click on a model-view tile opens that layer and head
(st.plotly_chart's selection event, mapped to a tile by core.attention.view.tile_at).
"""
from __future__ import annotations

import html

import streamlit as st

from apps.streamlit.common import code_box, guard, heading, model, run_page
from apps.streamlit.controls import render
from core import attention
from core.attention import figures as fa, view as av
from core.attention.saliency import saliency
from core.controls import by_name

READY = "Tokens as the tokenizer split them"  # shows once a result is on the page
MODEL_CHART = "attn_model_chart"
CHART_CONFIG = {"displaylogo": False}


def _load(model_key: str) -> None:
    """Warm the attention model once per process, with a spinner the first time."""
    kind = attention.check_model(model_key)
    model(model_key, None, attention.ENCODER_LOADER if kind == "encoder" else attention.DECODER_LOADER)


def _use_example() -> None:
    """A chosen example fills the form and runs it."""
    pick = st.session_state.get("attn_try")
    for text, pair, key in av.EXAMPLES:
        if text == pick:
            st.session_state.update(attn_text=text, attn_pair=pair, attn_model=key, attn_pending=True)


def _compute(text: str, pair: str, model_key: str, integrated: bool) -> None:
    """Run the model once: attention maps and saliency, stored for this session."""
    _load(model_key)
    with st.spinner("Running the model and its gradients…"):
        maps = attention.attention_maps(text, model_key, pair)
        sal = saliency(text, model_key, pair, integrated=bool(integrated))
    old = st.session_state.get("attn_result")
    st.session_state["attn_result"] = dict(maps=maps, sal=sal, text=text, pair=pair, model=model_key,
                                           summary=av.summary(maps, sal, model_key),
                                           n=(old["n"] + 1) if old else 1)
    # The view controls start where the Gradio tab starts them: same layer (clamped), head if it exists.
    st.session_state["attn_layer"] = av.clamp_layer(maps, st.session_state.get("attn_layer", 0))
    head = st.session_state.get("attn_head", av.ALL)
    st.session_state["attn_head"] = head if head == av.ALL or int(head) < maps.n_heads else av.ALL
    st.session_state["attn_focus"] = -1
    for key in ("attn_figs", "attn_math", "attn_export", "attn_rollout"):
        st.session_state.pop(key, None)


def _open_tile() -> None:
    """on_select of the model view: the clicked cell's tile becomes the chosen layer and head."""
    result = st.session_state.get("attn_result")
    event = st.session_state.get(MODEL_CHART)
    points = event.selection.points if event else []
    if result is None or not points:
        return
    point = points[0]
    ids = point.get("customdata")
    tile = (tuple(int(v) for v in ids[:2]) if ids else
            av.tile_at(st.session_state.get("attn_meta", {}), point.get("x"), point.get("y")))
    if tile is not None:
        st.session_state["attn_layer"], st.session_state["attn_head"] = tile[0], str(tile[1])


def _figures(result: dict, layer: int, head: str, focus: int | None, special: bool, view: str) -> tuple:
    """Head view, saliency and model view for these choices, redrawn only when a choice changes."""
    choice = (result["n"], layer, head, focus, special, view)
    cached = st.session_state.get("attn_figs")
    if cached is None or cached[0] != choice:
        head_fig, sal_fig, model_fig = av.render_views(result["maps"], result["sal"], layer, head, focus, special,
                                                       view)
        figs = (head_fig, sal_fig, av.with_tile_targets(model_fig))
        st.session_state["attn_meta"] = dict(model_fig.layout.meta)
        cached = (choice, figs)
        st.session_state["attn_figs"] = cached
    return cached[1]


def _rollout(result: dict, special: bool):
    cached = st.session_state.get("attn_rollout")
    if cached is None or cached[0] != (result["n"], special):
        maps = result["maps"]
        cached = ((result["n"], special), fa.rollout_heatmap(maps, attention.rollout(maps.weights), special))
        st.session_state["attn_rollout"] = cached
    return cached[1]


def _token_strip(maps, special: bool) -> None:
    """The tokens exactly as split, coloured by role (special, sentence A, sentence B)."""
    spans = []
    for tok, role in av.token_labels(maps, special):
        colour = av.TOKEN_COLOURS[role]
        spans.append(f'<span title="{role}" style="background:{colour};border-radius:4px;padding:1px 5px;'
                     f'margin:2px;display:inline-block;font-family:monospace">{html.escape(tok)}</span>')
    roles = sorted({role for _, role in av.token_labels(maps, special)})
    legend = " ".join(f'<span style="background:{av.TOKEN_COLOURS[r]};padding:0 6px;border-radius:4px">{r}</span>'
                      for r in roles)
    st.markdown(f'<div style="line-height:2">{"".join(spans)}</div><small>{legend}</small>',
                unsafe_allow_html=True)


def input_form() -> None:
    ctl = by_name(av.INPUT_CONTROLS)
    labels = dict((key, label) for label, key in av.model_choices())
    with st.form("attn_form"):
        left, right = st.columns([2, 1])
        # The examples below may set attn_text, attn_pair and attn_model: session state wins over the default.
        text = render(ctl["text"], "attn_text", left, height=80)
        pair = render(ctl["pair"], "attn_pair", left)
        model_key = render(ctl["model"], "attn_model", right, format_func=lambda k: labels.get(k, k))
        integrated = render(ctl["integrated"], "attn_ig", right)
        go = right.form_submit_button(av.RUN_LABEL, type="primary", key="attn_go")
    st.pills("Examples", [t for t, _, _ in av.EXAMPLES], key="attn_try", on_change=_use_example)
    if go or st.session_state.pop("attn_pending", False):
        with guard():
            _compute(text, pair, model_key, integrated)


def views() -> None:
    result = st.session_state.get("attn_result")
    if result is None:
        st.info("Type a sentence and press **Show attention**.")
        return
    maps = result["maps"]
    st.markdown(result["summary"])
    special = render(by_name(av.INPUT_CONTROLS)["special"], "attn_special")
    st.subheader(READY)
    _token_strip(maps, special)

    ctl = by_name(av.VIEW_CONTROLS)
    cols = st.columns(4)
    # The result's own layer range, heads and tokens replace the declared ones (see VIEW_CONTROLS).
    layer = render(ctl["layer"], "attn_layer", cols[0], max_value=maps.n_layers - 1)
    head = render(ctl["head"], "attn_head", cols[1], options=[av.ALL] + [str(h) for h in range(maps.n_heads)])
    visible = av.visible_indices(maps, special)
    if st.session_state.get("attn_focus") not in visible:
        st.session_state["attn_focus"] = -1
    focus = render(ctl["focus"], "attn_focus", cols[2], options=[-1] + visible,
                   format_func=lambda i: "none" if i == -1 else f"{i}: {maps.tokens[i]}")
    focus = None if focus == -1 else focus
    view = render(ctl["view"], "attn_view", cols[3])

    head_fig, sal_fig, model_fig = _figures(result, layer, head, focus, special, view)
    left, right = st.columns([3, 2])
    left.plotly_chart(head_fig, key="attn_head_chart", config=CHART_CONFIG)
    right.plotly_chart(sal_fig, key="attn_sal_chart", config=CHART_CONFIG)

    tabs = st.tabs(list(av.DETAIL_TABS))
    with tabs[0]:
        st.markdown(av.MODEL_VIEW_HELP)
        st.plotly_chart(model_fig, key=MODEL_CHART, on_select=_open_tile, selection_mode="points",
                        config=CHART_CONFIG)
    with tabs[1]:
        st.markdown(av.ROLLOUT_HELP)
        st.plotly_chart(_rollout(result, special), key="attn_rollout_chart", config=CHART_CONFIG)
    with tabs[2]:
        st.markdown(av.MATH_HELP)
        if st.button(av.MATH_LABEL, key="attn_math_go"):
            with guard():
                st.session_state["attn_math"] = av.math_view(maps, result["text"], result["pair"], layer, head,
                                                             focus)
        shown = st.session_state.get("attn_math")
        if shown is not None:
            st.plotly_chart(shown.figure, key="attn_math_chart", config=CHART_CONFIG)
            st.dataframe([dict(zip(["j", "token", "q·k/√d_k", "softmax"], r)) for r in shown.rows],
                         hide_index=True, width="stretch")
    with tabs[3]:
        st.plotly_chart(fa.next_token_bars(maps), key="attn_next_chart", config=CHART_CONFIG)
    with tabs[4]:
        export_section(result, layer, head, focus, special, view)
        st.caption(av.PNG_NOTE)
        code_box(av.code(result["text"], result["pair"], maps.model_key, layer, av.head_arg(head), focus, special,
                         view))


def export_section(result: dict, layer: int, head: str, focus: int | None, special: bool, view: str) -> None:
    cols = st.columns([2, 1])
    which = render(av.EXPORT_CONTROL, "attn_which", cols[0])
    if cols[1].button(av.EXPORT_LABEL, key="attn_export_go"):
        with guard():
            fig = av.export_figure(result["maps"], result["sal"], which, layer, head, focus, special, view)
            st.session_state["attn_export"] = (which, fig)
    ready = st.session_state.get("attn_export")
    if ready is not None:
        name, fig = ready
        # The HTML (plotly.js inlined, several MB) is made only when the button is pressed.
        st.download_button(f"Download attention_{name.replace(' ', '_')}.html", data=lambda: av.html_text(fig),
                           file_name=f"attention_{name.replace(' ', '_')}.html", mime="text/html",
                           key="attn_download", icon=":material/download:")


def main() -> None:
    heading("attention", av.INTRO)
    input_form()
    views()


run_page(main)
