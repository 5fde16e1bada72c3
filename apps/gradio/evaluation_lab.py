"""Evaluation Lab: BLEU (with and without smoothing), chrF, ROUGE, WER with its alignment, and
perplexity with per-token surprisal, on typed text and on the studio's own outputs. Roadmap week 6."""
from __future__ import annotations

import gradio as gr
import pandas as pd

from apps.gradio.common import code_box, friendly
from apps.gradio.controls import render_all
from apps.tabs import TABS
from core.evaluation import view as ev

TITLE, WEEKS, SUMMARY = TABS["evaluation_lab"].heading
SCORE_NAMES = [c.name for c in ev.SCORE_CONTROLS]
PPL_NAMES = [c.name for c in ev.PERPLEXITY_CONTROLS]
STUDIO_NAMES = [c.name for c in ev.STUDIO_CONTROLS]


def api_evaluate_text(hypothesis: list[str], references: list[list[str]], metrics: list[str] | None = None,
                      normalizer: str = "basic") -> dict:
    """Score `hypothesis` (a list of sentences) against `references` (a list of reference sets, each
    with one sentence per hypothesis). metrics: any of bleu, chrf, rouge, wer (default all).
    Returns corpus BLEU (precisions, brevity penalty), chrF, ROUGE-1/2/L, WER (S, D, I) and per-sentence
    scores with the sentence BLEU under each smoothing and the WER alignment."""
    return ev.api_evaluate(hypothesis, references, metrics, normalizer)


def api_perplexity(text: str, model: str = "smollm2-135m") -> dict:
    """Perplexity of `text` under a causal LM and each token's surprisal in bits."""
    return ev.api_perplexity(text, model)


def _scores_out(v: ev.ScoresView):
    return (pd.DataFrame(v.summary_rows, columns=ev.SUMMARY_HEADERS),
            pd.DataFrame(v.sentence_rows, columns=ev.SENTENCE_HEADERS), v.html, v.figure, v.code)


def do_scores(*values):
    return _scores_out(ev.scores_view(**dict(zip(SCORE_NAMES, values))))


def do_perplexity(*values):
    v = ev.perplexity_view(**dict(zip(PPL_NAMES, values)))
    return v.summary, v.figure, pd.DataFrame(v.rows, columns=ev.PERPLEXITY_HEADERS), v.code


def do_studio(*values, progress=gr.Progress()):
    progress(0, desc="running the studio's models (first use loads them)")
    pair, v = ev.studio_view(**dict(zip(STUDIO_NAMES, values)))
    head = (f"**Hypothesis** ({pair.source}): {pair.hypothesis}\n\n**Reference**: {pair.reference}\n\n"
            f"_{pair.note}; WER after {pair.normalizer} normalization._")
    return (head,) + _scores_out(v)


def _score_outputs():
    with gr.Row():
        summary = gr.Dataframe(label="Corpus scores", interactive=False, wrap=True, scale=3,
                               column_widths=["22%", "12%", "66%"])
        fig = gr.Plot(label="BLEU's parts", scale=2)
    sentences = gr.Dataframe(label="Per sentence: BLEU under each smoothing, chrF, ROUGE-L, WER (%)",
                             interactive=False, wrap=True)
    marks = gr.HTML()
    return summary, sentences, marks, fig


def scores_tab() -> None:
    gr.Markdown(ev.BLEU_EXPLAINER)
    with gr.Row():
        inputs = render_all(ev.SCORE_CONTROLS)
    go = gr.Button("Score", variant="primary")
    summary, sentences, marks, fig = _score_outputs()
    code = code_box()
    go.click(friendly(do_scores), list(inputs.values()), [summary, sentences, marks, fig, code],
             api_visibility="private", concurrency_limit=4)


def perplexity_tab() -> None:
    gr.Markdown(ev.PERPLEXITY_EXPLAINER)
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            inputs = render_all(ev.PERPLEXITY_CONTROLS)
            go = gr.Button("Score the text", variant="primary")
        with gr.Column(scale=2):
            summary = gr.Markdown()
            fig = gr.Plot(label="Surprisal")
    table = gr.Dataframe(label="Per token", interactive=False, wrap=True)
    code = code_box()
    go.click(friendly(do_perplexity), list(inputs.values()), [summary, fig, table, code],
             api_visibility="private", concurrency_limit=2, concurrency_id="llm")


def studio_tab() -> None:
    gr.Markdown("The same metrics on what the studio's own models produce. Each run uses the real models "
                "(first use loads them: up to a minute on a small CPU).")
    with gr.Row():
        inputs = render_all(ev.STUDIO_CONTROLS)
    go = gr.Button("Run and score", variant="primary")
    head = gr.Markdown()
    summary, sentences, marks, fig = _score_outputs()
    code = code_box()
    go.click(friendly(do_studio), list(inputs.values()), [head, summary, sentences, marks, fig, code],
             api_visibility="private", concurrency_limit=1)


def build() -> None:
    gr.Markdown(f"### {TITLE} · roadmap week {WEEKS}")
    with gr.Tabs():
        with gr.Tab("BLEU, chrF, ROUGE, WER"):
            scores_tab()
        with gr.Tab("Perplexity"):
            perplexity_tab()
        with gr.Tab("The studio's own outputs"):
            studio_tab()
    gr.api(friendly(api_evaluate_text), api_name="evaluate_text", concurrency_limit=4)
    gr.api(friendly(api_perplexity), api_name="perplexity", concurrency_limit=2, concurrency_id="llm")
