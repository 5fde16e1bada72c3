"""Image search over a gallery through three channels, each with its own score and weight.

- "tags": the EfficientNet-Lite0 ImageNet classifier tags each image; an image's tag vector is
  sum_j p_j * (e(label_j) - mean_e) over its top TAG_K labels, with e() the MiniLM embedding of a
  label's names and mean_e the mean over all 1,000 labels. A query's score q . v is then the
  probability-weighted similarity of the query to the image's labels, minus its similarity to
  an average label (so any two phrases' baseline similarity does not favour confident images).
  It needs no caption and no file name.
- "text": MiniLM embedding of the caption plus the words of the file name (zero when neither
  says anything, e.g. IMG_0412.jpg without a caption).
- "clip:<model>": open_clip image embeddings, when CLIP weights are on the machine.

Queries are arithmetic of text and an example image: "horse + stripes - grass", image - text.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from core import config, models
from core.image_search import gallery as gal

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "gallery" / "captions.json"
TAGGER_KEY = "efficientnet-lite0"
CLIP_KEY = "clip-vit-b-32"
TAG_K = 10  # labels per image that enter its tag vector
SHOW_TAGS = 5
DEFAULT_WEIGHTS = {"clip": 1.0, "tags": 1.0, "text": 0.5}
# Words that start a spoken request but say nothing about the picture.
_FILLER = re.compile(r"^\s*(please\s+)?(can you\s+|could you\s+)?(show me|find( me)?|search for|look for|"
                     r"get me|give me|(which|what|what's|whats|what is the)\s+(picture|image|photo)s?\s+(shows?|has|have|contains?|is|with)|"
                     r"is there|are there|do you have)\s+", re.I)
_CAMERA_WORDS = {"img", "dsc", "dscn", "dscf", "pxl", "image", "photo", "pic", "picture", "screenshot",
                 "scan", "copy", "edited", "jpg", "jpeg", "png", "mvimg", "wp", "whatsapp",
                 "dcim", "apple", "android", "dji", "gopr", "untitled", "file", "download", "downloads"}


# --- encoders --------------------------------------------------------------------------------

def encode_text(texts: list[str]) -> np.ndarray:
    """MiniLM sentence vectors, float32 [N, 384], unit length (the lead's core.embeddings.sentences)."""
    from core.embeddings.sentences import encode

    return encode(list(texts))


@lru_cache(maxsize=1)
def label_vectors() -> np.ndarray:
    """MiniLM embeddings of the 1,000 ImageNet label descriptions, float32 [1000, 384]."""
    from core.image_search.tagger import label_names

    _, descriptions = label_names()
    return encode_text(descriptions)


def file_words(key: str) -> str:
    """The words a file name says: "dogs/my_dog-2.jpg" -> "dogs my dog"; "IMG_0412.jpg" -> ""."""
    stem = re.sub(r"\.[A-Za-z0-9]{2,5}$", "", key)
    words = re.split(r"[^A-Za-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", stem))
    return " ".join(w.lower() for w in words if len(w) > 1 and w.lower() not in _CAMERA_WORDS)


class TagChannel:
    """Tags from the offline ImageNet classifier; vectors live in MiniLM space."""

    name = "tags"

    def __init__(self, tagger=None):
        self.tagger = tagger or models.get(TAGGER_KEY)
        self.fingerprint = f"{TAGGER_KEY}/top{TAG_K}/minilm-centred"

    def embed(self, images: list[Image.Image], items: list[gal.Item]) -> tuple[np.ndarray, list[dict]]:
        """The tag vectors, and each image's top tags as its items' "tags" field."""
        from core.image_search.tagger import classify

        probs = classify(self.tagger, images)
        return tag_vectors(self.tagger, probs), [{"tags": shown_tags(self.tagger, p)} for p in probs]


def tag_vectors(tagger, probs: np.ndarray) -> np.ndarray:
    """[N, 384] tag vectors from class probabilities [N, 1000]."""
    labels = label_vectors()
    labels = labels - labels.mean(axis=0)
    out = np.zeros((len(probs), labels.shape[1]), np.float32)
    for i, p in enumerate(probs):
        top = np.argsort(-p)[:TAG_K]
        out[i] = p[top] @ labels[top]
    return out


def shown_tags(tagger, probs: np.ndarray) -> tuple[tuple[str, int, float], ...]:
    """The SHOW_TAGS labels an item displays, from its class probabilities [1000]: (label, index, prob)."""
    from core.image_search.tagger import top_tags

    return tuple((t.label, t.index, round(t.prob, 4)) for t in top_tags(tagger, probs, SHOW_TAGS))


