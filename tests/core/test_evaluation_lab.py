"""Evaluation Lab core: the numbers are sacrebleu's, rouge-score's, jiwer's and transformers' own on
the same inputs; the matched n-grams are the ones BLEU counts; bad inputs get a message."""
from __future__ import annotations

import math

import pytest
import sacrebleu

from core.evaluation import evaluate, matched_ngrams, perplexity
from core.evaluation.metrics import sentence_rouge

HYPS = ["The cat sat on the mat.", "There is a cat on the mat", "He reads", "Привет, мир!",
        "It was the best of times, it was the worst of times."]
REFS_A = ["The cat is on the mat.", "The cat is on the mat.", "He reads the book.", "Привет мир",
          "It was the best of times, it was the worst of times."]
REFS_B = ["A cat sat on the mat.", "There is a cat on the mat.", "He is reading.", "Здравствуй, мир!",
          "Those were the best of times and the worst."]

# Same library, same inputs: the results are the same arithmetic, so only float rounding can differ.
EXACT = 1e-9


@pytest.mark.parametrize("refs", [[REFS_A], [REFS_A, REFS_B]], ids=["one-reference", "two-references"])
def test_bleu_and_chrf_equal_sacrebleu(refs):
    ev = evaluate(HYPS, refs)
    direct = sacrebleu.corpus_bleu(HYPS, refs)
    assert ev.bleu.score == pytest.approx(direct.score, abs=EXACT)
    assert ev.bleu.precisions == pytest.approx(direct.precisions, abs=EXACT)
    assert ev.bleu.bp == pytest.approx(direct.bp, abs=EXACT)
    assert (ev.bleu.hyp_len, ev.bleu.ref_len) == (direct.sys_len, direct.ref_len)
    assert ev.chrf == pytest.approx(sacrebleu.corpus_chrf(HYPS, refs).score, abs=EXACT)
    for s in ev.sentences:
        r = [ref[s.index] for ref in refs]
        assert s.bleu["exp"] == pytest.approx(sacrebleu.sentence_bleu(s.hypothesis, r).score, abs=EXACT)
        assert s.chrf == pytest.approx(sacrebleu.sentence_chrf(s.hypothesis, r).score, abs=EXACT)


def test_one_list_of_references_per_hypothesis_is_read_as_evaluate_lays_it_out():
    per_hypothesis = [[a, b] for a, b in zip(REFS_A[:3], REFS_B[:3])]  # 3 hypotheses x 2 references
    ev = evaluate(HYPS[:3], per_hypothesis)
    assert ev.bleu.score == pytest.approx(sacrebleu.corpus_bleu(HYPS[:3], [REFS_A[:3], REFS_B[:3]]).score, abs=EXACT)
    # n hypotheses with n references each is ambiguous: it is read as sacrebleu's n reference sets.
    square = evaluate(HYPS[:2], [REFS_A[:2], REFS_B[:2]])
    assert square.bleu.score == pytest.approx(sacrebleu.corpus_bleu(HYPS[:2], [REFS_A[:2], REFS_B[:2]]).score,
                                              abs=EXACT)
    single = evaluate(HYPS[0], [[REFS_A[0], REFS_B[0]]])  # one hypothesis, two references
    assert single.bleu.score == pytest.approx(sacrebleu.corpus_bleu(HYPS[:1], [REFS_A[:1], REFS_B[:1]]).score,
                                              abs=EXACT)


def test_a_short_sentence_scores_zero_without_smoothing_and_more_with_it():
    ev = evaluate(["He reads"], [["He reads the book."]])
    s = ev.sentences[0]
    assert s.bleu["none"] == 0.0  # no 3-gram or 4-gram at all: the geometric mean is 0
    assert s.bleu_precisions[:2] == (100.0, 100.0)
    assert all(s.bleu[m] > 0 for m in ("floor", "add-k", "exp"))
    assert 0 < ev.bleu.bp < 1  # two words against four: the brevity penalty bites


def test_rouge_equals_rouge_score():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    ev = evaluate(HYPS, [REFS_A])
    direct = [scorer.score(r, h) for h, r in zip(HYPS, REFS_A)]
    for t in ("rouge1", "rouge2", "rougeL"):
        mean_f = 100 * sum(d[t].fmeasure for d in direct) / len(direct)
        assert ev.rouge[t]["f1"] == pytest.approx(mean_f, abs=EXACT)
        for s, d in zip(ev.sentences, direct):
            assert s.rouge[t] == pytest.approx(100 * d[t].fmeasure, abs=EXACT)
    multi = sentence_rouge(HYPS[1], [REFS_A[1], REFS_B[1]])
    assert multi["rouge1"].fmeasure == pytest.approx(scorer.score_multi([REFS_A[1], REFS_B[1]], HYPS[1])["rouge1"].fmeasure)


