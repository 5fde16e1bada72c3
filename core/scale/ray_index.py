"""Index a folder of images with Ray Data: decoding, tagging and embedding in parallel batches.

The result is an ordinary gallery (same files as `core.image_search.gallery.index` writes, so the app loads and
searches it by name) plus, per channel, a sharded IVF / IVF-PQ index (`core.scale.shards`).

    python -m core.scale.ray_index /data/photos                       # a local Ray on this machine
    python -m core.scale.ray_index /data/photos --address ray://head:10001   # a running cluster
    (or NLP_STUDIO_RAY_ADDRESS=...)

On a cluster every node needs this project and its weight packages installed at the same path
(the same image or venv), and the folder must be visible at the same path on every node (a shared
file system): workers read the images themselves and send back vectors, tags and thumbnails.
Ray is an optional extra (requirements-ray.txt): nothing else in the studio imports it.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from core import config
from core.image_search import gallery as gal

ADDRESS_ENV = "NLP_STUDIO_RAY_ADDRESS"
INSTALL_HINT = ("Ray is an optional extra for indexing galleries across machines; install it with "
                "`.venv/bin/pip install -r requirements-ray.txt` (or `scripts/setup.sh --test`).")


def import_ray():
    """The ray module, or ValueError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the Data library is the part used here
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    return ray


def default_channels() -> list:
    """What a worker embeds with when not told otherwise: tags, text, and CLIP if its weights exist."""
    from core.image_search.pipeline import default_channels as channels

    return channels()


class EmbedBatch:
    """A Ray Data actor: builds the channels once (models load once per worker), then per batch
    decodes the images, makes thumbnails and embeds every channel. Unreadable files come back
    with `ok` False and the reason, as `core.image_search.gallery.index` would skip them."""

    def __init__(self, make_channels: Callable[[], list], torch_threads: int):
        if torch_threads > 0:
            import torch

            torch.set_num_threads(torch_threads)
        self.channels = make_channels()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from PIL import Image

        n = len(batch["row"])
        out: dict[str, object] = {"row": batch["row"], "ok": np.zeros(n, bool), "reason": [""] * n,
                                  "sha1": [""] * n, "width": np.zeros(n, np.int64),
                                  "height": np.zeros(n, np.int64), "thumb": [b""] * n, "tags": ["[]"] * n}
        images, ok, items = [], [], []
        for j in range(n):
            path = Path(str(batch["path"][j]))
            try:
                out["sha1"][j] = gal.sha1_file(path)
                images.append(gal.open_image(path))
                with Image.open(path) as header:
                    out["width"][j], out["height"][j] = header.size
            except (ValueError, OSError) as exc:
                out["reason"][j] = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
                continue
            out["ok"][j] = True
            out["thumb"][j] = gal.thumbnail_jpeg(images[-1])
            ok.append(j)
            items.append(gal.Item(str(batch["key"][j]), caption=str(batch["caption"][j])))
        described = []
        for ch in self.channels:
            vec, fields = gal.embedded(ch.embed(images, items), len(items)) if images else (None, [])
            dim = vec.shape[1] if vec is not None else 0
            full = np.zeros((n, dim), np.float32)
            if vec is not None:
                full[ok] = vec
            out[f"vec:{ch.name}"] = full
            described.append([ch.name, ch.fingerprint])
            for j, extra in zip(ok, fields):
                if "tags" in extra:
                    out["tags"][j] = json.dumps([list(t) for t in extra["tags"]])
        out["channels"] = [json.dumps(described)] * n
        return {k: np.asarray(v, dtype=object) if isinstance(v, list) else v for k, v in out.items()}


def _init(ray, address: str | None, workers: int) -> bool:
    """Connect to `address` (or $NLP_STUDIO_RAY_ADDRESS), else start a local Ray with `workers`
    CPUs. Returns True when this call started Ray (and so should shut it down)."""
    if ray.is_initialized():
        return False
    address = address or os.environ.get(ADDRESS_ENV, "").strip() or None
    root = str(Path(__file__).resolve().parents[2])
    # Workers must import core (and a caller's channel factory): put the project on their path.
    path = os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    env = {"PYTHONPATH": path}
    if address:
        ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False)
    else:
        ray.init(num_cpus=workers, include_dashboard=False, runtime_env={"env_vars": env},
                 log_to_driver=False, configure_logging=False)
    return True


