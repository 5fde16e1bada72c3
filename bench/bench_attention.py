"""Attention Visualizer benchmark: a 128-token input on MiniLM and on SmolLM2-135M.

Prints, per model, the median seconds (and the best of the runs) for
  baseline  - a bare transformers forward pass with output_attentions=True (eager), input pre-tokenized
  ours      - request -> all layers and heads extracted (tokenize, labels, forward, stack to numpy)
  figures   - + the head view, heatmap and model view built and serialized to JSON (what gr.Plot sends)
  saliency  - gradient x input, and gradient x input + integrated gradients (IG_STEPS steps, one batch)
Wall seconds and this process's CPU seconds; on a busy shared machine CPU s / threads estimates idle wall time.
Goals from issue #3: <= 1 s (MiniLM) and <= 2 s (SmolLM2) to the figure; saliency <= 3 s.
Run from the repo root: .venv/bin/python -m bench.bench_attention [--runs 5] [--tokens 128]
"""
from __future__ import annotations

import argparse
import os
import time

from bench.common import timed

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PASSAGE = ("Attention lets every token look at every other token and decide how much of each to take. "
           "In a decoder the look is causal: a token sees only itself and what came before it. "
           "Teachers like to show the maps, but a map is where a head looked, not why the model answered. ") * 6




def bench(key: str, tokens: int, runs: int) -> dict[str, tuple[float, float, float]]:
    import torch

    from core import attention, config
    from core.attention import figures as fa
    from core.attention.saliency import saliency

    start = time.perf_counter()
    am = attention.get_model(key)
    load = time.perf_counter() - start
    enc = attention.encode(am, PASSAGE, max_tokens=tokens)
    assert len(enc.tokens) == tokens, len(enc.tokens)

    def baseline():
        with torch.inference_mode():
            out = am.model(**enc.inputs, output_attentions=True)
        return [a.cpu() for a in out.attentions]

    def ours():
        return attention.attention_maps(PASSAGE, key, max_tokens=tokens)

    def figures():
        m = attention.attention_maps(PASSAGE, key, max_tokens=tokens)
        for fig in (fa.lines(m, 0, None), fa.heatmap(m, 0, 0), fa.model_view(m, cell=config.MODEL_VIEW_CELL)):
            fig.to_json()

    def ig():
        # The app skips IG above config.IG_MAX_TOKENS tokens; lift the limit to time it anyway.
        limit, config.IG_MAX_TOKENS = config.IG_MAX_TOKENS, 10**6
        try:
            s = saliency(PASSAGE, key, integrated=True, max_tokens=tokens)
            assert s.integrated is not None
        finally:
            config.IG_MAX_TOKENS = limit

    baseline()  # warm-up: first calls allocate
    rows = {"load (first use, s)": (load, load, float("nan")),
            "baseline: bare eager forward": timed(baseline, runs),
            "ours: all layers+heads extracted": timed(ours, runs),
            "ours: + figures ready (JSON)": timed(figures, runs),
            "saliency: gradient x input": timed(lambda: saliency(PASSAGE, key, integrated=False, max_tokens=tokens),
                                                runs),
            f"saliency: + integrated gradients ({config.IG_STEPS} steps)": timed(ig, max(1, runs // 2))}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--models", default="minilm,smollm2-135m")
    args = parser.parse_args()
    import torch

    from core.device import get_device

    print(f"device {get_device()}, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, {args.tokens} tokens, {args.runs} runs")
    goals = {"minilm": 1.0, "smollm2-135m": 2.0}
    threads = torch.get_num_threads()
    for key in args.models.split(","):
        rows = bench(key, args.tokens, args.runs)
        print(f"\n{key}  (goal: figure <= {goals.get(key, float('nan'))} s, saliency <= 3 s)")
        print(f"  {'step':48s} {'median s':>9s} {'best s':>8s} {'CPU s':>7s} {'CPU s/threads':>13s}")
        for name, (med, best, cpu) in rows.items():
            print(f"  {name:48s} {med:9.3f} {best:8.3f} {cpu:7.2f} {cpu / threads:13.2f}")


if __name__ == "__main__":
    main()
