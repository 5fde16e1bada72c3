"""Sequence Lab page: RNN / LSTM / GRU trained live (polled from a fragment once a second), stepped
through, their gradients back in time; and the n-gram language model. Roadmap weeks 2–3.
Controls come from core.sequence_lab.view (the same declarations as the Gradio tab)."""
from __future__ import annotations

import streamlit as st

from apps.streamlit.common import code_box, guard, heading, job_running, run_page, show_error
from apps.streamlit.controls import render_all
from core.sequence_lab import view as sv

POLL_S = 1.0
RESULT_COLUMNS = ["model", "parameters", "steps", "train loss (last 10)", "held-out loss",
                  "gradient slope (log10/step)", "verdict"]


def _table(rows: list[list], columns: list[str]) -> None:
    st.dataframe([dict(zip(columns, r)) for r in rows], hide_index=True, width="stretch")


def _running() -> bool:
    from core.sequence_lab.train import get_job

    return job_running("seq_job", get_job)


def _cancel(job_id: str) -> None:
    from core.sequence_lab.train import get_job

    get_job(job_id).cancel()


def _training_panel() -> None:
    """Progress, loss curves, verdicts, samples and gradients of this session's run; polled while it runs."""
    from core.sequence_lab.train import get_job

    job_id = st.session_state.get("seq_job")
    if not job_id:
        st.info("Press **Train** to start: about a minute and a half on a 2-core CPU.")
        return
    try:
        status = get_job(job_id).status()
    except ValueError as exc:
        show_error(exc)
        del st.session_state["seq_job"]
        return
    v = sv.training_view(status)
    if status.state == "failed":
        st.error(v.message)
    elif status.finished:
        st.success(v.message)
    else:
        st.progress(min(status.step / max(status.total, 1), 1.0), text=v.message)
        st.button("Stop", key="seq_stop", on_click=_cancel, args=(job_id,))
    st.plotly_chart(v.loss_figure, key="seq_loss_chart", config={"displaylogo": False})
    _table(v.rows, RESULT_COLUMNS)
    if v.gradient_figure is not None:
        st.plotly_chart(v.gradient_figure, key="seq_grad_chart", config={"displaylogo": False})
    st.markdown(v.samples)
    if status.finished and st.session_state.get("seq_seen") != job_id:
        st.session_state["seq_seen"] = job_id
        st.rerun()  # the whole page: polling stops


def train_section() -> None:
    st.markdown(sv.TRAIN_HELP)
    left, right = st.columns([1, 3], gap="large")
    with left:
        with st.form("seq_train_form"):
            values = render_all(sv.TRAIN_CONTROLS, "seq")
            go = st.form_submit_button("Train RNN, LSTM and GRU", type="primary", key="seq_train_go")
        if go:
            with guard():
                from core.sequence_lab.train import start_training

                job = start_training(sv.train_settings(values), values.get("text") or None)
                st.session_state["seq_job"] = job.job_id
    with right:
        st.fragment(_training_panel, run_every=POLL_S if _running() else None)()
    code_box(sv.TRAIN_CODE)


def step_section() -> None:
    st.markdown("Run one sequence through a trained model, one character at a time. Red/blue: the hidden state "
                "(and the LSTM's cell state, squashed by tanh); purple to yellow: each gate, from 0 (closed) to 1 (open).")
    with st.form("seq_step_form"):
        cols = st.columns([1, 3, 1])
        values = {}
        for col, control in zip(cols, sv.STEP_CONTROLS):
            values.update(render_all((control,), "seq_step", col))
        go = st.form_submit_button("Step through", type="primary", key="seq_step_go")
    if go:
        with guard():
            st.session_state["seq_step"] = sv.step_view(st.session_state.get("seq_job", ""), values["kind"],
                                                        values["step_text"], int(values["units"]))
    shown = st.session_state.get("seq_step")
    if shown is not None:
        st.plotly_chart(shown.figure, key="seq_step_chart", config={"displaylogo": False})
        _table(shown.rows, ["t", "input", "most likely next characters"])
        code_box(shown.code)


def ngram_section() -> None:
    left, right = st.columns([2, 3], gap="large")
    with left:
        with st.form("ngram_form"):
            values = render_all(sv.NGRAM_CONTROLS, "ngram")
            go = st.form_submit_button("Fit and score", type="primary", key="ngram_go")
    if go or "ngram_view" not in st.session_state:
        with left, guard():
            st.session_state["ngram_view"] = sv.ngram_view(**values)
    shown = st.session_state.get("ngram_view")
    if shown is not None:
        with right:
            st.markdown(shown.summary)
            if shown.figure is not None:
                st.plotly_chart(shown.figure, key="ngram_chart", config={"displaylogo": False})
            _table(shown.token_rows, ["i", "token", "context", "probability", "surprisal (bits)"])
            st.markdown("**Samples**\n\n" + "\n".join(f"- {s}" for s in shown.samples))
            _table(shown.count_rows, ["context", "word", "count", "P(word | context)"])
        code_box(shown.code)


def main() -> None:
    heading("sequence_lab", sv.EXPLAINER)
    tabs = st.tabs(["Train RNN / LSTM / GRU", "Step through", "n-gram language model"])
    with tabs[0]:
        train_section()
    with tabs[1]:
        step_section()
    with tabs[2]:
        ngram_section()


run_page(main)
