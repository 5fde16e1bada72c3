"""One Streamlit page per tab; each page file is a thin script over the same core/ as the Gradio tab.

streamlit_app.py hands `navigation_pages()` to `st.navigation`. A page file can also run on its
own (`AppTest.from_file(page_file("embeddings"))`), which is how the tests drive each page.
"""
from __future__ import annotations

from pathlib import Path

from apps.tabs import TABS

HERE = Path(__file__).resolve().parent

# The pages, in the same order as the Gradio tabs: both come from the one table, apps.tabs.TABS.
PAGES = {tab_id: tab.icon for tab_id, tab in TABS.items()}


def page_file(tab_id: str) -> str:
    return str(HERE / f"{tab_id}.py")


def present_pages() -> list[str]:
    """The tab ids that have a page file, in navigation order."""
    return [tab_id for tab_id in PAGES if Path(page_file(tab_id)).exists()]


def navigation_pages() -> list:
    import streamlit as st

    return [
        st.Page(page_file(tab_id), title=TABS[tab_id].title, icon=PAGES[tab_id],
                url_path=tab_id, default=tab_id == "home")
        for tab_id in present_pages()
    ]
