"""Attention Visualizer: every layer and head of an encoder or a decoder, beside what drove the output."""
from __future__ import annotations


import gradio as gr
import numpy as np

from apps.gradio.common import code_box, friendly, session_folder
from apps.gradio.controls import render
from apps.tabs import TABS
from core import attention
from core.attention import figures as fa, view as av
from core.attention.view import ALL, EXAMPLES, render_views
from core.controls import by_name
from core.attention.saliency import Saliency, saliency
from core.zerogpu import gpu

TITLE, WEEKS, SUMMARY = TABS["attention"].heading

# gr.Plot sends no click events, so a small page script does: a click on a model-view tile
# writes "layer,head,time" into a hidden textbox, whose change event opens that head.
HEAD = """<script>
(function () {
  function bind() {
    document.querySelectorAll('#attn-model .js-plotly-plot').forEach(function (gd) {
      if (gd.__nlpTileClick || !gd.on) return;
      gd.__nlpTileClick = true;
      gd.on('plotly_click', function (ev) {
        var meta = (gd.layout && gd.layout.meta) || {};
        if (!meta.tile || !ev.points || !ev.points.length) return;
        var layer = Math.floor(ev.points[0].y / meta.tile), head = Math.floor(ev.points[0].x / meta.tile);
        if (layer < 0 || layer >= meta.layers || head < 0 || head >= meta.heads) return;
        var box = document.querySelector('#attn-tile-click textarea, #attn-tile-click input');
        if (!box) return;
        box.value = layer + ',' + head + ',' + Date.now();
        box.dispatchEvent(new Event('input', {bubbles: true}));
      });
    });
  }
  setInterval(bind, 700);
})();
</script>"""


# --- handlers (module level) ----------------------------------------------------------------

@gpu()
def compute(text_v, pair_v, model_v, special_v, ig_v, layer_v, head_v, view_v):
    maps = attention.attention_maps(text_v, model_v, pair_v)
    sal = saliency(text_v, model_v, pair_v, integrated=bool(ig_v))
    layer_v = min(int(layer_v), maps.n_layers - 1)
    head_v = head_v if head_v == ALL or int(head_v) < maps.n_heads else ALL
    head_fig, sal_fig, model_fig = render_views(maps, sal, layer_v, head_v, -1, special_v, view_v)
    focus_choices = av.focus_choices(maps)
    return (maps, sal, av.summary(maps, sal, model_v), av.token_labels(maps, special_v),
            gr.Slider(maximum=maps.n_layers - 1, value=layer_v),
            gr.Dropdown(choices=[ALL] + [str(h) for h in range(maps.n_heads)], value=head_v),
            gr.Dropdown(choices=focus_choices, value=-1),
            head_fig, sal_fig, model_fig,
            fa.rollout_heatmap(maps, attention.rollout(maps.weights), special_v),
            fa.next_token_bars(maps),
            av.code(text_v, pair_v, model_v, layer_v, av.head_arg(head_v), None, special_v, view_v))


def rerender(maps, sal, layer_v, head_v, focus_v, special_v, view_v, text_v, pair_v, model_v):
    if maps is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    head_fig, sal_fig, model_fig = render_views(maps, sal, layer_v, head_v, focus_v, special_v, view_v)
    focus_i = None if focus_v in (None, -1) else int(focus_v)
    return head_fig, sal_fig, model_fig, av.code(text_v, pair_v, maps.model_key, int(layer_v),
                                                 av.head_arg(head_v), focus_i, special_v, view_v)


def open_tile(maps, click):
    """A click on the model view arrives as "layer,head,time"; open that layer and head."""
    if maps is None or not click:
        return gr.skip(), gr.skip()
    layer_i, head_i = (int(v) for v in click.split(",")[:2])
    if not (0 <= layer_i < maps.n_layers and 0 <= head_i < maps.n_heads):
        return gr.skip(), gr.skip()
    return layer_i, str(head_i)


def toggle_special(maps, sal, layer_v, head_v, focus_v, special_v, view_v, text_v, pair_v, model_v):
    if maps is None:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
    figs = rerender(maps, sal, layer_v, head_v, focus_v, special_v, view_v, text_v, pair_v, model_v)
    return (*figs, av.token_labels(maps, special_v),
            fa.rollout_heatmap(maps, attention.rollout(maps.weights), special_v))


