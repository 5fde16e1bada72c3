"""Transformer Lab page: a small transformer trained live on CPU, causal vs masked, its attention
maps through the Attention tab's views, samples and the model's code. Roadmap week 5.

The run is a background job (core.transformer_lab); this page keeps its id in st.session_state
and redraws from a fragment once a second while it runs, so reruns neither block nor restart it.
"""
from __future__ import annotations

import streamlit as st

from apps.streamlit.common import code_box, guard, heading, job_running, run_page, session_job
from apps.streamlit.controls import render_all
from core import transformer_lab as tl
from core.transformer_lab import figures as tf
from core.transformer_lab import view as tv

POLL_S = 1.0
P = "tl"  # widget key prefix


def _job():
    """This session's run, or None (none started, or the app restarted since)."""
    return session_job("tl_job", tl.get_job)


def _running() -> bool:
    return job_running("tl_job", tl.get_job)


def _start(values: dict) -> None:
    s = tv.settings_from(**values)
    job = tl.start(s, values["text"], values["source"])
    st.session_state["tl_job"] = job.job_id
    st.session_state["tl_code"] = tv.train_code(s, values["source"], bool((values["text"] or "").strip()))


def _panel() -> None:
    """Status, loss curves (this session's last run of each objective), attention and the sample."""
    job = _job()
    if job is None:
        st.info("Press **Train**: a 2-layer model learns the Zen of Python in about half a minute.")
        return
    status = job.status()
    runs = st.session_state.setdefault("tl_runs", {})
    runs[status.objective] = status.losses
    if status.state == "failed":
        st.error(tv.status_markdown(status))
        return
    (st.success if status.finished and status.learned else st.warning if status.finished else st.info)(
        tv.status_markdown(status, job.n_params))
    st.plotly_chart(tf.loss_figure(runs, status.baseline), key="tl_loss_fig")
    st.caption(tv.sample_label(status))
    st.code(status.sample or " ", language=None, wrap_lines=True)
    view = {c.name: st.session_state.get(f"{P}_{c.name}", c.default) for c in tv.VIEW_CONTROLS}
    fig = tv.attention_figure(status, **view)
    if fig is not None:
        st.plotly_chart(fig, key="tl_att_fig")
    if status.finished and st.session_state.get("tl_seen") != job.job_id:
        st.session_state["tl_seen"] = job.job_id
        st.rerun()  # the whole page: the polling stops


def _samples() -> None:
    job = _job()
    tabs = st.tabs(["Write on (causal)", "Fill in (masked)"])
    with tabs[0]:
        s = render_all(tv.SAMPLE_CONTROLS[:3], P)
        if st.button("Generate", key="tl_gen") and job is not None:
            with guard():
                st.session_state["tl_generated"] = tl.generate(job, s["prompt"], int(s["n_chars"]),
                                                               float(s["temperature"]))
        if st.session_state.get("tl_generated"):
            st.code(st.session_state["tl_generated"], language=None)
    with tabs[1]:
        text = render_all(tv.SAMPLE_CONTROLS[3:], P)["blanks"]
        if st.button("Fill in", key="tl_fill") and job is not None:
            with guard():
                result = tl.fill_in(job, text)
                st.code(result.filled, language=None)
                st.plotly_chart(tf.fill_in_figure(result), key="tl_fill_fig")


def main() -> None:
    heading("transformer_lab", tv.INTRO)
    left, right = st.columns([1, 2], gap="large")
    with left:
        with st.form("tl_form"):
            values = render_all(tv.CONTROLS, P)
            go = st.form_submit_button("Train", type="primary")
        if go:
            with guard():
                _start(values)
        if _running() and st.button("Cancel", key="tl_cancel"):
            _job().cancel()
    with right:
        st.subheader("Attention while it learns")
        cols = st.columns(3)
        for col, control in zip(cols, tv.VIEW_CONTROLS):
            render_all((control,), P, col)
        st.fragment(_panel, run_every=POLL_S if _running() else None)()
    _samples()
    with st.expander("The whole model: one page of PyTorch (core/transformer_lab/model.py)", icon=":material/code:"):
        st.code(tv.model_source(), language="python")
    if st.session_state.get("tl_code"):
        code_box(st.session_state["tl_code"])


run_page(main)
