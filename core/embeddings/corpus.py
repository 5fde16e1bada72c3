"""A user's corpus: pasted lines or an uploaded .txt / .csv, checked and turned into texts + labels."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core import config

ASSETS = Path(__file__).resolve().parents[2] / "assets"
DEMO_CORPUS = ASSETS / "demo_corpus.csv"

TEXT_COLUMNS = ("text", "sentence", "sentences", "content", "document", "body", "line")
LABEL_COLUMNS = ("label", "labels", "category", "class", "topic", "group", "tag")


@dataclass(frozen=True)
class Corpus:
    texts: list[str]
    labels: list[str] | None  # one per text, or None when the source had no label column
    source: str  # what it came from, for messages

    def __len__(self) -> int:
        return len(self.texts)


def _check_size(text: str, what: str) -> None:
    if len(text) > config.MAX_CORPUS_CHARS:
        raise ValueError(f"{what} has {len(text):,} characters; the limit is {config.MAX_CORPUS_CHARS:,} "
                         "(NLP_STUDIO_MAX_CORPUS_CHARS). Paste a shorter excerpt or raise the limit.")


def _finish(texts: list[str], labels: list[str] | None, source: str) -> Corpus:
    keep = [i for i, t in enumerate(texts) if t.strip()]
    texts = [texts[i].strip() for i in keep]
    labels = [labels[i].strip() or "(none)" for i in keep] if labels is not None else None
    if not texts:
        raise ValueError(f"{source} has no text lines. Put one sentence per line.")
    if len(texts) > config.MAX_CORPUS_LINES:
        raise ValueError(f"{source} has {len(texts):,} lines; the limit is {config.MAX_CORPUS_LINES:,} "
                         "(NLP_STUDIO_MAX_CORPUS_LINES).")
    return Corpus(texts, labels, source)


def from_text(text: str, source: str = "the pasted text") -> Corpus:
    """One item per non-empty line."""
    text = text or ""
    if not text.strip():
        raise ValueError("The corpus is empty. Paste some lines (one sentence per line) or upload a .txt/.csv.")
    _check_size(text, source)
    return _finish(text.splitlines(), None, source)


def from_csv_text(text: str, source: str) -> Corpus:
    """A CSV with a header row: a text column (text, sentence, ...) and optionally a label column."""
    _check_size(text, source)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ValueError(f"{source} is not a readable CSV ({exc}).") from exc
    rows = [r for r in rows if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ValueError(f"{source} needs a header row and at least one data row.")
    header = [h.strip().lower() for h in rows[0]]
    text_col = next((header.index(c) for c in TEXT_COLUMNS if c in header), None)
    if text_col is None:
        raise ValueError(f"{source} has no text column. Found columns: {', '.join(rows[0]) or '(none)'}; "
                         f"name the column with the sentences one of: {', '.join(TEXT_COLUMNS)}.")
    label_col = next((header.index(c) for c in LABEL_COLUMNS if c in header), None)
    body = rows[1:]
    texts = [r[text_col] if text_col < len(r) else "" for r in body]
    labels = [r[label_col] if label_col is not None and label_col < len(r) else "" for r in body] \
        if label_col is not None else None
    return _finish(texts, labels, source)


def from_file(path: str | Path) -> Corpus:
    """An uploaded .txt (one item per line) or .csv (text + optional label column)."""
    path = Path(path)
    name = path.name
    size = path.stat().st_size
    if size > config.MAX_UPLOAD_BYTES:
        raise ValueError(f"{name} is {size / 1e6:.1f} MB; the upload limit is {config.MAX_UPLOAD_BYTES / 1e6:.0f} MB "
                         "(NLP_STUDIO_MAX_UPLOAD_BYTES).")
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise ValueError(f"{name} looks like a binary file, not text. Upload a UTF-8 .txt (one sentence per "
                         "line) or a .csv with a 'text' column.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not UTF-8 text. Save it as UTF-8 (.txt or .csv) and upload again.") from None
    if path.suffix.lower() == ".csv":
        return from_csv_text(text, name)
    if path.suffix.lower() in (".txt", ".text", ".md", ""):
        if not text.strip():
            raise ValueError(f"{name} is empty. Put one sentence per line.")
        _check_size(text, name)
        return _finish(text.splitlines(), None, name)
    raise ValueError(f"{name}: upload a .txt (one sentence per line) or a .csv with a 'text' column.")


@lru_cache(maxsize=1)
def demo_corpus() -> Corpus:
    """The shipped demo corpus (assets/demo_corpus.csv): short sentences in labelled topics."""
    return from_csv_text(DEMO_CORPUS.read_text(encoding="utf-8"), "the demo corpus")
