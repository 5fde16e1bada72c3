"""Preference Lab core: the DPO loss against a hand computation of its formula, the pairs' checks,
the reward that can be gamed, and one short real DPO run on SmolLM2-135M (2 short pairs, 20 steps,
8-token replies, learning rate 5e-3) that must widen the reward margin and change a greedy reply."""
from __future__ import annotations

import math
import time

import pytest
import torch

from core.preference import (GAMING_CANDIDATES, PIRATE_PAIRS, DPOSettings, PreferencePair, dpo_loss, encode_pairs,
                             gaming_rows, lexicon_reward, parse_pairs, run_dpo, sequence_logps)
from core.preference import view as pv

PAIRS = PIRATE_PAIRS[:2]


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_dpo_loss_is_the_formula_by_hand():
    pc, pr = torch.tensor([-10.0, -7.5]), torch.tensor([-12.0, -6.0])
    rc, rr = torch.tensor([-11.0, -7.0]), torch.tensor([-11.5, -6.5])
    beta = 0.2
    losses, chosen, rejected = dpo_loss(pc, pr, rc, rr, beta)
    # pair 1: chosen 0.2*(−10+11)=0.2, rejected 0.2*(−12+11.5)=−0.1, loss −log σ(0.3)
    # pair 2: chosen 0.2*(−7.5+7)=−0.1 (a chosen reward below 0), rejected 0.2*(−6+6.5)=0.1
    expected = [-math.log(_sigmoid(0.3)), -math.log(_sigmoid(-0.2))]
    # float32 arithmetic against Python doubles: 1e-6
    assert chosen.tolist() == pytest.approx([0.2, -0.1], abs=1e-6)
    assert rejected.tolist() == pytest.approx([-0.1, 0.1], abs=1e-6)
    assert losses.tolist() == pytest.approx(expected, abs=1e-6)
    # Both rewards negative, margin positive: the pair is won and the loss is below ln 2.
    l, c, r = dpo_loss(torch.tensor([-12.0]), torch.tensor([-20.0]), torch.tensor([-11.0]), torch.tensor([-15.0]), 0.1)
    assert float(c) < 0 and float(r) < 0 and float(l) < math.log(2)


def test_bad_pairs_and_settings_get_a_clear_message():
    with pytest.raises(ValueError, match="same chosen and rejected"):
        PreferencePair("Hi?", "Hello.", " Hello. ")
    with pytest.raises(ValueError, match="no preference pairs"):
        parse_pairs([])
    with pytest.raises(ValueError, match="no preference pairs"):
        parse_pairs("")
    with pytest.raises(ValueError, match="no preference pairs"):
        parse_pairs([["", "", ""], [None, None, None]])  # blank table rows only
    with pytest.raises(ValueError, match="empty chosen"):
        parse_pairs([{"prompt": "Hi?", "chosen": "", "rejected": "Hello."}])
    for beta in (0, -0.1):
        with pytest.raises(ValueError, match="beta must be greater than 0"):
            DPOSettings(beta=beta)
    with pytest.raises(ValueError, match="beta must be greater than 0"):
        pv.settings_from(beta=0, steps=5)
    assert parse_pairs('[{"prompt": "a?", "chosen": "b", "rejected": "c"}]') == (PreferencePair("a?", "b", "c"),)


def test_lexicon_reward_prefers_flattery_to_answers():
    rows = gaming_rows()
    assert [r["reward"] for r in rows] == sorted((r["reward"] for r in rows), reverse=True)
    assert rows[0]["answers the question"] == "no"  # the reward's favourite does not answer
    helpful = [lexicon_reward(c.text) for c in GAMING_CANDIDATES if c.helpful]
    gamed = [lexicon_reward(c.text) for c in GAMING_CANDIDATES if not c.helpful]
    assert max(gamed) > max(helpful)
    assert lexicon_reward("Paris.") == 0.0 and lexicon_reward("great great") == pytest.approx(1.6)


@pytest.fixture(scope="session")
def smollm2():
    from core import models

    return models.get("smollm2-135m")


def test_sequence_logps_match_a_direct_transformers_computation(smollm2):
    model, tok = smollm2.model, smollm2.tokenizer
    ids, attn, mask = encode_pairs(tok, PAIRS[:1])
    with torch.no_grad():
        ours = sequence_logps(model, ids, attn, mask)
        logits = model(input_ids=ids, attention_mask=attn).logits.float()
    for row in range(ids.shape[0]):
        pos = mask[row].nonzero().flatten()  # answer tokens, each predicted from the position before
        lp = torch.log_softmax(logits[row, pos - 1], -1).gather(-1, ids[row, pos].unsqueeze(-1)).sum()
        # same float32 math in another order (a subset of rows vs all): 1e-4 relative
        assert float(ours[row]) == pytest.approx(float(lp), rel=1e-4)
    assert tok.decode(ids[0][mask[0]]).startswith(PAIRS[0].chosen)


@pytest.fixture(scope="session")
def dpo_run(smollm2):
    """20 real DPO steps on two short pairs (waits if the app under test is running one)."""
    deadline = time.time() + 600
    while True:
        try:
            return run_dpo(PAIRS, DPOSettings(steps=20, learning_rate=5e-3, reply_tokens=8))
        except ValueError as exc:
            if "already going" not in str(exc) or time.time() > deadline:
                raise
            time.sleep(3)


@pytest.mark.slow
def test_twenty_dpo_steps_widen_the_margin_and_change_a_reply(dpo_run):
    st = dpo_run
    assert st.state == "done" and st.step == 20, st.error
    first = st.history[0]
    # Step 1 is scored before any update with B = 0 in every LoRA layer: π = π_ref, rewards 0
    # (two forward passes of the same weights; float32 sums over ~10 tokens: 1e-4).
    assert max(abs(x) for x in first.chosen + first.rejected) < 1e-4
    assert first.loss == pytest.approx(math.log(2), abs=1e-4)
    assert st.final.mean_margin > first.mean_margin + 0.1  # the margin grew by a clear amount
    assert st.final.accuracy == 1.0 and st.learned, st.verdict
    assert st.final.mean_margin == pytest.approx(sum(st.final.margins) / len(PAIRS))
    assert any(b != a for b, a in zip(st.before, st.after)), (st.before, st.after)
    rows = pv.reply_rows(st)
    assert {r["changed"] for r in rows} & {"yes"} and len(pv.pair_rows(st)) == len(PAIRS)
