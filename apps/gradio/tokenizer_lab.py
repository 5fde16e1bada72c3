"""Tokenizer Lab: train BPE / WordPiece / Unigram, replay the cut of a sentence step by step, and
compare the studio's real tokenizers on the same text. Roadmap week 5."""
from __future__ import annotations

import gradio as gr
import pandas as pd

from apps.gradio.common import code_box, friendly
from apps.gradio.controls import render_all
from apps.tabs import TABS
from core.tokenizer_lab import view as tv

TITLE, WEEKS, SUMMARY = TABS["tokenizer_lab"].heading
TRAIN_NAMES = [c.name for c in tv.TRAIN_CONTROLS]
COMPARE_NAMES = [c.name for c in tv.COMPARE_CONTROLS]


def api_tokenizer_train(text: str = "", corpus: str = "python-docs", algorithm: str = "BPE", vocab_size: int = 500,
                        sentence: str = tv.DEFAULT_SENTENCE, pre_tokenizer: str = "whitespace",
                        lowercase: bool = False) -> dict:
    """Train a tokenizer on `text` (or, if empty, the shipped `corpus`: python-docs | gpl-3) and cut
    `sentence` with it. Returns {vocab_size, tokens, ids, merges (first 100), replay: [{step, action, pieces}], ...}."""
    return tv.api_train(text, corpus, algorithm, int(vocab_size), sentence, pre_tokenizer, bool(lowercase))


def api_tokenize_compare(text: str, tokenizers: str = "smollm2,minilm,whisper", add_special_tokens: bool = True) -> list:
    """The studio's tokenizers (comma-separated: smollm2, minilm, whisper) on the same text: pieces,
    ids, bytes, token counts, bytes per token, special tokens."""
    return tv.api_compare(text, tokenizers, add_special_tokens)


def do_train(*values):
    v = tv.train_view(**dict(zip(TRAIN_NAMES, values)))
    algo = v.trained.settings.algorithm
    replay = pd.DataFrame(v.replay_rows, columns=["step", "what happened", "pieces"])
    vocab = pd.DataFrame(v.vocab_rows, columns=tv.vocab_headers(algo))
    steps = len(v.replay.steps) - 1
    return (v.summary, v.pieces_html, replay, vocab, v.code, v.replay,
            gr.update(maximum=max(1, steps), value=steps, visible=steps > 0))


def show_step(replay, step):
    if replay is None:
        return ""
    s = replay.steps[min(int(step), len(replay.steps) - 1)]
    return f"<p><b>Step {s.step}</b>: {s.action}</p>" + tv.step_html(s)


def do_compare(*values):
    v = tv.compare_view(**dict(zip(COMPARE_NAMES, values)))
    return (pd.DataFrame(v.rows, columns=tv.COMPARE_HEADERS), v.html, v.figure, v.code)


def train_tab() -> None:
    gr.Markdown(tv.TRAIN_EXPLAINER)
    replay_state = gr.State(None)  # this session's replay, for the step slider
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            inputs = render_all(tv.TRAIN_CONTROLS)
            go = gr.Button("Train and replay", variant="primary")
        with gr.Column(scale=2):
            summary = gr.Markdown("Press **Train and replay**: training on the Python reference takes about a second.")
            pieces = gr.HTML(label="The sentence's tokens")
            step = gr.Slider(0, 1, value=0, step=1, label="Replay step", visible=False)
            step_view = gr.HTML()
            replay = gr.Dataframe(label="Replay, step by step", interactive=False, wrap=True, max_height=360,
                                  column_widths=["8%", "30%", "62%"])
            vocab = gr.Dataframe(label="What it learned (BPE: merges in rank order)", interactive=False,
                                 max_height=300)
    code = code_box()
    outs = [summary, pieces, replay, vocab, code, replay_state, step]
    go.click(friendly(do_train), list(inputs.values()), outs, api_visibility="private", concurrency_limit=2)
    inputs["sentence"].submit(friendly(do_train), list(inputs.values()), outs, api_visibility="private",
                              concurrency_limit=2)
    step.change(show_step, [replay_state, step], step_view, api_visibility="private", queue=False)


def compare_tab() -> None:
    gr.Markdown(tv.COMPARE_EXPLAINER)
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            inputs = render_all(tv.COMPARE_CONTROLS)
            go = gr.Button("Compare tokenizers", variant="primary")
            gr.Examples([[e] for e in tv.COMPARE_EXAMPLES], [inputs["text"]], label="Try")
        with gr.Column(scale=2):
            table = gr.Dataframe(label="Side by side", interactive=False)
            fig = gr.Plot(label="Token counts")
    strips = gr.HTML()
    code = code_box()
    outs = [table, strips, fig, code]
    go.click(friendly(do_compare), list(inputs.values()), outs, api_visibility="private", concurrency_limit=4)


def build() -> None:
    gr.Markdown(f"### {TITLE} · roadmap week {WEEKS}")
    with gr.Tabs():
        with gr.Tab("Train a tokenizer"):
            train_tab()
        with gr.Tab("Compare the studio's tokenizers"):
            compare_tab()
    gr.api(friendly(api_tokenizer_train), api_name="tokenizer_train", concurrency_limit=2)
    gr.api(friendly(api_tokenize_compare), api_name="tokenize_compare", concurrency_limit=4)