def pick_token(maps, special_v, evt: gr.SelectData):
    if maps is None or evt.index is None:
        return gr.skip()
    visible = av.visible_indices(maps, special_v)
    i = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    return visible[int(i)] if 0 <= int(i) < len(visible) else -1


def compute_math(maps, text_v, pair_v, layer_v, head_v, focus_v):
    shown = av.math_view(maps, text_v, pair_v, layer_v, head_v, focus_v)
    return shown.figure, shown.rows


def export(maps, sal, which_v, layer_v, head_v, focus_v, special_v, view_v):
    fig = av.export_figure(maps, sal, which_v, layer_v, head_v, focus_v, special_v, view_v)
    return str(av.export_html(fig, which_v, session_folder("attention-")))


# --- layout: each part returns its components by name -------------------------------------------

def input_panel() -> dict:
    ctl = by_name(av.INPUT_CONTROLS)
    with gr.Row():
        with gr.Column(scale=2):
            text = render(ctl["text"], max_lines=6)
            pair = render(ctl["pair"])
        with gr.Column(scale=1):
            model = render(ctl["model"], choices=av.model_choices())  # "key (kind)" labels
            with gr.Row():
                special, integrated = render(ctl["special"]), render(ctl["integrated"])
            run = gr.Button(av.RUN_LABEL, variant="primary", elem_id="attn-run")
    # Labelled buttons, not Gradio's table: the table's columns are headed by the inputs' long
    # labels and squeezed the sentences into one word per line on a projector.
    gr.Examples(EXAMPLES, [text, pair, model], label="Try",
                example_labels=[f"{m}: {t} + {p}" if p else f"{m}: {t}" for t, p, m in EXAMPLES])
    return {"text": text, "pair": pair, "model": model, "special": special, "integrated": integrated, "run": run}


def view_panel() -> dict:
    notice = gr.Markdown()
    tokens = gr.HighlightedText(label="Tokens as the tokenizer split them (click one to focus it)", elem_id="attn-tokens",
                                color_map=av.TOKEN_COLOURS, show_legend=True,
                                combine_adjacent=False, interactive=False)
    ctl = by_name(av.VIEW_CONTROLS)
    with gr.Row():
        # Layer maximum, head and focus choices are replaced by compute() from the result (see VIEW_CONTROLS).
        layer = render(ctl["layer"], elem_id="attn-layer")
        head = render(ctl["head"], elem_id="attn-head")
        focus = render(ctl["focus"], choices=[("none", -1)])
        view = render(ctl["view"])
    with gr.Row():
        head_plot = gr.Plot(label="Head view", scale=3)
        sal_plot = gr.Plot(label="Saliency beside attention", scale=2)
    return {"notice": notice, "tokens": tokens, "layer": layer, "head": head, "focus": focus, "view": view,
            "head_plot": head_plot, "sal_plot": sal_plot}


def detail_tabs() -> dict:
    model_title, rollout_title, math_title, next_title, export_title = av.DETAIL_TABS
    with gr.Tabs():
        with gr.Tab(model_title):
            gr.Markdown(av.MODEL_VIEW_HELP)
            model_plot = gr.Plot(label="Model view", elem_id="attn-model")
            tile_click = gr.Textbox(elem_id="attn-tile-click", elem_classes=["nlp-hidden"], show_label=False,
                                    container=False)
        with gr.Tab(rollout_title):
            gr.Markdown(av.ROLLOUT_HELP)
            rollout_plot = gr.Plot(label="Rollout", elem_id="attn-rollout")
        with gr.Tab(math_title):
            gr.Markdown(av.MATH_HELP)
            math_btn = gr.Button(av.MATH_LABEL, size="sm")
            math_plot = gr.Plot(label="Scaled dot-product", elem_id="attn-math")
            math_table = gr.Dataframe(headers=["j", "token", "q·k/√d_k", "softmax"], interactive=False,
                                      label="The numbers")
        with gr.Tab(next_title):
            next_plot = gr.Plot(label="Next-token distribution (decoders)", elem_id="attn-next")
        with gr.Tab(export_title):
            with gr.Row():
                which = render(av.EXPORT_CONTROL)
                export_btn = gr.Button(av.EXPORT_LABEL, size="sm")
            export_file = gr.File(label="HTML file")
            gr.Markdown(av.PNG_NOTE)
            code = code_box()
    return {"model_plot": model_plot, "tile_click": tile_click, "rollout_plot": rollout_plot, "math_btn": math_btn,
            "math_plot": math_plot, "math_table": math_table, "next_plot": next_plot, "which": which,
            "export_btn": export_btn, "export_file": export_file, "code": code}


