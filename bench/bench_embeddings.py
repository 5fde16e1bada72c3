"""Embedding Explorer benchmarks: nearest neighbours over all 400k GloVe words (faiss vs a plain
numpy baseline, same queries, same run) and projecting 10k points (PCA, t-SNE, UMAP).

    .venv/bin/python -m bench.bench_embeddings [--queries 300] [--skip-umap]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bench.common import pct, table  # noqa: E402
from core.embeddings import explorer  # noqa: E402
from core.embeddings.sets import frequent_words  # noqa: E402
from core.embeddings.projection import project  # noqa: E402


def bench_neighbours(n_queries: int, k: int = 10) -> list[list]:
    wv = explorer.word_vectors()
    rng = np.random.default_rng(0)
    queries = [wv.words[i] for i in rng.choice(np.arange(100, 50_000), n_queries, replace=False)]
    wv.neighbours("warm", k)  # builds the faiss index once, outside the timing
    rows = []
    for name, fn in (("faiss IndexFlatIP (ours)", lambda w: wv.neighbours(w, k)),
                     ("numpy matmul + argpartition (baseline)",
                      lambda w: wv.search_numpy(wv.vector(w), k + 1))):
        times = []
        for w in queries:
            t = time.perf_counter()
            fn(w)
            times.append((time.perf_counter() - t) * 1000)
        rows.append([name, len(queries), f"{pct(times, 50):.2f}", f"{pct(times, 95):.2f}"])
    same = sum(
        [n.text for n in wv.neighbours(w, k)] == [n.text for n in wv.search_numpy(wv.vector(w), k + 1)][1:]
        for w in queries[:50])
    print(f"identical top-{k} lists on 50 queries: {same}/50")
    return rows


def bench_projection(skip_umap: bool) -> list[list]:
    pts = frequent_words(explorer.word_vectors(), 10_000)
    rows = []
    runs = [("pca", 10_000), ("pca", 3_000), ("tsne", 3_000)]
    if not skip_umap:
        project(pts.vectors[:200], "umap", 2)  # numba compiles on the first call; time the real runs
        runs += [("umap", 3_000), ("umap", 10_000)]
    for method, n in runs:
        p = project(pts.vectors[:n], method, 2)
        rows.append([method.upper(), n, f"{p.seconds:.2f}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--skip-umap", action="store_true")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}")
    print("\nNearest neighbours over 400,000 GloVe words, k=10 (goal: p50 <= 20 ms)")
    print(table(bench_neighbours(args.queries), ["method", "queries", "p50 ms", "p95 ms"]))
    print("\nProjection of the most frequent words (50-d) to 2D (goal: PCA on 10,000 <= 1 s)")
    print(table(bench_projection(args.skip_umap), ["method", "points", "seconds"]))


if __name__ == "__main__":
    main()
