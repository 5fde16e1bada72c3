"""Train the LoRA adapter that ships in assets/lora/, from a dataset shipped in assets/datasets/.

    .venv/bin/python scripts/train_demo_adapter.py                      # pirate -> assets/lora/pirate-demo
    .venv/bin/python scripts/train_demo_adapter.py --dataset studio_guide --name studio-guide-demo

Runs offline on the SmolLM2-135M-Instruct weights package, on a CPU in a few minutes. The same
code path as the app's Train button (core.chat.lora_train), so the shipped adapter is one a class
could have trained itself. Replaces the shipped adapter of that name.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    from core.chat.lora import SHIPPED_DIR, LoraSettings, unique_name, user_dir
    from core.chat.lora_compare import perplexity
    from core.chat.lora_train import finetune

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="pirate")
    parser.add_argument("--name", default="pirate-demo")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads for training (0: default)")
    args = parser.parse_args(argv)

    settings = LoraSettings(rank=args.rank, alpha=args.alpha, learning_rate=args.lr, steps=args.steps)
    start = time.perf_counter()
    status = finetune(args.dataset, settings, name=unique_name(f"{args.name}-build"), threads=args.threads)
    if status.state != "done":
        print(f"training {status.state}: {status.error}", file=sys.stderr)
        return 1
    print(f"trained {status.step} steps in {time.perf_counter() - start:.0f} s; "
          f"loss {status.losses[0]:.2f} -> {status.losses[-1]:.2f}")
    built = user_dir() / status.adapter
    meta = json.loads((built / "studio.json").read_text())
    meta["name"] = args.name
    meta["origin"] = f"scripts/train_demo_adapter.py --dataset {args.dataset} --steps {args.steps} " \
                     f"--rank {args.rank} --alpha {args.alpha} --lr {args.lr}"
    meta["heldout_perplexity_base"] = perplexity(args.dataset)
    meta["heldout_perplexity_adapted"] = perplexity(args.dataset, adapter=status.adapter)
    (built / "studio.json").write_text(json.dumps(meta, indent=1))
    target = SHIPPED_DIR / args.name
    if target.exists():
        shutil.rmtree(target)
    SHIPPED_DIR.mkdir(parents=True, exist_ok=True)
    shutil.move(str(built), target)
    print(f"saved {target} ({sum(f.stat().st_size for f in target.iterdir()) / 1e6:.1f} MB); held-out perplexity "
          f"base {meta['heldout_perplexity_base']} -> adapted {meta['heldout_perplexity_adapted']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
