"""Sentence embeddings (all-MiniLM-L6-v2) and cosine search over a corpus of sentences."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from core import config, models
from core.embeddings.corpus import Corpus, demo_corpus
from core.embeddings.wordvectors import Neighbour, check_k

MODEL_KEY = "minilm"
BATCH = 64


def load_sentence_model(path: Path, device: str):
    """Registry loader: a sentence-transformers folder (MiniLM from its package, or a hub copy)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device=device)


def encode(texts: list[str], progress: Callable[[float, str], None] | None = None) -> np.ndarray:
    """Unit-length sentence vectors, float32 [N, 384], in batches so `progress(frac, msg)` can report."""
    model = models.get(MODEL_KEY)
    out = []
    for start in range(0, len(texts), BATCH):
        batch = texts[start:start + BATCH]
        out.append(model.encode(batch, convert_to_numpy=True, normalize_embeddings=True, batch_size=BATCH))
        if progress:
            done = min(start + BATCH, len(texts))
            progress(done / len(texts), f"embedded {done}/{len(texts)} sentences")
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 384), np.float32)


@dataclass(frozen=True)
class SentenceIndex:
    """A corpus with its MiniLM vectors and an exact cosine index."""

    corpus: Corpus
    vectors: np.ndarray  # float32 [N, 384], unit length

    def neighbours(self, query: str, k: int = 5) -> list[Neighbour]:
        k = check_k(k)
        query = check_sentence(query)
        q = encode([query])[0]
        scores = self.vectors @ q  # a few thousand rows at most: numpy is as fast as faiss here
        k = min(k, len(scores))
        top = np.argsort(-scores)[:k]
        return [Neighbour(self.corpus.texts[i], float(scores[i])) for i in top]


def check_sentence(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValueError("Type a sentence first (the box is empty).")
    if len(text) > config.MAX_QUERY_CHARS:
        raise ValueError(f"That query is {len(text)} characters; the limit is {config.MAX_QUERY_CHARS} "
                         "(NLP_STUDIO_MAX_QUERY_CHARS). Use a shorter sentence.")
    return text


def build_index(corpus: Corpus, progress: Callable[[float, str], None] | None = None) -> SentenceIndex:
    return SentenceIndex(corpus, encode(corpus.texts, progress))


_demo: SentenceIndex | None = None
_demo_lock = threading.Lock()


def demo_index() -> SentenceIndex:
    """The shipped demo corpus, embedded once per process and shared by every user (read-only)."""
    global _demo
    if _demo is None:
        with _demo_lock:
            if _demo is None:
                _demo = build_index(demo_corpus())
    return _demo
