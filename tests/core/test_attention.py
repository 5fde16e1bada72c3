"""Attention Visualizer core, on the real offline MiniLM and SmolLM2 weights."""
from __future__ import annotations

import numpy as np
import pytest

from core import attention
from core.attention import figures as fa
from core.attention.saliency import saliency
from core.attention.scaled_dot_product import head_math

SENTENCE = "The animal didn't cross the street because it was too tired."


@pytest.fixture(scope="session")
def minilm_maps():
    return attention.attention_maps(SENTENCE, "minilm")


@pytest.fixture(scope="session")
def smol_maps():
    return attention.attention_maps("The capital of France is", "smollm2-135m")


def test_encoder_rows_sum_to_one_and_shape(minilm_maps):
    m = minilm_maps
    T = len(m.tokens)
    assert m.weights.shape == (6, 12, T, T)
    # softmax rows sum to 1 up to fp32 rounding (~1e-6 a row; 1e-4 leaves room for any CPU)
    assert np.allclose(m.weights.sum(-1), 1.0, atol=1e-4)
    assert m.tokens[0] == "[CLS]" and m.tokens[-1] == "[SEP]" and m.special[0] and m.special[-1]
    assert "animal" in m.tokens and m.kind == "encoder"
    # An encoder looks both ways: plenty of weight above the diagonal.
    assert np.triu(m.weights, 1).sum() > 0.2 * m.weights.sum()


def test_encoder_matches_direct_transformers_call(minilm_maps):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from core.models import resolve

    path = resolve("minilm").path
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    with torch.inference_mode():
        out = model(**tok(SENTENCE, return_tensors="pt"), output_attentions=True)
    direct = torch.stack([a[0] for a in out.attentions]).numpy()
    assert direct.shape == minilm_maps.weights.shape
    # the same weights through another call: only fp32 summation order may differ (weights are in [0, 1])
    assert np.allclose(direct, minilm_maps.weights, atol=1e-5)


def test_decoder_is_causal_and_predicts_paris(smol_maps):
    m = smol_maps
    T = len(m.tokens)
    assert m.kind == "decoder" and m.weights.shape == (30, 9, T, T)
    # softmax rows sum to 1 up to fp32 rounding (~1e-6 a row; 1e-4 leaves room for any CPU)
    assert np.allclose(m.weights.sum(-1), 1.0, atol=1e-4)
    assert np.abs(np.triu(m.weights, 1)).max() == 0.0  # zero above the diagonal, every layer and head
    probs = [p for _, p in m.next_tokens]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    assert "Paris" in "".join(t for t, _ in m.next_tokens[:5])


def test_pair_segments_and_non_latin_tokens():
    m = attention.attention_maps("猫が好き 😀 naïve", "minilm", text_pair="Привет мир")
    assert 1 in m.segment and 0 in m.segment
    assert m.tokens.count("[SEP]") == 2
    assert all(t.strip() for t in m.tokens)
    d = attention.attention_maps("Emoji 🚀 and 注意", "smollm2-135m")
    # Byte-level BPE splits the rocket into byte pieces; they are numbered, not shown as "\ufffd".
    assert any("🚀" in t for t in d.tokens) and not any("\ufffd" in t for t in d.tokens)
    # softmax rows sum to 1 up to fp32 rounding (~1e-6 a row; 1e-4 leaves room for any CPU)
    assert np.allclose(d.weights.sum(-1), 1.0, atol=1e-4)


def test_truncation_says_how_many_tokens_were_dropped():
    m = attention.attention_maps("word " * 40, "minilm", max_tokens=16)
    assert len(m.tokens) == 16 and m.n_dropped == 42 - 16
    assert f"{m.n_dropped} tokens dropped" in m.notice


@pytest.mark.parametrize("text, model, fragment", [
    ("   ", "minilm", "empty"),
    ("hello", "no-such-model", "valid models"),
    ("hello", "whisper-tiny.en", "valid models"),
])
def test_bad_input_is_a_clear_value_error(text, model, fragment):
    with pytest.raises(ValueError, match=fragment):
        attention.attention_maps(text, model)