class TextChannel:
    """Caption and file-name words through MiniLM."""

    name = "text"
    fingerprint = "minilm/caption+filename"

    def embed(self, images: list[Image.Image], items: list[gal.Item]) -> np.ndarray:
        texts = [". ".join(t for t in (it.caption, file_words(it.key)) if t) for it in items]
        out = np.zeros((len(items), 384), np.float32)
        said = [i for i, t in enumerate(texts) if t]
        if said:
            out[said] = encode_text([texts[i] for i in said])
        return out


class ClipChannel:
    """open_clip image embeddings. Only built from real weights in the app (see core.image_search.clip)."""

    def __init__(self, clip):
        self.clip = clip
        self.name = f"clip:{clip.name}"
        self.fingerprint = clip.name

    def embed(self, images: list[Image.Image], items: list[gal.Item]) -> np.ndarray:
        return self.clip.encode_images(images)


CLIP_ENV = "NLP_STUDIO_CLIP_MODEL"  # "registry-key" or open_clip "Name:pretrained", e.g. ViT-B-16:laion2b_s34b_b88k
_named: dict[str, object] = {}
_named_lock = threading.Lock()


def clip_status(key: str | None = None) -> tuple[object | None, str]:
    """(the loaded CLIP model, "") if its weights are here, else (None, how to get them).

    The model is `key`, else $NLP_STUDIO_CLIP_MODEL, else clip-vit-b-32. A value with a colon
    is any open_clip model by name and pretrained tag (from the Hugging Face cache)."""
    import os

    key = key or os.environ.get(CLIP_ENV, "").strip() or CLIP_KEY
    if ":" in key:
        with _named_lock:
            if key not in _named:
                from core.image_search.clip import load_named
                from core.device import get_device

                name, _, tag = key.partition(":")
                try:
                    _named[key] = load_named(name, tag, get_device())
                except ValueError as exc:  # remembered: no retry on every query
                    _named[key] = f"CLIP is off: {exc} The tag and text channels work without it."
            hit = _named[key]
            return (None, hit) if isinstance(hit, str) else (hit, "")
    try:
        spec = models.get_spec(key)
        models.locate(key)  # optional channel: a search never waits on a 605 MB download (a Space preloads it)
    except models.ModelMissingError:
        return None, (f"CLIP is off: its weights are not on this machine. Get them once with "
                      f"`python -m core.download {key}` (needs internet) or set {spec.env_var}. "
                      "The tag and text channels work without it.")
    return models.get(key), ""


def offline_channels() -> list:
    return [TagChannel(), TextChannel()]


def default_channels() -> list:
    """Tags and text always; CLIP too when its weights are on this machine."""
    channels = offline_channels()
    clip, _ = clip_status()
    if clip is not None:
        channels.append(ClipChannel(clip))
    return channels


# --- the shipped gallery ---------------------------------------------------------------------

def shipped_sources() -> list[gal.Source]:
    """The photos bundled in scikit-image, scikit-learn and matplotlib, with captions from assets/."""
    import importlib.util

    entries = json.loads(ASSETS.read_text())["items"]
    out = []
    for e in entries:
        package, _, inner = e["source"].partition(":")
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        path = (Path(list(spec.submodule_search_locations)[0]) / inner).resolve()  # not via a linked venv
        if path.is_file():
            out.append(gal.Source(e["key"], path, e["caption"], e["origin"], e["licence"]))
    return out


_shipped_lock = threading.Lock()


def get_gallery(name: str = "", channels: list | None = None, progress=None) -> gal.Gallery:
    """A gallery by name ("" = shipped). The shipped one is built (or completed, e.g. with CLIP
    once it is downloaded, or rebuilt if damaged) on first use; a user's must exist."""
    name = gal.check_name(name)
    if name != gal.SHIPPED:
        g = gal.load(name)
        if g is None:
            raise ValueError(f"gallery {name} does not exist on this server (or was damaged): upload it again")
        return g
    with _shipped_lock:
        channels = channels if channels is not None else default_channels()
        g = gal.load(name)
        # A moved environment (another virtualenv, a worktree removed) leaves items pointing at
        # files that are gone: re-index, which reuses every unchanged file's vectors (same sha1).
        if (g is None or any(g.fingerprints.get(c.name) != c.fingerprint for c in channels)
                or any(not Path(it.path).is_file() for it in g.items)):
            g = gal.index(name, shipped_sources(), channels, progress=progress)
        return g


def index_upload(paths: list[str | Path], name: str | None = None, channels: list | None = None,
                 progress=None) -> gal.Gallery:
    """Index uploaded files or zips into a user gallery: a new one, or `name` (adds, incrementally)."""
    name = gal.check_name(name) if name else gal.new_name()
    if name == gal.SHIPPED:
        raise ValueError("uploads go into a gallery of your own, never the shipped one")
    if not paths:
        raise ValueError("no files given: upload a .zip of images or some image files")
    root = gal.galleries_dir() / name / "files"
    batch = root / gal.new_name()
    sources, skipped = gal.copy_files(paths, batch)
    if not sources:
        reasons = "; ".join(f"{s.key}: {s.reason}" for s in skipped[:5])
        shutil_rm(batch)
        raise ValueError(f"no images found in the upload ({reasons or 'it was empty'})")
    return gal.index(name, sources, channels if channels is not None else default_channels(),
                     skipped, progress, keep_missing=True)


