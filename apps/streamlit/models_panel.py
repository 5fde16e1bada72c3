"""Models page: every registered model, whether it is here, loaded or missing, and how to get it."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.streamlit.common import heading, run_page
from core import models
from core.models_view import COLUMNS, INTRO, status_table, summary

NUMERIC = ("MB", "load s")


def main() -> None:
    heading("models_panel", INTRO)
    rows = models.status()
    st.markdown(summary(rows))
    table = pd.DataFrame(status_table(rows), columns=COLUMNS)
    for column in NUMERIC:  # "" (not loaded yet) becomes an empty cell, not a string in a number column
        table[column] = pd.to_numeric(table[column], errors="coerce")
    st.dataframe(table, hide_index=True, width="stretch", height=min(40 + 35 * len(rows), 900),
                 column_config={"where it is / how to get it": st.column_config.TextColumn(width="large")})
    st.button("Refresh", icon=":material/refresh:")  # any click reruns the page


run_page(main)
