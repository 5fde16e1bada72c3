"""The Embedding Explorer's operations as plain functions over the registry's models.

Front ends (Gradio, Streamlit, the API) call these; they return plain data and figures.
"""
from __future__ import annotations

from dataclasses import dataclass

from core import models
from core.embeddings.sets import PointSet, frequent_words, from_word_list, from_word_set, neighbourhood
from core.embeddings.projection import Projection, kmeans_labels, project
from core.embeddings.sentences import SentenceIndex, demo_index
from core.embeddings.wordvectors import Neighbour, WordVectors

WORD_MODEL = "glove-6b-50d"
KINDS = ("word", "sentence")
SOURCES = ("word set", "typed words", "frequent words", "word neighbourhood", "demo corpus", "my corpus")
COLOURINGS = ("label", "k-means clusters", "none")


def word_vectors() -> WordVectors:
    return models.get(WORD_MODEL)


def neighbours(query: str, kind: str = "word", k: int = 10, corpus: SentenceIndex | None = None) -> list[Neighbour]:
    """Cosine neighbours in the original space: GloVe words, or sentences of `corpus` (default: demo)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if kind == "word":
        return word_vectors().neighbours(query, k)
    return (corpus or demo_index()).neighbours(query, k)


def analogy(a: str, b: str, c: str, k: int = 5) -> list[Neighbour]:
    return word_vectors().analogy(a, b, c, k)


def as_rows(found: list[Neighbour]) -> list[dict]:
    """Neighbours as JSON-able rows: rank (1-based), text, cosine score rounded to 4 places."""
    return [{"rank": i + 1, "text": n.text, "score": round(n.score, 4)} for i, n in enumerate(found)]


@dataclass(frozen=True)
class ProjectionView:
    points: PointSet
    projection: Projection
    labels: list[str] | None  # the colouring actually used
    is_words: bool


def points_for(source: str, *, word_set: str = "", words: str = "", n: int = 1000, query: str = "",
               corpus: SentenceIndex | None = None) -> tuple[PointSet, bool]:
    """The point set a projection shows, and whether its points are GloVe words."""
    if source == "word set":
        return from_word_set(word_vectors(), word_set), True
    if source == "typed words":
        return from_word_list(word_vectors(), words), True
    if source == "frequent words":
        return frequent_words(word_vectors(), n), True
    if source == "word neighbourhood":
        return neighbourhood(word_vectors(), query, 40), True
    if source in ("demo corpus", "my corpus"):
        if source == "my corpus" and corpus is None:
            raise ValueError("No corpus loaded yet: paste or upload one in the 'Your corpus' tab first.")
        index = corpus if source == "my corpus" else demo_index()
        return PointSet(index.corpus.texts, index.vectors, index.corpus.labels,
                        f"{len(index.corpus)} sentences of {index.corpus.source}"), False
    raise ValueError(f"Unknown source {source!r}; choose one of {', '.join(SOURCES)}")


def projection_view(points: PointSet, is_words: bool, method: str = "pca", dims: int = 2,
                    colour: str = "label", clusters: int = 4) -> ProjectionView:
    if colour not in COLOURINGS:
        raise ValueError(f"colour must be one of {', '.join(COLOURINGS)}")
    proj = project(points.vectors, method, int(dims))
    if colour == "label":
        labels = points.labels
    elif colour == "k-means clusters":
        labels = kmeans_labels(points.vectors, int(clusters))
    else:
        labels = None
    return ProjectionView(points, proj, labels, is_words)


def coords_rows(view: ProjectionView) -> list[dict]:
    """Projected points as JSON-able rows (text, label, x, y[, z])."""
    axes = "xyz"[: view.projection.dims]
    rows = []
    for i, t in enumerate(view.points.texts):
        row = {"text": t, "label": view.labels[i] if view.labels else None}
        row.update({a: round(float(view.projection.coords[i, j]), 4) for j, a in enumerate(axes)})
        rows.append(row)
    return rows