def index_folder(folder: str, name: str | None = None, channels: list | None = None, progress=None) -> gal.Gallery:
    """Index a server folder (only inside NLP_STUDIO_IMAGE_ROOTS) into a user gallery; files stay in place."""
    name = gal.check_name(name) if name else gal.new_name()
    if name == gal.SHIPPED:
        raise ValueError("folders go into a gallery of your own, never the shipped one")
    sources, skipped = gal.collect_folder(folder)
    if not sources:
        raise ValueError(f"no images in {folder}")
    return gal.index(name, sources, channels if channels is not None else default_channels(),
                     skipped, progress, keep_missing=True)


def shutil_rm(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# --- queries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    sign: float  # +1 or -1
    text: str = ""
    image: Image.Image | None = field(default=None, compare=False)


def clean_query(text: str) -> str:
    """A spoken request without its opening words: "Show me the rocket." -> "the rocket"."""
    text = " ".join((text or "").split()).strip(" ?.!")
    # ASR often adds a stray preposition: "which picture shows in the animal".
    cleaned = re.sub(r"^(in|of|on|me|us)\s+(?=\S)", "", _FILLER.sub("", text), flags=re.I)
    return cleaned.strip(" ?.!") or text


def parse_query(text: str, image: Image.Image | None = None, image_sign: float = 1.0) -> list[Term]:
    """Terms of "a + b - c" (operators need spaces around them, so "t-shirt" stays one word),
    plus an optional example image added (image_sign +1) or subtracted (-1)."""
    text = (text or "").strip()
    if len(text) > config.IMAGE_SEARCH_MAX_QUERY_CHARS:
        raise ValueError(f"the query is {len(text)} characters; the limit is {config.IMAGE_SEARCH_MAX_QUERY_CHARS}")
    terms = []
    if text:
        parts = re.split(r"(?:^|\s)([+-])\s", " " + text if text[0] in "+-" else text)
        sign = 1.0
        if parts and parts[0].strip():
            terms.append(Term(1.0, clean_query(parts[0])))
        for op, chunk in zip(parts[1::2], parts[2::2]):
            sign = 1.0 if op == "+" else -1.0
            if chunk.strip():
                terms.append(Term(sign, clean_query(chunk)))
    if image is not None:
        terms.append(Term(1.0 if image_sign >= 0 else -1.0, "", image))
    if not terms:
        raise ValueError("type, say or upload something to search for (e.g. 'a cat' or 'horse + stripes')")
    return terms


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return (v / n).astype(np.float32) if n > 1e-8 else v.astype(np.float32)


def query_vectors(terms: list[Term], channel_names: list[str], clip=None, tagger=None) -> dict[str, np.ndarray]:
    """One unit query vector per channel: the signed sum of its terms' vectors.

    Text terms: MiniLM for tags/text, CLIP's text tower for clip. Image terms: the image's tag
    vector for tags/text (MiniLM space), CLIP's image tower for clip.
    """
    texts = [t.text for t in terms if t.image is None]
    images = [t.image for t in terms if t.image is not None]
    mini = dict(zip(texts, encode_text(texts))) if texts else {}
    img_tag = {}
    if images and any(c in ("tags", "text") for c in channel_names):
        from core.image_search.tagger import classify

        tagger = tagger or models.get(TAGGER_KEY)
        for t, v in zip(images, tag_vectors(tagger, classify(tagger, images))):
            img_tag[id(t)] = _unit(v)
    out = {}
    for ch in channel_names:
        if ch.startswith("clip:"):
            if clip is None:
                continue
            txt = dict(zip(texts, clip.encode_text(texts))) if texts else {}
            ims = dict(zip([id(i) for i in images], clip.encode_images(images))) if images else {}
            v = sum(t.sign * (ims[id(t.image)] if t.image is not None else txt[t.text]) for t in terms)
        else:
            v = sum(t.sign * (img_tag[id(t.image)] if t.image is not None else mini[t.text]) for t in terms)
        out[ch] = _unit(np.asarray(v, np.float32))
    return out


# --- search ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    rank: int
    key: str  # file name as it was in the folder or zip
    score: float  # weighted sum of the channel scores
    scores: dict[str, float]  # channel -> cosine-like score
    tags: list[tuple[str, float]]  # top ImageNet labels with probabilities
    caption: str
    row: int  # row in the gallery (for thumbnails and heatmaps)

    def as_dict(self) -> dict:
        return {"rank": self.rank, "file": self.key, "score": round(self.score, 4),
                "scores": {k: round(v, 4) for k, v in self.scores.items()},
                "tags": [{"label": l, "prob": round(p, 4)} for l, p in self.tags], "caption": self.caption}


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    query: str  # the query as understood (after removing filler words)
    channels: dict[str, float]  # channel -> weight used
    approximate: bool
    notes: list[str]  # e.g. "CLIP is off: ..."


def channel_kind(name: str) -> str:
    return "clip" if name.startswith("clip:") else name


def search(g: gal.Gallery, terms: list[Term], k: int = 8, weights: dict[str, float] | None = None,
           clip=None, vectors: dict[str, np.ndarray] | None = None) -> SearchResult:
    """Rank gallery items by sum_c w_c * score_c. Weights are keyed "clip", "tags", "text".

    Each channel proposes its own top candidates (exact, or HNSW above the approximate size);
    every candidate then gets its exact score on every channel, so the scores shown are true.
    """
    if not 1 <= k <= config.IMAGE_SEARCH_MAX_K:
        raise ValueError(f"k must be between 1 and {config.IMAGE_SEARCH_MAX_K}, got {k}")
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    notes = []
    names = [c for c in g.vectors if weights.get(channel_kind(c), 0) > 0]
    if clip is None:
        dropped = [c for c in names if c.startswith("clip:")]
        names = [c for c in names if not c.startswith("clip:")]
        if dropped:
            notes.append("CLIP vectors exist for this gallery but the model is not loaded: skipped.")
    else:
        names = [c for c in names if not c.startswith("clip:") or c == f"clip:{clip.name}"]
    if not names:
        raise ValueError("every channel has weight 0 (or is unavailable): give at least one a weight above 0")
    qv = vectors if vectors is not None else query_vectors(terms, names, clip=clip)
    names = [c for c in names if c in qv]
    pool = max(k * 10, 100)
    candidates: set[int] = set()
    for ch in names:
        _, rows = g.search(ch, qv[ch], pool)
        candidates.update(int(r) for r in rows)
    rows = np.array(sorted(candidates), dtype=np.int64)
    per = {ch: g.vectors[ch][rows] @ qv[ch] for ch in names}
    total = sum(weights[channel_kind(ch)] * per[ch] for ch in names)
    order = np.argsort(-total)[:k]
    hits = []
    for rank, j in enumerate(order, 1):
        item = g.items[int(rows[j])]
        hits.append(Hit(rank, item.key, float(total[j]), {channel_kind(ch): float(per[ch][j]) for ch in names},
                        [(t[0], t[2]) for t in item.tags], item.caption, int(rows[j])))
    return SearchResult(hits, " ".join(("+ " if t.sign > 0 else "- ") + (t.text or "[image]") for t in terms)[2:],
                        {channel_kind(ch): weights[channel_kind(ch)] for ch in names},
                        g.approximate(names[0]), notes)


def search_text(query: str, k: int = 8, gallery: str = "", weights: dict[str, float] | None = None,
                image: Image.Image | None = None, image_sign: float = 1.0) -> SearchResult:
    """The whole path for a text (and/or image) query over a gallery by name, CLIP if available."""
    terms = parse_query(query, image, image_sign)
    clip, note = clip_status()
    g = get_gallery(gallery)
    result = search(g, terms, k, weights, clip=clip)
    if note:
        result.notes.append(note)
    return result


def heatmap(g: gal.Gallery, row: int, query: str, clip=None) -> tuple[Image.Image, str]:
    """The grounding view for one result: CLIP saliency for the query when CLIP is loaded,
    else Grad-CAM of the result's tag closest to the query. Returns (overlay RGB, what it shows)."""
    from core.image_search.tagger import centre_crop, gradcam, overlay

    if not 0 <= row < len(g):
        raise ValueError(f"no result {row} in this gallery")
    item = g.items[row]
    image = gal.open_image(Path(item.path))
    if clip is not None and query.strip():
        from core.image_search.tagger import to_rgb

        heat = clip.saliency(image, clean_query(query))
        crop = to_rgb(image).resize((heat.shape[1], heat.shape[0]))
        return overlay(crop, heat), f"CLIP saliency for “{clean_query(query)}” (square crop CLIP sees)"
    tags = item.tags
    if not tags:
        raise ValueError("this item has no tags to explain")
    index, label = tags[0][1], tags[0][0]
    if query.strip():
        sims = label_vectors()[[t[1] for t in tags]] @ encode_text([clean_query(query)])[0]
        best = int(np.argmax(sims))
        index, label = tags[best][1], tags[best][0]
    tagger = models.get(TAGGER_KEY)
    heat = gradcam(tagger, image, index)
    return overlay(centre_crop(image), heat), f"Grad-CAM of the tag “{label}” (centre crop the tagger sees)"
