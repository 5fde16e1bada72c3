"""Tokenizer Lab page: train BPE / WordPiece / Unigram, replay the cut of a sentence step by step,
compare the studio's tokenizers. Roadmap week 5.

Each form runs on submit and keeps its view in st.session_state; later reruns (the replay step
slider) only redraw it. Views, tables and code come from core.tokenizer_lab.view (shared with Gradio).
"""
from __future__ import annotations

import streamlit as st

from apps.streamlit.common import code_box, guard, heading, run_page
from apps.streamlit.controls import render_all
from core.tokenizer_lab import view as tv

READY = "Press Train and replay"  # shows before the first result
COMPARE_READY = "bytes per token"


def _table(rows: list[list], columns: list[str]) -> None:
    st.dataframe([dict(zip(columns, r)) for r in rows], hide_index=True, width="stretch")


def train_section() -> None:
    st.markdown(tv.TRAIN_EXPLAINER)
    left, right = st.columns([1, 2], gap="large")
    with left, st.form("tok_train_form"):
        values = render_all(tv.TRAIN_CONTROLS, "tok")
        go = st.form_submit_button("Train and replay", type="primary", key="tok_train_go")
    if go:
        with right, guard():
            st.session_state["tok_train"] = tv.train_view(**values)
    v = st.session_state.get("tok_train")
    with right:
        if v is None:
            st.info(f"{READY}: training on the Python reference takes about a second.")
            return
        st.markdown(v.summary)
        st.html(v.pieces_html)
        steps = len(v.replay.steps) - 1
        if steps > 0:
            k = st.slider("Replay step", 0, steps, steps, key="tok_step")
            s = v.replay.steps[k]
            st.markdown(f"**Step {s.step}**: {s.action}")
            st.html(tv.step_html(s))
        _table(v.replay_rows, ["step", "what happened", "pieces"])
        st.caption("What it learned (BPE: merges in rank order)")
        _table(v.vocab_rows, tv.vocab_headers(v.trained.settings.algorithm))
    code_box(v.code)


def compare_section() -> None:
    st.markdown(tv.COMPARE_EXPLAINER)
    with st.form("tok_compare_form"):
        values = render_all(tv.COMPARE_CONTROLS, "tokcmp")
        go = st.form_submit_button("Compare tokenizers", type="primary", key="tok_compare_go")
    if go or "tok_compare" not in st.session_state:
        with guard():
            st.session_state["tok_compare"] = tv.compare_view(**values)
    v = st.session_state.get("tok_compare")
    if v is None:
        return
    cols = st.columns([3, 2])
    with cols[0]:
        _table(v.rows, tv.COMPARE_HEADERS)
        st.caption(f"Tokens and {COMPARE_READY}; special tokens are not counted as tokens of the text.")
    with cols[1]:
        st.plotly_chart(v.figure, key="tok_compare_chart", config={"displaylogo": False})
    st.html(v.html)
    code_box(v.code)


def main() -> None:
    heading("tokenizer_lab")
    train, compare = st.tabs(["Train a tokenizer", "Compare the studio's tokenizers"])
    with train:
        train_section()
    with compare:
        compare_section()


run_page(main)
