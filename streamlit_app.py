"""NLP Studio, Streamlit front end: one page per tab, over the same core/ as the Gradio app.

Run it with `bash scripts/streamlit.sh` (installs what it needs, then `streamlit run` this file).
Settings live in .streamlit/config.toml: no usage statistics, 127.0.0.1, nothing fetched at run time.
"""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import streamlit as st  # noqa: E402

from apps.streamlit import navigation_pages  # noqa: E402

st.set_page_config(page_title="NLP Studio", page_icon=":material/school:", layout="wide")
st.navigation(navigation_pages()).run()
