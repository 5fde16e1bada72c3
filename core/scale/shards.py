"""A faiss IVF (or IVF-PQ) index split into memory-mapped shard files, for galleries of millions.

Layout of one index folder (e.g. `galleries/<name>/ivf_<channel>/`):
    shard_000.faiss ...   one faiss IVF index each, all sharing one trained coarse quantizer
                          (and PQ codebook); shard i holds rows [i*S, (i+1)*S) with their global
                          row numbers as ids
    manifest.json         kind, n, dim, nlist, shard sizes, the vectors' digest; written last

Why shards: each file stays small enough to build, copy and map on its own (a worker can build
one), and a reader maps them with faiss's IO_FLAG_MMAP_IFC so the codes stay in the page cache,
shared by every process on the machine (two web replicas map the same pages), not copied into
each process. Why IVF: a query visits `nprobe` of `nlist` lists instead of all N vectors. Why PQ
from GALLERY_IVFPQ_MIN_VECTORS up: 512 float32 (2 KB) per vector become m bytes, so a million
vectors fit in tens of MB; its scores are approximate, so callers re-rank candidates exactly.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import config

MANIFEST = "manifest.json"
FORMAT = 1
TRAIN_PER_LIST = 50  # training vectors per inverted list (faiss asks for at least 39)
TRAIN_MAX = 100_000  # k-means on more than this buys little and costs minutes on 2 cores
PQ_TRAIN_MAX = 40_000  # PQ's 64 small k-means are slow in faiss (8 dims each): 40k, 10 iterations
PQ_NITER = 10


@dataclass(frozen=True)
class Manifest:
    kind: str  # faiss factory string, e.g. "IVF1000,Flat" or "IVF1000,PQ64"
    n: int
    dim: int
    nlist: int
    shards: tuple[int, ...]  # vectors per shard, in row order
    digest: str  # of the float32 [n, dim] matrix the index was built from ("" if unknown)

    @property
    def pq(self) -> bool:
        return ",PQ" in self.kind


def choose_kind(n: int, dim: int, nlist: int | None = None, pq: bool | None = None) -> tuple[str, int]:
    """The faiss factory string and nlist for n vectors of `dim`: IVF-Flat, IVF-PQ from
    GALLERY_IVFPQ_MIN_VECTORS. nlist ~ sqrt(n), but at least 39 training vectors per list."""
    if n < 1:
        raise ValueError("an index needs at least one vector")
    nlist = nlist or max(1, min(int(math.sqrt(n)), n // 39))
    use_pq = n >= config.GALLERY_IVFPQ_MIN_VECTORS if pq is None else pq
    if not use_pq:
        return f"IVF{nlist},Flat", nlist
    # m sub-quantizers of 8 bits: the largest divisor of dim up to dim/8 (512 -> 64 bytes a vector).
    m = max(d for d in range(1, dim // 8 + 1) if dim % d == 0) if dim >= 8 else 1
    bits = 8 if n >= 256 * 39 else max(1, min(8, int(math.log2(max(n // 39, 2)))))
    return f"IVF{nlist},PQ{m}x{bits}", nlist


def build(mat: np.ndarray, folder: Path, digest: str = "", shard_size: int | None = None,
          nlist: int | None = None, pq: bool | None = None, seed: int = 0) -> Manifest:
    """Train one IVF (or IVF-PQ) on a sample of `mat` [N, D] (inner product), then write the rows
    in shards of `shard_size` (GALLERY_SHARD_VECTORS). Files are renamed into place, the manifest
    last, so a reader never sees half an index. Works on a memory-mapped `mat` chunk by chunk."""
    import faiss

    n, dim = mat.shape
    kind, nlist = choose_kind(n, dim, nlist, pq)
    shard_size = shard_size or config.GALLERY_SHARD_VECTORS
    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # from here on the old index is invalid
    rng = np.random.default_rng(seed)
    n_train = min(n, max(TRAIN_PER_LIST * nlist, 10_000 if ",PQ" in kind else 0),
                  PQ_TRAIN_MAX if ",PQ" in kind else TRAIN_MAX)
    rows = np.sort(rng.choice(n, n_train, replace=False)) if n_train < n else np.arange(n)
    trained = faiss.index_factory(dim, kind, faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.downcast_index(faiss.extract_index_ivf(trained))
    ivf.cp.seed = seed
    ivf.cp.min_points_per_centroid = 1  # nlist already keeps >= 39 a list; below 39 vectors, no warning
    if hasattr(ivf, "do_polysemous_training"):
        ivf.do_polysemous_training = False  # on by default; 10x the training time for Hamming filtering unused here
        ivf.pq.cp.niter = PQ_NITER
    trained.train(np.ascontiguousarray(mat[rows], dtype=np.float32))
    sizes = []
    for s, start in enumerate(range(0, n, shard_size)):
        stop = min(start + shard_size, n)
        shard = faiss.clone_index(trained)
        for a in range(start, stop, 65_536):  # add in chunks: a memory map is never copied whole
            b = min(a + 65_536, stop)
            shard.add_with_ids(np.ascontiguousarray(mat[a:b], dtype=np.float32), np.arange(a, b, dtype=np.int64))
        tmp = folder / f"shard_{s:03d}.faiss.tmp{os.getpid()}"
        faiss.write_index(shard, str(tmp))
        os.replace(tmp, folder / f"shard_{s:03d}.faiss")
        sizes.append(stop - start)
    for stale in folder.glob("shard_*.faiss"):
        if int(stale.stem.split("_")[1]) >= len(sizes):
            stale.unlink()
    manifest = Manifest(kind, n, dim, nlist, tuple(sizes), digest)
    tmp = folder / f"{MANIFEST}.tmp{os.getpid()}"
    tmp.write_text(json.dumps({"format": FORMAT, **manifest.__dict__, "shards": list(sizes)}))
    os.replace(tmp, folder / MANIFEST)
    return manifest


def read_manifest(folder: Path) -> Manifest | None:
    try:
        raw = json.loads((folder / MANIFEST).read_text())
        if raw.pop("format") != FORMAT:
            return None
        raw["shards"] = tuple(raw["shards"])
        return Manifest(**raw)
    except (OSError, ValueError, KeyError, TypeError):
        return None


class ShardedIndex:
    """The shards of one folder, memory-mapped; `search` merges their top-k."""

    def __init__(self, folder: Path, manifest: Manifest, shards: list):
        self.folder, self.manifest, self.shards = folder, manifest, shards

    @property
    def ntotal(self) -> int:
        return sum(s.ntotal for s in self.shards)

    def search(self, queries: np.ndarray, k: int, nprobe: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by inner product for queries [Q, D]: (scores [Q, k], rows [Q, k]); rows -1 pad
        when fewer than k were found. Each shard visits `nprobe` lists (GALLERY_IVF_NPROBE)."""
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.manifest.dim)
        nprobe = min(nprobe or config.GALLERY_IVF_NPROBE, self.manifest.nlist)
        scores, rows = [], []
        for shard in self.shards:
            shard.nprobe = nprobe
            d, i = shard.search(q, k)
            scores.append(d)
            rows.append(i)
        d, i = np.concatenate(scores, axis=1), np.concatenate(rows, axis=1)
        d = np.where(i < 0, -np.inf, d)  # faiss pads missing hits with -1 ids
        top = np.argsort(-d, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(d, top, 1), np.take_along_axis(i, top, 1)


def search_reranked(index: ShardedIndex, vectors: np.ndarray, queries: np.ndarray, k: int,
                    pool: int = 100, nprobe: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k with exact scores: `pool` candidates from the index, re-scored against the stored
    float32 `vectors` [N, D] (memory-mapped is fine: only the candidates' rows are read). This is
    how the app uses an IVF-PQ index (core.image_search.pipeline.search re-scores its candidates)."""
    q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, index.manifest.dim)
    _, cand = index.search(q, max(pool, k), nprobe)
    scores = np.full((len(q), k), -np.inf, np.float32)
    rows = np.full((len(q), k), -1, np.int64)
    for i, c in enumerate(cand):
        c = c[c >= 0]
        exact = np.asarray(vectors[np.sort(c)], dtype=np.float32) @ q[i]
        top = np.argsort(-exact)[:k]
        scores[i, :len(top)], rows[i, :len(top)] = exact[top], np.sort(c)[top]
    return scores, rows


def open_index(folder: Path, n: int | None = None, digest: str | None = None) -> ShardedIndex | None:
    """The index in `folder`, memory-mapped, if its manifest and shards are whole and (when given)
    it was built from `n` vectors with `digest`; else None (absent, stale or damaged: rebuild)."""
    import faiss

    manifest = read_manifest(folder)
    if manifest is None or (n is not None and manifest.n != n) or (digest and manifest.digest != digest):
        return None
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
    shards = []
    for s, size in enumerate(manifest.shards):
        try:
            shard = faiss.read_index(str(folder / f"shard_{s:03d}.faiss"), flags)
        except RuntimeError:
            return None
        if shard.ntotal != size:
            return None
        shards.append(shard)
    return ShardedIndex(folder, manifest, shards)
