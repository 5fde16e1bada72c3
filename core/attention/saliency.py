"""What actually drove the output: gradient x input and integrated gradients over the input tokens.

Attention says where a head looked, not what changed the answer. Saliency asks the model: if this
token's embedding moved, how much would the output move? The output ("target") is:
  decoder  - the logit of the predicted next token (the top-1 of the next-token distribution);
  encoder  - MiniLM here has no masked-LM head, so we use what the model is for, its sentence
             vector: with a sentence pair, the cosine similarity between the mean-pooled vectors of
             sentence A and sentence B in this same forward pass; with one sentence, the length (L2
             norm) of the mean-pooled sentence vector before normalisation.
Scores are per token, signed: positive pushes the target up, negative pulls it down.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from core import config
from core.attention.maps import AttentionModel, encode, get_model, model_lock


@dataclass(frozen=True)
class Saliency:
    """Per-token attributions for one input, T of each."""

    model_key: str
    tokens: tuple[str, ...]
    special: tuple[bool, ...]
    target: str  # what was explained, in words
    target_value: float  # the target's value on the real input
    grad_x_input: np.ndarray  # float32 [T]: sum over embedding dims of grad * embedding
    integrated: np.ndarray | None = None  # float32 [T], integrated gradients from a zero-embedding baseline
    ig_steps: int = 0
    ig_gap: float | None = None  # |sum(IG) - (f(x) - f(baseline))|, small when the steps suffice
    notice: str = ""


def _target_fn(am: AttentionModel, inputs: dict, segment: tuple[int, ...]):
    """(function embeds[B, T, D] -> target[B], description callable). The inputs are tokenized already;
    the description is ready after the first call (a decoder's target token is its top-1 on the real input)."""
    import torch

    mask = inputs["attention_mask"].float()  # [1, T]
    extra = {k: v for k, v in inputs.items() if k not in ("input_ids",)}
    if am.kind == "decoder":
        chosen: dict[str, int] = {}
        long_mask = extra["attention_mask"]

        def f(emb):
            b = emb.shape[0]
            # logits_to_keep=1: only the last position goes through the 49k-word output layer.
            logits = am.model(inputs_embeds=emb, attention_mask=long_mask.expand(b, -1), logits_to_keep=1).logits[:, -1]
            if "id" not in chosen:  # the first call (the real input) fixes the target token
                chosen["id"] = int(logits[0].argmax())
            return logits[:, chosen["id"]]

        def what():
            return f"logit of the next token {am.tokenizer.decode([chosen['id']])!r}"
        return f, what

    seg = torch.tensor(segment, device=mask.device)
    pair = bool((seg == 1).any())
    ex = extra

    def hidden(emb):
        b = emb.shape[0]
        return am.model(inputs_embeds=emb, **{k: v.expand(b, -1) for k, v in ex.items()}).last_hidden_state

    if pair:
        def f(emb):
            h = hidden(emb)  # [B, T, D]
            va = (h * (seg == 0).float()[None, :, None]).sum(1) / (seg == 0).sum()
            vb = (h * (seg == 1).float()[None, :, None]).sum(1) / (seg == 1).sum()
            return torch.nn.functional.cosine_similarity(va, vb, dim=-1)
        return f, lambda: "cosine(mean vector of A, mean vector of B)"

    def f(emb):
        w = mask[0][None, :, None]  # mean pooling over real tokens, as sentence-transformers does
        return ((hidden(emb) * w).sum(1) / w.sum(1)).norm(dim=-1)
    return f, lambda: "L2 norm of the mean-pooled sentence vector"


@contextmanager
def _fast_attention(model: Any) -> Iterator[None]:
    """Saliency needs gradients, not attention weights: run it with PyTorch's fused attention
    ("sdpa"; about half the CPU time of "eager" forward + backward on SmolLM2 at 128 tokens, same
    gradients to 1e-4), then switch back. Callers hold the model's lock, so no other request sees it."""
    switch = hasattr(model, "set_attn_implementation")
    if switch:
        try:
            model.set_attn_implementation("sdpa")
        except (ValueError, ImportError):  # an architecture without sdpa support stays eager
            switch = False
    try:
        yield
    finally:
        if switch:
            model.set_attn_implementation("eager")


def saliency(text: str, model_key: str = "minilm", text_pair: str = "", integrated: bool = True,
             steps: int | None = None, max_tokens: int | None = None) -> Saliency:
    """Gradient x input (one forward + backward) and, if `integrated`, integrated gradients with
    `steps` points between a zero embedding and the real one, run as one batch."""
    import torch

    am = get_model(model_key)
    enc = encode(am, text, text_pair, max_tokens)
    steps = steps or config.IG_STEPS
    if not 2 <= steps <= 256:
        raise ValueError(f"integrated-gradients steps must be 2..256, got {steps}")
    embed = am.model.get_input_embeddings()
    with model_lock(model_key), _fast_attention(am.model):
        f, what = _target_fn(am, enc.inputs, enc.segment)
        with torch.no_grad():
            x = embed(enc.inputs["input_ids"]).float()  # [1, T, D]
        xg = x.clone().requires_grad_(True)
        out = f(xg)
        (grad,) = torch.autograd.grad(out.sum(), xg)
        value = float(out.detach()[0])
        gxi = (grad * x).sum(-1)[0].detach().cpu().numpy().astype(np.float32)
        ig = gap = None
        notice = enc.notice
        if integrated and len(enc.tokens) > config.IG_MAX_TOKENS:
            integrated = False
            notice = (notice + " " if notice else "") + (
                f"Integrated gradients skipped: {len(enc.tokens)} tokens is over the {config.IG_MAX_TOKENS}-token "
                "limit that keeps them fast (NLP_STUDIO_IG_MAX_TOKENS); gradient × input is shown.")
        if integrated:
            # Midpoint rule on alpha in (0, 1); zero embedding as the baseline.
            alphas = (torch.arange(steps, device=x.device, dtype=x.dtype) + 0.5) / steps
            path = (alphas[:, None, None] * x).requires_grad_(True)  # [steps, T, D]
            out = f(path)
            (g,) = torch.autograd.grad(out.sum(), path)
            ig_t = (g.mean(0, keepdim=True) * x).sum(-1)[0]
            with torch.no_grad():
                base = f(torch.zeros_like(x))
            ig = ig_t.detach().cpu().numpy().astype(np.float32)
            gap = float(abs(ig.sum() - (value - float(base[0]))))
    return Saliency(model_key, enc.tokens, enc.special, what(), value, gxi, ig,
                    steps if integrated else 0, gap, notice)
