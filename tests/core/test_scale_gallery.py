"""Galleries past one machine: the sharded IVF / IVF-PQ index, and the Ray Data indexer checked
against the single-process one on real photos with the real offline tagger and MiniLM.

No package ships CLIP weights (DESIGN.md), so the CLIP channel here is a random-weight open_clip
ViT-S-32 built from a fixed seed: tests only, it exercises the code path and gives both indexers
the same model. It is never presented as a model."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import config, image_search as search_mod
from core.image_search import gallery as gal
from core.scale import shards

SKIMAGE = Path(__import__("skimage").__file__).parent / "data"
PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "motorcycle_left.png", "camera.png"]


def random_clip_channels() -> list:
    """Tags + text (real weights) and a seeded random-weight CLIP (tests only). Module level, so
    Ray workers import it by name and build the very same models."""
    import open_clip
    import torch

    from core.image_search.clip import ClipModel

    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms("ViT-S-32", pretrained=None)
    model.eval()
    clip = ClipModel("random-vit-s-32", model, preprocess, open_clip.get_tokenizer("ViT-S-32"), "cpu")
    return [search_mod.TagChannel(), search_mod.TextChannel(), search_mod.ClipChannel(clip)]


def _clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Synthetic unit vectors around 50 centres (real embeddings cluster; pure noise would not)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim)).astype(np.float32)
    x = centres[rng.integers(0, 50, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# --- the sharded index (no Ray) ---------------------------------------------------------------

def test_kind_follows_the_size_threshold(monkeypatch):
    assert shards.choose_kind(1_000, 512)[0].endswith(",Flat")
    monkeypatch.setattr(config, "GALLERY_IVFPQ_MIN_VECTORS", 500)
    kind, nlist = shards.choose_kind(1_000, 512)
    assert kind == f"IVF{nlist},PQ64x4" and 1 <= nlist <= 1_000 // 39
    assert shards.choose_kind(1_000_000, 512)[0] == "IVF1000,PQ64x8"  # 64 bytes a vector


@pytest.mark.parametrize("pq", [False, True])
def test_sharded_ivf_is_memory_mapped_and_finds_the_neighbours(tmp_path, pq):
    import faiss

    x = _clustered(12_000, 64)
    manifest = shards.build(x, tmp_path / "ivf", digest="abc", shard_size=5_000, pq=pq)
    assert manifest.shards == (5_000, 5_000, 2_000) and manifest.pq == pq
    index = shards.open_index(tmp_path / "ivf", n=len(x), digest="abc")
    assert index.ntotal == len(x)
    # Memory-mapped: faiss reads the codes from the file's pages, not a private copy.
    lists = faiss.downcast_InvertedLists(index.shards[0].invlists)
    assert type(lists).__name__ == "ArrayInvertedLists" and index.shards[0].is_trained
    queries = _clustered(50, 64, seed=1)
    truth = np.argsort(-(queries @ x.T), axis=1)[:, :10]
    _, rows = shards.search_reranked(index, x, queries, 10, pool=100)
    recall = np.mean([len(set(t) & set(r)) / 10 for t, r in zip(truth, rows)])
    # 16 of 109 lists, 100 candidates re-scored exactly (as the app does): on clustered data both
    # kinds find nearly all true neighbours. 0.9 leaves room for k-means differing by CPU and
    # thread count; a broken index (wrong ids, wrong metric) scores near 0.
    assert recall >= 0.9, recall
    # Ids are global rows: a vector's own row comes back first.
    _, rows = index.search(x[[7, 5_003, 11_999]], 1)
    assert list(rows[:, 0]) == [7, 5_003, 11_999] or pq
    # Stale or damaged: refused, never half-used.
    assert shards.open_index(tmp_path / "ivf", n=len(x) + 1) is None
    assert shards.open_index(tmp_path / "ivf", digest="other") is None
    (tmp_path / "ivf" / "shard_001.faiss").write_bytes(b"junk")
    assert shards.open_index(tmp_path / "ivf") is None


def test_fewer_vectors_than_k_pads_nothing_into_results(tmp_path):
    x = _clustered(5, 16)
    shards.build(x, tmp_path / "ivf", shard_size=2)
    index = shards.open_index(tmp_path / "ivf")
    scores, rows = index.search(x[:1], 8)
    found = rows[0][rows[0] >= 0]
    assert sorted(found) == [0, 1, 2, 3, 4] and rows[0][0] == 0
    # inner products of unit vectors: at most 1, with float32 rounding
    assert np.all(scores[0][rows[0] >= 0] <= 1 + 1e-5)


def test_gallery_search_uses_pq_shards_and_rescores_exactly(tmp_path, monkeypatch):
    monkeypatch.setenv("NLP_STUDIO_CACHE", str(tmp_path))
    x = _clustered(3_000, 32)
    name = gal.new_name()
    items = [gal.Item(f"{i}.jpg", f"{i:040x}") for i in range(len(x))]
    g = gal.Gallery(name, gal.galleries_dir() / name, items, {"clip:x": x}, {"clip:x": "synthetic"})
    gal.save(g, hnsw=False)
    shards.build(x, g.ivf_dir("clip:x"), digest=gal.digest(x), shard_size=1_000, pq=True)
    loaded = gal.read(name)
    assert loaded.approximate("clip:x")
    queries = _clustered(20, 32, seed=2)
    truth = np.argsort(-(queries @ x.T), axis=1)[:, :10]
    found = []
    for q in queries:
        scores, rows = loaded.search("clip:x", q, 100)  # core.image_search.pipeline asks for 100 candidates
        scores, rows = scores[:10], rows[:10]
        # exact scores of the rows returned (re-scored from the vectors, not PQ's estimates);
        # float32 dot products in another order: 1e-5
        np.testing.assert_allclose(scores, x[rows] @ q, atol=1e-5)
        found.append(rows)
    assert type(loaded._indexes["clip:x"]).__name__ == "ShardedIndex"
    # 400 PQ candidates re-scored exactly, sorted: nearly all true neighbours on clustered data
    assert np.mean([len(set(t) & set(r)) / 10 for t, r in zip(truth, found)]) >= 0.9


def test_ray_missing_says_how_to_install(monkeypatch):
    from core.scale import ray_index

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ValueError, match="requirements-ray.txt"):
        ray_index.import_ray()


def test_core_and_app_modules_do_not_import_ray():
    import subprocess

    code = ("import sys, core.image_search.pipeline, core.image_search.gallery, core.scale; "
            "print('ray' in sys.modules, 'faiss' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --- Ray Data against the single-process indexer (a local Ray cluster) ----------------------------

@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory) -> Path:
    """Real photos under camera names, plus a duplicate and a damaged file to be skipped alike."""
    folder = tmp_path_factory.mktemp("ray_photos")
    for i, name in enumerate(PHOTOS):
        Image.open(SKIMAGE / name).convert("RGB").save(folder / f"IMG_{4100 + i}.jpg", quality=90)
    (folder / "IMG_9000.jpg").write_bytes((folder / "IMG_4100.jpg").read_bytes())
    (folder / "IMG_9001.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


@pytest.fixture(scope="module")
def both(photo_dir):
    from core.scale import ray_index

    import time

    t0 = time.perf_counter()
    single = gal.index(gal.new_name(), gal.collect_folder(photo_dir, roots=[photo_dir])[0], random_clip_channels())
    t1 = time.perf_counter()
    ray_g = ray_index.index_folder(photo_dir, make_channels=random_clip_channels, workers=2, batch_size=4,
                                   roots=[photo_dir])
    print(f"\nsingle process {t1 - t0:.1f} s, Ray Data (start included) {time.perf_counter() - t1:.1f} s")
    yield single, ray_g
    gal.delete(single.name)
    gal.delete(ray_g.name)


@pytest.mark.serving
def test_ray_index_equals_the_single_process_one(both):
    single, ray_g = both
    assert ray_g.keys == single.keys and len(ray_g) == len(PHOTOS)
    assert sorted(s.key for s in ray_g.skipped) == sorted(s.key for s in single.skipped) == ["IMG_9000.jpg",
                                                                                           "IMG_9001.jpg"]
    assert set(ray_g.vectors) == set(single.vectors) == {"tags", "text", "clip:random-vit-s-32"}
    for ch, mat in single.vectors.items():
        # Same weights, same pixels; batches of 4 on 1 thread vs 16 on the default threads change
        # the order of float32 sums in convolutions and matmuls: differences of ~1e-6, not more.
        np.testing.assert_allclose(ray_g.vectors[ch], mat, atol=1e-4, rtol=0)
    for a, b in zip(ray_g.items, single.items):
        assert [t[:2] for t in a.tags] == [t[:2] for t in b.tags]  # same labels, same order
        # probabilities are rounded to 4 places: a 1e-6 difference can flip the last digit
        assert np.allclose([t[2] for t in a.tags], [t[2] for t in b.tags], atol=2e-4)
        same = ("sha1", "width", "height", "thumb")
        assert {k: getattr(a, k) for k in same} == {k: getattr(b, k) for k in same}
        assert ray_g.thumb_path(ray_g.keys.index(a.key)).is_file()


@pytest.mark.serving
def test_app_search_loads_the_ray_gallery_through_its_ivf_shards(both):
    _, ray_g = both
    g = search_mod.get_gallery(ray_g.name)  # as the app opens it: by name, from disk
    assert all(g.approximate(ch) for ch in g.vectors)
    manifest = json.loads((g.ivf_dir("tags") / "manifest.json").read_text())
    assert manifest["n"] == len(PHOTOS) and manifest["kind"].startswith("IVF")
    result = search_mod.search_text("a cat", k=3, gallery=ray_g.name)
    assert result.approximate and result.hits[0].key == "IMG_4100.jpg"  # chelsea, found by its pixels
    assert type(g._indexes["tags"]).__name__ == "ShardedIndex"
