"""Preference Lab: DPO with LoRA on SmolLM2 from a handful of editable preference pairs, its
implicit rewards per pair, replies before and after, and a reward that can be gamed. Importing
this package loads nothing heavy (torch and the model load when a run starts)."""
from core.preference.dpo import (DPO_MAX_STEPS, DPOJob, DPOSettings, DPOStatus, StepStats, dpo_loss, encode_pairs,
                                 get_job, greedy_reply, judge, run_dpo, sequence_logps, start)
from core.preference.pairs import DPO_MAX_PAIRS, PIRATE_PAIRS, PRESETS, REWARD_PICKED_PAIRS, PreferencePair, parse_pairs
from core.preference.reward import GAMING_CANDIDATES, REWARDS, gaming_rows, length_reward, lexicon_reward, reward

__all__ = ["DPOJob", "DPOSettings", "DPOStatus", "DPO_MAX_PAIRS", "DPO_MAX_STEPS", "GAMING_CANDIDATES",
           "PIRATE_PAIRS", "PRESETS", "PreferencePair", "REWARDS", "REWARD_PICKED_PAIRS", "StepStats", "dpo_loss",
           "encode_pairs", "gaming_rows", "get_job", "greedy_reply", "judge", "length_reward", "lexicon_reward",
           "parse_pairs", "reward", "run_dpo", "sequence_logps", "start"]
