"""What every Streamlit page shares: its heading, the error guard, cached models, the code box.

Per-user data lives in `st.session_state` (one per browser session); models live in the
process-wide core cache, warmed through `st.cache_resource` so that every user shares one copy.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import streamlit as st

from apps.tabs import TABS
from core import models
from core.errors import user_message
from core.registry import MODELS


def heading(tab_id: str, intro: str = "") -> None:
    """The page title, its roadmap weeks and summary (the same text as the Gradio tab)."""
    tab = TABS[tab_id]
    st.title(tab.title)
    weeks = f"Roadmap week {tab.weeks} · " if tab.weeks and tab.weeks != "all" else ""
    st.caption(weeks + tab.summary)
    if intro:
        st.markdown(intro)


def show_error(exc: BaseException) -> None:
    """Show a failed call as Streamlit's error box with the core message (what to do next)."""
    st.error(user_message(exc), icon=":material/error:")


@contextmanager
def guard() -> Iterator[None]:
    """Run a block; a core error becomes an `st.error` with its message, never a traceback.

    Streamlit's own control flow (st.rerun, st.stop) derives from BaseException and passes through.
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - every failure becomes a message; the page stays up
        show_error(exc)


def run_page(main: Callable[[], None]) -> None:
    """Entry point of every page file: the whole page runs inside `guard()`. A model download
    (only with NLP_STUDIO_ALLOW_DOWNLOAD=1) shows a progress bar where the action is."""
    bar: list = []  # made on the first report only: a page without a download draws nothing extra

    def report(fraction: float, message: str) -> None:
        if not bar:
            bar.append(st.empty())
        if fraction >= 1:
            bar[0].empty()
        else:
            bar[0].progress(fraction, text=message)

    with guard(), models.download_progress(report):
        main()


@st.cache_resource(show_spinner=False, max_entries=64)
def _cached_model(key: str, device: str | None, loader: str | None) -> Any:
    return models.load(key, device, loader)


def model(key: str, device: str | None = None, loader: str | None = None) -> Any:
    """Load a registered model once per process (shared by every session) with a spinner the first
    time. Core functions then find it in core's own cache; a missing model raises
    ModelMissingError, whose message says how to get the weights."""
    name = MODELS[key].title if key in MODELS else key
    with st.spinner(f"Loading {name} (first use only)…"):
        return _cached_model(key, device, loader).model


def state(key: str, default: Any = None) -> Any:
    """This session's value for `key`, created from `default` the first time."""
    if key not in st.session_state:
        st.session_state[key] = default() if callable(default) else default
    return st.session_state[key]


def code_box(code: str) -> None:
    """The "show the code" box: the few lines of Python that reproduce the current view."""
    with st.expander("Show the code (runs on its own)", icon=":material/code:"):
        st.code(code, language="python")


def visitor() -> str:
    """This browser session's token: the adapters it makes are its own (core.chat.lora, per session)."""
    import uuid

    return state("visitor", lambda: uuid.uuid4().hex)


def session_job(key: str, get_job: Callable[[str], Any]) -> Any:
    """This session's background job (its id kept in st.session_state[key]), or None: none
    started, or the app restarted since (the stale id is forgotten)."""
    job_id = st.session_state.get(key)
    if not job_id:
        return None
    try:
        return get_job(job_id)
    except ValueError:
        del st.session_state[key]
        return None


def job_running(key: str, get_job: Callable[[str], Any]) -> bool:
    """Whether this session's background job is still running (the page polls while it is)."""
    job = session_job(key, get_job)
    return bool(job and not job.status().finished)
