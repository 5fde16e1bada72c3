"""Embedding Explorer page: GloVe word vectors and MiniLM sentence embeddings, neighbours, analogies,
projections (PCA / t-SNE / UMAP), semantic axes and the user's own corpus. Roadmap weeks 1 and 5.

Every action runs on a form submit and keeps its result in st.session_state; later reruns only
redraw it. The figures, tables, code and messages come from core.embeddings.view (shared with Gradio).
"""
from __future__ import annotations

import streamlit as st

from apps.streamlit.common import code_box, guard, heading, model, run_page
from apps.streamlit.controls import render, render_all
from core.controls import by_name
from core.embeddings import corpus as corpus_mod, view as ev, explorer

READY = "Ranked by cosine similarity in the original space"  # shows once the first result is drawn


def _corpus():
    """This session's SentenceIndex (None until the user embeds a corpus)."""
    result = st.session_state.get("emb_corpus")
    return result.index if result is not None else None


def _table(rows: list[list], columns: list[str]) -> None:
    st.dataframe([dict(zip(columns, r)) for r in rows], hide_index=True, width="stretch")


# --- nearest neighbours ---------------------------------------------------------------------------

def _use_example() -> None:
    """A chosen example fills the form and runs it (callbacks run before the script)."""
    pick = st.session_state.get("emb_nn_try")
    for query, kind in ev.NEIGHBOUR_EXAMPLES:
        if query == pick:
            st.session_state["emb_query"], st.session_state["emb_kind"] = query, kind
            st.session_state["emb_nn_pending"] = True


def neighbours_section() -> None:
    st.subheader("Nearest neighbours in the original space")
    left, right = st.columns([1, 2], gap="large")
    with left:
        with st.form("emb_nn_form"):
            # The examples below may set emb_kind and emb_query too: session state wins over the default.
            kind, query, k = render_all(ev.NEIGHBOUR_CONTROLS, "emb").values()  # keys emb_kind, emb_query, emb_k
            go = st.form_submit_button(ev.BUTTONS["neighbours"], type="primary", key="emb_nn_go")
        st.pills("Try", [q for q, _ in ev.NEIGHBOUR_EXAMPLES], key="emb_nn_try", on_change=_use_example)
    # The first view is filled in when the page opens, so the page is never blank.
    if go or st.session_state.pop("emb_nn_pending", False) or "emb_nn" not in st.session_state:
        with left, guard():
            if kind == "sentence":
                model("minilm")
            else:
                model(explorer.WORD_MODEL)
            st.session_state["emb_nn"] = ev.neighbours_view(query, kind, k, _corpus())
    shown = st.session_state.get("emb_nn")
    if shown is not None:
        with right:
            st.plotly_chart(shown.figure, key="emb_nn_chart", config={"displaylogo": False})
            _table(shown.rows, ["rank", "text", "cosine"])
            st.caption(f"{READY} (50 dimensions for GloVe words, 384 for MiniLM sentences), "
                       "not in a 2D picture of it.")
        code_box(shown.code)


# --- analogies ------------------------------------------------------------------------------------

def analogy_section() -> None:
    st.markdown(ev.ANALOGY_HELP)
    with st.form("emb_an_form"):
        cols = st.columns(4)
        keys = {"a": "emb_a", "b": "emb_b", "c": "emb_c", "k": "emb_an_k"}  # emb_k is the neighbours' k
        a, b, c, k = (render(ctl, keys[ctl.name], col) for ctl, col in zip(ev.ANALOGY_CONTROLS, cols))
        go = st.form_submit_button(ev.BUTTONS["analogy"], type="primary", key="emb_an_go")
    st.caption("Classic analogies: " + " · ".join(f"{x} − {y} + {z}" for x, y, z in ev.ANALOGY_EXAMPLES))
    if go:
        with guard():
            model(explorer.WORD_MODEL)
            st.session_state["emb_an"] = ev.analogy_view(a, b, c, k)
    shown = st.session_state.get("emb_an")
    if shown is not None:
        left, right = st.columns([3, 2])
        with left:
            st.plotly_chart(shown.figure, key="emb_an_chart", config={"displaylogo": False})
        with right:
            _table(shown.rows, ["rank", "word", "cosine"])
        code_box(shown.code)


# --- projection -----------------------------------------------------------------------------------

def _project(inputs: dict) -> None:
    """Run a projection inside st.status (t-SNE and UMAP on thousands of points take seconds)."""
    with st.status(f"{inputs['method']}: collecting points…", expanded=False) as box:
        bar = st.progress(0.0)

        def report(frac: float, msg: str) -> None:
            box.update(label=f"{inputs['method']}: {msg}…")
            bar.progress(min(max(frac, 0.0), 1.0))

        if inputs["source"] in ("demo corpus", "my corpus"):
            model("minilm")
        else:
            model(explorer.WORD_MODEL)
        try:
            result = ev.projection_result(corpus=_corpus(), progress=report, **inputs)
        except Exception:
            box.update(label=f"{inputs['method']} did not run", state="error")
            raise
        bar.progress(1.0)
        box.update(label=f"{result.view.projection.method.upper()} on {len(result.view.points.texts):,} points "
                         f"in {result.view.projection.seconds:.2f} s", state="complete")
    st.session_state["emb_pr"] = result
    st.session_state["emb_pr_corpus"] = _corpus() if inputs["source"] == "my corpus" else None
    st.session_state["emb_pr_n"] = st.session_state.get("emb_pr_n", 0) + 1  # a fresh chart, no old selection
    st.session_state.pop("emb_pr_pick", None)


