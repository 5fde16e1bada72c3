"""NLP Studio, Streamlit front end: one page per tab, over the same core/ as the Gradio app.

Run it with `bash scripts/streamlit.sh` (installs what it needs, then `streamlit run` this file).
Settings live in .streamlit/config.toml: no usage statistics, 127.0.0.1, nothing fetched at run time.
"""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import streamlit as st  # noqa: E402

from apps.streamlit import navigation_pages  # noqa: E402
from core.device import shared_server_threads  # noqa: E402


@st.cache_resource(show_spinner=False)
def _threads_for(address: str) -> str:
    """Once per server, before any model loads: bound to an address others reach (Streamlit binds
    every interface when none is set), one torch and one ONNX thread per request; printed."""
    note = shared_server_threads(address)
    if note:
        print(note, flush=True)
    return note


_threads_for(st.get_option("server.address") or "")
st.set_page_config(page_title="NLP Studio", page_icon=":material/school:", layout="wide")
pages = navigation_pages()
current = st.navigation(pages)
# Presenter mode for a projector: ?presenter=1 (kept for the session) scales the page by 1.3.
if st.query_params.get("presenter") == "1":
    st.session_state["presenter"] = True
if st.session_state.get("presenter"):
    st.html("<style>[data-testid='stMainBlockContainer'] {zoom: 1.3}</style>")
# Deep links: every page has its own path (/attention); /?tab=attention works too, as in Gradio.
wanted = st.query_params.get("tab")
if wanted:
    del st.query_params["tab"]
    target = next((p for p in pages if p.url_path == wanted), None)
    if target is not None and target.url_path != current.url_path:
        st.switch_page(target)
current.run()
