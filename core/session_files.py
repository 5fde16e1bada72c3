"""Files made for one visitor (a WAV to download, an exported figure), kept per session and
removed when the session ends.

Each session gets one folder, `<temp>/nlp-studio-sessions/<session>/`; a handler asks for a
fresh sub-folder with `new_folder(session, prefix)`. The front end calls `end_session` when the
visitor leaves (Gradio: `demo.unload`), and `sweep` removes what a crash or a lost connection
left behind (folders untouched for SESSION_FILES_MAX_AGE_S). Nothing here knows about a web framework.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from core.config import env_int

SESSION_FILES_MAX_AGE_S = env_int("NLP_STUDIO_SESSION_FILES_MAX_AGE_S", 6 * 3600)
ANONYMOUS = "_anonymous"  # calls made outside any session (scripts); swept by age only
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a Gradio session hash; anything else is not a session


def _name(session: str | None) -> str | None:
    return session if session and _ID.fullmatch(session) and session != ANONYMOUS else None


def root() -> Path:
    path = Path(os.environ.get("NLP_STUDIO_SESSION_FILES") or Path(tempfile.gettempdir()) / "nlp-studio-sessions")
    path.mkdir(parents=True, exist_ok=True)
    return path


def session_dir(session: str | None) -> Path:
    """The folder of one session (made if needed); an id that is not a plain token counts as no session."""
    path = root() / (_name(session) or ANONYMOUS)
    path.mkdir(exist_ok=True)
    os.utime(path)  # in use: the age sweep leaves it alone
    return path


def new_folder(session: str | None, prefix: str) -> Path:
    """A fresh, empty folder inside the session's folder."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=session_dir(session)))


def end_session(session: str | None) -> bool:
    """Remove everything the session made. True if there was something to remove."""
    name = _name(session)
    if name is None:
        return False
    path = root() / name
    if not path.is_dir():
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True


def sweep(max_age_s: float = SESSION_FILES_MAX_AGE_S) -> int:
    """Remove session folders not touched for `max_age_s` seconds; returns how many."""
    cutoff, removed = time.time() - max_age_s, 0
    for path in root().iterdir():
        try:
            if path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed
