"""Preference Lab: DPO with LoRA on SmolLM2-135M from pairs you edit; live loss, per-pair chosen and
rejected rewards, margins and accuracy; greedy replies before and after; a reward that can be gamed.
Roadmap week 7."""
from __future__ import annotations

import time

import gradio as gr
import pandas as pd

from apps.gradio.common import code_box, friendly
from apps.gradio.controls import render
from apps.tabs import TABS
from core import preference as pf
from core.preference import figures as pfig
from core.preference import view as pv

TITLE, WEEKS, SUMMARY = TABS["preference_lab"].heading
POLL_S = 1.0


# --- API (plain JSON in and out) ---------------------------------------------------------------

def dpo_api(pairs: list[dict], beta: float = 0.1, steps: int = 20, learning_rate: float = 1e-3) -> dict:
    """DPO with LoRA on SmolLM2-135M and wait. pairs: [{"prompt", "chosen", "rejected"}]. Returns per
    step the loss, per-pair chosen/rejected rewards β·(log π − log π_ref) and accuracy; the greedy
    replies before and after; the verdict (did the margin grow)."""
    st = pf.run_dpo(pairs, pv.settings_from(beta, steps, learning_rate))
    if st.state == "failed":
        raise ValueError(st.error or "DPO failed")
    return {"losses": [round(x, 4) for x in st.losses],
            "chosen_rewards": [list(h.chosen) for h in st.history],
            "rejected_rewards": [list(h.rejected) for h in st.history],
            "accuracy": [h.accuracy for h in st.history],
            "final": {"chosen": list(st.final.chosen), "rejected": list(st.final.rejected),
                      "margins": list(st.final.margins)} if st.final else None,
            "before": list(st.before), "after": list(st.after), "learned": st.learned, "verdict": st.verdict,
            "seconds": round(st.seconds, 1)}


# --- UI handlers --------------------------------------------------------------------------------

def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


@friendly
def do_train(rows, beta, steps, lr, kind):
    pairs = pf.parse_pairs(pv.rows_to_pairs(rows))
    s = pv.settings_from(beta, steps, lr)
    job = pf.start(pairs, s)
    code = pv.dpo_code(pairs, s)
    while True:
        st = job.status()
        if st.state == "failed":
            raise ValueError(st.error)
        yield (job.job_id, pv.status_markdown(st), pfig.loss_figure(st), pfig.rewards_figure(st),
               _frame(pv.pair_rows(st)), _frame(pv.reply_rows(st, kind)), code)
        if st.finished:
            return
        time.sleep(POLL_S)


@friendly
def do_cancel(job_id):
    if not job_id:
        raise ValueError("no DPO run of yours is going")
    pf.get_job(job_id).cancel()


@friendly
def rescore(job_id, kind):
    """The reward view under another reward: the gaming table and the replies' rewards."""
    replies = _frame(pv.reply_rows(pf.get_job(job_id).status(), kind)) if job_id else gr.skip()
    return _frame(pf.gaming_rows(kind=kind)), replies


# --- layout -------------------------------------------------------------------------------------

def build() -> None:
    gr.Markdown(f"### {TITLE} · roadmap week {WEEKS} (RLHF and DPO)\n" + pv.INTRO)
    job_id = gr.State("")
    with gr.Row():
        c = {control.name: render(control) for control in pv.CONTROLS[:4]}
    pairs = gr.Dataframe(value=pv.preset_rows(pv.DEFAULT_PRESET), headers=list(pv.PAIR_COLUMNS),
                         column_count=(3, "fixed"), interactive=True, wrap=True, label="Preference pairs (edit freely)")
    with gr.Row():
        train_btn = gr.Button("Run DPO", variant="primary")
        cancel_btn = gr.Button("Cancel", size="sm")
    status = gr.Markdown(pv.IDLE_MESSAGE)
    with gr.Row():
        loss_plot = gr.Plot(label="Loss")
        reward_plot = gr.Plot(label="Rewards")
    gr.Markdown(pv.WHY_CHOSEN_FALLS)
    pair_table = gr.Dataframe(label="Per pair, after training", interactive=False, wrap=True)
    reply_table = gr.Dataframe(label="Greedy replies before (adapter off) and after DPO", interactive=False,
                               wrap=True)
    with gr.Accordion("Reward gaming", open=True):
        gr.Markdown(pv.GAMING_HELP)
        c["reward"] = render(pv.CONTROLS[4])
        gaming = gr.Dataframe(value=_frame(pf.gaming_rows()), interactive=False, wrap=True,
                              label="Candidate answers to 'What is the capital of France?', best reward first")
    dpo_code = code_box()

    c["preset"].change(friendly(pv.preset_rows), c["preset"], pairs, api_visibility="private")
    train_btn.click(do_train, [pairs, c["beta"], c["steps"], c["learning_rate"], c["reward"]],
                    [job_id, status, loss_plot, reward_plot, pair_table, reply_table, dpo_code],
                    api_visibility="private", concurrency_limit=8)
    cancel_btn.click(do_cancel, job_id, None, api_visibility="private", concurrency_limit=8)
    c["reward"].change(rescore, [job_id, c["reward"]], [gaming, reply_table], api_visibility="private")
    gr.api(dpo_api, api_name="dpo", concurrency_limit=1, concurrency_id="llm-train")
