"""Gallery index: incremental, persisted, rebuilt when damaged, approximate above a size, and safe
ingestion. CLIP here is a random-weight open_clip model (tests only: it exercises the code path)."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import config, image_search as search_mod
from core.image_search import gallery as gal

SKIMAGE = Path(__import__("skimage").__file__).parent / "data"
PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg", "astronaut.png", "motorcycle_left.png", "camera.png"]


class CountingChannel:
    """Wraps a channel and counts how many images it embedded (to check incremental updates)."""

    def __init__(self, inner):
        self.inner, self.name, self.fingerprint, self.count = inner, inner.name, inner.fingerprint, 0

    def embed(self, images, items):
        self.count += len(images)
        return self.inner.embed(images, items)


@pytest.fixture(scope="session")
def random_clip():
    import open_clip

    from core.image_search.clip import ClipModel

    model, _, preprocess = open_clip.create_model_and_transforms("ViT-S-32", pretrained=None)
    model.eval()
    return ClipModel("random-vit-s-32", model, preprocess, open_clip.get_tokenizer("ViT-S-32"), "cpu")


@pytest.fixture
def photo_dir(tmp_path):
    """Real photos, renamed to camera-style names that say nothing."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, name in enumerate(PHOTOS):
        Image.open(SKIMAGE / name).convert("RGB").save(folder / f"IMG_{4100 + i}.jpg", quality=90)
    return folder


@pytest.fixture
def name():
    n = gal.new_name()
    yield n
    gal.delete(n)


def _sources(folder: Path) -> list[gal.Source]:
    return [gal.Source(p.name, p) for p in sorted(folder.iterdir())]


def test_index_incremental_persist_reload(random_clip, photo_dir, name):
    ch = CountingChannel(search_mod.ClipChannel(random_clip))
    g = gal.index(name, _sources(photo_dir), [ch])
    assert ch.count == len(PHOTOS)
    assert g.vectors[ch.name].shape == (len(PHOTOS), random_clip.dim)
    assert g.keys == sorted(p.name for p in photo_dir.iterdir())
    assert np.allclose(np.linalg.norm(g.vectors[ch.name], axis=1), 1, atol=1e-4)  # normalized in fp32

    # Unchanged files are not embedded again.
    g2 = gal.index(name, _sources(photo_dir), [ch])
    assert ch.count == len(PHOTOS)
    assert np.array_equal(g.vectors[ch.name], g2.vectors[ch.name])  # exact: kept, not recomputed

    # One changed, one new, one removed: only two embedded; the rest keep their vectors.
    Image.open(SKIMAGE / "coins.png").convert("RGB").save(photo_dir / "IMG_4100.jpg")
    Image.open(SKIMAGE / "horse.png").convert("RGB").save(photo_dir / "IMG_9999.jpg")
    (photo_dir / "IMG_4105.jpg").unlink()
    g3 = gal.index(name, _sources(photo_dir), [ch])
    assert ch.count == len(PHOTOS) + 2
    assert len(g3) == len(PHOTOS)
    assert "IMG_4105.jpg" not in g3.keys and "IMG_9999.jpg" in g3.keys
    same = g3.keys.index("IMG_4101.jpg")
    assert np.array_equal(g3.vectors[ch.name][same], g.vectors[ch.name][g.keys.index("IMG_4101.jpg")])

    # Persisted: a fresh read gives the same items and vectors.
    again = gal.read(name)
    assert again.keys == g3.keys
    assert np.array_equal(again.vectors[ch.name], g3.vectors[ch.name])  # exact: float32 written and read back


def test_damaged_index_is_rebuilt(random_clip, photo_dir, name):
    ch = CountingChannel(search_mod.ClipChannel(random_clip))
    g = gal.index(name, _sources(photo_dir), [ch])
    vec = g.root / f"vec_{gal._safe(ch.name)}.npy"
    vec.write_bytes(vec.read_bytes()[:200])  # truncated, as after a crash
    assert gal.read(name) is None
    (g.root / "meta.json").write_text("{not json")
    assert gal.read(name) is None
    g2 = gal.index(name, _sources(photo_dir), [ch])
    assert ch.count == 2 * len(PHOTOS)  # everything re-embedded
    assert gal.read(name).keys == g2.keys


