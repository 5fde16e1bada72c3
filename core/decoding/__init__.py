"""Decoding Lab: greedy, beam search and sampling over a causal LM's real logits (SmolLM2),
with the beam tree, the next-token distribution at each step and each output's log-probability."""
from core.decoding.decode import (STRATEGIES, BeamNode, Result, Settings, StepInfo, decode, filter_logits,
                                  sequence_logprobs)

__all__ = ["STRATEGIES", "BeamNode", "Result", "Settings", "StepInfo", "decode", "filter_logits",
           "sequence_logprobs"]
