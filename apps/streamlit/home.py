"""Home page: what each page shows and where it sits in the 9-week roadmap."""
from __future__ import annotations

import streamlit as st

from apps.streamlit.common import run_page
from apps.tabs import HOME_INTRO, HOME_MODELS, overview_table


def main() -> None:
    st.title("NLP Studio")
    st.markdown(HOME_INTRO)
    st.markdown(overview_table().replace("| Tab |", "| Page |"))
    st.markdown(HOME_MODELS.replace("Models** tab", "Models** page"))


run_page(main)
