"""Sentiment three ways, side by side, each explained word by word.

- VADER (`vaderSentiment`, MIT): a hand-made lexicon of about 7,500 words with rules (negation,
  boosters, "but", capitals, "!"). Per word: the valence VADER itself assigns after its rules.
- GloVe average + logistic regression: a sentence is the mean of its words' unit GloVe vectors
  (50-d); the logit is b + w . mean(v) = b + sum_i (w . v_i) / n, so word i contributes
  (w . v_i) / n exactly.
- MiniLM + logistic regression: the 384-d sentence embedding; per word, leave-one-word-out: how much
  P(positive) falls when that word is deleted.

The two classifiers are trained live on Rotten Tomatoes snippets (fresh = positive, rotten =
negative; see core.text_lab.data), split by movie so that no movie is in both train and held-out
sets, and scored against the majority class on the held-out set.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from core import config, models
from core.text_lab import data
from core.text_lab.preprocess import check_text, tokenize

METHODS = ("VADER", "GloVe average", "MiniLM")
GLOVE_KEY = "glove-6b-50d"
MINILM_KEY = "minilm"
MIN_MARGIN = 0.02  # a classifier this close to the majority class has learned nothing worth showing

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class TrainSettings:
    n_train: int = 400  # MiniLM embeds train + held-out once per server: 700 sentences, about
    n_test: int = 300  # 10 s on a quiet 2-core CPU, longer on a busy one
    c_glove: float = 10.0  # inverse regularization strength of each logistic regression; GloVe
    c_minilm: float = 1.0  # averages are short vectors (norm < 1), so they need less shrinking
    seed: int = 0

    def __post_init__(self) -> None:
        total = len(data.sentiment_sentences().texts)
        if not 50 <= int(self.n_train) <= config.TEXT_LAB_MAX_TRAIN:
            raise ValueError(f"Training sentences must be from 50 to {config.TEXT_LAB_MAX_TRAIN} "
                             f"(NLP_STUDIO_TEXT_LAB_MAX_TRAIN), got {self.n_train}.")
        if not 50 <= int(self.n_test) <= 1000:
            raise ValueError(f"Held-out sentences must be from 50 to 1000, got {self.n_test}.")
        if int(self.n_train) + int(self.n_test) > total:
            raise ValueError(f"Train + held-out is {int(self.n_train) + int(self.n_test)}, but there are "
                             f"only {total} labelled sentences.")
        for c in (self.c_glove, self.c_minilm):
            if not 0.001 <= float(c) <= 1000:
                raise ValueError(f"C must be from 0.001 to 1000, got {c}.")


@dataclass(frozen=True)
class Split:
    train: np.ndarray  # int64 row numbers into data.sentiment_sentences()
    test: np.ndarray


def split(settings: TrainSettings) -> Split:
    """Movies are dealt to the held-out side (shuffled by seed) until it has enough sentences of
    each class, the rest to training; both sides are then balanced, half fresh and half rotten, so
    the majority class scores about 50% and any gain over it is learning."""
    labelled = data.sentiment_sentences()
    movies = sorted(set(labelled.groups))
    order = np.random.default_rng(settings.seed).permutation(len(movies))
    by_movie: dict[str, list[int]] = {}
    for i, g in enumerate(labelled.groups):
        by_movie.setdefault(g, []).append(i)
    half_test = int(settings.n_test) // 2
    test: list[int] = []
    train: list[int] = []
    for j in order:
        rows = by_movie[movies[j]]
        counts = np.bincount(labelled.labels[test], minlength=2) if test else np.zeros(2, int)
        (test if counts.min() < half_test else train).extend(rows)
    rng = np.random.default_rng(settings.seed + 1)

    def balanced(rows: list[int], n: int) -> np.ndarray:
        rows = np.array(rows, dtype=np.int64)
        picked = [rng.permutation(rows[labelled.labels[rows] == c])[:n // 2 + (c == 1) * (n % 2)]
                  for c in (0, 1)]
        return np.sort(np.concatenate(picked))

    return Split(balanced(train, int(settings.n_train)), balanced(test, int(settings.n_test)))


# --- features ------------------------------------------------------------------------------

def glove_tokens(text: str) -> list[str]:
    """Lower-cased rule-based tokens (GloVe 6B was built from lower-cased, similarly split text)."""
    return [t.lower() for t in tokenize(text, "rule-based").tokens]


def glove_features(texts: list[str]) -> np.ndarray:
    """Mean unit GloVe vector of each text's known tokens, float32 [N, 50] (zeros if none known)."""
    wv = models.get(GLOVE_KEY)
    out = np.zeros((len(texts), wv.dim), dtype=np.float32)
    for i, text in enumerate(texts):
        rows = [wv.row[t] for t in glove_tokens(text) if t in wv.row]
        if rows:
            out[i] = wv.vectors[rows].mean(axis=0)
    return out