def wire(c: dict) -> None:
    """Every event of the tab, by component name."""
    def pick(*names: str) -> list:
        return [c[n] for n in names]

    c["run"].click(friendly(compute), pick("text", "pair", "model", "special", "integrated", "layer", "head", "view"),
                   pick("maps", "sal", "notice", "tokens", "layer", "head", "focus", "head_plot", "sal_plot",
                        "model_plot", "rollout_plot", "next_plot", "code"),
                   concurrency_limit=2, api_visibility="private")
    view_inputs = pick("maps", "sal", "layer", "head", "focus", "special", "view", "text", "pair", "model")
    figures = pick("head_plot", "sal_plot", "model_plot", "code")
    gr.on([c["layer"].change, c["head"].input, c["focus"].input, c["view"].input], friendly(rerender), view_inputs,
          figures, concurrency_limit=8, api_visibility="private")
    c["tile_click"].change(open_tile, pick("maps", "tile_click"), pick("layer", "head"), api_visibility="private",
                           queue=False).then(friendly(rerender), view_inputs, figures,
                                             api_visibility="private", concurrency_limit=8)
    c["special"].input(friendly(toggle_special), view_inputs, figures + pick("tokens", "rollout_plot"),
                       concurrency_limit=8, api_visibility="private")
    c["tokens"].select(pick_token, pick("maps", "special"), c["focus"], api_visibility="private").then(
        friendly(rerender), view_inputs, figures, api_visibility="private")
    c["math_btn"].click(friendly(compute_math), pick("maps", "text", "pair", "layer", "head", "focus"),
                        pick("math_plot", "math_table"), concurrency_limit=2, api_visibility="private")
    c["export_btn"].click(friendly(export), pick("maps", "sal", "which", "layer", "head", "focus", "special", "view"),
                          c["export_file"], concurrency_limit=4, api_visibility="private")


def build() -> None:
    gr.Markdown("### Attention Visualizer\n" + av.INTRO)
    c = {"maps": gr.State(None), "sal": gr.State(None)}
    c.update(input_panel())
    c.update(view_panel())
    c.update(detail_tabs())
    wire(c)
    gr.api(friendly(attention_api), api_name="attention", concurrency_limit=2)
    gr.api(friendly(saliency_api), api_name="attention_saliency", concurrency_limit=2)


def attention_api(text: str, model: str = attention.DEFAULT_MODEL, layer: int = -1, head: int = -1,
                  text_pair: str = "") -> dict:
    """Attention weights as plain lists. layer / head = -1 for all of them. Returns
    {tokens, raw_tokens, special, layers, heads, weights [layers][heads][T][T], notice, n_dropped, kind,
    next_tokens}; `layers` and `heads` name the indices kept in `weights`."""
    maps = attention.attention_maps(text, model, text_pair)
    layers = list(range(maps.n_layers)) if int(layer) == -1 else [int(layer)]
    heads = list(range(maps.n_heads)) if int(head) == -1 else [int(head)]
    maps.check_layer_head(layers[0], heads[0])
    w = maps.weights[np.ix_(layers, heads)]
    return {"model": maps.model_key, "kind": maps.kind, "tokens": list(maps.tokens), "raw_tokens": list(maps.raw_tokens),
            "special": list(maps.special), "layers": layers, "heads": heads, "weights": w.tolist(),
            "notice": maps.notice, "n_dropped": maps.n_dropped,
            "next_tokens": [{"token": t, "p": p} for t, p in maps.next_tokens]}


def saliency_api(text: str, model: str = attention.DEFAULT_MODEL, text_pair: str = "", integrated: bool = True) -> dict:
    """Per-token saliency toward the model's output: {tokens, target, target_value, grad_x_input,
    integrated_gradients (or null), ig_steps, ig_gap, notice}."""
    sal: Saliency = saliency(text, model, text_pair, integrated=bool(integrated))
    return {"model": sal.model_key, "tokens": list(sal.tokens), "target": sal.target, "target_value": sal.target_value,
            "grad_x_input": sal.grad_x_input.tolist(),
            "integrated_gradients": None if sal.integrated is None else sal.integrated.tolist(),
            "ig_steps": sal.ig_steps, "ig_gap": sal.ig_gap, "notice": sal.notice}
