"""Models page: every registered model, whether it is here, loaded or missing, and how to get it."""
from __future__ import annotations

import streamlit as st

from apps.streamlit.common import heading, run_page
from core import models
from core.models_view import COLUMNS, INTRO, status_table, summary


def main() -> None:
    heading("models_panel", INTRO)
    rows = models.status()
    st.markdown(summary(rows))
    st.dataframe([dict(zip(COLUMNS, row)) for row in status_table(rows)], hide_index=True,
                 width="stretch", height=min(40 + 35 * len(rows), 900))
    st.button("Refresh", icon=":material/refresh:")  # any click reruns the page


run_page(main)
