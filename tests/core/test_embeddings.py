"""Embedding Explorer core on the real GloVe 6B 50d and MiniLM weights."""
from __future__ import annotations

import numpy as np
import pytest

from core import config
from core.embeddings import corpus, explorer, sentences
from core.embeddings.sets import WORD_SETS, frequent_words, from_word_set
from core.embeddings.projection import project


@pytest.fixture(scope="session")
def wv():
    return explorer.word_vectors()


@pytest.fixture(scope="session")
def demo():
    return sentences.demo_index()


def test_glove_has_all_400k_words(wv):
    assert len(wv.words) == 400_000 and wv.dim == 50
    assert np.allclose(np.linalg.norm(wv.vectors[:1000], axis=1), 1, atol=1e-5)  # normalized in float32


def test_king_minus_man_plus_woman_is_queen(wv):
    top3 = [n.text for n in wv.analogy("King", " man", "woman ", k=3)]
    assert "queen" in top3
    assert not {"king", "man", "woman"} & set(top3)


def test_capital_analogy(wv):
    assert "rome" in [n.text for n in wv.analogy("paris", "france", "italy", k=3)]


def test_neighbours_are_sorted_and_related(wv):
    found = wv.neighbours("frog", 10)
    scores = [n.score for n in found]
    assert scores == sorted(scores, reverse=True)
    assert "frog" not in [n.text for n in found]
    assert {"toad", "frogs", "snake", "lizard"} & {n.text for n in found}


def test_faiss_matches_numpy_baseline(wv):
    q = wv.vector("music")
    got, want = wv.search(q, 10), wv.search_numpy(q, 10)
    # faiss and numpy sum the 50 products in different orders (and faiss picks AVX2 or AVX-512
    # code by CPU), so scores agree to float32 rounding (~1e-6), not bit for bit, and words whose
    # scores are that close may swap places. So: the same scores rank by rank, each word faiss
    # returns scored correctly, and the same ten words unless the 10th and 11th nearly tie.
    assert np.allclose([n.score for n in got], [n.score for n in want], atol=1e-5)
    qn = q / np.linalg.norm(q)
    for n in got:
        v = wv.vector(n.text)
        assert abs(float(v @ qn) / float(np.linalg.norm(v)) - n.score) < 1e-5, n
    if want[-1].score - wv.search_numpy(q, 11)[-1].score > 1e-5:
        assert {n.text for n in got} == {n.text for n in want}, (got, want)


def test_unknown_word_suggests_spellings(wv):
    with pytest.raises(ValueError) as err:
        wv.vector("beautifull")
    assert "beautiful" in str(err.value) and "Did you mean" in str(err.value)
    with pytest.raises(ValueError, match="not among the 400,000 words"):
        wv.vector("qwzxvbnmkpl")


@pytest.mark.parametrize("bad,match", [("", "empty"), ("   ", "empty"), ("new york", "spaces"),
                                       ("x" * 100_000, "at most")])
def test_bad_word_queries(wv, bad, match):
    with pytest.raises(ValueError, match=match):
        wv.neighbours(bad, 5)


def test_k_bounds(wv):
    for k in (0, config.MAX_NEIGHBOURS + 1, "many"):
        with pytest.raises(ValueError, match="k must"):
            wv.neighbours("cat", k)


def test_semantic_axis_orders_words(wv):
    axes = wv.axes(["king", "queen", "nephew", "niece", "zzzzqqq"], ("man, he", "woman, she"), ("bad", "good"))
    x = dict(zip(axes.words, axes.x))
    assert x["queen"] > x["king"] and x["niece"] > x["nephew"]
    assert axes.skipped == ["zzzzqqq"] and axes.y is not None
    # the poles themselves land at -1 and +1
    ends = wv.axes(["bad", "good"], ("bad", "good"))
    assert np.allclose(ends.x, [-1, 1], atol=1e-5)  # a projection and a division in float32
    with pytest.raises(ValueError, match="same point"):
        wv.axes(["cat"], ("dog", "dog"))
    with pytest.raises(ValueError, match="both poles, or neither"):
        wv.axes(["cat"], ("bad", "good"), ("small", " "))
    assert wv.axes(["cat"], ("bad", "good"), ("", "  ")).y is None


def test_sentence_nearest_neighbour_is_its_paraphrase(demo):
    texts = demo.corpus.texts
    pairs = [("The cat is asleep on the sofa.", "A kitten is napping on the couch."),
             ("The phone battery drains too quickly.", "My mobile runs out of charge very fast."),
             ("Stock prices fell sharply on Monday.", "Shares dropped steeply at the start of the week."),
             ("Drink plenty of water when you exercise.", "Stay hydrated while you work out.")]
    for a, b in pairs:
        assert a in texts and b in texts
        found = demo.neighbours(a, 2)
        assert found[0].text == a and found[0].score > 0.99
        assert found[1].text == b


