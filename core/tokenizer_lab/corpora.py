"""Real text to train a tokenizer on, all of it already on the machine (nothing is downloaded).

- "python-docs": the Python language reference and library topics that CPython itself ships as
  `pydoc_data.topics` (what `help("if")` prints): about 460 KB of technical English with code.
  Licence: PSF License 2.0, shipped with every Python.
- "gpl-3": the text of the GNU GPL version 3 from Debian's base-files
  (/usr/share/common-licenses/GPL-3, about 35 KB of legal English). Its own terms allow verbatim
  copies; it is read in place, never copied into the project.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Corpus:
    key: str
    title: str
    licence: str
    read: Callable[[], str]


def _python_docs() -> str:
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k] for k in sorted(topics))


def _gpl3() -> str:
    path = Path("/usr/share/common-licenses/GPL-3")
    if not path.is_file():
        raise ValueError(f"{path} is missing (Debian's base-files ships it); pick another corpus or paste text")
    return path.read_text(encoding="utf-8")


CORPORA: dict[str, Corpus] = {c.key: c for c in (
    Corpus("python-docs", "Python reference (pydoc_data, ships with CPython)", "PSF License 2.0", _python_docs),
    Corpus("gpl-3", "GNU GPL v3 text (Debian base-files)", "verbatim copies permitted by its terms", _gpl3),
)}


def corpus_text(key: str) -> str:
    """The whole text of a shipped corpus. Unknown keys raise ValueError listing the valid ones."""
    if key not in CORPORA:
        raise ValueError(f"unknown corpus {key!r}; choose one of {', '.join(CORPORA)}")
    return CORPORA[key].read()