_minilm_cache: dict[int, np.ndarray] = {}  # labelled-sentence row -> MiniLM vector (read-only data)
_minilm_lock = threading.Lock()


def minilm_features(texts: list[str]) -> np.ndarray:
    """Unit MiniLM sentence vectors, float32 [N, 384]."""
    from core.embeddings.sentences import encode

    return encode(list(texts))


def labelled_minilm(rows: np.ndarray, progress: Progress | None = None) -> np.ndarray:
    """MiniLM vectors of labelled sentences, embedded once per process and then reused."""
    texts = data.sentiment_sentences().texts
    with _minilm_lock:
        todo = [int(r) for r in rows if int(r) not in _minilm_cache]
        for start in range(0, len(todo), 256):
            chunk = todo[start:start + 256]
            for r, v in zip(chunk, minilm_features([texts[r] for r in chunk])):
                _minilm_cache[r] = v
            if progress:
                progress(min(start + 256, len(todo)) / len(todo),
                         f"MiniLM: embedded {min(start + 256, len(todo))}/{len(todo)} new sentences")
        return np.stack([_minilm_cache[int(r)] for r in rows])


# --- training ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trained:
    method: str
    model: object  # a fitted sklearn LogisticRegression
    accuracy: float  # on the held-out sentences
    majority: float  # accuracy of always answering the training set's majority class
    n_train: int
    n_test: int
    seconds: float  # features + fit, this run

    @property
    def margin(self) -> float:
        return self.accuracy - self.majority

    @property
    def warning(self) -> str:
        if self.margin < MIN_MARGIN:
            return (f"{self.method} is only {100 * self.margin:+.1f} points from always answering the "
                    "majority class: it has learned almost nothing. Use more training sentences or a "
                    "different C.")
        return ""


@dataclass(frozen=True)
class Classifiers:
    settings: TrainSettings
    glove: Trained
    minilm: Trained
    vader_accuracy: float  # VADER on the same held-out sentences (compound >= 0 -> positive)
    source: str


def _fit(method: str, X_train, y_train, X_test, y_test, C: float, started: float) -> Trained:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=C, max_iter=2000).fit(X_train, y_train)
    acc = float((clf.predict(X_test) == y_test).mean())
    majority_label = int(y_train.mean() >= 0.5)
    majority = float((y_test == majority_label).mean())
    return Trained(method, clf, acc, majority, len(y_train), len(y_test), time.perf_counter() - started)


def train(settings: TrainSettings | None = None, progress: Progress | None = None) -> Classifiers:
    """Fit both classifiers on the same split and score all three methods on the held-out set
    (`settings` None: the defaults; made here, not at import, since they read the data)."""
    settings = settings if settings is not None else TrainSettings()
    labelled = data.sentiment_sentences()
    parts = split(settings)
    texts = labelled.texts
    y_train, y_test = labelled.labels[parts.train], labelled.labels[parts.test]
    if progress:
        progress(0.0, "GloVe: averaging word vectors")
    t0 = time.perf_counter()
    glove = _fit("GloVe average", glove_features([texts[i] for i in parts.train]), y_train,
                 glove_features([texts[i] for i in parts.test]), y_test, settings.c_glove, t0)
    t0 = time.perf_counter()
    X_train = labelled_minilm(parts.train, progress)
    X_test = labelled_minilm(parts.test, progress)
    minilm = _fit("MiniLM", X_train, y_train, X_test, y_test, settings.c_minilm, t0)
    vader_pred = np.array([vader(texts[i]).score >= 0 for i in parts.test], dtype=np.int64)
    return Classifiers(settings, glove, minilm, float((vader_pred == y_test).mean()), labelled.source)


_default: Classifiers | None = None
_default_lock = threading.Lock()


