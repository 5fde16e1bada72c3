"""Text Lab core on real text: preprocessing stages, and one-hot / BoW / TF-IDF against scikit-learn."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from core import config
from core.text_lab import data
from core.text_lab import preprocess as pp
from core.text_lab import vectorize as vz

# Both sides compute in float64 (counts, logs, one division by the row norm); they differ only in
# summation order inside the norm, which moves the last bit or two: 1e-12 is far above that and
# far below any real difference (the smallest non-zero TF-IDF entry here is about 1e-3).
TOL = 1e-12

SETTINGS = [
    vz.Settings(),  # scikit-learn's defaults
    vz.Settings(stop_words=True, min_df=2, max_features=500, norm="l1", smooth_idf=False, sublinear_tf=True),
    vz.Settings(lowercase=False, max_features=50, norm="none"),
]


def reference(method: str, settings: vz.Settings):
    cls = TfidfVectorizer if method == "tfidf" else CountVectorizer
    return cls(**settings.sklearn_kwargs(method))


@pytest.fixture(scope="module")
def lee() -> list[str]:
    return data.lee_corpus()


def test_the_shipped_corpora_are_real_and_sized():
    lee, plots, labelled = data.lee_corpus(), data.plot_summaries(), data.sentiment_sentences()
    assert len(lee) == 300 and "bushfire" in lee[0]
    assert len(plots) == 156
    assert len(labelled.texts) == 4866 and 0.45 < labelled.labels.mean() < 0.55  # fresh vs rotten
    assert len(data.snippets()) == 300 and data.snippets() == data.snippets()  # fixed order


@pytest.mark.parametrize("method", vz.METHODS)
@pytest.mark.parametrize("settings", SETTINGS, ids=["defaults", "pruned-sublinear-l1", "cased-top50-raw"])
def test_matrix_equals_scikit_learn_on_the_lee_corpus(lee, method, settings):
    ours = vz.vectorize(lee, method, settings)
    theirs = reference(method, settings)
    expected = theirs.fit_transform(lee).toarray()
    assert ours.vocabulary == list(theirs.get_feature_names_out())
    np.testing.assert_allclose(ours.matrix.toarray(), expected, rtol=0, atol=TOL)
    if method == "tfidf":
        np.testing.assert_allclose(ours.idf, theirs.idf_, rtol=0, atol=TOL)


def test_tfidf_equals_scikit_learn_on_a_messy_corpus_of_ones_own():
    text = ("Café au lait, s'il vous plaît!\n\nThe the THE café.\n"
            "Numbers 42 and 3.14; e-mail me@example.org\n  a I x  \nZürich 2024 ünïcödé café")
    docs = data.parse_corpus(text)
    assert len(docs) == 5  # the blank line is not a document
    ours = vz.vectorize(docs, "tfidf")
    theirs = TfidfVectorizer().fit(docs)
    assert ours.vocabulary == list(theirs.get_feature_names_out())
    np.testing.assert_allclose(ours.matrix.toarray(), theirs.transform(docs).toarray(), rtol=0, atol=TOL)
    assert not ours.matrix.getrow(3).nnz  # "a I x": no word of two characters -> a row of zeros


def test_tfidf_steps_add_up(lee):
    rep = vz.vectorize(lee, "tfidf")
    steps = vz.tfidf_steps(rep, 0)
    weights = np.array([s.weight for s in steps])
    for s in steps:
        # idf by its formula, from the df shown beside it (float64: 1e-12 as above)
        assert s.idf == pytest.approx(np.log(301 / (1 + s.df)) + 1, abs=TOL)
    np.testing.assert_allclose([s.value for s in steps], weights / np.linalg.norm(weights), atol=TOL)
    assert steps[0].term in [t for t, _ in vz.top_terms(rep, 0, 1)]


def test_cosine_similarity_and_a_query(lee):
    rep = vz.vectorize(lee, "tfidf", vz.Settings(stop_words=True))
    sim = vz.cosine_matrix(rep)
    assert sim.shape == (300, 300)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-12)  # unit rows, float64
    np.testing.assert_allclose(sim, sim.T, atol=1e-12)
    q = vz.transform(rep, "bushfire near Sydney qwzxv", 3)
    assert q.unknown == ["qwzxv"] and "bushfire" in q.known
    assert "fire" in lee[q.ranked[0][0]].lower()


@pytest.mark.parametrize("text, message", [
    ("", "corpus is empty"),
    ("   \n \n", "corpus is empty"),
    ("just one document here", "one document"),
    ("x" * (10 * 1024 * 1024), "limit is"),
], ids=["empty", "blank-lines", "one-document", "10-MB-paste"])
def test_bad_corpora_get_a_clear_message(text, message):
    with pytest.raises(ValueError, match=message):
        data.parse_corpus(text)


def test_vectorize_refusals():
    with pytest.raises(ValueError, match="No terms"):
        vz.vectorize(["the and of", "a an the"], "bow", vz.Settings(stop_words=True))
    with pytest.raises(ValueError, match="Unknown method"):
        vz.vectorize(["one doc", "two doc"], "word2vec")
    with pytest.raises(ValueError, match="at least 3 documents"):
        vz.vectorize(["alpha beta", "gamma delta"], "bow", vz.Settings(min_df=3))
    rep = vz.vectorize(["alpha beta", "gamma delta"], "tfidf")
    with pytest.raises(ValueError, match="not in the corpus vocabulary|None of the query"):
        vz.transform(rep, "omega psi")
    assert len(data.parse_corpus("a b\n" * (config.TEXT_LAB_MAX_DOCS))) == config.TEXT_LAB_MAX_DOCS


def test_cleaning_rules_report_what_they_changed():
    cleaned = pp.clean("I LOOOVED it!!! <br/> see https://x.org/a?b=1 @bob #great  ok",
                       ("html", "urls", "mentions", "hashtags", "repeats", "lowercase", "whitespace"))
    assert cleaned.text == "i looved it!!! see great ok"
    hits = {h.rule: h.matches for h in cleaned.hits}
    assert hits["html"] == 1 and hits["urls"] == 1 and hits["mentions"] == 1 and hits["repeats"] == 1
    assert [h.rule for h in cleaned.hits] == ["html", "urls", "mentions", "hashtags", "repeats", "lowercase",
                                              "whitespace"]
    with pytest.raises(ValueError, match="Unknown cleaning rule"):
        pp.clean("x", ("stemming",))


def test_three_tokenizers():
    text = "The critics weren't generous: 3.5 stars... see https://x.org!"
    assert pp.tokenize(text, "whitespace").tokens == text.split()
    rule = pp.tokenize(text, "rule-based")
    assert rule.tokens == ["The", "critics", "were", "n't", "generous", ":", "3.5", "stars", "...", "see",
                           "https://x.org!"]
    assert rule.kinds[3] == "clitic" and rule.kinds[6] == "number" and rule.kinds[-1] == "url"


def test_subword_pieces_equal_the_transformers_tokenizer():
    from transformers import AutoTokenizer

    from core import models

    text = "Unbelievably, tokenization handles antidisestablishmentarianism."
    ours = pp.tokenize(text, "subword")
    theirs = AutoTokenizer.from_pretrained(str(models.resolve("minilm").path))
    assert ours.tokens == theirs.tokenize(text)
    assert ours.ids == theirs.convert_tokens_to_ids(ours.tokens)
    assert any(t.startswith("##") for t in ours.tokens) and "[PAD]" not in ours.tokens


def test_stop_words_stems_and_lemmas():
    kept = pp.remove_stopwords(["This", "is", "not", "good", "!"])
    assert kept.kept == ["good"] and "not" in kept.removed  # the list drops negation: a sentiment trap
    norm = pp.normalize(["generously", "studies", "running", "better", "was"])
    assert norm.porter[0] == "gener" and norm.snowball[0] == "generous"  # Porter vs Porter2
    assert norm.porter[1] == norm.snowball[1] == "studi"
    assert norm.lemmas[:3] == ["generously", "study", "run"]
    assert norm.lemmas[3] == "good" and norm.lemmas[4] == "be"  # dictionary forms, not suffix cuts


def test_preprocess_runs_every_stage_and_refuses_bad_text():
    r = pp.preprocess("The <b>studies</b> weren't running!!!")
    assert r.cleaned.text == "the studies weren't running!!!"
    assert r.filtered.kept == ["studies", "n't", "running"]
    assert r.normalized.lemmas == ["study", "not", "run"]
    with pytest.raises(ValueError, match="empty"):
        pp.preprocess("   ")
    with pytest.raises(ValueError, match="NLP_STUDIO_TEXT_LAB_MAX_CHARS"):
        pp.preprocess("word " * config.TEXT_LAB_MAX_CHARS)
    with pytest.raises(ValueError, match="removed everything"):
        pp.preprocess("!!! ...", ("punctuation", "whitespace"))
