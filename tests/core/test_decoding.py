"""Decoding Lab core on the real SmolLM2-135M: our greedy and beam search give the same tokens as
transformers' generate() with the same settings; sampling is reproducible by seed; its filters are
transformers' own; bad inputs get clear messages."""
from __future__ import annotations

import math

import pytest

from core import models
from core.decoding import Settings, decode, filter_logits
from core.decoding.view import decode_api

PROMPTS = ("The capital of France is", "Once upon a time, there was a little")


@pytest.fixture(scope="session")
def lm():
    """SmolLM2 through core.models' process-wide cache: loaded once per test session, shared with
    every other test module that asks for it."""
    return models.get("smollm2-135m")


def _generate(lm, prompt: str, s: Settings) -> list[int]:
    import torch

    ids = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    kw = dict(max_new_tokens=s.max_new_tokens, do_sample=False)
    if s.strategy == "beam":
        kw.update(num_beams=s.num_beams, length_penalty=s.length_penalty, early_stopping=s.early_stopping)
    with torch.no_grad():
        out = lm.model.generate(ids, attention_mask=torch.ones_like(ids), **kw)[0, ids.shape[1]:].tolist()
    return out


@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_equals_generate(lm, prompt):
    s = Settings("greedy", max_new_tokens=12)
    ours = decode(prompt, s)
    # Same tokens exactly: both take the argmax of the same float32 logits; a near-tie flipping
    # would need two logits within ~1e-6 of each other, which these prompts do not have.
    assert list(ours.token_ids) == _generate(lm, prompt, s)


@pytest.mark.parametrize("prompt, beams, penalty, early", [
    (PROMPTS[0], 3, 1.0, False), (PROMPTS[1], 4, 0.5, False), (PROMPTS[1], 2, 1.0, True)])
def test_beam_search_equals_generate(lm, prompt, beams, penalty, early):
    s = Settings("beam", max_new_tokens=8, num_beams=beams, length_penalty=penalty, early_stopping=early)
    ours = decode(prompt, s)
    theirs = _generate(lm, prompt, s)
    # generate() pads a sequence that ended early with the pad token (= end token here) to the longest
    # returned one; with one returned sequence nothing is padded, but strip to be safe.
    while len(theirs) > len(ours.token_ids) and theirs[-1] == lm.tokenizer.pad_token_id:
        theirs.pop()
    assert list(ours.token_ids) == theirs


def test_beam_tree_is_consistent(lm):
    r = decode(PROMPTS[0], Settings("beam", max_new_tokens=8, num_beams=3))
    best = [n for n in r.tree if n.best]
    assert [n.token_id for n in best] == list(r.token_ids)
    assert best[-1].finished and best[-1].final_score is not None
    # The tree's cumulative score is the sum of its log-probs along the path (float32 running sums: 1e-4).
    assert math.isclose(best[-1].score, sum(n.logprob for n in best), abs_tol=1e-4)
    # The sequence log-prob recomputed in one full pass agrees with the cached step-by-step one
    # (KV cache vs one pass: float32 differences of ~1e-5 per token).
    assert math.isclose(r.sequence_logprob, best[-1].score, abs_tol=1e-3)
    steps = {n.step for n in r.tree}
    for step in steps:
        kept = [n for n in r.tree if n.step == step and n.kept]
        assert len(kept) <= 3
        scores = [n.score for n in r.tree if n.step == step]
        assert scores == sorted(scores, reverse=True)  # candidates come best first


def test_sampling_is_reproducible_by_seed(lm):
    s = Settings("sample", max_new_tokens=8, temperature=0.9, top_k=40, top_p=0.9, seed=11)
    a, b = decode(PROMPTS[1], s), decode(PROMPTS[1], s)
    assert a.token_ids == b.token_ids
    others = {decode(PROMPTS[1], Settings("sample", max_new_tokens=8, temperature=1.2, top_k=0, top_p=1.0,
                                          seed=seed)).token_ids for seed in (1, 2, 3)}
    assert len(others) > 1, "three seeds at temperature 1.2 should not all give the same text"
    for step in a.steps:
        assert abs(sum(p for _, p in step.top) - 1) <= 1e-5 or sum(p for _, p in step.top) < 1
        assert 0 < step.prob <= 1


def test_filters_match_transformers_warpers():
    """Random logits (not a model: only the filter arithmetic) through ours and transformers'
    temperature / top-k / top-p processors, in the same order."""
    import torch
    from transformers.generation.logits_process import (TemperatureLogitsWarper, TopKLogitsWarper,
                                                        TopPLogitsWarper)

    logits = torch.randn(1, 500, generator=torch.Generator().manual_seed(0)) * 3
    for t, k, p in ((0.7, 50, 0.9), (1.3, 0, 0.5), (1.0, 5, 1.0)):
        want = TemperatureLogitsWarper(t)(None, logits.clone())
        if k:
            want = TopKLogitsWarper(k)(None, want)
        if p < 1:
            want = TopPLogitsWarper(p)(None, want)
        got = filter_logits(logits[0].clone(), t, k, p)
        assert torch.equal(torch.isinf(got), torch.isinf(want[0]))
        finite = ~torch.isinf(got)
        assert torch.allclose(got[finite], want[0][finite], atol=1e-6)  # same division: equal up to rounding


@pytest.mark.parametrize("kwargs, match", [
    (dict(prompt="", strategy="greedy"), "prompt is empty"),
    (dict(prompt="   ", strategy="beam"), "prompt is empty"),
    (dict(prompt="Hello", strategy="sample", temperature=0.0), "temperature 0"),
    (dict(prompt="Hello", strategy="greedy", max_new_tokens=100_000), "max new tokens"),
    (dict(prompt="Hello", strategy="beam", num_beams=99), "num_beams"),
    (dict(prompt="Hello", strategy="nucleus"), "strategy must be one of"),
    (dict(prompt="word " * 1000, strategy="greedy"), "limit"),
    (dict(prompt="Hello", strategy="sample", top_p=0.0), "top-p"),
])
def test_bad_inputs_are_clear(kwargs, match):
    with pytest.raises(ValueError, match=match):
        decode_api(**kwargs)


def test_decode_api_answer(lm):
    r = decode_api(PROMPTS[0], "beam", max_new_tokens=5, num_beams=2)
    assert set(r) >= {"text", "tokens", "token_ids", "sequence_logprob", "beam_tree", "steps"}
    assert len(r["tokens"]) == len(r["token_ids"]) == len(r["token_logprobs"]) <= 5
    assert r["sequence_logprob"] < 0 and math.isclose(r["sequence_logprob"], sum(r["token_logprobs"]), rel_tol=1e-9)
    assert r["beam_tree"] and {"parent", "score", "token"} <= set(r["beam_tree"][0])
    g = decode_api(PROMPTS[0], "greedy", max_new_tokens=5)
    assert g["beam_tree"] is None and "Paris" in g["text"]
