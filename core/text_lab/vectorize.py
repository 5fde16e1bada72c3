"""One-hot, Bag-of-Words and TF-IDF document vectors, written out step by step with numpy/scipy.

The same settings mean the same numbers as scikit-learn (tests/core/test_text_lab.py compares them):
one-hot = CountVectorizer(binary=True), bow = CountVectorizer(), tfidf = TfidfVectorizer(), with
lowercase, stop_words="english" or None, min_df (a count), max_features, norm, smooth_idf and
sublinear_tf. The steps for TF-IDF (scikit-learn's defaults: smooth_idf=True, norm="l2"):

    tf[d, t]  = how often term t occurs in document d        (1 + ln tf with sublinear_tf)
    df[t]     = in how many documents t occurs
    idf[t]    = ln((1 + n) / (1 + df[t])) + 1                (ln(n / df[t]) + 1 without smoothing)
    x[d, t]   = tf[d, t] * idf[t], then each row divided by its L2 (or L1) norm
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from core.text_lab.preprocess import stop_words

METHODS = ("one-hot", "bow", "tfidf")
NORMS = ("l2", "l1", "none")
TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # scikit-learn's default: words of two or more word characters
_TOKEN_RE = re.compile(TOKEN_PATTERN)


@dataclass(frozen=True)
class Settings:
    """The knobs scikit-learn's vectorizers have, with the same defaults."""

    lowercase: bool = True
    stop_words: bool = False  # True: scikit-learn's English list
    min_df: int = 1  # keep terms in at least this many documents
    max_features: int = 0  # keep the most frequent terms (by total count); 0 = all
    norm: str = "l2"  # tfidf only: "l2", "l1" or "none"
    smooth_idf: bool = True  # tfidf only: as if one extra document held every term once
    sublinear_tf: bool = False  # tfidf only: 1 + ln(tf) instead of tf

    def __post_init__(self) -> None:
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {self.norm!r}")
        if int(self.min_df) < 1:
            raise ValueError(f"min_df is a document count of at least 1, got {self.min_df}")
        if int(self.max_features) < 0:
            raise ValueError(f"max_features must be 0 (all terms) or more, got {self.max_features}")

    def sklearn_kwargs(self, method: str) -> dict:
        """The keyword arguments that give scikit-learn's vectorizer the same settings."""
        kw = dict(lowercase=self.lowercase, stop_words="english" if self.stop_words else None,
                  min_df=int(self.min_df), max_features=int(self.max_features) or None)
        if method == "one-hot":
            kw["binary"] = True
        if method == "tfidf":
            kw.update(norm=None if self.norm == "none" else self.norm, smooth_idf=self.smooth_idf,
                      sublinear_tf=self.sublinear_tf)
        return kw


@dataclass(frozen=True)
class Representation:
    docs: list[str]
    method: str
    settings: Settings
    vocabulary: list[str]  # column order: alphabetical, as scikit-learn's get_feature_names_out()
    counts: sp.csr_matrix  # int64 [D, V]: raw term counts (the Bag-of-Words)
    matrix: sp.csr_matrix  # float64 [D, V]: the representation asked for
    df: np.ndarray  # int64 [V]: document frequency of each term
    idf: np.ndarray | None = None  # float64 [V], tfidf only
    tf: sp.csr_matrix | None = None  # float64 [D, V]: tf after the optional sublinear step (tfidf only)
    column: dict = field(default_factory=dict)  # term -> column

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape


def analyze(doc: str, settings: Settings = Settings()) -> list[str]:
    """The terms of one document, as the vectorizer sees them (lower-case, 2+ characters, stop words out)."""
    text = doc.lower() if settings.lowercase else doc
    terms = _TOKEN_RE.findall(text)
    if settings.stop_words:
        words = stop_words()
        terms = [t for t in terms if t not in words]
    return terms


def check_method(method: str) -> str:
    method = (method or "").strip().lower().replace("_", "-")
    method = {"onehot": "one-hot", "tf-idf": "tfidf", "bag-of-words": "bow"}.get(method, method)
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of: {', '.join(METHODS)}.")
    return method


def _counts(docs: list[str], settings: Settings) -> tuple[sp.csr_matrix, list[str]]:
    """Term counts [D, V] with columns in alphabetical order."""
    index: dict[str, int] = {}
    rows, cols = [], []
    for d, doc in enumerate(docs):
        for term in analyze(doc, settings):
            rows.append(d)
            cols.append(index.setdefault(term, len(index)))
    if not index:
        raise ValueError("No terms at all: every word is a stop word or shorter than two characters. "
                         "Switch stop words off or paste longer documents.")
    X = sp.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, cols)), shape=(len(docs), len(index)))
    X.sum_duplicates()
    vocab = sorted(index)
    order = np.array([index[t] for t in vocab])
    return X[:, order].tocsr(), vocab


def _limit(X: sp.csr_matrix, vocab: list[str], settings: Settings,
           binary: bool = False) -> tuple[sp.csr_matrix, list[str]]:
    """min_df, then the max_features most frequent terms (ties broken as scikit-learn breaks them).
    For one-hot (`binary`) "frequent" counts documents, as CountVectorizer(binary=True) does."""
    dfs = np.bincount(X.indices, minlength=X.shape[1])
    mask = dfs >= int(settings.min_df)
    limit = int(settings.max_features)
    if limit and mask.sum() > limit:
        totals = dfs if binary else np.asarray(X.sum(axis=0)).ravel()
        keep = (-totals[mask]).argsort()[:limit]
        new_mask = np.zeros(len(dfs), dtype=bool)
        new_mask[np.where(mask)[0][keep]] = True
        mask = new_mask
    if not mask.any():
        raise ValueError(f"No term is in at least {settings.min_df} documents: lower min_df.")
    cols = np.where(mask)[0]
    return X[:, cols].tocsr(), [vocab[i] for i in cols]


