"""Image galleries on disk: safe ingestion, incremental embedding, a persisted vector index.

A gallery is a folder `cache_dir()/galleries/<name>/`:
    files/            images extracted from an upload (absent for the shipped gallery)
    thumbs/<n>.jpg    small previews, the only image files the app serves
    vec_<channel>.npy float32 [N, D] per channel, rows aligned with meta["items"]
    hnsw_<channel>.faiss  approximate index, only at GALLERY_APPROX_MIN_VECTORS items and above
    meta.json         items (`Item`: key, sha1, size, caption, tags...) and channel fingerprints; written last

Embedding is done by channels passed in (`Channel`: a name, a fingerprint of the model, and
embed(images, items) -> vectors, or vectors and display fields). Re-indexing reuses the vectors of unchanged files (same sha1)
and embeds only new or changed ones. Every write goes to a temporary file and is renamed into
place, meta.json last, so a crash leaves the previous index; a gallery whose files disagree
with its meta is treated as corrupt and rebuilt from its sources.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import threading
import uuid
import zipfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Protocol

import numpy as np
from PIL import Image

from core import config

FORMAT_VERSION = 1
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
SHIPPED = "shipped"
WORK_SIDE = 768  # images are decoded no larger than this on their long side (JPEG draft mode)
THUMB_SIDE = 320
ROOTS_ENV = "NLP_STUDIO_IMAGE_ROOTS"  # folders the server may index by path, separated by os.pathsep
_NAME_RE = re.compile(r"^(shipped|u[0-9a-f]{16})$")

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Item:
    """One indexed image, as meta.json stores it (one JSON object per item, these fields by name).

    `path` is where the image was read (the user's file name is `key`); `thumb` the preview's file
    name under thumbs/; `tags` the tagger's top labels as (label, ImageNet index, probability).
    """

    key: str
    sha1: str = ""
    path: str = ""
    caption: str = ""
    origin: str = ""
    licence: str = ""
    thumb: str = ""
    width: int = 0
    height: int = 0
    tags: tuple[tuple[str, int, float], ...] = ()

    def __post_init__(self) -> None:
        # JSON gives lists: kept as tuples so items compare, hash and stay read-only.
        object.__setattr__(self, "tags", tuple((str(t[0]), int(t[1]), float(t[2])) for t in self.tags))

    def to_json(self) -> dict[str, Any]:
        """The item as meta.json holds it (every field; tags as lists), readable by older versions."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["tags"] = [list(t) for t in self.tags]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        """An item from meta.json, old or new: fields it lacks take their defaults, others are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class Channel(Protocol):
    """One way of embedding images. `fingerprint` changes when the model does (forces re-embedding)."""

    name: str
    fingerprint: str

    def embed(self, images: list[Image.Image], items: list[Item]) -> np.ndarray | tuple[np.ndarray, list[dict]]:
        """float32 [N, D] for N images; or (vectors, fields) where the channel also describes each
        image: fields[i] are `Item` fields to set on item i (the tag channel's "tags")."""
        ...


def embedded(out: np.ndarray | tuple[np.ndarray, list[dict]], n: int) -> tuple[np.ndarray, list[dict]]:
    """A channel's `embed` result as (vectors [n, D], one dict of item fields per image)."""
    if isinstance(out, tuple):
        return out
    return out, [{} for _ in range(n)]


@dataclass(frozen=True)
class Source:
    """One image to index: `key` is its file name as the user had it (relative path in a zip/folder)."""

    key: str
    path: Path
    caption: str = ""
    origin: str = ""
    licence: str = ""


@dataclass(frozen=True)
class Skipped:
    key: str
    reason: str


@dataclass
class Gallery:
    """A loaded gallery: items and one vector matrix per channel (rows aligned with items)."""

    name: str
    root: Path
    items: list[Item]
    vectors: dict[str, np.ndarray]  # channel -> float32 [N, D]
    fingerprints: dict[str, str]
    skipped: list[Skipped] = field(default_factory=list)
    _indexes: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def keys(self) -> list[str]:
        return [it.key for it in self.items]

    def thumb_path(self, i: int) -> Path:
        return self.root / "thumbs" / self.items[i].thumb

    def approximate(self, channel: str) -> bool:
        return len(self) >= config.GALLERY_APPROX_MIN_VECTORS or (self.ivf_dir(channel) / "manifest.json").is_file()

    def ivf_dir(self, channel: str) -> Path:
        """Where the sharded IVF index of `channel` lives when one was built (core.scale)."""
        return self.root / f"ivf_{_safe(channel)}"

    def search(self, channel: str, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k rows of one channel by inner product with `query` [D]: (scores [k'], rows [k']).

        Exact (a matrix product) below GALLERY_APPROX_MIN_VECTORS items, else the sharded IVF index
        when the Ray indexer wrote one (memory-mapped, core.scale), else an HNSW graph built once
        per process from the stored vectors.
        """
        mat = self.vectors[channel]
        k = min(k, len(mat))
        if k == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        if not self.approximate(channel):
            scores = mat @ q[0]
            rows = np.argpartition(-scores, k - 1)[:k]
            rows = rows[np.argsort(-scores[rows])]
            return scores[rows], rows
        index = self._indexes.get(channel)
        if index is None and (self.ivf_dir(channel) / "manifest.json").is_file():
            from core.scale.shards import open_index

            index = open_index(self.ivf_dir(channel), len(mat), _meta_digest(self.root, channel))
        if index is None:
            index = _read_hnsw(self.root / f"hnsw_{_safe(channel)}.faiss", len(mat))
            if index is None:  # not saved yet (or damaged): build it now, once per process
                index = build_hnsw(mat)
        self._indexes[channel] = index
        if getattr(getattr(index, "manifest", None), "pq", False):
            from core.scale.shards import search_reranked

            # PQ codes rank roughly: take 4x the candidates and score them exactly from the stored
            # vectors (recall@10 0.86 -> 0.96 at 1M in bench_gallery_scale, +1 ms).
            scores, rows = search_reranked(index, mat, q, k, pool=4 * k)
        else:
            scores, rows = index.search(q, k)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep].astype(np.int64)


def build_hnsw(mat: np.ndarray, m: int = 32, ef_search: int = 64):
    """An HNSW inner-product index over `mat` [N, D] (faiss); no training, adds are incremental."""
    import faiss

    index = faiss.IndexHNSWFlat(mat.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 64
    index.hnsw.efSearch = ef_search
    index.add(np.ascontiguousarray(mat, dtype=np.float32))
    return index


def _meta_digest(root: Path, channel: str) -> str | None:
    try:
        return json.loads((root / "meta.json").read_text())["channels"][channel]["digest"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_hnsw(path: Path, n: int):
    """A saved HNSW index if it is readable and holds exactly `n` vectors, else None."""
    import faiss

    if not path.is_file():
        return None
    try:
        index = faiss.read_index(str(path))
    except RuntimeError:
        return None
    return index if index.ntotal == n else None


def _write_hnsw(path: Path, mat: np.ndarray) -> None:
    import faiss

    index = build_hnsw(mat)
    _atomic_write(path, lambda tmp: faiss.write_index(index, str(tmp)))


# --- names and places -----------------------------------------------------------------------

def galleries_dir() -> Path:
    path = config.cache_dir() / "galleries"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_name(name: str) -> str:
    """A gallery name from the user: empty means the shipped gallery. Refuses anything else odd."""
    name = (name or "").strip() or SHIPPED
    if not _NAME_RE.match(name):
        raise ValueError(f"unknown gallery {name!r}: use a name returned by index_images, or leave it "
                         "empty for the shipped gallery")
    return name


def new_name() -> str:
    """A fresh, unguessable name for one user's upload (so no upload can touch another's gallery)."""
    return "u" + uuid.uuid4().hex[:16]


def allowed_roots() -> list[Path]:
    """Folders the server lets users index by path (NLP_STUDIO_IMAGE_ROOTS); none by default."""
    raw = os.environ.get(ROOTS_ENV, "")
    return [Path(p).resolve() for p in raw.split(os.pathsep) if p.strip()]


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_loaded: dict[str, tuple[float, Gallery]] = {}


def _lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


# --- reading images safely ------------------------------------------------------------------

def open_image(path: Path, max_side: int = WORK_SIDE) -> Image.Image:
    """An RGB image no larger than `max_side`, or ValueError saying why the file is unusable.

    The header is checked before any pixel is decoded: files over GALLERY_MAX_IMAGE_BYTES or
    GALLERY_MAX_MEGAPIXELS (decompression bombs included) are refused; JPEGs decode at reduced
    scale; a corrupt or truncated file is reported, never half-read.
    """
    from core.image_search.tagger import to_rgb

    size = path.stat().st_size
    if size > config.GALLERY_MAX_IMAGE_BYTES:
        raise ValueError(f"file too large ({size / 1e6:.0f} MB > {config.GALLERY_MAX_IMAGE_BYTES / 1e6:.0f} MB)")
    if size == 0:
        raise ValueError("empty file")
    try:
        with Image.open(path) as probe:
            w, h = probe.size
            fmt = probe.format
    except Image.DecompressionBombError:
        raise ValueError("refused: a decompression bomb (absurd pixel count)") from None
    except Exception:  # noqa: BLE001 - PIL raises many types for non-images
        raise ValueError("not an image PIL can read") from None
    megapixels = w * h / 1e6
    if megapixels > config.GALLERY_MAX_MEGAPIXELS:
        raise ValueError(f"too many pixels ({w}x{h} = {megapixels:.0f} MP > "
                         f"{config.GALLERY_MAX_MEGAPIXELS:.0f} MP; possibly a decompression bomb)")
    try:
        with Image.open(path) as im:
            if fmt == "JPEG":
                im.draft("RGB", (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale
            im.seek(0)
            im.load()
            im = to_rgb(im)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"corrupt or truncated image ({type(exc).__name__})") from None
    im.thumbnail((max_side, max_side), Image.BICUBIC)
    return im


def sha1_file(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- collecting sources: zip, folder, files ---------------------------------------------------

def _safe_member(name: str) -> PurePosixPath | None:
    """The member's relative path if it stays inside the zip's folder, else None."""
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or any(part in ("..", "") for part in p.parts) or re.match(r"^[A-Za-z]:", name):
        return None
    return p


def extract_zip(zip_path: Path, dest: Path) -> tuple[list[Source], list[Skipped]]:
    """Images from a zip into `dest`, refusing path escapes, links, bombs and non-images.

    Nothing is written outside `dest`; members are read with a byte cap, never trusted sizes alone.
    """
    zip_path = Path(zip_path)
    if zip_path.stat().st_size > config.GALLERY_MAX_UPLOAD_BYTES:
        raise ValueError(f"the zip is {zip_path.stat().st_size / 1e6:.0f} MB; the limit is "
                         f"{config.GALLERY_MAX_UPLOAD_BYTES / 1e6:.0f} MB (NLP_STUDIO_GALLERY_MAX_UPLOAD_BYTES)")
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
        raise ValueError("that file is not a zip archive; upload a .zip of images") from None
    sources, skipped = [], []
    total = 0
    dest.mkdir(parents=True, exist_ok=True)
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            rel = _safe_member(info.filename)
            if rel is None:
                skipped.append(Skipped(info.filename, "path escapes the zip's folder; not extracted"))
                continue
            if rel.parts[0] == "__MACOSX" or rel.name.startswith("."):
                continue  # macOS resource forks and hidden files: not the user's images
            if stat.S_ISLNK(info.external_attr >> 16):
                skipped.append(Skipped(str(rel), "symbolic link; not followed"))
                continue
            if rel.suffix.lower() not in IMAGE_EXTENSIONS:
                skipped.append(Skipped(str(rel), f"not an image file ({rel.suffix or 'no extension'})"))
                continue
            if len(sources) >= config.GALLERY_MAX_IMAGES:
                skipped.append(Skipped(str(rel), f"over the limit of {config.GALLERY_MAX_IMAGES} images per upload"))
                continue
            if info.file_size > config.GALLERY_MAX_IMAGE_BYTES or (
                    info.compress_size and info.file_size / info.compress_size > config.GALLERY_MAX_ZIP_RATIO):
                skipped.append(Skipped(str(rel), "refused: too large once unzipped (zip bomb?)"))
                continue
            if total + info.file_size > config.GALLERY_MAX_UNZIPPED_BYTES:
                skipped.append(Skipped(str(rel), "over the total unzipped size limit"))
                continue
            target = dest / f"{len(sources):05d}{rel.suffix.lower()}"
            cap = config.GALLERY_MAX_IMAGE_BYTES + 1
            try:
                with archive.open(info) as src, open(target, "wb") as out:
                    data = src.read(cap)  # the declared size can lie: never read more than the cap
                    out.write(data)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                target.unlink(missing_ok=True)
                skipped.append(Skipped(str(rel), f"damaged zip entry ({type(exc).__name__})"))
                continue
            if len(data) >= cap:
                target.unlink(missing_ok=True)
                skipped.append(Skipped(str(rel), "refused: larger than declared (zip bomb?)"))
                continue
            total += len(data)
            sources.append(Source(str(rel), target))
    return sources, skipped


def collect_folder(folder: str | Path, roots: list[Path] | None = None,
                   limit: int | None = None) -> tuple[list[Source], list[Skipped]]:
    """Images under a server folder, only inside `roots` (default NLP_STUDIO_IMAGE_ROOTS, for web
    users; the host's own command line passes the folder itself); symlinks out are refused."""
    roots = [Path(r).resolve() for r in roots] if roots is not None else allowed_roots()
    limit = limit or config.GALLERY_MAX_IMAGES
    if not roots:
        raise ValueError(f"indexing a server folder by path is off; the host can allow folders with "
                         f"{ROOTS_ENV}=/path/one{os.pathsep}/path/two. Upload a zip instead.")
    base = Path(folder).expanduser().resolve()
    if not any(base == r or base.is_relative_to(r) for r in roots):
        raise ValueError(f"{folder} is outside the folders this server allows ({', '.join(map(str, roots))})")
    if not base.is_dir():
        raise ValueError(f"{folder} is not a folder")
    sources, skipped = [], []
    for path in sorted(base.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        rel = path.relative_to(base).as_posix()
        real = path.resolve()
        if not any(real.is_relative_to(r) for r in roots):
            skipped.append(Skipped(rel, "link to a file outside the allowed folders; not read"))
            continue
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append(Skipped(rel, f"not an image file ({path.suffix or 'no extension'})"))
            continue
        if len(sources) >= limit:
            skipped.append(Skipped(rel, f"over the limit of {limit} images"))
            continue
        sources.append(Source(rel, real))
    return sources, skipped


def copy_files(paths: list[str | Path], dest: Path) -> tuple[list[Source], list[Skipped]]:
    """Uploaded loose files (already in the web server's temp folder) copied into `dest`."""
    sources, skipped = [], []
    dest.mkdir(parents=True, exist_ok=True)
    total = 0
    for i, p in enumerate(paths):
        p = Path(p)
        if p.suffix.lower() == ".zip":
            s, k = extract_zip(p, dest / f"zip{i:03d}")
            sources += s
            skipped += k
            continue
        if p.suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append(Skipped(p.name, f"not an image file ({p.suffix or 'no extension'})"))
            continue
        total += p.stat().st_size
        if total > config.GALLERY_MAX_UPLOAD_BYTES or len(sources) >= config.GALLERY_MAX_IMAGES:
            skipped.append(Skipped(p.name, "over the upload limit"))
            continue
        target = dest / f"f{i:05d}{p.suffix.lower()}"
        shutil.copyfile(p, target)
        sources.append(Source(p.name, target))
    return sources, skipped


# --- building, saving, loading ----------------------------------------------------------------

def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.{threading.get_ident()}")
    write(tmp)
    os.replace(tmp, path)


def _save_npy(path: Path, arr: np.ndarray) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            np.save(f, arr)
    _atomic_write(path, write)


def digest(arr: np.ndarray) -> str:
    """sha1 of the matrix's bytes, hashed in row blocks so a memory-mapped one is never copied whole."""
    h = hashlib.sha1()
    for start in range(0, len(arr), 65_536):
        h.update(np.ascontiguousarray(arr[start:start + 65_536]).data)
    return h.hexdigest()[:16]


def thumbnail_jpeg(image: Image.Image) -> bytes:
    """The JPEG bytes of an image's preview (THUMB_SIDE on its long side)."""
    import io

    th = image.copy()
    th.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.BICUBIC)
    buf = io.BytesIO()
    th.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def save(gallery: Gallery, hnsw: bool = True) -> None:
    """Vectors first, then meta.json (which names their digests): a crash leaves an index that
    `load` detects as inconsistent and rebuilds, never one that silently mismatches. `hnsw=False`
    when the caller writes its own approximate index (the Ray indexer's IVF shards)."""
    gallery.root.mkdir(parents=True, exist_ok=True)
    digests = {}
    for ch, mat in gallery.vectors.items():
        _save_npy(gallery.root / f"vec_{_safe(ch)}.npy", mat)
        digests[ch] = digest(mat)
        graph = gallery.root / f"hnsw_{_safe(ch)}.faiss"
        if hnsw:  # this writer owns the approximate index: any IVF shards left are stale
            shutil.rmtree(gallery.ivf_dir(ch), ignore_errors=True)
        if hnsw and len(gallery) >= config.GALLERY_APPROX_MIN_VECTORS:
            _write_hnsw(graph, mat)  # built at index time, so the first query does not wait for it
        else:
            graph.unlink(missing_ok=True)
    meta = {"version": FORMAT_VERSION, "name": gallery.name, "items": [it.to_json() for it in gallery.items],
            "channels": {ch: {"fingerprint": gallery.fingerprints[ch], "digest": digests[ch],
                              "dim": int(gallery.vectors[ch].shape[1])} for ch in gallery.vectors},
            "skipped": [[s.key, s.reason] for s in gallery.skipped]}
    _atomic_write(gallery.root / "meta.json", lambda tmp: tmp.write_text(json.dumps(meta)))


def _safe(channel: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", channel)


def read(name: str) -> Gallery | None:
    """The saved gallery `name`, or None when absent or inconsistent (then it must be rebuilt)."""
    root = galleries_dir() / check_name(name)
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("version") != FORMAT_VERSION:
            return None
        items = [Item.from_json(it) for it in meta["items"]]
        vectors, fingerprints = {}, {}
        for ch, info in meta["channels"].items():
            path = root / f"vec_{_safe(ch)}.npy"
            # A big gallery's vectors are memory-mapped: pages shared by every process, not copied.
            mmap = "r" if path.stat().st_size > 256_000_000 else None
            mat = np.load(path, allow_pickle=False, mmap_mode=mmap)
            if mat.shape != (len(items), info["dim"]) or digest(mat) != info["digest"]:
                return None
            vectors[ch] = mat.astype(np.float32, copy=False)
            fingerprints[ch] = info["fingerprint"]
        skipped = [Skipped(k, r) for k, r in meta.get("skipped", [])]
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None
    return Gallery(name, root, items, vectors, fingerprints, skipped)


def load(name: str) -> Gallery | None:
    """Like `read`, cached per process until meta.json changes."""
    name = check_name(name)
    meta_path = galleries_dir() / name / "meta.json"
    try:
        mtime = meta_path.stat().st_mtime_ns
    except OSError:
        return None
    hit = _loaded.get(name)
    if hit and hit[0] == mtime:
        return hit[1]
    gallery = read(name)
    if gallery is not None:
        _loaded[name] = (mtime, gallery)
    return gallery


def index(name: str, sources: list[Source], channels: list[Channel], skipped: list[Skipped] = (),
          progress: Progress | None = None, batch_size: int = 16, keep_missing: bool = False) -> Gallery:
    """Bring gallery `name` up to date with `sources` for `channels`; returns it saved.

    Unchanged sources (same key and sha1) keep their vectors for each channel whose fingerprint
    matches; new or changed ones are decoded and embedded in batches. Sources no longer given
    are dropped unless `keep_missing` (adding files to a gallery). Duplicates and unreadable
    files are skipped with a reason. Raises ValueError if nothing at all can be indexed.
    """
    name = check_name(name)
    progress = progress or (lambda frac, msg: None)
    with _lock(name):
        root = galleries_dir() / name
        (root / "thumbs").mkdir(parents=True, exist_ok=True)
        old = read(name)
        if old is None and (root / "meta.json").exists():
            progress(0.0, "the saved index was damaged or from another version: rebuilding it")
        old_rows = {it.key: (i, it) for i, it in enumerate(old.items)} if old else {}
        skipped = list(skipped)
        items, rows_old, todo = [], [], []
        seen: dict[str, str] = {}
        if keep_missing and old:
            for it in old.items:
                seen[it.sha1] = it.key
        given = {s.key for s in sources}
        for src in sources:
            try:
                digest = sha1_file(src.path)
            except OSError as exc:
                skipped.append(Skipped(src.key, f"cannot read ({exc.strerror or exc})"))
                continue
            prev = old_rows.get(src.key)
            if digest in seen and seen[digest] != src.key:
                skipped.append(Skipped(src.key, f"duplicate of {seen[digest]}"))
                continue
            seen[digest] = src.key
            given_fields = {"path": str(src.path), "caption": src.caption, "origin": src.origin,
                            "licence": src.licence}
            if prev and prev[1].sha1 == digest:
                items.append(replace(prev[1], **{k: v for k, v in given_fields.items() if v}))
                rows_old.append(prev[0])
            else:
                items.append(Item(src.key, digest, **given_fields))
                rows_old.append(-1)
                todo.append(len(items) - 1)
        if keep_missing and old:
            for key, (i, it) in old_rows.items():
                if key not in given:
                    items.append(it)
                    rows_old.append(i)

        vectors: dict[str, np.ndarray] = {}
        need: dict[str, list[int]] = {}
        for ch in channels:
            same = old is not None and old.fingerprints.get(ch.name) == ch.fingerprint
            need[ch.name] = [i for i, r in enumerate(rows_old) if r < 0 or not same]
        work = sorted(set().union(*need.values())) if need else []
        done_vectors: dict[str, dict[int, np.ndarray]] = {ch.name: {} for ch in channels}
        bad: set[int] = set()
        for start in range(0, len(work), batch_size):
            batch = work[start:start + batch_size]
            images, ok = [], []
            for i in batch:
                try:
                    images.append(open_image(Path(items[i].path)))
                    ok.append(i)
                except (ValueError, OSError) as exc:
                    skipped.append(Skipped(items[i].key, str(exc)))
                    bad.add(i)
            for i, im in zip(ok, images):
                if not items[i].thumb or rows_old[i] < 0:
                    with Image.open(items[i].path) as header:
                        width, height = header.size
                    items[i] = replace(items[i], thumb=f"{items[i].sha1[:20]}.jpg", width=width, height=height)
                    data = thumbnail_jpeg(im)
                    _atomic_write(root / "thumbs" / items[i].thumb, lambda tmp, data=data: tmp.write_bytes(data))
            for ch in channels:
                wanted = set(need[ch.name])
                sel = [j for j, i in enumerate(ok) if i in wanted]
                if not sel:
                    continue
                vec, described = embedded(ch.embed([images[j] for j in sel], [items[ok[j]] for j in sel]), len(sel))
                for j, v, extra in zip(sel, vec, described):
                    done_vectors[ch.name][ok[j]] = v
                    if extra:
                        items[ok[j]] = replace(items[ok[j]], **extra)
            progress(min(start + batch_size, len(work)) / max(len(work), 1),
                     f"embedded {min(start + batch_size, len(work))}/{len(work)} new or changed images")

        keep = [i for i in range(len(items)) if i not in bad]
        if not keep:
            reasons = "; ".join(f"{s.key}: {s.reason}" for s in skipped[:5]) or "no image files given"
            raise ValueError(f"no images could be indexed ({reasons})")
        for ch in channels:
            rows = []
            for i in keep:
                if i in done_vectors[ch.name]:
                    rows.append(done_vectors[ch.name][i])
                else:
                    rows.append(old.vectors[ch.name][rows_old[i]])
            vectors[ch.name] = np.stack(rows).astype(np.float32)
        gallery = Gallery(name, root, [items[i] for i in keep], vectors,
                          {ch.name: ch.fingerprint for ch in channels}, skipped)
        save(gallery)
        _loaded.pop(name, None)
        progress(1.0, f"{len(gallery)} images indexed, {len(skipped)} skipped")
        return gallery


def delete(name: str) -> None:
    """Remove a user's gallery (never the shipped one)."""
    name = check_name(name)
    if name == SHIPPED:
        raise ValueError("the shipped gallery cannot be deleted")
    with _lock(name):
        shutil.rmtree(galleries_dir() / name, ignore_errors=True)
        _loaded.pop(name, None)
