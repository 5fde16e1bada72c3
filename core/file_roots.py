"""Which server folders a user-given path may name (a Piper voice by path, for instance).

On a public server a text box that takes a path must not read any file on the machine. A path
is accepted only inside an allowed root: the studio's cache folder, the Hugging Face cache, and
the folders the host lists in NLP_STUDIO_FILE_ROOTS (os.pathsep-separated, e.g. a folder of
extra voices on a classroom server). Links are resolved first, so a link cannot lead out.
Uploads do not come through here: the front ends hand core the files they stored themselves.
"""
from __future__ import annotations

import os
from pathlib import Path

from core.config import cache_dir

ROOTS_ENV = "NLP_STUDIO_FILE_ROOTS"


def _hub_cache() -> Path:
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except ImportError:
        return Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub"


def allowed_roots() -> list[Path]:
    """The folders a user-given path may point into, resolved."""
    extra = [Path(p) for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    return [p.expanduser().resolve() for p in [cache_dir(), _hub_cache(), *extra]]


def check_path(path: str | Path, what: str = "file") -> Path:
    """`path` resolved, if it lies inside an allowed root; else ValueError saying what to do.
    Existence is not checked here (and not revealed for paths outside the roots)."""
    real = Path(path).expanduser().resolve()
    if not any(real == root or real.is_relative_to(root) for root in allowed_roots()):
        raise ValueError(f"The {what} {path} is outside the folders this server reads from. Use one of the listed "
                         f"choices; a host can allow a folder with {ROOTS_ENV}=/path/to/folder.")
    return real
