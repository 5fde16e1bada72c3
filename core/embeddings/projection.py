"""Projecting high-dimensional vectors to 2D or 3D (PCA, t-SNE, UMAP) and clustering them."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from core import config

METHODS = ("pca", "tsne", "umap")


@dataclass(frozen=True)
class Projection:
    coords: np.ndarray  # float32 [N, dims]
    method: str
    dims: int
    seconds: float
    explained: tuple[float, ...] | None  # PCA: variance ratio per axis; None otherwise
    note: str  # parameters actually used (t-SNE perplexity, UMAP neighbours)


def check_points(n: int) -> None:
    if n < config.MIN_PROJECT_POINTS:
        raise ValueError(f"Only {n} point{'s' if n != 1 else ''} to project; a projection needs at least "
                         f"{config.MIN_PROJECT_POINTS}. Add more words or lines.")
    if n > config.MAX_PROJECT_POINTS:
        raise ValueError(f"{n:,} points is over the limit of {config.MAX_PROJECT_POINTS:,} "
                         "(NLP_STUDIO_MAX_PROJECT_POINTS).")


def project(vectors: np.ndarray, method: str = "pca", dims: int = 2, seed: int = 0) -> Projection:
    """Project float32 [N, D] vectors to [N, dims]. PCA is exact and fast; t-SNE and UMAP keep
    local neighbourhoods but distort global distances (say so wherever the plot is shown)."""
    method = (method or "").lower().replace("-", "")
    if method not in METHODS:
        raise ValueError(f"Unknown projection {method!r}; choose one of {', '.join(METHODS)}.")
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    x = np.asarray(vectors, dtype=np.float32)
    n = x.shape[0]
    check_points(n)
    limit = {"tsne": config.MAX_TSNE_POINTS, "umap": config.MAX_UMAP_POINTS}.get(method)
    if limit is not None and n > limit:
        name = {"tsne": "t-SNE", "umap": "UMAP"}[method]
        raise ValueError(f"{name} on {n:,} points would keep this CPU busy for minutes; its limit here is "
                         f"{limit:,} (NLP_STUDIO_MAX_{method.upper()}_POINTS). Use PCA, or fewer points.")
    dims_eff = min(dims, n - 1, x.shape[1])
    start = time.perf_counter()
    explained = None
    if method == "pca":
        centred = x - x.mean(axis=0)
        # Eigenvectors of the D x D covariance are the principal directions: cheaper than an
        # SVD of the N x D data when N >> D (10k x 50 in milliseconds).
        var, vecs = np.linalg.eigh(centred.T.astype(np.float64) @ centred)
        order = np.argsort(var)[::-1]
        var, vecs = np.clip(var[order], 0, None), vecs[:, order]
        coords = centred @ vecs[:, :dims_eff].astype(np.float32)
        explained = tuple(float(v) for v in (var[:dims_eff] / max(var.sum(), 1e-12)))
        note = "explained variance " + ", ".join(f"PC{i + 1} {v:.0%}" for i, v in enumerate(explained))
    elif method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(1.0, (n - 1) / 3)))
        coords = TSNE(n_components=dims_eff, perplexity=perplexity, init="pca" if n > dims_eff else "random",
                      metric="cosine", random_state=seed).fit_transform(x)
        note = f"perplexity {perplexity:g}, cosine metric"
    else:
        import umap  # first import compiles with numba (13-15 s once after install)

        neighbours = int(min(15, n - 1))
        coords = umap.UMAP(n_components=dims_eff, n_neighbors=max(2, neighbours), metric="cosine",
                           init="spectral" if n > 20 else "random", random_state=seed).fit_transform(x)
        note = f"{neighbours} neighbours, cosine metric"
    coords = np.asarray(coords, dtype=np.float32)
    if coords.shape[1] < dims:  # fewer points than dimensions: pad so the plot still draws
        coords = np.hstack([coords, np.zeros((n, dims - coords.shape[1]), np.float32)])
    return Projection(coords, method, dims, time.perf_counter() - start, explained, note)


def kmeans_labels(vectors: np.ndarray, k: int, seed: int = 0) -> list[str]:
    """Cluster ids ("cluster 1".."cluster k") by k-means on the original vectors."""
    from sklearn.cluster import KMeans

    n = len(vectors)
    k = int(max(1, min(k, n)))
    ids = KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(vectors)
    return [f"cluster {i + 1}" for i in ids]