def test_unseen_query_finds_its_topic(demo):
    found = explorer.neighbours("Will it snow tonight?", "sentence", 3)
    labels = dict(zip(demo.corpus.texts, demo.corpus.labels))
    assert labels[found[0].text] == "weather"


def test_user_corpus_from_text_and_csv(tmp_path):
    c = corpus.from_text("first line\n\n  second line  \nthird")
    assert c.texts == ["first line", "second line", "third"] and c.labels is None
    f = tmp_path / "c.csv"
    f.write_text("id,Sentence,Topic\n1,hello there,greet\n2,goodbye now,leave\n")
    c = corpus.from_file(f)
    assert c.texts == ["hello there", "goodbye now"] and c.labels == ["greet", "leave"]
    index = sentences.build_index(c)
    assert index.vectors.shape == (2, 384)
    assert index.neighbours("hi!", 1)[0].text == "hello there"


def test_bad_corpora(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        corpus.from_text("  \n ")
    with pytest.raises(ValueError, match="characters; the limit"):
        corpus.from_text("word " * 30_000)
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00" + bytes(range(256)))
    with pytest.raises(ValueError, match="binary"):
        corpus.from_file(binary)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match="UTF-8"):
        corpus.from_file(latin)
    nocol = tmp_path / "n.csv"
    nocol.write_text("id,score\n1,2\n")
    with pytest.raises(ValueError, match="no text column. Found columns: id, score"):
        corpus.from_file(nocol)
    many = tmp_path / "many.txt"
    many.write_text("\n".join(f"l{i}" for i in range(config.MAX_CORPUS_LINES + 1)))
    with pytest.raises(ValueError, match="lines; the limit"):
        corpus.from_file(many)


def test_projection_methods_and_limits(wv):
    pts = from_word_set(wv, list(WORD_SETS)[2])
    for method, dims in (("pca", 2), ("pca", 3), ("tsne", 2)):
        p = project(pts.vectors, method, dims)
        assert p.coords.shape == (len(pts.texts), dims) and np.isfinite(p.coords).all()
    p = project(pts.vectors, "pca", 2)
    assert 0 < sum(p.explained) <= 1
    for n in (1, 2):
        with pytest.raises(ValueError, match="at least 3"):
            project(pts.vectors[:n], "pca", 2)
    with pytest.raises(ValueError, match="choose one of"):
        project(pts.vectors, "lda", 2)
    big = np.repeat(pts.vectors, config.MAX_TSNE_POINTS // len(pts.vectors) + 1, axis=0)
    with pytest.raises(ValueError, match="Use PCA, or fewer points"):
        project(big, "tsne", 2)


def test_pca_separates_word_groups(wv):
    """Animals vs vehicles: PCA's first two components keep the groups apart (centroid gap
    larger than the mean spread within a group)."""
    pts = from_word_set(wv, "Animals, fruit, vehicles, colours")
    xy = project(pts.vectors, "pca", 2).coords
    lab = np.array(pts.labels)
    ca, cv = xy[lab == "animal"].mean(0), xy[lab == "vehicle"].mean(0)
    spread = np.mean([np.linalg.norm(xy[lab == g] - xy[lab == g].mean(0), axis=1).mean() for g in ("animal", "vehicle")])
    assert np.linalg.norm(ca - cv) > spread


@pytest.mark.slow
def test_umap_runs_on_frequent_words(wv):
    pts = frequent_words(wv, 300)
    assert len(pts.texts) == 300 and all(any(c.isalpha() for c in t) for t in pts.texts)
    view = explorer.projection_view(pts, True, "umap", 2, colour="k-means clusters", clusters=5)
    assert view.projection.coords.shape == (300, 2) and len(set(view.labels)) == 5


def test_projection_view_rows_and_code(wv):
    pts, is_words = explorer.points_for("typed words", words="cat, dog; car bus qqqzzzxx")
    assert pts.texts == ["cat", "dog", "car", "bus"] and pts.skipped == ("qqqzzzxx",)
    rows = explorer.coords_rows(explorer.projection_view(pts, is_words, "pca", 3, colour="none"))
    assert set(rows[0]) == {"text", "label", "x", "y", "z"}
    with pytest.raises(ValueError, match="No corpus loaded"):
        explorer.points_for("my corpus")


def test_show_the_code_runs(wv, tmp_path):
    """The analogy snippet is real Python that reproduces the answer on its own."""
    import subprocess
    import sys

    from core.embeddings.snippets import analogy_code

    out = subprocess.run([sys.executable, "-c", analogy_code("king", "man", "woman", 3)],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    assert out.split()[0] == "queen"
