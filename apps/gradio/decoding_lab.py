"""Decoding Lab: greedy, beam search and sampling side by side on SmolLM2's real logits, the beam tree,
the next-token distribution at each step. Roadmap weeks 3 and 6."""
from __future__ import annotations

import gradio as gr

from apps.gradio.common import code_box, friendly
from apps.gradio.controls import render_all
from apps.tabs import TABS
from core.decoding import view as dv
from core.decoding.decode import STRATEGIES

TITLE, WEEKS, SUMMARY = TABS["decoding_lab"].heading
NAMES = [c.name for c in dv.DECODE_CONTROLS]


def decode_api(prompt: str, strategy: str = "greedy", max_new_tokens: int = 20, num_beams: int = 3,
               length_penalty: float = 1.0, temperature: float = 0.8, top_k: int = 50, top_p: float = 0.95,
               seed: int = 0) -> dict:
    """Decode `prompt` with SmolLM2-135M: strategy greedy | beam | sample. Returns text, tokens, token_ids,
    token_logprobs, sequence_logprob, steps (top next tokens at each step) and beam_tree (beam only)."""
    return dv.decode_api(prompt, strategy, int(max_new_tokens), int(num_beams), float(length_penalty),
                         float(temperature), int(top_k), float(top_p), int(seed))


@friendly
def do_compare(*args):
    values = dict(zip(NAMES, args))
    prompt = values.pop("prompt")
    v = dv.compare_view(prompt, **values)
    return (v.rows, v.tree_figure, *(v.distribution_figures[s] for s in STRATEGIES), v.code)


def build() -> None:
    gr.Markdown(f"### {TITLE} · roadmap weeks {WEEKS}\n" + dv.EXPLAINER)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            ctl = render_all(dv.DECODE_CONTROLS)
            go = gr.Button("Decode three ways", variant="primary", elem_id="dec-go")
        with gr.Column(scale=3):
            table = gr.Dataframe(headers=["strategy", "output", "sequence log-prob", "tokens", "seconds"],
                                 interactive=False, wrap=True, elem_id="dec-table")
            tree = gr.Plot(label="Beam search tree")
            with gr.Tabs():
                dists = []
                for s in STRATEGIES:
                    with gr.Tab(f"{s}: next-token distribution"):
                        dists.append(gr.Plot(label=f"{s}: top next tokens per step"))
    code = code_box()
    go.click(do_compare, [ctl[n] for n in NAMES], [table, tree, *dists, code], api_visibility="private",
             concurrency_limit=2, concurrency_id="llm")
    gr.api(friendly(decode_api), api_name="decode", concurrency_limit=2, concurrency_id="llm")
