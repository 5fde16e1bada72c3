"""Transformer Lab: a small transformer on one page of PyTorch, trained live on CPU; causal vs
masked objective, its attention maps through the Attention tab's views, samples, the model's code.
Roadmap week 5."""
from __future__ import annotations

import time

import gradio as gr

from apps.gradio.common import code_box, friendly
from apps.gradio.controls import render_all
from apps.tabs import TABS
from core import transformer_lab as tl
from core.transformer_lab import figures as tf
from core.transformer_lab import view as tv

TITLE, WEEKS, SUMMARY = TABS["transformer_lab"].heading
POLL_S = 1.0  # the page redraws once a second while a run goes
NAMES = tuple(c.name for c in tv.CONTROLS)
VIEW_NAMES = tuple(c.name for c in tv.VIEW_CONTROLS)


# --- API (plain JSON in and out) ---------------------------------------------------------------

def train_api(objective: str = "causal", source: str = "zen", text: str = "", layers: int = 2, heads: int = 4,
              d_model: int = 64, context: int = 32, steps: int = 300, learning_rate: float = 3e-3) -> dict:
    """Train the lab's transformer and wait. Returns the losses, steps/s, the verdict (did the loss
    fall) and a sample: generated text (causal) or the probe window filled in (masked)."""
    s = tv.settings_from(objective, layers, heads, d_model, context, steps, learning_rate)
    st = tl.train(s, text, source).status()
    if st.state == "failed":
        raise ValueError(st.error or "training failed")
    return {"objective": st.objective, "losses": [round(x, 4) for x in st.losses], "steps": st.step,
            "seconds": round(st.seconds, 2), "steps_per_s": round(st.steps_per_s, 1), "baseline": round(st.baseline, 4),
            "learned": st.learned, "verdict": st.verdict, "sample": st.sample}


# --- UI handlers --------------------------------------------------------------------------------

def _figures(st, runs, layer, head, view):
    return tf.loss_figure(runs, st.baseline), tv.attention_figure(st, layer, head, view)


@friendly
def do_train(runs, *values):
    """Start a run for this session, then redraw once a second until it ends."""
    vals = dict(zip(NAMES + VIEW_NAMES, values))
    s = tv.settings_from(**vals)
    job = tl.start(s, vals["text"], vals["source"])
    runs = {k: v for k, v in (runs or {}).items() if k != s.objective}
    code = tv.train_code(s, vals["source"], bool((vals["text"] or "").strip()))
    while True:
        st = job.status()
        shown = {**runs, s.objective: st.losses}
        loss_fig, att_fig = _figures(st, shown, vals["layer"], vals["head"], vals["view"])
        yield (job.job_id, shown, tv.status_markdown(st, job.n_params), loss_fig, att_fig,
               gr.Textbox(value=st.sample, label=tv.sample_label(st)), code)
        if st.finished:
            if st.state == "failed":
                raise ValueError(st.error)
            return
        time.sleep(POLL_S)


@friendly
def do_cancel(job_id):
    if not job_id:
        raise ValueError("no run of yours is going")
    tl.get_job(job_id).cancel()


@friendly
def redraw(job_id, layer, head, view):
    if not job_id:
        return None
    return tv.attention_figure(tl.get_job(job_id).status(), layer, head, view)


@friendly
def do_generate(job_id, prompt, n_chars, temperature):
    if not job_id:
        raise ValueError("train a causal run first (the Train button above)")
    return tl.generate(tl.get_job(job_id), prompt, int(n_chars), float(temperature))


@friendly
def do_fill(job_id, text):
    if not job_id:
        raise ValueError("train a masked run first (pick 'masked', then Train)")
    result = tl.fill_in(tl.get_job(job_id), text)
    return result.filled, tf.fill_in_figure(result)


# --- layout -------------------------------------------------------------------------------------

def build() -> None:
    gr.Markdown(f"### {TITLE} · roadmap week {WEEKS} (tokens, building a transformer)\n" + tv.INTRO)
    job_id = gr.State("")
    runs = gr.State({})  # this session's last loss curve per objective, drawn side by side
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            c = render_all(tv.CONTROLS)
            with gr.Row():
                train_btn = gr.Button("Train", variant="primary")
                cancel_btn = gr.Button("Cancel", size="sm")
        with gr.Column(scale=2):
            status = gr.Markdown("Press **Train**: a 2-layer model learns the Zen of Python in about half a minute.")
            loss_plot = gr.Plot(label="Loss")
            sample = gr.Textbox(label="Sample", lines=3, interactive=False)
    gr.Markdown("#### Attention while it learns (the Attention tab's views, on the first window of the text)")
    with gr.Row():
        v = render_all(tv.VIEW_CONTROLS)
    att_plot = gr.Plot(label="Attention")
    with gr.Tabs():
        with gr.Tab("Write on (causal)"):
            s = render_all(tv.SAMPLE_CONTROLS[:3])
            gen_btn = gr.Button("Generate")
            generated = gr.Textbox(label="Generated text", lines=4, interactive=False)
        with gr.Tab("Fill in (masked)"):
            blanks = render_all(tv.SAMPLE_CONTROLS[3:])["blanks"]
            fill_btn = gr.Button("Fill in")
            filled = gr.Textbox(label="Filled in", interactive=False)
            fill_plot = gr.Plot(label="Guesses per blank")
    with gr.Accordion("The whole model: one page of PyTorch (core/transformer_lab/model.py)", open=False):
        gr.Code(tv.model_source(), language="python", interactive=False)
    train_code = code_box()

    inputs = [runs] + [c[n] for n in NAMES] + [v[n] for n in VIEW_NAMES]
    train_btn.click(do_train, inputs, [job_id, runs, status, loss_plot, att_plot, sample, train_code],
                    api_visibility="private", concurrency_limit=8)
    cancel_btn.click(do_cancel, job_id, None, api_visibility="private", concurrency_limit=8)
    for comp in v.values():
        comp.change(redraw, [job_id] + [v[n] for n in VIEW_NAMES], att_plot, api_visibility="private",
                    concurrency_limit=8)
    gen_btn.click(do_generate, [job_id, s["prompt"], s["n_chars"], s["temperature"]], generated,
                  api_visibility="private", concurrency_limit=4)
    fill_btn.click(do_fill, [job_id, blanks], [filled, fill_plot], api_visibility="private", concurrency_limit=4)
    gr.api(train_api, api_name="transformer_lab_train", concurrency_limit=2)
