"""Helpers for the Streamlit page tests: run one page file headless with AppTest, read the page."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from apps.streamlit import page_file


def run_page(tab_id: str, timeout: float = 180) -> AppTest:
    """Run one page file on its own (as st.navigation would) and fail on any exception."""
    at = AppTest.from_file(page_file(tab_id), default_timeout=timeout).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at: AppTest) -> list[str]:
    """The st.error boxes on the page (a core message shown to the user)."""
    return [e.value for e in at.error]


def text_of(at: AppTest) -> str:
    """Every markdown, caption and info/success/warning text on the page, joined."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in (*at.info, *at.success, *at.warning)]
    return "\n".join(str(p) for p in parts)