def test_model_without_attention_output_is_named():
    with pytest.raises(ValueError, match="no attention weights"):
        attention.maps._stack((None, None))


def test_rollout_rows_sum_to_one(minilm_maps, smol_maps):
    for m in (minilm_maps, smol_maps):
        r = attention.rollout(m.weights)
        assert r.shape == m.weights.shape[-2:]
        assert np.allclose(r.sum(-1), 1.0, atol=1e-4)  # products of row-stochastic matrices, fp32 rounding
    assert np.abs(np.triu(attention.rollout(smol_maps.weights), 1)).max() < 1e-6  # masked: exactly 0 times anything


@pytest.mark.parametrize("model, layer, head, query", [("minilm", 2, 5, 4), ("smollm2-135m", 7, 4, 3)])
def test_scaled_dot_product_reproduces_the_models_weights(model, layer, head, query, minilm_maps, smol_maps):
    maps = minilm_maps if model == "minilm" else smol_maps
    text = SENTENCE if model == "minilm" else "The capital of France is"
    hm = head_math(text, model, layer, head, query)
    # recomputed from q and k in numpy (float32, another summation order than torch's kernels)
    assert np.allclose(hm.weights, maps.weights[layer, head, query], atol=1e-4)
    assert np.allclose(hm.output, hm.weights @ hm.v, atol=1e-5)  # one fp32 product, summed in another order
    if model == "smollm2-135m":
        assert hm.masked[query + 1:].all() and not hm.masked[:query + 1].any()


def test_saliency_encoder_and_decoder():
    s = saliency("The cat sat on the mat.", "minilm", "A dog slept on the rug.", steps=16)
    assert "cosine" in s.target and -1 <= s.target_value <= 1
    assert s.grad_x_input.shape == s.integrated.shape == (len(s.tokens),)
    assert np.isfinite(s.integrated).all() and s.ig_gap < 0.05  # completeness: IG sums to f(x) - f(0)
    d = saliency("The capital of France is", "smollm2-135m", integrated=False)
    assert "next token" in d.target and "Paris" in d.target
    assert np.isfinite(d.grad_x_input).all() and np.abs(d.grad_x_input).sum() > 0


def test_figures_build(minilm_maps, smol_maps):
    for m in (minilm_maps, smol_maps):
        for fig in (fa.heatmap(m, 1, 2, focus=2), fa.heatmap(m, 0, None, show_special=False),
                    fa.lines(m, 1, [3]), fa.lines(m, 1, None, focus=2), fa.model_view(m, selected=(1, 2)),
                    fa.model_view(m, show_special=False, selected=(0, None)),
                    fa.rollout_heatmap(m, attention.rollout(m.weights)), fa.next_token_bars(m)):
            assert fig.layout.title.text
    z = np.array(fa.heatmap(smol_maps, 3, 1).data[0].z, dtype=float)
    assert np.isnan(z[np.triu_indices_from(z, 1)]).all()  # the causal mask is drawn, not hidden
    assert len(fa.lines(minilm_maps, 0, None).data) < 12 * 7 + 2  # bucketed traces, not one per line
    with pytest.raises(ValueError, match="layers 0..5"):
        fa.heatmap(minilm_maps, 9, 0)


def test_integrated_gradients_are_skipped_on_long_inputs_with_a_notice():
    s = saliency("word " * 80, "minilm", max_tokens=70)
    assert s.integrated is None and "Integrated gradients skipped" in s.notice


def test_registered_hub_model_without_weights_says_how_to_get_them():
    from core.models import ModelMissingError

    try:
        maps = attention.attention_maps("hello", "bert-base-uncased")
    except ModelMissingError as exc:
        assert "core.download bert-base-uncased" in str(exc)
    else:  # someone fetched BERT into the cache: then it works like MiniLM
        assert maps.weights.shape[:2] == (12, 12)


def test_saliency_leaves_the_model_returning_attention(smol_maps):
    saliency("The capital of France is", "smollm2-135m", integrated=False)
    again = attention.attention_maps("The capital of France is", "smollm2-135m")
    assert np.allclose(again.weights, smol_maps.weights, atol=1e-5)  # same model and input; fp32 rounding only