def _clicked_point(event) -> None:
    """A click on a point shows that word's (or sentence's) neighbours in the original space."""
    result = st.session_state["emb_pr"]
    points = event.selection.points if event else []
    if not points:
        return
    pt = points[0]
    text = ev.point_text(result.view, int(pt.get("curve_number", 0)),
                         int(pt.get("point_index", pt.get("point_number", -1))))
    if text is None:
        return
    picked = st.session_state.get("emb_pr_pick")
    if picked is None or picked[0] != text:  # recompute only when the selection changes
        if result.view.is_words:
            shown = ev.neighbours_view(text, "word", 10)
        else:
            shown = ev.neighbours_view(text, "sentence", 10, st.session_state.get("emb_pr_corpus"))
        st.session_state["emb_pr_pick"] = (text, shown)
    text, shown = st.session_state["emb_pr_pick"]
    st.markdown(f"**Clicked: “{text}”.** Its nearest neighbours in the original space "
                f"({'GloVe, 50 dimensions' if result.view.is_words else 'MiniLM, 384 dimensions'}): "
                + " · ".join(f"{row[1]} ({row[2]:.3f})" for row in shown.rows))


def projection_section() -> None:
    left, right = st.columns([1, 3], gap="large")
    with left:
        ctl = by_name(ev.PROJECTION_CONTROLS)
        # Source and colouring decide which inputs show, so they sit outside the form (a cheap rerun).
        source = render(ctl["source"], "emb_source", horizontal=False)
        colour = render(ctl["colour"], "emb_colour")
        with st.form("emb_pr_form"):
            inputs = dict(source=source, colour=colour)
            shown = ev.SOURCE_INPUT.get(source)
            if shown is not None:
                inputs[shown] = render(ctl[shown], f"emb_{shown}")
            elif source == "my corpus" and _corpus() is None:
                st.caption(f"Embed a corpus in the *{ev.SECTIONS[-1]}* tab first.")
            cols = st.columns(2)
            inputs["method"] = render(ctl["method"], "emb_method", cols[0], horizontal=False)
            inputs["dims"] = render(ctl["dims"], "emb_dims", cols[1], horizontal=False)
            if colour in ev.COLOUR_INPUT:
                name = ev.COLOUR_INPUT[colour]
                inputs[name] = render(ctl[name], f"emb_{name}")
            go = st.form_submit_button(ev.BUTTONS["project"], type="primary", key="emb_pr_go")
    with right:
        if go:
            with guard():
                _project(inputs)
        result = st.session_state.get("emb_pr")
        if result is None:
            st.info("Choose the points and a method, then press **Project**.")
            return
        event = st.plotly_chart(result.figure, key=f"emb_pr_chart_{st.session_state.get('emb_pr_n', 0)}",
                                on_select="rerun", selection_mode="points", config={"displaylogo": False})
        st.markdown(result.info)
        st.caption("Click a point to see its nearest neighbours.")
        with guard():
            _clicked_point(event)
    code_box(result.code)


# --- semantic axes --------------------------------------------------------------------------------

def axes_section() -> None:
    st.markdown(ev.AXES_HELP)
    with st.form("emb_ax_form"):
        ctl = by_name(ev.AXES_CONTROLS)
        cols = st.columns(4)
        xa, xb, ya, yb = (render(ctl[name], f"emb_{name.replace('_', '')}", col)
                          for name, col in zip(("x_a", "x_b", "y_a", "y_b"), cols))
        words = render(ctl["words"], "emb_ax_words", height=80)
        go = st.form_submit_button(ev.BUTTONS["axes"], type="primary", key="emb_ax_go")
    if go:
        with guard():
            model(explorer.WORD_MODEL)
            st.session_state["emb_ax"] = ev.axes_view(xa, xb, ya, yb, words)
    shown = st.session_state.get("emb_ax")
    if shown is not None:
        if shown.warning:
            st.warning(shown.warning)
        left, right = st.columns([3, 1])
        with left:
            st.plotly_chart(shown.figure, key="emb_ax_chart", config={"displaylogo": False})
        with right:
            _table(shown.rows, ["word", "x", "y"])
        code_box(shown.code)


# --- the user's corpus ----------------------------------------------------------------------------

def corpus_section() -> None:
    st.markdown(ev.CORPUS_HELP)
    with st.form("emb_co_form"):
        cols = st.columns(2)
        pasted = render(ev.PASTED, "emb_pasted", cols[0], height=200)
        upload = cols[1].file_uploader(ev.UPLOAD_LABEL, type=list(ev.UPLOAD_TYPES), key="emb_upload")
        go = st.form_submit_button(ev.BUTTONS["corpus"], type="primary", key="emb_co_go")
    if go:
        with guard():
            corp = (ev.corpus_from_upload(upload.name, upload.getvalue()) if upload is not None
                    else corpus_mod.from_text(pasted))
            model("minilm")
            with st.status(f"Embedding {len(corp):,} lines with MiniLM…") as box:
                bar = st.progress(0.0)
                result = ev.corpus_result(corp, lambda f, msg: bar.progress(min(f, 1.0), text=msg))
                box.update(label=f"Embedded {len(corp):,} lines", state="complete", expanded=False)
            st.session_state["emb_corpus"] = result
    result = st.session_state.get("emb_corpus")
    if result is not None:
        st.success(result.status)
        _table(result.preview, ["text", "label"])
        if st.button("Forget my corpus", key="emb_co_forget"):
            del st.session_state["emb_corpus"]
            st.rerun()


def main() -> None:
    heading("embeddings", ev.EXPLAINER)
    tabs = st.tabs(list(ev.SECTIONS))
    with tabs[0]:
        neighbours_section()
    with tabs[1]:
        analogy_section()
    with tabs[2]:
        projection_section()
    with tabs[3]:
        axes_section()
    with tabs[4]:
        corpus_section()


run_page(main)
