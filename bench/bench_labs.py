"""Benchmarks of the roadmap labs (Text Lab, and the other labs as they arrive), on this machine.

Each lab adds its functions to BENCHES (name -> function returning table rows [action, runs,
p50 ms, max ms, note]); the command runs all of them, or those named:

    .venv/bin/python -m bench.bench_labs [--only text_lab] [--repeat 5]

Goal (issue #18): every interactive action <= 1 s on 2 cores, except training.
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import pct, table  # noqa: E402

# cpu ms: CPU time of this process per call (all its threads), which on a shared, busy machine is
# a better guide than wall time to what the action costs on an idle one.
HEADERS = ["action", "runs", "p50 ms", "max ms", "cpu ms", "note"]
_cpu: list[float] = []


def timed(fn: Callable[[], object], repeat: int) -> tuple[list[float], object]:
    """Wall times in ms of `repeat` calls (after one untimed warm-up call), and the last result;
    the median CPU time per call is kept for the next `row`."""
    result = fn()
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    _cpu[:] = [pct(cpu, 50)]
    return times, result


def row(name: str, times: list[float], note: str = "") -> list:
    cpu = f"{_cpu.pop():.1f}" if _cpu else ""
    return [name, len(times), f"{pct(times, 50):.1f}", f"{max(times):.1f}", cpu, note]


# --- Text Lab --------------------------------------------------------------------------------

def bench_text_lab(repeat: int) -> list[list]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from core.text_lab import data, sentiment as sa, vectorize as vz, view as tv
    from core.controls import defaults

    docs = data.lee_corpus()
    rows = []
    times, rep = timed(lambda: vz.vectorize(docs, "tfidf"), repeat)
    rows.append(row("TF-IDF, Lee corpus (ours, numpy/scipy)", times, f"{rep.shape[0]} docs x {rep.shape[1]:,} terms"))
    times, _ = timed(lambda: TfidfVectorizer().fit_transform(docs), repeat)
    rows.append(row("TF-IDF, Lee corpus (scikit-learn)", times, "the reference"))
    values = defaults(tv.VECTORIZE_CONTROLS)
    times, _ = timed(lambda: tv.vectorize_view(values), repeat)
    rows.append(row("Representations view (matrix, 3 figures, cosine, query)", times, "one click"))
    pvalues = defaults(tv.PREPROCESS_CONTROLS)
    times, _ = timed(lambda: tv.preprocess_view(pvalues), repeat)
    rows.append(row("Preprocessing, every stage", times, "rule-based tokenizer"))
    times, _ = timed(lambda: tv.preprocess_view({**pvalues, "tokenizer": "subword (WordPiece)"}), repeat)
    rows.append(row("Preprocessing, every stage (WordPiece)", times, ""))

    start, start_cpu = time.perf_counter(), time.process_time()
    clfs = sa.train(sa.TrainSettings(), None)
    first = (time.perf_counter() - start) * 1000
    _cpu[:] = [(time.process_time() - start_cpu) * 1000]
    rows.append(row("sentiment fit, first (embeds train + held-out)", [first],
                    f"{clfs.glove.n_train} train / {clfs.glove.n_test} held-out; models loaded before"))
    times, clfs = timed(lambda: sa.train(sa.TrainSettings(), None), max(1, repeat // 2))
    rows.append(row("sentiment fit, again (MiniLM vectors cached)", times,
                    f"GloVe {100 * clfs.glove.accuracy:.1f}%, MiniLM {100 * clfs.minilm.accuracy:.1f}%, "
                    f"VADER {100 * clfs.vader_accuracy:.1f}%, majority {100 * clfs.glove.majority:.1f}%"))
    text = tv.SENTIMENT_EXAMPLES[2]
    times, _ = timed(lambda: tv.sentiment_view(text, clfs), repeat)
    rows.append(row("Sentiment view, three methods + figures", times, f"{len(text.split())} words, leave-one-out"))
    return rows


def warm_text_lab() -> None:
    """Load GloVe and MiniLM once, outside every timing (a server loads them once)."""
    from core import models

    models.get("glove-6b-50d")
    models.get("minilm")


BENCHES: dict[str, tuple[Callable[[], None], Callable[[int], list[list]]]] = {
    # lab -> (warm-up, bench); other labs append their own entries
    "text_lab": (warm_text_lab, bench_text_lab),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(BENCHES), help="labs to run (default: all)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    for name in args.only or list(BENCHES):
        warm, bench = BENCHES[name]
        start = time.perf_counter()
        warm()
        print(f"\n## {name} (models loaded in {time.perf_counter() - start:.1f} s, not counted)\n")
        print(table(bench(args.repeat), HEADERS))


if __name__ == "__main__":
    main()