def test_wer_and_its_alignment_equal_jiwer():
    import jiwer

    hyps = ["the cat sit on mat now", "a b c", "hello world"]
    refs = ["the cat sat on the mat", "a b c", "hello there big world"]
    ev = evaluate(hyps, [refs], metrics=["wer"], normalizer="none")
    direct = jiwer.process_words(refs, hyps)
    w = ev.wer
    assert w.wer == pytest.approx(direct.wer, abs=EXACT)
    assert (w.substitutions, w.deletions, w.insertions, w.hits) == (
        direct.substitutions, direct.deletions, direct.insertions, direct.hits)
    for s, h, r in zip(ev.sentences, hyps, refs):
        ops = s.alignment.ops
        assert [x for o, x, _ in ops if o != "I"] == r.split()  # the alignment walks the whole reference
        assert [y for o, _, y in ops if o != "D"] == h.split()  # ... and the whole hypothesis
    assert ev.bleu is None and ev.metrics == ("wer",)


def test_matched_ngrams_are_the_ones_bleu_counts():
    for h, r in zip(HYPS, REFS_A):
        stats = sacrebleu.metrics.BLEU(effective_order=True).sentence_score(h, [r])
        tokens, longest, counts = matched_ngrams(h, [r])
        assert counts == list(stats.counts)
        assert len(tokens) == stats.sys_len and all(0 <= n <= 4 for n in longest)


def test_bad_inputs_get_messages():
    with pytest.raises(ValueError, match="hypothesis is empty"):
        evaluate([], [[]])
    with pytest.raises(ValueError, match="hypothesis is empty"):
        evaluate("   ", ["a reference"])
    with pytest.raises(ValueError, match="same length"):
        evaluate(["one", "two"], [["only one"]])
    with pytest.raises(ValueError, match="same length"):
        evaluate(["one", "two"], [["a", "b"], ["c"]])
    with pytest.raises(ValueError, match="hypothesis 2 of 3 is empty"):
        evaluate(["a", "", "c"], [["a", "b", "c"]])
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(["a"], ["a"], metrics="bleu,meteor")
    with pytest.raises(ValueError, match="reference 2 of set 1 is empty"):
        evaluate(["a", "b"], [["x", " "]])
    with pytest.raises(ValueError, match="no reference"):
        evaluate(["a"], [[" "]])


@pytest.fixture(scope="module")
def smollm2():
    """The process-wide SmolLM2 (core.models caches it: other test modules share this load)."""
    from core import models

    return models.get("smollm2-135m")


def test_perplexity_equals_a_direct_transformers_computation(smollm2):
    import torch
    from transformers import AutoTokenizer

    text = "The capital of France is Paris. The capital of France is banana."
    r = perplexity(text, "smollm2-135m")
    # Directly: the tokenizer as transformers loads it from the model folder, and the model's own
    # shifted cross-entropy (`labels=`), which shares no code with core.evaluation.perplexity.
    tok = AutoTokenizer.from_pretrained(smollm2.folder)
    ids = tok(text, return_tensors="pt").input_ids
    with torch.inference_mode():
        loss = smollm2.model(input_ids=ids, labels=ids).loss.item()
    # 1e-3 relative (the bound): fp32 sums in a different order and thread count differ slightly.
    assert r.perplexity == pytest.approx(math.exp(loss), rel=1e-3)
    assert list(r.ids) == ids[0].tolist() and len(r.surprisal_bits) == len(r.ids) - 1
    assert r.mean_nll == pytest.approx(sum(r.surprisal_bits) * math.log(2) / len(r.surprisal_bits), rel=1e-6)
    worst = max(range(len(r.surprisal_bits)), key=r.surprisal_bits.__getitem__)
    assert r.tokens[worst + 1].strip() == "banana"  # the surprising word is the most surprising token
    with pytest.raises(ValueError, match="empty"):
        perplexity("  ")
    with pytest.raises(ValueError, match="single token"):
        perplexity("Paris")
    with pytest.raises(ValueError, match="not a causal language model"):
        perplexity("Hello there", "minilm")


def test_tts_asr_round_trip_is_scored():
    """Piper speaks, Whisper listens: the studio's own pipeline, measured (real weights)."""
    from core.evaluation.view import studio_view

    pair, v = studio_view("tts-asr", text="The quick brown fox jumps over the lazy dog.")
    assert pair.reference == "The quick brown fox jumps over the lazy dog."
    assert v.evaluation.wer.wer <= 0.25  # tiny.en on a clear synthetic voice: at most a slip or two
    assert "<span" in v.html and v.evaluation.bleu.score > 30
