"""Tokenizer Lab and Evaluation Lab benchmark.

Prints, with the median and best wall seconds of the runs and this process's CPU seconds:
  tokenizer training on 1 MB of real text (the Python reference that ships with CPython, repeated
      to 1,000,000 characters), BPE and WordPiece at 5,000 tokens, Unigram at 2,500: the lab's `train`
      beside the bare `tokenizers` library (the lab adds the checks and a 50k-character encode);
  the interactive actions: train-and-replay on the shipped corpus (first time and cached), the
      tokenizer comparison, scoring three sentences, perplexity of a 30-token text;
  evaluation of 1,000 sentence pairs: our `evaluate` (BLEU, chrF, ROUGE, WER, per-sentence
      details) beside sacrebleu's corpus BLEU + chrF alone, rouge-score alone and jiwer alone.
Goal (issue #19): interactive actions <= 1 s. On a busy shared machine, CPU s estimates idle time.
Run from the repo root: .venv/bin/python -m bench.bench_tok_eval [--runs 3]
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.common import table, timed  # noqa: E402




def _row(name: str, t: tuple[float, float, float], goal: str = "") -> list:
    return [name, f"{t[0]:.3f}", f"{t[1]:.3f}", f"{t[2]:.3f}", goal]


def one_mb() -> str:
    from core.tokenizer_lab import corpus_text

    base = corpus_text("python-docs")
    return (base * (1_000_000 // len(base) + 1))[:1_000_000]


def pairs(n: int = 1_000) -> tuple[list[str], list[str]]:
    """1,000 (hypothesis, reference) pairs from real text: sentences of the Python reference, each
    paired with a copy that has a word dropped, a word changed and the order of two words swapped."""
    import random

    from core.tokenizer_lab import corpus_text

    rng = random.Random(0)
    sentences = [s.strip() for s in corpus_text("python-docs").replace("\n", " ").split(". ")
                 if 6 <= len(s.split()) <= 40][:n]
    hyps = []
    for s in sentences:
        w = s.split()
        i = rng.randrange(len(w))
        w[i] = w[i].upper()
        del w[rng.randrange(len(w))]
        j = rng.randrange(len(w) - 1)
        w[j], w[j + 1] = w[j + 1], w[j]
        hyps.append(" ".join(w))
    return hyps, sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from core.controls import defaults
    from core.evaluation import evaluate
    from core.evaluation import view as ev
    from core.tokenizer_lab import TrainSettings, library_tokenizer, train
    from core.tokenizer_lab import view as tv

    import torch

    print(f"torch threads {torch.get_num_threads()}, os.cpu_count {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    text = one_mb()
    rows = []
    # The reference has ~4,900 distinct words: BPE can reach ~7,500 tokens on it, Unigram ~3,100.
    for algo, size in (("BPE", 5_000), ("WordPiece", 5_000), ("Unigram", 2_500)):
        s = TrainSettings(algo, size, "whitespace")
        rows.append(_row(f"train {algo} {size:,} on 1 MB (lab)", timed(lambda: train(text, s), args.runs)))
        rows.append(_row(f"train {algo} {size:,} on 1 MB (tokenizers alone)",
                         timed(lambda: library_tokenizer(text, s), args.runs)))

    d = defaults(tv.TRAIN_CONTROLS)
    tv.train_corpus.cache_clear()
    rows.append(_row("train + replay, shipped corpus, first time", timed(lambda: (tv.train_corpus.cache_clear(),
                                                                                  tv.train_view(**d)), args.runs), "≤ 1 s"))
    rows.append(_row("replay again (trained tokenizer cached)", timed(lambda: tv.train_view(**d), args.runs), "≤ 1 s"))
    tv.compare_view(**defaults(tv.COMPARE_CONTROLS))  # loads the three tokenizers once
    rows.append(_row("compare 3 studio tokenizers", timed(lambda: tv.compare_view(**defaults(tv.COMPARE_CONTROLS)),
                                                          args.runs), "≤ 1 s"))
    ev.scores_view(**defaults(ev.SCORE_CONTROLS))  # imports sacrebleu, rouge-score, jiwer once
    rows.append(_row("score 3 sentences (all metrics + views)",
                     timed(lambda: ev.scores_view(**defaults(ev.SCORE_CONTROLS)), args.runs), "≤ 1 s"))
    ppl_text = "The capital of France is Paris. It is known for the Eiffel Tower, museums and its cafés by the river."
    ev.perplexity_view(ppl_text)  # loads SmolLM2 once
    rows.append(_row("perplexity, 26 tokens, SmolLM2-135M", timed(lambda: ev.perplexity_view(ppl_text), args.runs),
                     "≤ 1 s"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # on an oversubscribed CPU, spinning threads cost more than they give
    rows.append(_row("  the same on 1 torch thread", timed(lambda: ev.perplexity_view(ppl_text), args.runs), "≤ 1 s"))
    torch.set_num_threads(threads)

    hyps, refs = pairs()
    assert len(hyps) == 1_000, len(hyps)
    rows.append(_row("evaluate 1,000 pairs (ours: all metrics + per sentence)",
                     timed(lambda: evaluate(hyps, [refs]), args.runs)))
    rows.append(_row("evaluate 1,000 pairs (ours: corpus only)",
                     timed(lambda: evaluate(hyps, [refs], per_sentence=False), args.runs)))
    import jiwer
    import sacrebleu
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    rows.append(_row("  sacrebleu corpus BLEU + chrF alone",
                     timed(lambda: (sacrebleu.corpus_bleu(hyps, [refs]), sacrebleu.corpus_chrf(hyps, [refs])),
                           args.runs)))
    rows.append(_row("  rouge-score alone", timed(lambda: [scorer.score(r, h) for h, r in zip(hyps, refs)], args.runs)))
    rows.append(_row("  jiwer alone (no normalization)", timed(lambda: jiwer.process_words(refs, hyps), args.runs)))
    print(table(rows, ["what", "median s", "best s", "CPU s", "goal"]))


if __name__ == "__main__":
    main()