def test_search_arithmetic_and_approximate_index(random_clip, photo_dir, name, monkeypatch):
    ch = search_mod.ClipChannel(random_clip)
    g = gal.index(name, _sources(photo_dir), [ch])
    image = Image.open(SKIMAGE / "chelsea.png")
    terms = search_mod.parse_query("horse + stripes - grass", image=image, image_sign=-1)
    assert [(t.sign, t.text) for t in terms] == [(1, "horse"), (1, "stripes"), (-1, "grass"), (-1, "")]
    qv = search_mod.query_vectors(terms, [ch.name], clip=random_clip)
    assert qv[ch.name].shape == (random_clip.dim,)
    flat = search_mod.search(g, terms, k=4, weights={"clip": 1, "tags": 0, "text": 0}, clip=random_clip)
    assert len(flat.hits) == 4 and not flat.approximate
    assert all(h.key in g.keys and set(h.scores) == {"clip"} for h in flat.hits)
    assert [h.rank for h in flat.hits] == [1, 2, 3, 4]
    assert all(a.score >= b.score for a, b in zip(flat.hits, flat.hits[1:]))

    monkeypatch.setattr(config, "GALLERY_APPROX_MIN_VECTORS", 1)
    g_approx = gal.read(name)
    approx = search_mod.search(g_approx, terms, k=4, weights={"clip": 1, "tags": 0, "text": 0}, clip=random_clip)
    assert approx.approximate
    gal.save(g_approx)  # at the approximate size, the HNSW graph is saved with the index
    assert (g_approx.root / f"hnsw_{gal._safe(ch.name)}.faiss").is_file()
    g_approx = gal.read(name)
    approx = search_mod.search(g_approx, terms, k=4, weights={"clip": 1, "tags": 0, "text": 0}, clip=random_clip)
    # On six items HNSW finds the exact neighbours: same ids, same scores.
    assert [h.key for h in approx.hits] == [h.key for h in flat.hits]
    # faiss' HNSW and flat indexes sum the dot products in their own SIMD order (AVX2 or AVX-512)
    assert np.allclose([h.score for h in approx.hits], [h.score for h in flat.hits], atol=1e-5)


def test_hnsw_matches_flat_on_random_vectors():
    rng = np.random.default_rng(0)
    mat = rng.standard_normal((3000, 64)).astype(np.float32)
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    index = gal.build_hnsw(mat)
    q = mat[:20] + 0.1 * rng.standard_normal((20, 64)).astype(np.float32)
    _, got = index.search(q, 5)
    exact = np.argsort(-(q @ mat.T), axis=1)[:, :5]
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(got, exact)])
    assert recall >= 0.9


# --- bad input and safety ---------------------------------------------------------------------

class MeanColour:
    """A trivial test channel (mean RGB): lets the safety tests run without any model."""

    name, fingerprint = "mean", "mean-rgb"

    def embed(self, images, items):
        return np.stack([np.asarray(im, np.float32).mean((0, 1)) / 255 for im in images])