def default_classifiers(progress: Progress | None = None) -> Classifiers:
    """Both classifiers trained with the default settings, once per process, shared (read-only)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = train(TrainSettings(), progress)
    return _default


# --- explaining one sentence ----------------------------------------------------------------

@dataclass(frozen=True)
class WordScore:
    word: str
    score: float  # > 0 pushes towards positive; the unit depends on the method (see Verdict.unit)


@dataclass(frozen=True)
class Verdict:
    method: str
    label: str  # "positive", "negative" (or "neutral" for VADER)
    score: float  # VADER: compound in [-1, 1]; classifiers: P(positive) in [0, 1]
    words: list[WordScore]
    unit: str
    note: str = ""


_vader = None
_vader_lock = threading.Lock()


def _analyzer():
    global _vader
    if _vader is None:
        with _vader_lock:
            if _vader is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _vader = SentimentIntensityAnalyzer()
    return _vader


def vader(text: str) -> Verdict:
    """VADER's compound score, and the valence it gave each word after its rules.

    The loop below is polarity_scores' own, kept so the per-word valences can be returned; the
    'but' rule and the '!'/'?' emphasis are VADER's own methods, so the sum matches it exactly.
    """
    from vaderSentiment.vaderSentiment import BOOSTER_DICT, SentiText, normalize

    text = check_text(text)
    sia = _analyzer()
    described, prev_space = "", True  # emoji -> their descriptions, spaced exactly as VADER does
    for ch in text:
        if ch in sia.emojis:
            described += ("" if prev_space else " ") + sia.emojis[ch]
            prev_space = False
        else:
            described += ch
            prev_space = ch == " "
    described = described.strip()
    senti = SentiText(described)
    words = senti.words_and_emoticons
    sentiments: list[float] = []
    for i, item in enumerate(words):
        if item.lower() in BOOSTER_DICT or (
                i < len(words) - 1 and item.lower() == "kind" and words[i + 1].lower() == "of"):
            sentiments.append(0)
            continue
        sentiments = sia.sentiment_valence(0, senti, item, i, sentiments)
    sentiments = sia._but_check(words, sentiments)  # VADER's own 'but' rule (x0.5 before, x1.5 after)
    total = float(sum(sentiments))
    emphasis = sia._punctuation_emphasis(described) if total else 0.0
    compound = normalize(total + math.copysign(emphasis, total)) if total else 0.0
    scores = [WordScore(w, float(s)) for w, s in zip(words, sentiments)]
    if emphasis:
        scores.append(WordScore("(! and ? emphasis)", math.copysign(emphasis, total)))
    label = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
    known = sum(1 for w in words if w.lower() in sia.lexicon)
    note = "" if known else "No word of this sentence is in VADER's lexicon: it scores 0 (neutral)."
    return Verdict("VADER", label, float(compound), scores, "valence after VADER's rules", note)


def _prob(clf, X: np.ndarray) -> np.ndarray:
    return clf.predict_proba(X)[:, list(clf.classes_).index(1)]


def glove_verdict(text: str, trained: Trained) -> Verdict:
    """P(positive) from the GloVe-average classifier; per word (w . v_i) / n in logit units."""
    text = check_text(text)
    wv = models.get(GLOVE_KEY)
    toks = glove_tokens(text)
    known = [t for t in toks if t in wv.row]
    unknown = sorted(set(t for t in toks if t not in wv.row))
    if not known:
        raise ValueError("None of these words is among GloVe's 400,000 (unknown: "
                         f"{', '.join(unknown[:10]) or 'nothing typed'}); the average of no vectors "
                         "is undefined. Use English words.")
    clf = trained.model
    w = clf.coef_[0] * (1 if clf.classes_[1] == 1 else -1)
    per_word = wv.vectors[[wv.row[t] for t in known]] @ w / len(known)
    p = float(_prob(clf, glove_features([text]))[0])
    note = f"Not in GloVe, skipped: {', '.join(unknown)}." if unknown else ""
    return Verdict("GloVe average", "positive" if p >= 0.5 else "negative", p,
                   [WordScore(t, float(s)) for t, s in zip(known, per_word)],
                   "share of the logit, w · v / n", note)


def minilm_verdict(text: str, trained: Trained) -> Verdict:
    """P(positive) from the MiniLM classifier; per word, P(full) - P(without that word)."""
    text = check_text(text)
    words = text.split()
    variants = [text] + [" ".join(words[:i] + words[i + 1:]) for i in range(len(words))]
    probs = _prob(trained.model, minilm_features(variants))
    p = float(probs[0])
    scores = [WordScore(w, float(p - q)) for w, q in zip(words, probs[1:])]
    return Verdict("MiniLM", "positive" if p >= 0.5 else "negative", p, scores,
                   "P(positive) lost without the word")


def analyze(text: str, classifiers: Classifiers | None = None) -> list[Verdict]:
    """The three verdicts for one sentence (classifiers: the default ones unless given)."""
    text = check_text(text)
    clfs = classifiers or default_classifiers()
    return [vader(text), glove_verdict(text, clfs.glove), minilm_verdict(text, clfs.minilm)]
