"""Text Lab sentiment on real labelled sentences (Rotten Tomatoes snippets) with real GloVe and MiniLM.

Stated margins, on the held-out set (300 snippets from movies never seen in training, half fresh
and half rotten, so the majority class scores 50%): the GloVe-average classifier beats the majority
class by at least 5 points, the MiniLM classifier by at least 10. Measured here (seed 0, 400
training snippets): GloVe +11, MiniLM +18, VADER +9. With 300 held-out sentences one standard error
of an accuracy is about 3 points, so the margins leave room for another CPU's rounding.
"""
from __future__ import annotations

import numpy as np
import pytest

from core import models
from core.text_lab import data
from core.text_lab import sentiment as sa

GLOVE_MARGIN = 0.05
MINILM_MARGIN = 0.10


@pytest.fixture(scope="module")
def clfs() -> sa.Classifiers:
    """The default classifiers, trained once per process (the app and its API share them)."""
    return sa.default_classifiers()


def test_split_is_balanced_and_keeps_movies_apart():
    settings = sa.TrainSettings()
    parts = sa.split(settings)
    labelled = data.sentiment_sentences()
    assert len(parts.train) == settings.n_train and len(parts.test) == settings.n_test
    assert labelled.labels[parts.test].mean() == 0.5 and labelled.labels[parts.train].mean() == 0.5
    train_movies = {labelled.groups[i] for i in parts.train}
    assert not train_movies & {labelled.groups[i] for i in parts.test}


def test_each_classifier_beats_the_majority_class(clfs):
    assert clfs.glove.majority == pytest.approx(0.5)  # balanced held-out set: exact by construction
    assert clfs.glove.accuracy >= clfs.glove.majority + GLOVE_MARGIN, clfs.glove
    assert clfs.minilm.accuracy >= clfs.minilm.majority + MINILM_MARGIN, clfs.minilm
    assert not clfs.glove.warning and not clfs.minilm.warning
    assert 0.5 < clfs.vader_accuracy < 0.9  # a lexicon with no training: better than chance


def test_vader_word_valences_add_up_to_its_own_score():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer, normalize

    sia = SentimentIntensityAnalyzer()
    for text in ("The movie was not good, but the acting was GREAT!!!",
                 "A gorgeous, witty and deeply moving film 😀",
                 "It's kind of dull and utterly predictable.",
                 "The table is brown."):
        verdict = sa.vader(text)
        # VADER rounds its compound to 4 decimals: compare within that rounding
        assert verdict.score == pytest.approx(sia.polarity_scores(text)["compound"], abs=1e-4)
        total = sum(w.score for w in verdict.words)
        assert verdict.score == pytest.approx(normalize(total) if total else 0.0, abs=1e-12)
    negated = {w.word: w.score for w in sa.vader("The movie was not good").words}
    assert negated["good"] < 0  # VADER's negation rule flipped the lexicon's +1.9
    assert "No word" in sa.vader("The table is brown.").note


def test_glove_word_contributions_add_up_to_the_logit(clfs):
    text = "A gorgeous, witty and deeply moving film."
    verdict = sa.glove_verdict(text, clfs.glove)
    clf = clfs.glove.model
    logit = float(clf.decision_function(sa.glove_features([text]))[0])
    # float32 vectors, float64 weights: a few 1e-7 per term
    assert sum(w.score for w in verdict.words) + float(clf.intercept_[0]) == pytest.approx(logit, abs=1e-5)
    assert verdict.label == "positive" and verdict.score == pytest.approx(1 / (1 + np.exp(-logit)), abs=1e-6)
    ranked = sorted(verdict.words, key=lambda w: -w.score)
    assert {w.word for w in ranked[:3]} & {"gorgeous", "witty", "moving"}


def test_minilm_leave_one_out(clfs):
    verdict = sa.minilm_verdict("The plot is predictable and the acting is wooden.", clfs.minilm)
    assert verdict.label == "negative"
    assert [w.word for w in verdict.words] == "The plot is predictable and the acting is wooden.".split()
    worst = min(verdict.words, key=lambda w: w.score)  # deleting it raises P(positive) the most
    assert worst.word in ("predictable", "wooden.")


def test_unknown_words_and_bad_settings_get_clear_messages(clfs):
    with pytest.raises(ValueError, match="None of these words is among GloVe"):
        sa.glove_verdict("qwzxv blorfts", clfs.glove)
    partly = sa.glove_verdict("a wonderful qwzxv", clfs.glove)
    assert "qwzxv" in partly.note and [w.word for w in partly.words] == ["a", "wonderful"]
    with pytest.raises(ValueError, match="empty"):
        sa.analyze("  ", clfs)
    with pytest.raises(ValueError, match="Training sentences"):
        sa.TrainSettings(n_train=10)
    with pytest.raises(ValueError, match="only 4866"):
        sa.TrainSettings(n_train=4000, n_test=1000)
    assert models.is_loaded("glove-6b-50d") and models.is_loaded("minilm")
