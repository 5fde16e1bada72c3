"""Character-level RNN, LSTM and GRU whose every gate can be looked at.

Training runs on torch.nn.RNN / LSTM / GRU (their loops are in C++, several times faster than a
Python loop). Looking inside runs `unroll`: the same equations written out one time step at a
time, on the very same weight tensors, so the hidden state, the cell state and each gate are
plain tensors to show (and to take gradients with respect to). tests/core/test_sequence_lab.py checks
that `unroll` gives torch's outputs to float32 rounding.

Equations (PyTorch's conventions and gate order; x is the embedded character, h the previous
hidden state, σ the logistic function, ⊙ the element-wise product):
    RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
    LSTM: [i, f, g, o] = split(W_ih x + b_ih + W_hh h + b_hh); i, f, o = σ(·); g = tanh(·)
          c' = f ⊙ c + i ⊙ g;  h' = o ⊙ tanh(c')
    GRU:  [r, z, n] rows of the same matrices; r = σ(W_ir x + b_ir + W_hr h + b_hr)
          z = σ(W_iz x + b_iz + W_hz h + b_hz);  n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
          h' = (1 − z) ⊙ n + z ⊙ h
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("RNN", "LSTM", "GRU")
GATES = {"RNN": (), "LSTM": ("input", "forget", "output"), "GRU": ("update", "reset")}


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"model kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def build_model(kind: str, vocab_size: int, hidden: int, embed: int = 32, seed: int = 0,
                forget_bias: float = 1.0):
    """A CharModel (torch.nn.Module): embedding [V, embed] → one recurrent layer [hidden] → linear to V.

    The LSTM's forget-gate bias starts at `forget_bias` (1.0: the cell keeps about 73% of its
    content per step at first, the usual remedy for early forgetting, Jozefowicz et al. 2015);
    everything else is PyTorch's default initialisation under `seed`.
    """
    import torch

    check_kind(kind)
    torch.manual_seed(seed)
    model = _model_class()(kind, vocab_size, hidden, embed)
    if kind == "LSTM":
        with torch.no_grad():
            model.rnn.bias_ih_l0[hidden:2 * hidden].fill_(forget_bias)
            model.rnn.bias_hh_l0[hidden:2 * hidden].zero_()
    return model


_CLASS = None


def _model_class():
    """The nn.Module class, defined on first use so that importing this file does not import torch."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    import torch
    from torch import nn

    class CharModel(nn.Module):
        def __init__(self, kind: str, vocab_size: int, hidden: int, embed: int) -> None:
            super().__init__()
            self.kind, self.vocab_size, self.hidden = kind, vocab_size, hidden
            self.embed = nn.Embedding(vocab_size, embed)
            self.rnn = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[kind](embed, hidden, batch_first=True)
            self.head = nn.Linear(hidden, vocab_size)

        def forward(self, ids: torch.Tensor, state=None):
            """ids [B, T] int64 → logits [B, T, V] and the final state (torch's fast path)."""
            out, state = self.rnn(self.embed(ids), state)
            return self.head(out), state

    _CLASS = CharModel
    return _CLASS


@dataclass(frozen=True)
class Unrolled:
    """One sequence run step by step. Tensors (torch, autograd-connected): `hs` T tensors [B, H]
    (h_1..h_T), `gates` {name: T tensors [B, H]}, `cells` (LSTM only) T tensors [B, H]."""

    hs: list
    gates: dict
    cells: list


def unroll(rnn, x, h0=None, c0=None) -> Unrolled:
    """Run `rnn` (a one-layer torch.nn.RNN / LSTM / GRU, batch_first) over x [B, T, E] one step at a
    time with its own weights, keeping every hidden state and gate. h0/c0: [B, H] or None (zeros)."""
    import torch

    kind = type(rnn).__name__
    check_kind(kind)
    w_ih, w_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
    b_ih, b_hh = rnn.bias_ih_l0, rnn.bias_hh_l0
    batch, steps, _ = x.shape
    size = rnn.hidden_size
    h = x.new_zeros(batch, size) if h0 is None else h0
    c = x.new_zeros(batch, size) if c0 is None else c0
    hs, cells = [], []
    gates: dict[str, list] = {name: [] for name in GATES[kind]}
    for t in range(steps):
        gi = x[:, t] @ w_ih.T + b_ih  # [B, k*H]
        gh = h @ w_hh.T + b_hh
        if kind == "RNN":
            h = torch.tanh(gi + gh)
        elif kind == "LSTM":
            i, f, g, o = (gi + gh).chunk(4, dim=1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            gates["input"].append(i)
            gates["forget"].append(f)
            gates["output"].append(o)
            cells.append(c)
        else:  # GRU
            ir, iz, inn = gi.chunk(3, dim=1)
            hr, hz, hn = gh.chunk(3, dim=1)
            r = torch.sigmoid(ir + hr)
            z = torch.sigmoid(iz + hz)
            n = torch.tanh(inn + r * hn)
            h = (1 - z) * n + z * h
            gates["update"].append(z)
            gates["reset"].append(r)
        hs.append(h)
    return Unrolled(hs, gates, cells)


@dataclass(frozen=True)
class StepThrough:
    """A text run through a trained model one character at a time (numpy, float32).

    `chars[t]` is the input at step t; `hidden[t]` h_t [H]; `gates[name][t]` [H]; `cell[t]` (LSTM)
    [H]; `top[t]` the model's 5 most likely next characters with their probabilities."""

    kind: str
    chars: tuple[str, ...]
    hidden: np.ndarray  # [T, H]
    gates: dict  # name -> [T, H]
    cell: np.ndarray | None  # [T, H] (LSTM) or None
    top: tuple[tuple[tuple[str, float], ...], ...]


def step_through(model, data, text: str, top_k: int = 5) -> StepThrough:
    """Run `text` through `model` (a CharModel) with `unroll`; `data` is the CharData it was trained on."""
    import torch

    ids = torch.from_numpy(data.encode(text)).unsqueeze(0)
    with torch.no_grad():
        run = unroll(model.rnn, model.embed(ids))
        hs = torch.stack(run.hs, dim=1)[0]  # [T, H]
        probs = torch.softmax(model.head(hs), dim=-1)  # [T, V]
        top_p, top_i = probs.topk(min(top_k, probs.shape[-1]), dim=-1)
    top = tuple(tuple((data.chars[int(i)], float(p)) for p, i in zip(prow, irow))
                for prow, irow in zip(top_p, top_i))
    gates = {name: torch.stack(v, dim=1)[0].numpy() for name, v in run.gates.items()}
    cell = torch.stack(run.cells, dim=1)[0].numpy() if run.cells else None
    return StepThrough(model.kind, tuple(text), hs.numpy(), gates, cell, top)