def index_folder(folder: str | Path, name: str | None = None, address: str | None = None,
                 make_channels: Callable[[], list] = default_channels, workers: int = 2,
                 batch_size: int = 16, torch_threads: int = 1, roots: list[Path] | None = None,
                 progress: gal.Progress | None = None) -> gal.Gallery:
    """Index every image under `folder` into gallery `name` (a new one if None) with Ray Data.

    `make_channels` runs on each worker (a module-level function: Ray sends it by reference);
    `workers` actors embed `batch_size` images at a time with `torch_threads` threads each.
    `roots` limits the folders allowed (default NLP_STUDIO_IMAGE_ROOTS; the command line passes
    the folder). Each channel also gets a sharded IVF index. Not incremental: every file is
    embedded again on each run (the single-process indexer reuses unchanged files' vectors).
    """
    ray = import_ray()
    progress = progress or (lambda frac, msg: None)
    name = gal.check_name(name) if name else gal.new_name()
    if name == gal.SHIPPED:
        raise ValueError("folders go into a gallery of your own, never the shipped one")
    if workers < 1 or batch_size < 1:
        raise ValueError("workers and batch_size must be at least 1")
    sources, skipped = gal.collect_folder(folder, roots, limit=config.GALLERY_RAY_MAX_IMAGES)
    if not sources:
        raise ValueError(f"no images in {folder}")
    started = _init(ray, address, workers)
    try:
        rows = [{"row": i, "key": s.key, "path": str(s.path), "caption": s.caption} for i, s in enumerate(sources)]
        ds = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows) // batch_size, 4 * workers)))
        ds = ds.map_batches(EmbedBatch, fn_constructor_args=(make_channels, torch_threads),
                            batch_size=batch_size, batch_format="numpy", num_cpus=1,
                            compute=ray.data.ActorPoolStrategy(size=workers))
        results: dict[int, dict] = {}
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            for j, row in enumerate(batch["row"]):
                results[int(row)] = {k: v[j] for k, v in batch.items()}
            progress(len(results) / len(sources), f"embedded {len(results)}/{len(sources)} images")
    finally:
        if started:
            ray.shutdown()
    return _write(name, sources, skipped, results, progress)


def _write(name: str, sources: list[gal.Source], skipped: list[gal.Skipped], results: dict[int, dict],
           progress: gal.Progress) -> gal.Gallery:
    """Items in source order (first of duplicate files kept), thumbnails, vectors, IVF shards, meta."""
    from core.scale.shards import build

    root = gal.galleries_dir() / name
    (root / "thumbs").mkdir(parents=True, exist_ok=True)
    skipped, items, keep, seen = list(skipped), [], [], {}
    described = json.loads(str(next(iter(results.values()))["channels"]))
    for i, src in enumerate(sources):
        r = results[i]
        if not r["ok"]:
            skipped.append(gal.Skipped(src.key, str(r["reason"])))
            continue
        if r["sha1"] in seen:
            skipped.append(gal.Skipped(src.key, f"duplicate of {seen[r['sha1']]}"))
            continue
        seen[r["sha1"]] = src.key
        item = gal.Item(src.key, str(r["sha1"]), str(src.path), src.caption, src.origin, src.licence,
                        thumb=f"{str(r['sha1'])[:20]}.jpg", width=int(r["width"]), height=int(r["height"]),
                        tags=json.loads(str(r["tags"])))
        (root / "thumbs" / item.thumb).write_bytes(bytes(r["thumb"]))
        items.append(item)
        keep.append(i)
    if not items:
        reasons = "; ".join(f"{s.key}: {s.reason}" for s in skipped[:5])
        raise ValueError(f"no images could be indexed ({reasons})")
    vectors = {ch: np.stack([results[i][f"vec:{ch}"] for i in keep]).astype(np.float32) for ch, _ in described}
    g = gal.Gallery(name, root, items, vectors, dict(described), skipped)
    for ch, mat in vectors.items():
        progress(1.0, f"writing the IVF index of {ch}")
        build(mat, g.ivf_dir(ch), digest=gal.digest(mat))
    gal.save(g, hnsw=False)  # meta.json last: the gallery appears whole or not at all
    progress(1.0, f"{len(g)} images indexed, {len(skipped)} skipped")
    return gal.load(name) or g


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m core.scale.ray_index", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--name", help="an existing gallery name to replace (default: a new one)")
    parser.add_argument("--address", help=f"Ray cluster address (default ${ADDRESS_ENV}, else a local Ray)")
    parser.add_argument("--workers", type=int, default=2, help="embedding actors (default 2)")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args(argv)
    try:
        g = index_folder(args.folder, args.name, args.address, workers=args.workers, batch_size=args.batch_size,
                         roots=[Path(args.folder)], progress=lambda f, m: print(f"{f:4.0%} {m}", file=sys.stderr))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"gallery": g.name, "indexed": len(g), "skipped": len(g.skipped),
                      "channels": sorted(g.vectors)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
