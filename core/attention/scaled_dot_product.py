"""Scaled dot-product attention for one head and one query token, with the model's real numbers.

    scores_j  = q_i · k_j / sqrt(d_k)        (+ -inf where a decoder may not look: j > i)
    weights_j = softmax(scores)_j             (the row the attention maps show)
    output    = sum_j weights_j * v_j         (what the head writes for token i, before W_O)

q, k and v are recomputed from the layer's input hidden state with the layer's own projections,
so `weights` equals the attention the model returned. Supported: BERT-style encoders (MiniLM,
BERT), Llama-style decoders (SmolLM2, Qwen2: rotary positions, grouped key/value heads), GPT-2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.attention.maps import encode, get_model, model_lock


@dataclass(frozen=True)
class HeadMath:
    """One head's computation for query token `query`. T tokens, d_k dims per head."""

    tokens: tuple[str, ...]
    layer: int
    head: int
    query: int
    d_k: int
    q: np.ndarray  # float32 [d_k], query vector of token `query`
    k: np.ndarray  # float32 [T, d_k]
    v: np.ndarray  # float32 [T, d_k]
    scores: np.ndarray  # float32 [T], q·k/sqrt(d_k); -inf where masked
    weights: np.ndarray  # float32 [T], softmax(scores)
    output: np.ndarray  # float32 [d_k], weights @ v
    masked: np.ndarray  # bool [T], True where the causal mask hides key j


def _qkv(model, layer: int, hidden):
    """(q, k, v) as [heads, T, d_k] for one layer, from that layer's input `hidden` [1, T, D]."""
    import torch

    cfg = model.config
    n_heads = cfg.num_attention_heads
    T = hidden.shape[1]
    if hasattr(model, "encoder") and hasattr(model.encoder, "layer"):  # BERT family
        att = model.encoder.layer[layer].attention.self
        d = att.attention_head_size

        def split(x):
            return x.view(1, T, n_heads, d).transpose(1, 2)[0]
        return split(att.query(hidden)), split(att.key(hidden)), split(att.value(hidden)), d
    base = getattr(model, "model", None)
    if base is not None and hasattr(base, "layers") and hasattr(base.layers[layer], "self_attn"):  # Llama, Qwen2
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb

        blk = base.layers[layer]
        att = blk.self_attn
        d = att.head_dim
        n_kv = cfg.num_key_value_heads
        x = blk.input_layernorm(hidden)
        q = att.q_proj(x).view(1, T, n_heads, d).transpose(1, 2)
        k = att.k_proj(x).view(1, T, n_kv, d).transpose(1, 2)
        v = att.v_proj(x).view(1, T, n_kv, d).transpose(1, 2)
        pos = torch.arange(T, device=hidden.device)[None]
        cos, sin = base.rotary_emb(x, pos)
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        rep = n_heads // n_kv  # grouped-query attention: heads share key/value heads
        return q[0], k[0].repeat_interleave(rep, 0), v[0].repeat_interleave(rep, 0), d
    tr = getattr(model, "transformer", None)
    if tr is not None and hasattr(tr, "h"):  # GPT-2
        blk = tr.h[layer]
        d = cfg.n_embd // n_heads
        q, k, v = blk.attn.c_attn(blk.ln_1(hidden)).split(cfg.n_embd, dim=2)

        def split(x):
            return x.view(1, T, n_heads, d).transpose(1, 2)[0]
        return split(q), split(k), split(v), d
    raise ValueError(f"The scaled dot-product panel does not know the layout of {type(model).__name__}; "
                     "it supports BERT-style encoders, Llama/Qwen2-style decoders and GPT-2.")


def head_math(text: str, model_key: str, layer: int, head: int, query: int, text_pair: str = "",
              max_tokens: int | None = None) -> HeadMath:
    """The scaled dot-product of head `head` in layer `layer` for query token index `query`."""
    import torch

    am = get_model(model_key)
    if not 0 <= layer < am.n_layers:
        raise ValueError(f"layer {layer} does not exist; this model has layers 0..{am.n_layers - 1}")
    if not 0 <= head < am.n_heads:
        raise ValueError(f"head {head} does not exist; this model has heads 0..{am.n_heads - 1}")
    enc = encode(am, text, text_pair, max_tokens)
    T = len(enc.tokens)
    if not 0 <= query < T:
        raise ValueError(f"token {query} does not exist; this input has tokens 0..{T - 1}")
    with model_lock(model_key), torch.inference_mode():
        out = am.model(**enc.inputs, output_hidden_states=True)
        hidden = out.hidden_states[layer].float()  # the input of `layer`
        q, k, v, d = _qkv(am.model, layer, hidden)
    q, k, v = q[head].float(), k[head].float(), v[head].float()
    scores = (k @ q[query]) / math.sqrt(d)
    masked = torch.zeros(T, dtype=torch.bool, device=scores.device)
    if am.kind == "decoder":
        masked = torch.arange(T, device=scores.device) > query
        scores = scores.masked_fill(masked, float("-inf"))
    weights = torch.softmax(scores, -1)
    output = weights @ v

    def np32(t):
        return t.detach().cpu().numpy().astype(np.float32)
    return HeadMath(enc.tokens, layer, head, query, d, np32(q[query]), np32(k), np32(v), np32(scores),
                    np32(weights), np32(output), masked.cpu().numpy())