def _png_bytes(size=(64, 48), colour=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def test_zip_ingestion_refuses_escapes_bombs_and_junk(tmp_path, name):
    good = _png_bytes()
    zpath = tmp_path / "upload.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("holiday/IMG_0001.png", good)
        z.writestr("holiday/IMG_0002.png", _png_bytes(colour=(10, 200, 10)))
        z.writestr("copy_of_first.png", good)  # duplicate
        z.writestr("../escape.png", good)
        z.writestr("/etc/absolute.png", good)
        z.writestr("notes.txt", "hello")
        z.writestr("broken.jpg", b"\xff\xd8\xff\xe0 definitely not a jpeg")
        z.writestr("truncated.png", good[: len(good) // 2])
        z.writestr("bomb.png", b"\0" * 20_000_000)  # compresses ~1000:1
    dest = tmp_path / "out"
    sources, skipped = gal.extract_zip(zpath, dest)
    reasons = {s.key: s.reason for s in skipped}
    assert {s.key for s in sources} == {"holiday/IMG_0001.png", "holiday/IMG_0002.png", "copy_of_first.png",
                                        "broken.jpg", "truncated.png"}
    assert "escape" in reasons["../escape.png"] and "escape" in reasons["/etc/absolute.png"]
    assert "not an image" in reasons["notes.txt"]
    assert "bomb" in reasons["bomb.png"]
    assert not (tmp_path / "escape.png").exists()
    assert all(p.resolve().is_relative_to(dest.resolve()) for p in dest.rglob("*"))

    g = gal.index(name, sources, [MeanColour()], skipped)
    reasons = {s.key: s.reason for s in g.skipped}
    assert sorted(g.keys) == ["holiday/IMG_0001.png", "holiday/IMG_0002.png"]
    assert "duplicate of" in reasons["copy_of_first.png"]
    assert "corrupt" in reasons["truncated.png"] or "truncated" in reasons["truncated.png"]
    assert "not an image" in reasons["broken.jpg"] or "corrupt" in reasons["broken.jpg"]


def test_decompression_bomb_and_huge_images_are_refused(tmp_path):
    big = tmp_path / "huge.png"
    Image.new("1", (9000, 9000)).save(big)  # 81 MP of nothing: a few kB on disk
    with pytest.raises(ValueError, match="pixels"):
        gal.open_image(big)
    photo = tmp_path / "photo.jpg"
    Image.open(SKIMAGE / "chelsea.png").convert("RGB").resize((2400, 1600)).save(photo)
    im = gal.open_image(photo)
    assert max(im.size) <= gal.WORK_SIDE and im.mode == "RGB"


def test_empty_and_all_bad_uploads_say_why(tmp_path, name):
    zpath = tmp_path / "junk.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("readme.md", "no pictures here")
    with pytest.raises(ValueError, match="no images"):
        search_mod.index_upload([zpath], channels=[MeanColour()])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(ValueError, match="no images could be indexed"):
        gal.index(name, [gal.Source("bad.png", bad)], [MeanColour()])
    assert gal.read(name) is None  # nothing half-written
    not_zip = tmp_path / "fake.zip"
    not_zip.write_text("hello")
    with pytest.raises(ValueError, match="not a zip"):
        gal.extract_zip(not_zip, tmp_path / "x")


def test_folders_only_inside_allowed_roots(tmp_path, monkeypatch, photo_dir):
    monkeypatch.delenv(gal.ROOTS_ENV, raising=False)
    with pytest.raises(ValueError, match="off"):
        gal.collect_folder(photo_dir)
    monkeypatch.setenv(gal.ROOTS_ENV, str(photo_dir))
    sources, _ = gal.collect_folder(photo_dir)
    assert len(sources) == len(PHOTOS)
    g = search_mod.index_folder(str(photo_dir), channels=[MeanColour()])
    try:
        assert sorted(g.keys) == sorted(p.name for p in photo_dir.iterdir())
    finally:
        gal.delete(g.name)
    with pytest.raises(ValueError, match="outside"):
        gal.collect_folder(photo_dir.parent)
    with pytest.raises(ValueError, match="outside"):
        gal.collect_folder(str(photo_dir) + "/../..")
    outside = tmp_path / "secret.png"
    outside.write_bytes(_png_bytes())
    (photo_dir / "link.png").symlink_to(outside)
    _, skipped = gal.collect_folder(photo_dir)
    assert any(s.key == "link.png" and "outside" in s.reason for s in skipped)


def test_gallery_names_cannot_escape_and_uploads_are_separate(tmp_path):
    for bad in ("../etc", "/tmp/x", "u123", "shipped/../../x"):
        with pytest.raises(ValueError, match="unknown gallery"):
            gal.check_name(bad)
    assert gal.check_name("") == gal.SHIPPED
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "one.png").write_bytes(_png_bytes())
    a = search_mod.index_upload([folder / "one.png"], channels=[MeanColour()])
    b = search_mod.index_upload([folder / "one.png"], channels=[MeanColour()])
    try:
        assert a.name != b.name
        (folder / "two.png").write_bytes(_png_bytes(colour=(0, 0, 255)))
        a2 = search_mod.index_upload([folder / "two.png"], a.name, channels=[MeanColour()])
        assert sorted(a2.keys) == ["one.png", "two.png"]
        assert gal.read(b.name).keys == ["one.png"]
        with pytest.raises(ValueError, match="never the shipped"):
            search_mod.index_upload([folder / "two.png"], "shipped", channels=[MeanColour()])
    finally:
        gal.delete(a.name)
        gal.delete(b.name)
    meta = json.loads((gal.galleries_dir() / gal.SHIPPED / "meta.json").read_text()) \
        if (gal.galleries_dir() / gal.SHIPPED / "meta.json").exists() else {"items": []}
    assert all(not it["key"].startswith("one") for it in meta["items"])
