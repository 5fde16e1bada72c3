"""Preference Lab page: DPO with LoRA on SmolLM2-135M from editable pairs; live loss, per-pair
rewards, margins and accuracy; replies before and after; a reward that can be gamed. Roadmap week 7.

The run is a background job (core.preference); this page keeps its id in st.session_state and
redraws from a fragment once a second while it runs.
"""
from __future__ import annotations

import streamlit as st

from apps.streamlit.common import code_box, guard, heading, job_running, run_page, session_job
from apps.streamlit.controls import render, render_all
from core import preference as pf
from core.controls import by_name
from core.preference import figures as pfig
from core.preference import view as pv

POLL_S = 1.0
P = "pl"
C = by_name(pv.CONTROLS)


def _job():
    return session_job("pl_job", pf.get_job)


def _running() -> bool:
    return job_running("pl_job", pf.get_job)


def _table(rows: list[dict]) -> None:
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")


def _panel() -> None:
    job = _job()
    if job is None:
        st.info(pv.IDLE_MESSAGE)
        return
    status = job.status()
    if status.state == "failed":
        st.error(pv.status_markdown(status))
        return
    (st.success if status.finished and status.learned else st.warning if status.finished else st.info)(
        pv.status_markdown(status))
    left, right = st.columns(2)
    left.plotly_chart(pfig.loss_figure(status), key="pl_loss_fig")
    right.plotly_chart(pfig.rewards_figure(status), key="pl_reward_fig")
    st.markdown(pv.WHY_CHOSEN_FALLS)
    st.caption("Per pair, after training")
    _table(pv.pair_rows(status))
    st.caption("Greedy replies before (adapter off) and after DPO")
    _table(pv.reply_rows(status, st.session_state.get(f"{P}_reward", "lexicon")))
    if status.finished and st.session_state.get("pl_seen") != job.job_id:
        st.session_state["pl_seen"] = job.job_id
        st.rerun()


def _pairs_editor() -> list:
    preset = render(C["preset"], f"{P}_preset")
    if st.session_state.get("pl_preset_shown") != preset:
        st.session_state["pl_preset_shown"] = preset
        st.session_state["pl_rows"] = [dict(zip(pv.PAIR_COLUMNS, r)) for r in pv.preset_rows(preset)]
        st.session_state.pop("pl_editor", None)
    edited = st.data_editor(st.session_state["pl_rows"], num_rows="dynamic", width="stretch", key="pl_editor",
                            column_order=pv.PAIR_COLUMNS)
    return pv.rows_to_pairs(edited)


def main() -> None:
    heading("preference_lab", pv.INTRO)
    rows = _pairs_editor()
    cols = st.columns(3)
    values = {c.name: render(c, f"{P}_{c.name}", col) for col, c in zip(cols, pv.CONTROLS[1:4])}
    b1, b2 = st.columns([1, 5])
    if b1.button("Run DPO", type="primary", key="pl_go"):
        with guard():
            pairs = pf.parse_pairs(rows)
            s = pv.settings_from(**values)
            job = pf.start(pairs, s)
            st.session_state["pl_job"] = job.job_id
            st.session_state["pl_code"] = pv.dpo_code(pairs, s)
    if _running() and b2.button("Cancel", key="pl_cancel"):
        _job().cancel()
    st.fragment(_panel, run_every=POLL_S if _running() else None)()
    st.subheader("Reward gaming")
    st.markdown(pv.GAMING_HELP)
    kind = render_all(pv.CONTROLS[4:], P)["reward"]
    st.caption("Candidate answers to 'What is the capital of France?', best reward first")
    _table(pf.gaming_rows(kind=kind))
    if st.session_state.get("pl_code"):
        code_box(st.session_state["pl_code"])


run_page(main)