def vectorize(docs: list[str], method: str = "tfidf", settings: Settings = Settings()) -> Representation:
    """Document vectors for `docs` (at least two) by one of METHODS."""
    method = check_method(method)
    if len(docs) < 2:
        raise ValueError("Vectorizing needs at least two documents (document frequency compares them).")
    counts, vocab = _limit(*_counts(docs, settings), settings, binary=method == "one-hot")
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)
    column = {t: i for i, t in enumerate(vocab)}
    if method == "bow":
        return Representation(docs, method, settings, vocab, counts, counts.astype(np.float64), df, column=column)
    if method == "one-hot":
        binary = counts.copy()
        binary.data[:] = 1
        return Representation(docs, method, settings, vocab, counts, binary.astype(np.float64), df, column=column)
    tf = counts.astype(np.float64)
    if settings.sublinear_tf:
        tf.data = 1.0 + np.log(tf.data)
    n = len(docs) + int(settings.smooth_idf)
    idf = np.log(n / (df + int(settings.smooth_idf))) + 1.0
    weighted = tf.multiply(idf[None, :]).tocsr()
    return Representation(docs, method, settings, vocab, counts, normalize_rows(weighted, settings.norm),
                          df, idf, tf, column)


def normalize_rows(X: sp.csr_matrix, norm: str) -> sp.csr_matrix:
    """Each row divided by its L2 or L1 norm (rows of zeros stay zero); "none" leaves X as it is."""
    if norm == "none":
        return X.tocsr()
    if norm == "l2":
        lengths = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    else:
        lengths = np.asarray(abs(X).sum(axis=1)).ravel()
    lengths[lengths == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / lengths) @ X)


def cosine_matrix(rep: Representation) -> np.ndarray:
    """Cosine similarity between every pair of documents, float64 [D, D] (0 for an empty document)."""
    unit = normalize_rows(rep.matrix, "l2")
    return np.asarray((unit @ unit.T).todense())


def top_terms(rep: Representation, doc: int, k: int = 10) -> list[tuple[str, float]]:
    """The k largest entries of one document's row: (term, value), largest first, ties alphabetical."""
    row = rep.matrix.getrow(check_doc(rep, doc))
    pairs = sorted(zip(row.indices, row.data), key=lambda p: (-p[1], rep.vocabulary[p[0]]))
    return [(rep.vocabulary[i], float(v)) for i, v in pairs[:k]]


def check_doc(rep: Representation, doc: int) -> int:
    doc = int(doc)
    if not 0 <= doc < len(rep.docs):
        raise ValueError(f"Document {doc} does not exist: the corpus has documents 0 to {len(rep.docs) - 1}.")
    return doc


@dataclass(frozen=True)
class Step:
    term: str
    count: int
    tf: float
    df: int
    idf: float
    weight: float  # tf * idf
    value: float  # after normalization: the matrix entry


def tfidf_steps(rep: Representation, doc: int) -> list[Step]:
    """One document's TF-IDF worked out term by term, largest value first."""
    if rep.method != "tfidf":
        raise ValueError("The step-by-step table is for TF-IDF: choose the tfidf method.")
    doc = check_doc(rep, doc)
    counts, tf, out = rep.counts.getrow(doc), rep.tf.getrow(doc), rep.matrix.getrow(doc)
    values = dict(zip(out.indices, out.data))
    tfs = dict(zip(tf.indices, tf.data))
    steps = [Step(rep.vocabulary[i], int(c), float(tfs[i]), int(rep.df[i]), float(rep.idf[i]),
                  float(tfs[i] * rep.idf[i]), float(values.get(i, 0.0)))
             for i, c in zip(counts.indices, counts.data)]
    return sorted(steps, key=lambda s: (-s.value, s.term))


@dataclass(frozen=True)
class Query:
    vector: np.ndarray  # float64 [V]: the new document in the corpus' space
    known: list[str]
    unknown: list[str]  # terms the corpus has never seen: they get no column
    ranked: list[tuple[int, float]]  # (document, cosine), most similar first


def transform(rep: Representation, text: str, k: int = 5) -> Query:
    """Place a new document in the corpus' vector space (its vocabulary and idf) and rank the corpus."""
    terms = analyze(text or "", rep.settings)
    if not terms:
        raise ValueError("The query has no terms (words of two or more letters"
                         + (", not stop words" if rep.settings.stop_words else "") + ").")
    known = [t for t in terms if t in rep.column]
    unknown = sorted(set(t for t in terms if t not in rep.column))
    if not known:
        raise ValueError(f"None of the query's words is in the corpus vocabulary (unknown: "
                         f"{', '.join(unknown[:10])}); it would be a vector of zeros. Use words "
                         "from the corpus.")
    vec = np.zeros(len(rep.vocabulary))
    for t in known:
        vec[rep.column[t]] += 1
    if rep.method == "one-hot":
        vec = (vec > 0).astype(np.float64)
    elif rep.method == "tfidf":
        if rep.settings.sublinear_tf:
            vec[vec > 0] = 1 + np.log(vec[vec > 0])
        vec = vec * rep.idf
        if rep.settings.norm != "none":
            vec = vec / (np.linalg.norm(vec) if rep.settings.norm == "l2" else np.abs(vec).sum())
    unit = normalize_rows(rep.matrix, "l2")
    sims = unit @ (vec / np.linalg.norm(vec))
    order = np.argsort(-sims, kind="stable")[:k]
    return Query(vec, known, unknown, [(int(i), float(sims[i])) for i in order])
