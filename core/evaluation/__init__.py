"""Evaluation Lab (roadmap week 6): BLEU, chrF, ROUGE, WER with its alignment, and perplexity with
per-token surprisal, applied to text the user types and to the studio's own outputs."""
from core.evaluation.metrics import (METRICS, NORMALIZERS, ROUGE_TYPES, SMOOTHING, BleuScore, Evaluation, SentenceScores, Wer,
                                     WerAlignment, bleu_tokens, check_inputs, evaluate, matched_ngrams)
from core.evaluation.perplexity import Perplexity, perplexity, perplexity_models

__all__ = [
    "METRICS", "NORMALIZERS", "ROUGE_TYPES", "SMOOTHING", "BleuScore", "Evaluation", "Perplexity", "SentenceScores", "Wer",
    "WerAlignment", "bleu_tokens", "check_inputs", "evaluate", "matched_ngrams", "perplexity",
    "perplexity_models",
]
