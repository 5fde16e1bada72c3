"""Sequence Lab: RNN, LSTM and GRU trained live on characters, stepped through and compared by how far
their gradients reach; and a word n-gram language model. Roadmap weeks 2–3."""
from __future__ import annotations

import time

import gradio as gr

from apps.gradio.common import code_box, friendly
from apps.gradio.controls import render_all
from apps.tabs import TABS
from core.sequence_lab import view as sv

TITLE, WEEKS, SUMMARY = TABS["sequence_lab"].heading
TRAIN_NAMES = [c.name for c in sv.TRAIN_CONTROLS]
STEP_NAMES = [c.name for c in sv.STEP_CONTROLS]
NGRAM_NAMES = [c.name for c in sv.NGRAM_CONTROLS]
RESULT_HEADERS = ["model", "parameters", "steps", "train loss (last 10)", "held-out loss",
                  "gradient slope (log10/step)", "verdict"]
POLL_S = 1.0  # progress reaches the page at least once a second


def ngram_api(corpus: str, order: int = 3, smoothing: str = "kneser-ney", k: float = 0.1, discount: float = 0.75,
              test_sentence: str = "", held_out: str = "", seed: int = 0, n_samples: int = 3) -> dict:
    """Fit an n-gram LM (n = 1–5, add-k or interpolated Kneser–Ney) on `corpus`; per-token probability and
    surprisal of `test_sentence`, perplexity on `held_out`, seeded samples and the top counts."""
    return sv.ngram_api(corpus, int(order), smoothing, float(k), float(discount), test_sentence, held_out,
                        int(seed), int(n_samples))


def _training_outputs(status):
    v = sv.training_view(status)
    return v.message, v.loss_figure, v.gradient_figure, v.rows, v.samples


@friendly
def do_train(*args):
    from core.sequence_lab.train import start_training

    values = dict(zip(TRAIN_NAMES, args))
    job = start_training(sv.train_settings(values), values.get("text") or None)
    while True:
        status = job.status()
        if status.state == "failed":
            raise ValueError(status.message())
        yield (job.job_id, *_training_outputs(status))
        if status.finished:
            return
        time.sleep(POLL_S)


@friendly
def do_cancel(job_id):
    from core.sequence_lab.train import get_job

    if not job_id:
        raise ValueError("no training run of yours is going")
    get_job(job_id).cancel()
    gr.Info("Stopping after the current step; the models keep what they learned.")


@friendly
def do_step(job_id, *args):
    values = dict(zip(STEP_NAMES, args))
    v = sv.step_view(job_id, values["kind"], values["step_text"], int(values["units"]))
    return v.figure, v.rows, v.code


@friendly
def do_ngram(*args):
    values = dict(zip(NGRAM_NAMES, args))
    v = sv.ngram_view(**values)
    return v.summary, v.figure, v.token_rows, v.count_rows, "\n".join(f"- {s}" for s in v.samples), v.code


def train_tab(job_id: gr.State) -> None:
    gr.Markdown(sv.TRAIN_HELP)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            ctl = render_all(sv.TRAIN_CONTROLS)
            with gr.Row():
                go = gr.Button("Train RNN, LSTM and GRU", variant="primary", elem_id="seq-train")
                stop = gr.Button("Stop", elem_id="seq-stop")
        with gr.Column(scale=3):
            message = gr.Markdown("Press **Train** to start: about a minute and a half on a 2-core CPU.",
                                  elem_id="seq-train-message")
            loss_plot = gr.Plot(label="Loss curves")
            table = gr.Dataframe(headers=RESULT_HEADERS, interactive=False, wrap=True)
            grad_plot = gr.Plot(label="Gradient norm against distance back in time")
            samples = gr.Markdown()
    code_box(sv.TRAIN_CODE)
    go.click(do_train, [ctl[n] for n in TRAIN_NAMES], [job_id, message, loss_plot, grad_plot, table, samples],
             api_visibility="private", concurrency_limit=8)
    stop.click(do_cancel, job_id, None, api_visibility="private", concurrency_limit=8)


def step_tab(job_id: gr.State) -> None:
    gr.Markdown("Run one sequence through a trained model, one character at a time. Red/blue: the hidden "
                "state (and the LSTM's cell state, squashed by tanh); purple to yellow: each gate, from 0 (closed) "
                "to 1 (open).")
    with gr.Row():
        ctl = render_all(sv.STEP_CONTROLS)
    go = gr.Button("Step through", variant="primary", elem_id="seq-step")
    plot = gr.Plot(label="Hidden state and gates")
    rows = gr.Dataframe(headers=["t", "input", "most likely next characters"], interactive=False)
    code = code_box()
    go.click(do_step, [job_id] + [ctl[n] for n in STEP_NAMES], [plot, rows, code], api_visibility="private",
             concurrency_limit=4)


def ngram_tab() -> None:
    with gr.Row():
        with gr.Column(scale=2):
            ctl = render_all(sv.NGRAM_CONTROLS)
            go = gr.Button("Fit and score", variant="primary", elem_id="ngram-go")
        with gr.Column(scale=3):
            summary = gr.Markdown(elem_id="ngram-summary")
            plot = gr.Plot(label="Surprisal per token")
            tokens = gr.Dataframe(headers=["i", "token", "context", "probability", "surprisal (bits)"],
                                  interactive=False)
            samples = gr.Markdown(label="Samples")
            counts = gr.Dataframe(headers=["context", "word", "count", "P(word | context)"], interactive=False)
    code = code_box()
    go.click(do_ngram, [ctl[n] for n in NGRAM_NAMES], [summary, plot, tokens, counts, samples, code],
             api_visibility="private", concurrency_limit=4)


def build() -> None:
    gr.Markdown(f"### {TITLE} · roadmap weeks {WEEKS}\n" + sv.EXPLAINER)
    job_id = gr.State("")  # this browser session's training run
    with gr.Tabs():
        with gr.Tab("Train RNN / LSTM / GRU"):
            train_tab(job_id)
        with gr.Tab("Step through"):
            step_tab(job_id)
        with gr.Tab("n-gram language model"):
            ngram_tab()
    gr.api(friendly(ngram_api), api_name="ngram", concurrency_limit=4)
