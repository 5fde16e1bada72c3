"""Decoding Lab page: greedy, beam search and sampling side by side on SmolLM2, the beam tree and the
next-token distribution at each step. Roadmap weeks 3 and 6. Controls from core.decoding.view."""
from __future__ import annotations

import streamlit as st

from apps.streamlit.common import code_box, guard, heading, model, run_page
from apps.streamlit.controls import render_all
from core.decoding import view as dv
from core.decoding.decode import DEFAULT_MODEL, STRATEGIES


def main() -> None:
    heading("decoding_lab", dv.EXPLAINER)
    left, right = st.columns([1, 3], gap="large")
    with left:
        with st.form("dec_form"):
            values = render_all(dv.DECODE_CONTROLS, "dec")
            go = st.form_submit_button("Decode three ways", type="primary", key="dec_go")
    if go:
        with left, guard():
            model(DEFAULT_MODEL)
            prompt = values.pop("prompt")
            with st.spinner("Decoding greedy, beam and sampled…"):
                st.session_state["dec_view"] = dv.compare_view(prompt, **values)
    shown = st.session_state.get("dec_view")
    with right:
        if shown is None:
            st.info("Set a prompt and press **Decode three ways**.")
            return
        st.dataframe([dict(zip(["strategy", "output", "sequence log-prob", "tokens", "seconds"], r)) for r in shown.rows],
                     hide_index=True, width="stretch")
        st.plotly_chart(shown.tree_figure, key="dec_tree", config={"displaylogo": False})
        for tab, s in zip(st.tabs([f"{s}: next-token distribution" for s in STRATEGIES]), STRATEGIES):
            with tab:
                st.plotly_chart(shown.distribution_figures[s], key=f"dec_dist_{s}", config={"displaylogo": False})
    code_box(shown.code)


run_page(main)
