"""Vanishing gradients, measured: ‖∂L/∂h_t‖ against the distance back in time.

L is the cross-entropy of the prediction at the last step T only, so every bit of gradient that
reaches h_{T-d} has travelled d steps back through the recurrence (and nowhere else). For each
distance d the norm is averaged over a batch of windows of the real text.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.sequence_lab.cells import unroll


@dataclass(frozen=True)
class GradientProfile:
    """`norms[d]` = mean over windows of ‖∂L_T/∂h_{T−d}‖ for d = 0..horizon; `slope` is the
    least-squares slope of log10(norm) per step over d = 1..horizon (more negative: vanishes faster)."""

    kind: str
    norms: np.ndarray  # [horizon + 1]
    slope: float

    @property
    def relative(self) -> np.ndarray:
        """norms / norms[0]: 1 at d = 0."""
        return self.norms / self.norms[0]

    def decades_lost(self) -> float:
        """How many powers of ten the gradient shrinks over the horizon (log10 of norms[0] / norms[-1])."""
        return float(np.log10(self.norms[0] / max(self.norms[-1], 1e-30)))


def windows(ids: np.ndarray, length: int, count: int, seed: int = 0) -> np.ndarray:
    """`count` windows of `length + 1` ids [count, length + 1] from random offsets (seeded)."""
    if len(ids) < length + 2:
        raise ValueError(f"the text is shorter than the gradient horizon ({length} characters); paste more text")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(ids) - length - 1, size=count)
    return np.stack([ids[s:s + length + 1] for s in starts])


def gradient_profile(model, ids: np.ndarray, horizon: int = 60, count: int = 16, seed: int = 0) -> GradientProfile:
    """Profile `model` (a CharModel) on `count` windows of `horizon + 1` characters from `ids`."""
    import torch
    import torch.nn.functional as F

    batch = torch.from_numpy(windows(ids, horizon + 1, count, seed))
    inputs, target = batch[:, :-1], batch[:, -1]  # [B, horizon + 1], [B]
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            run = unroll(model.rnn, model.embed(inputs).detach())
            for h in run.hs:
                h.retain_grad()
            # Summed, not averaged, over windows: each window's gradient is its own.
            loss = F.cross_entropy(model.head(run.hs[-1]), target, reduction="sum")
            loss.backward()
        last = len(run.hs) - 1
        norms = np.array([float(run.hs[last - d].grad.norm(dim=1).mean()) for d in range(horizon + 1)])
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    d = np.arange(1, horizon + 1)
    logs = np.log10(np.maximum(norms[1:], 1e-30))
    slope = float(np.polyfit(d, logs, 1)[0])
    return GradientProfile(model.kind, norms, slope)
