"""Text Lab page: one sentence through every preprocessing stage (each stage's output editable),
one-hot / Bag-of-Words / TF-IDF over a real corpus, and sentiment three ways. Roadmap week 1.

Results live in st.session_state; tables, figures and code come from core.text_lab.view, shared
with the Gradio tab.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.streamlit.common import code_box, guard, heading, model, run_page
from apps.streamlit.controls import render_all
from core.errors import user_message
from core.text_lab import sentiment as sa
from core.text_lab import view as tv

INTRO = ("Carry one sentence through cleaning, tokenization, stop words and stemming (edit any "
         "stage's output and the stages after it follow), turn a real corpus into one-hot, "
         "Bag-of-Words and TF-IDF vectors, then read a sentence's sentiment three ways, word by word.")


def _table(rows: list[list], columns: list[str], height: int | str = "auto") -> None:
    st.dataframe(pd.DataFrame(rows, columns=columns), hide_index=True, width="stretch", height=height)


# --- preprocessing: each stage box feeds the next ----------------------------------------------

def _options() -> dict:
    return {c.name: st.session_state.get(f"tl_pp_{c.name}", c.default) for c in tv.PREPROCESS_CONTROLS}


def _cascade(stage: str) -> None:
    """Recompute every stage after `stage` from the (possibly edited) box of `stage`."""
    o, s = _options(), st.session_state
    s.pop("tl_pp_error", None)
    try:
        if stage == "clean":
            t = tv.tokens_view(s["tl_clean"], o["tokenizer"])
            s["tl_tokens"], s["tl_tok_rows"], s["tl_tok_summary"] = t.text, t.rows, t.summary
        if stage in ("clean", "tokens"):
            f = tv.filter_view(s["tl_tokens"], o["stopwords"], o["punctuation"])
            s["tl_kept"], s["tl_removed"] = f.text, f.removed
        n = tv.normal_view(s["tl_kept"]) if s["tl_kept"].strip() else tv.NormalShown([], "Every token was removed.")
        s["tl_norm_rows"], s["tl_norm_summary"] = n.rows, n.summary
    except Exception as exc:  # noqa: BLE001 - shown under the boxes; the page stays up
        s["tl_pp_error"] = user_message(exc)


def preprocess_section() -> None:
    left, right = st.columns([1, 2], gap="large")
    with left:
        values = render_all(tv.PREPROCESS_CONTROLS, "tl_pp")
    signature = repr(sorted(values.items()))
    s = st.session_state
    if s.get("tl_pp_sig") != signature:  # the sentence or an option changed: every stage again
        s["tl_pp_sig"] = signature
        shown = tv.preprocess_view(values)
        s["tl_clean"], s["tl_rules"], s["tl_pp_code"] = shown.clean.text, shown.clean.rows, shown.code
        s["tl_tokens"], s["tl_tok_rows"], s["tl_tok_summary"] = (shown.tokens.text, shown.tokens.rows,
                                                                 shown.tokens.summary)
        s["tl_kept"], s["tl_removed"] = shown.filtered.text, shown.filtered.removed
        s["tl_norm_rows"], s["tl_norm_summary"] = shown.normal.rows, shown.normal.summary
        s.pop("tl_pp_error", None)
    with right:
        st.text_area("1 · Cleaned text (edit it: the stages below follow)", key="tl_clean",
                     on_change=_cascade, args=("clean",), height=80)
        _table(s["tl_rules"], ["rule", "pattern", "replacement", "changes", "text after"])
        st.text_area("2 · Tokens, separated by spaces (edit them)", key="tl_tokens",
                     on_change=_cascade, args=("tokens",), height=80)
        st.caption(s["tl_tok_summary"])
        with st.expander("Each token and the rule that made it"):
            _table(s["tl_tok_rows"], ["#", "token", "rule / piece", "WordPiece id"])
        st.text_area("3 · Kept tokens (edit them)", key="tl_kept", on_change=_cascade, args=("kept",),
                     height=80)
        st.caption(f"Removed: {s['tl_removed']}")
        if s.get("tl_pp_error"):
            st.error(s["tl_pp_error"], icon=":material/error:")
        st.markdown("**4 · Porter vs Snowball stems vs lemmas**")
        _table(s["tl_norm_rows"], ["token", "Porter", "Snowball", "lemma", "differ"])
        st.caption(s["tl_norm_summary"])
    code_box(s["tl_pp_code"])


# --- representations ---------------------------------------------------------------------------

def vectorize_section() -> None:
    left, right = st.columns([1, 3], gap="large")
    with left, st.form("tl_vec_form"):
        values = render_all(tv.VECTORIZE_CONTROLS, "tl_vec")
        go = st.form_submit_button("Vectorize", type="primary")
    if go or "tl_vec" not in st.session_state:
        with right, guard():
            st.session_state["tl_vec"] = tv.vectorize_view(values)
    v = st.session_state.get("tl_vec")
    if v is None:
        return
    with right:
        st.markdown(v.summary)
        _table(v.matrix_rows, v.matrix_headers)
        st.plotly_chart(v.heatmap, key="tl_vec_heat", config={"displaylogo": False})
        a, b = st.columns(2)
        with a:
            st.text_area("The inspected document", v.doc_text, height=140, disabled=True)
            st.plotly_chart(v.top_bar, key="tl_vec_top", config={"displaylogo": False})
        with b:
            st.markdown("**Step by step for the inspected document**")
            _table(v.steps_rows, v.steps_headers, height=520)
        st.markdown("**Top terms per document**")
        _table(v.top_rows, ["document", "top terms"])
        st.plotly_chart(v.similarity, key="tl_vec_sim", config={"displaylogo": False})
        st.markdown("**Most similar to the inspected document**")
        _table(v.similar_rows, ["rank", "document", "cosine", "text"])
        if v.query_rows:
            st.markdown("**Nearest documents to your new document**")
            _table(v.query_rows, ["rank", "document", "cosine", "text"])
            st.caption(v.query_note)
    code_box(v.code)


# --- sentiment ---------------------------------------------------------------------------------

def _progress_box(label: str):
    box = st.status(label, expanded=False)
    bar = box.progress(0.0)

    def report(frac: float, msg: str) -> None:
        box.update(label=msg)
        bar.progress(min(max(frac, 0.0), 1.0))
    return box, report


def sentiment_section() -> None:
    with st.form("tl_sent_form"):
        values = render_all(tv.SENTIMENT_CONTROLS, "tl_sent")
        go = st.form_submit_button("Analyze", type="primary")
    st.caption("Try: " + " · ".join(tv.SENTIMENT_EXAMPLES) + " — the first Analyze trains both "
               "classifiers on real labelled sentences (about 22 s of CPU time, once per server; "
               "longer on a busy machine).")
    if go:
        with guard():
            model(sa.GLOVE_KEY)
            model(sa.MINILM_KEY)
            box, report = _progress_box("Training the classifiers (first use only)…")
            with box:
                shown = tv.sentiment_view(values["text"], st.session_state.get("tl_clfs"), report)
            box.update(label="Done", state="complete")
            st.session_state["tl_sent"] = shown
    shown = st.session_state.get("tl_sent")
    if shown is not None:
        for col, card, fig, i in zip(st.columns(3), shown.cards, shown.figures, range(3)):
            with col:
                st.markdown(card)
                st.plotly_chart(fig, key=f"tl_sent_fig{i}", config={"displaylogo": False})
        if shown.notes:
            st.info(shown.notes)
        code_box(shown.code)
    with st.expander("Train the classifiers (your settings, this session only)"):
        with st.form("tl_train_form"):
            tvalues = render_all(tv.TRAIN_CONTROLS, "tl_train")
            train = st.form_submit_button("Train both classifiers", type="primary")
        if train:
            with guard():
                model(sa.GLOVE_KEY)
                model(sa.MINILM_KEY)
                box, report = _progress_box("Training…")
                with box:
                    clfs = sa.train(tv.train_settings(tvalues), report)
                box.update(label="Trained", state="complete")
                st.session_state["tl_clfs"] = clfs
                st.session_state["tl_train"] = tv.train_view(clfs)
        result = st.session_state.get("tl_train")
        if result is not None:
            st.caption(result.summary)
            if result.warning:
                st.warning(result.warning)
            st.plotly_chart(result.figure, key="tl_train_fig", config={"displaylogo": False})
            _table(result.rows, ["method", "train", "held-out", "accuracy %", "majority %", "margin (points)",
                                 "seconds"])


def main() -> None:
    heading("text_lab", INTRO)
    tabs = st.tabs(["Preprocessing", "Representations", "Sentiment"])
    with tabs[0]:
        preprocess_section()
    with tabs[1]:
        vectorize_section()
    with tabs[2]:
        sentiment_section()


run_page(main)
