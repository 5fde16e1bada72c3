"""Gallery search at a million vectors: flat vs IVF-Flat vs IVF-PQ, side by side.

    .venv/bin/python -m bench.bench_gallery_scale              # 1,000,000 x 512 (about 6 GB on disk)
    .venv/bin/python -m bench.bench_gallery_scale --n 100000   # a quicker look

The vectors are SYNTHETIC: unit vectors drawn around 4,000 random centres in 512 dimensions (the
size of a CLIP ViT-B-32 embedding), because no million-image gallery ships offline. Queries are
new draws from the same mixture, not database rows. Real embeddings cluster differently, so the
recall here says the index works, not what a given photo collection will get.

Everything the searches read is memory-mapped from files, as the app does: the float32 matrix
(`vec.npy`, what flat search and the exact re-rank read) and the IVF shards
(core.scale.shards). Each query is one request (a batch of 1), timed wall-clock; faiss and BLAS
run on NLP_STUDIO_FAISS_THREADS threads (default 1). recall@10 is against brute force over all N.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import pct, table

DIM = 512
CENTRES = 4_000


def make_vectors(path: Path, n: int, dim: int, seed: int = 0) -> np.ndarray:
    """A memory-mapped float32 [n, dim] .npy of clustered unit vectors, written in chunks."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CENTRES, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    mat = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
    for a in range(0, n, 100_000):
        b = min(a + 100_000, n)
        mat[a:b] = _draw(rng, centres, b - a)
    mat.flush()
    return np.load(path, mmap_mode="r")


def _draw(rng, centres: np.ndarray, n: int) -> np.ndarray:
    # noise of norm ~1 around a unit centre: neighbours share a centre but are not near-copies
    dim = centres.shape[1]
    x = centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(mat: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k rows for each query [Q, D] over the memory-mapped matrix, in row chunks."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 0), np.int64)
    for a in range(0, len(mat), 200_000):
        s = queries @ np.asarray(mat[a:a + 200_000]).T
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        best_s = np.concatenate([best_s, np.take_along_axis(s, part, 1)], 1)
        best_i = np.concatenate([best_i, part + a], 1)
        top = np.argsort(-best_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(best_s, top, 1), np.take_along_axis(best_i, top, 1)
    return best_i


def flat_search(mat: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """What the app's flat path does for one query (a matrix-vector product), over the memory map."""
    scores = np.asarray(mat) @ q
    rows = np.argpartition(-scores, k - 1)[:k]
    return rows[np.argsort(-scores[rows])]


def recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(map(int, f)) & set(map(int, t))) / len(t) for f, t in zip(found, truth)]))


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def run(n: int, queries: int, folder: Path, flat_queries: int, reuse: bool = False) -> list[list]:
    import faiss

    from core import config
    from core.scale import shards

    faiss.omp_set_num_threads(config.FAISS_THREADS)
    t0 = time.perf_counter()
    old = np.load(folder / "vec.npy", mmap_mode="r") if reuse and (folder / "vec.npy").is_file() else None
    mat = old if old is not None and old.shape == (n, DIM) else make_vectors(folder / "vec.npy", n, DIM)
    print(f"made {n:,} x {DIM} synthetic vectors in {time.perf_counter() - t0:.0f} s", flush=True)
    rng = np.random.default_rng(1)
    centres = np.random.default_rng(0).standard_normal((CENTRES, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    qs = _draw(rng, centres, queries)
    truth = brute_force(mat, qs, 10)
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building may use every core; searching does not
    built = {}
    for label, pq in (("IVF-Flat", False), ("IVF-PQ", True)):
        t0 = time.perf_counter()
        kept = shards.open_index(folder / label, n=n) if reuse and mat is old else None
        m = kept.manifest if kept is not None else shards.build(mat, folder / label, pq=pq)
        built[label] = (m, time.perf_counter() - t0 if kept is None else float("nan"))
        print(f"built {label} ({m.kind}, {len(m.shards)} shards) in {built[label][1]:.0f} s", flush=True)
    faiss.omp_set_num_threads(config.FAISS_THREADS)

    rows = []
    lat, found = [], []
    for q in qs[:flat_queries]:
        t = time.perf_counter()
        found.append(flat_search(mat, q, 10))
        lat.append(time.perf_counter() - t)
    rows.append(["flat (exact, matrix x vector)", "-", "-", f"{mat.nbytes / 1e6:,.0f}",
                 f"{pct(lat, 50) * 1e3:.1f}", f"{pct(lat, 95) * 1e3:.1f}", f"{recall(found, truth):.3f}", "-"])
    for label, (m, build_s) in built.items():
        size = sum(f.stat().st_size for f in (folder / label).glob("shard_*.faiss")) / 1e6
        before = rss_mb()
        index = shards.open_index(folder / label, n=n)
        grew = rss_mb() - before
        for nprobe in (8, 16, 32):
            for rerank in ((0, 100, 400) if m.pq else (0,)):
                lat, found = [], []
                for q in qs:
                    t = time.perf_counter()
                    if rerank:
                        _, r = shards.search_reranked(index, mat, q[None], 10, pool=rerank, nprobe=nprobe)
                    else:
                        _, r = index.search(q[None], 10, nprobe)
                    lat.append(time.perf_counter() - t)
                    found.append(r[0])
                rows.append([f"{label} {m.kind}" + (f" + exact re-rank of {rerank}" if rerank else ""), nprobe,
                             f"{build_s:.0f}", f"{size:,.0f}", f"{pct(lat, 50) * 1e3:.1f}",
                             f"{pct(lat, 95) * 1e3:.1f}", f"{recall(found, truth):.3f}", f"{grew:.0f}"])
        del index
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--flat-queries", type=int, default=20, help="flat search is slow: fewer queries")
    parser.add_argument("--dir", help="where to write the files (default: a temporary folder, removed after)")
    parser.add_argument("--reuse", action="store_true", help="keep the vectors and indexes already in --dir")
    args = parser.parse_args()
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="gallery-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        rows = run(args.n, args.queries, folder, args.flat_queries, args.reuse and bool(args.dir))
    finally:
        if not args.dir:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{args.n:,} synthetic vectors x {DIM}, {args.queries} queries one at a time, "
          f"{os.cpu_count()} cores, faiss threads {os.environ.get('NLP_STUDIO_FAISS_THREADS', '1')}")
    print(table(rows, ["index", "nprobe", "build s", "files MB", "p50 ms", "p95 ms", "recall@10",
                       "RSS on open MB"]))


if __name__ == "__main__":
    main()
