"""A small transformer on one page of PyTorch: the whole model the Transformer Lab trains.

Characters in, one logit per vocabulary entry out. `causal=True` makes it a decoder (GPT-style:
position i sees positions <= i and learns to predict the next character); `causal=False` makes it
an encoder (BERT-style: every position sees every other one and learns to fill in masked ones).
The only difference between the two is the mask inside `Attention`. Every block hands back its
softmax weights, so the lab can draw what each head looks at while it learns.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    """Multi-head scaled dot-product self-attention, written out (no fused kernel hides the weights)."""

    def __init__(self, d_model: int, n_heads: int, causal: bool):
        super().__init__()
        assert d_model % n_heads == 0, "d_model must be a multiple of n_heads"
        self.n_heads, self.d_head, self.causal = n_heads, d_model // n_heads, causal
        self.qkv = nn.Linear(d_model, 3 * d_model)  # queries, keys and values in one matrix
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=-1)
        # (B, T, D) -> (B, heads, T, d_head)
        q, k, v = (t.view(B, T, self.n_heads, self.d_head).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)  # (B, heads, T, T)
        if self.causal:  # a decoder may not look ahead: position i only sees positions j <= i
            future = torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), diagonal=1)
            scores = scores.masked_fill(future, float("-inf"))
        weights = scores.softmax(dim=-1)  # each row sums to 1; exactly 0 where masked
        y = (weights @ v).transpose(1, 2).reshape(B, T, D)  # heads side by side again
        return self.out(y), weights


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, d_model: int, n_heads: int, causal: bool):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = Attention(d_model, n_heads, causal)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, weights = self.attn(self.norm1(x))
        x = x + a
        x = x + self.mlp(self.norm2(x))
        return x, weights


class TinyTransformer(nn.Module):
    """Token + position embeddings, `n_layers` blocks, a final norm and a linear head to the vocabulary."""

    def __init__(self, vocab_size: int, context: int, d_model: int = 64, n_heads: int = 4,
                 n_layers: int = 2, causal: bool = True):
        super().__init__()
        self.context, self.causal = context, causal
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(context, d_model)  # learned positions: attention alone ignores order
        self.blocks = nn.ModuleList(Block(d_model, n_heads, causal) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ids (B, T) -> logits (B, T, vocab) and attention weights (layers, B, heads, T, T)."""
        T = ids.shape[1]
        x = self.tok(ids) + self.pos(torch.arange(T, device=ids.device))
        maps = []
        for block in self.blocks:
            x, w = block(x)
            maps.append(w)
        return self.head(self.norm(x)), torch.stack(maps)


def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the positions that have a target (-100 = no target: unmasked positions
    of the masked objective)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
