"""Evaluation Lab page: BLEU (with and without smoothing), chrF, ROUGE, WER with its alignment,
perplexity with per-token surprisal, on typed text and on the studio's own outputs. Roadmap week 6.

Each form runs on submit and keeps its view in st.session_state. Views, tables, figures and code
come from core.evaluation.view (shared with Gradio).
"""
from __future__ import annotations

import streamlit as st

from apps.streamlit.common import code_box, guard, heading, model, run_page
from apps.streamlit.controls import render_all
from core.evaluation import view as ev

READY = "Corpus scores"


def _table(rows: list[list], columns: list[str]) -> None:
    st.dataframe([dict(zip(columns, r)) for r in rows], hide_index=True, width="stretch")


def _scores(v: ev.ScoresView, key: str) -> None:
    cols = st.columns([3, 2])
    with cols[0]:
        st.caption(READY)
        _table(v.summary_rows, ev.SUMMARY_HEADERS)
    with cols[1]:
        st.plotly_chart(v.figure, key=f"{key}_chart", config={"displaylogo": False})
    st.caption("Per sentence: BLEU under each smoothing, chrF, ROUGE-L, WER (%)")
    _table(v.sentence_rows, ev.SENTENCE_HEADERS)
    st.html(v.html)
    code_box(v.code)


def scores_section() -> None:
    st.markdown(ev.BLEU_EXPLAINER)
    with st.form("eval_scores_form"):
        cols = st.columns(3)
        values = {c.name: render_all((c,), "eval", col)[c.name] for c, col in zip(ev.SCORE_CONTROLS, cols)}
        go = st.form_submit_button("Score", type="primary", key="eval_scores_go")
    if go or "eval_scores" not in st.session_state:
        with guard():
            st.session_state["eval_scores"] = ev.scores_view(**values)
    v = st.session_state.get("eval_scores")
    if v is not None:
        _scores(v, "eval_scores")


def perplexity_section() -> None:
    st.markdown(ev.PERPLEXITY_EXPLAINER)
    with st.form("eval_ppl_form"):
        values = render_all(ev.PERPLEXITY_CONTROLS, "ppl")
        go = st.form_submit_button("Score the text", type="primary", key="eval_ppl_go")
    if go:
        with guard():
            model(values["model"])
            st.session_state["eval_ppl"] = ev.perplexity_view(**values)
    v = st.session_state.get("eval_ppl")
    if v is None:
        st.info("Press Score the text: SmolLM2 loads the first time (a few seconds).")
        return
    st.markdown(v.summary)
    st.plotly_chart(v.figure, key="eval_ppl_chart", config={"displaylogo": False})
    _table(v.rows, ev.PERPLEXITY_HEADERS)
    code_box(v.code)


def studio_section() -> None:
    st.markdown("The same metrics on what the studio's own models produce. Each run uses the real models "
                "(first use loads them: up to a minute on a small CPU).")
    with st.form("eval_studio_form"):
        values = render_all(ev.STUDIO_CONTROLS, "evst")
        go = st.form_submit_button("Run and score", type="primary", key="eval_studio_go")
    if go:
        with guard(), st.spinner("Running the studio's models…"):
            st.session_state["eval_studio"] = ev.studio_view(**values)
    result = st.session_state.get("eval_studio")
    if result is None:
        return
    pair, v = result
    st.markdown(f"**Hypothesis** ({pair.source}): {pair.hypothesis}\n\n**Reference**: {pair.reference}\n\n"
                f"_{pair.note}; WER after {pair.normalizer} normalization._")
    _scores(v, "eval_studio")


def main() -> None:
    heading("evaluation_lab")
    scores, ppl, studio = st.tabs(["BLEU, chrF, ROUGE, WER", "Perplexity", "The studio's own outputs"])
    with scores:
        scores_section()
    with ppl:
        perplexity_section()
    with studio:
        studio_section()


run_page(main)
