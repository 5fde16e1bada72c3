"""Sequence Lab core on the real Shakespeare text: the observable cells equal torch's, a short real
training run learns and checks itself, the RNN's gradient vanishes faster than the LSTM's, and the
n-gram model's distributions sum to 1 for every context under both smoothings."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.sequence_lab import KINDS, build_model, char_data, ngram, step_through, unroll
from core.sequence_lab.corpus import held_out_text, play
from core.sequence_lab.gradients import gradient_profile
from core.sequence_lab.train import TrainSettings, sample, start_training, verdict

SHORT = TrainSettings(hidden=64, seq_len=32, batch_size=16, steps=80, seconds=120, learning_rate=0.01)


@pytest.fixture(scope="session")
def data():
    return char_data(None)


@pytest.fixture(scope="session")
def run(data):
    """One short real run of all three models (80 steps, 64 units): about 10-20 s on 2 cores."""
    job = start_training(SHORT)
    seen = []
    while not job.status().finished:
        seen.append(job.status().step)
        job.wait(0.2)
    status = job.wait()
    assert status.state == "done", status.error
    return job, status, seen


@pytest.mark.parametrize("kind", KINDS)
def test_unrolled_cells_equal_torch(kind):
    """Random weights (PyTorch's default init), clearly not a trained model: only the arithmetic is tested."""
    import torch

    model = build_model(kind, vocab_size=30, hidden=24, embed=8, seed=3)
    x = torch.randn(3, 17, 8, generator=torch.Generator().manual_seed(0))
    h0 = torch.randn(3, 24, generator=torch.Generator().manual_seed(1)) * 0.5
    with torch.no_grad():
        if kind == "LSTM":
            c0 = torch.randn(3, 24, generator=torch.Generator().manual_seed(2)) * 0.5
            want, _ = model.rnn(x, (h0[None], c0[None]))
            got = unroll(model.rnn, x, h0, c0)
        else:
            want, _ = model.rnn(x, h0[None])
            got = unroll(model.rnn, x, h0)
    # float32: torch's fused kernels sum the gate pre-activations in another order; 17 steps of
    # rounding stay far below 1e-5 (measured ~3e-7).
    assert torch.allclose(torch.stack(got.hs, dim=1), want, atol=1e-5, rtol=0)
    assert set(got.gates) == {"RNN": set(), "LSTM": {"input", "forget", "output"}, "GRU": {"update", "reset"}}[kind]


def test_corpus_is_real_shakespeare(data):
    assert len(data.ids) > 500_000 and 40 <= data.vocab_size <= 100
    text = data.decode(data.ids[:20_000])
    assert "HAMLET" in text.upper() and "Horatio" in text
    assert "Caesar" in held_out_text()


def test_training_learns_reports_progress_and_checks_itself(run, data):
    job, status, seen = run
    assert len(set(seen)) >= 5, "status should move step by step while training runs"
    assert seen == sorted(seen)
    for r in status.reports:
        assert len(r.losses) == SHORT.steps
        assert r.learned, r.verdict
        assert r.val_loss < status.uniform_loss - 0.5, (r.kind, r.val_loss)  # clearly better than guessing
        assert set(r.sample) <= set(data.chars) and len(r.sample) == 300
        # Words, not noise: the commonest English words appear in 300 sampled characters.
        words = set(r.sample.lower().split())
        assert words & {"the", "and", "i", "to", "a", "of", "you", "my"}, r.sample


def test_a_run_that_cannot_learn_says_so():
    job = start_training(TrainSettings(hidden=16, seq_len=16, batch_size=8, steps=15, seconds=60,
                                       learning_rate=1e-6, kinds=("RNN",)))
    status = job.wait(120)
    assert status.state == "done"
    (r,) = status.reports
    assert r.learned is False and "did NOT learn" in r.verdict
    assert verdict("GRU", (4.2,) * 40, 4.25)[0] is False
    assert verdict("GRU", tuple(np.linspace(4.2, 2.0, 40)), 4.25)[0] is True


def test_rnn_gradient_vanishes_faster_than_lstm(run, data):
    """On the same windows of the same text: after the short run and at initialisation (the
    LSTM's forget bias starts at 1, see cells.build_model), the plain RNN's ‖∂L/∂h_t‖ falls
    faster per step back in time than the LSTM's (more negative log10 slope)."""
    _, status, _ = run
    trained = {r.kind: r.gradient for r in status.reports}
    assert trained["RNN"].slope < trained["LSTM"].slope, {k: g.slope for k, g in trained.items()}
    init = {k: gradient_profile(build_model(k, data.vocab_size, 64, seed=0), data.ids, horizon=40) for k in KINDS}
    assert init["RNN"].slope < init["LSTM"].slope, {k: g.slope for k, g in init.items()}
    # and the gradient really vanishes for the RNN: at least 3 powers of ten lost over 40 steps
    assert init["RNN"].decades_lost() > 3


def test_step_through_shows_gates_in_range(run):
    job, _, _ = run
    text = "To be, or not to be"
    for kind in KINDS:
        s = step_through(job.models[kind], job.data, text)
        assert s.hidden.shape == (len(text), SHORT.hidden)
        for name, g in s.gates.items():
            assert g.shape == (len(text), SHORT.hidden)
            assert g.min() >= 0 and g.max() <= 1, name  # sigmoid outputs
        assert np.abs(s.hidden).max() <= 1  # tanh-bounded (LSTM: o * tanh(c))
        assert (s.cell is not None) == (kind == "LSTM")
        assert all(abs(sum(p for _, p in top) - 1) < 1 for top in s.top) and len(s.top) == len(text)


def test_sampling_is_seeded(run):
    job, _, _ = run
    m = job.models["GRU"]
    assert sample(m, job.data, 80, seed=5) == sample(m, job.data, 80, seed=5)


@pytest.mark.parametrize("bad, match", [("", None), ("short text", "at least"), ("x" * 10_000_001, "limit")])
def test_bad_training_text(bad, match):
    if match is None:  # empty means "use the default plays"
        assert char_data(bad).vocab_size > 40
        return
    with pytest.raises(ValueError, match=match):
        start_training(SHORT, bad)


# ---- n-gram -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def hamlet():
    return play("hamlet_gut.txt")


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("smoothing", ngram.SMOOTHINGS)
def test_ngram_distributions_sum_to_one(hamlet, order, smoothing):
    """Every seen context (of the top order) and an unseen one, over V = training words ∪ {</s>, <unk>}.
    The sum is a few hundred to a few thousand float64 terms in (0, 1]: rounding stays near 1e-13,
    so 1e-9 is tight enough to catch a missing term or a wrong normaliser (both off by ≥ 1e-4)."""
    m = ngram.fit(hamlet[:15_000], order, smoothing, k=0.5, discount=0.75)
    contexts = m.contexts()
    assert contexts
    unseen = ("zebra",) * (order - 1)  # not even a word of the vocabulary: <unk> context
    for ctx in contexts + [unseen, tuple(m.vocab[:order - 1])]:
        p = m.distribution(ctx)
        assert p.min() > 0
        assert abs(p.sum() - 1.0) < 1e-9, (ctx, p.sum())
    # the scalar path agrees with the vector path (same arithmetic, same order: exact up to 1e-15)
    ctx = contexts[len(contexts) // 2]
    v = m.distribution(ctx)
    for w in (m.vocab[0], ngram.EOS, ngram.UNK, m.vocab[len(m.vocab) // 2]):
        assert abs(m.prob(w, ctx) - v[m.index[w]]) < 1e-15


def test_ngram_scores_perplexity_and_samples(hamlet):
    corpus, held = hamlet[:60_000], hamlet[100_000:110_000]
    kn = ngram.fit(corpus, 3, "kneser-ney")
    addk = ngram.fit(corpus, 3, "add-k", k=0.1)
    scores = kn.score("To be, or not to be, that is the question.")
    assert [s.token for s in scores][:3] == ["to", "be", ","] and scores[-1].token == ngram.EOS
    for s in scores:
        assert 0 < s.prob <= 1 and math.isclose(s.surprisal, -math.log2(s.prob), rel_tol=1e-12)
    unk = kn.score("the flibbertigibbet spoke")
    assert [s.unknown for s in unk] == [False, True, False, False]
    # Kneser–Ney beats add-k on held-out text (the classic result): by a wide margin here.
    assert kn.perplexity(held) < 0.8 * addk.perplexity(held)
    assert kn.generate(3, seed=7) == kn.generate(3, seed=7)
    assert kn.generate(3, seed=7) != kn.generate(3, seed=8)
    top = kn.top_ngrams(5)
    assert top[0]["count"] >= top[-1]["count"] and 0 < top[0]["prob"] <= 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(corpus=""), "empty"),
    (dict(corpus="x " * 600_000), "limit"),
    (dict(corpus="hello world", order=5), "larger than this corpus allows"),
    (dict(corpus="one sentence only here.", order=6), "1 to 5"),
    (dict(corpus="a b c d", smoothing="add-k", k=0), "k must be > 0"),
    (dict(corpus="a b c d", discount=1.5), "discount"),
])
def test_ngram_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ngram.fit(**kwargs)


def test_ngram_one_document_works():
    m = ngram.fit("the cat sat on the mat.", 2, "kneser-ney")
    assert abs(m.distribution(("the",)).sum() - 1) < 1e-12  # float64 sum of 8 terms
    assert m.perplexity("the cat sat.") > 1
