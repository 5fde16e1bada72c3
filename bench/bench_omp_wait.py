"""OpenMP threads that spin vs threads that sleep while they wait (OMP_WAIT_POLICY), side by side.

core/__init__.py sets OMP_WAIT_POLICY=PASSIVE for the app. This bench is the evidence: each figure
comes from a fresh process (OpenMP reads the variable once, when it starts), measured with the
machine as it is and again with a second process beside it whose own OpenMP threads are at work (another front end, a
replica, a training run).

    python -m bench.bench_omp_wait            # Whisper window decode and SmolLM2 tokens/s
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bench.common import table

# The neighbour: another process with its own OpenMP pool at work (a second front end, a replica,
# a training run), under the same policy.
HOG = "import torch\na = torch.randn(192, 192)\nwhile True:\n    a = torch.tanh(a @ a)"
WORKER = "HOG = " + repr(HOG) + "\n" + r"""
import json, os, subprocess, sys, time
from core.asr import speech_sets
from core import asr, models
case = speech_sets.build("phrases", short=True)
window = case.at_16k()[:6 * 16000]
opts = asr.DecodeOptions(beam_size=1, fallback=False, vad=False, condition_on_previous_text=False, short_window=True)
model = models.load("smollm2-135m").model.model  # LoadedModel -> CausalLM -> transformers model
import torch
ids = torch.tensor([[1, 504, 2247, 282, 260, 12653, 2712]])  # any 7 token ids: speed only
asr.transcribe(window, options=opts, word_timestamps=True)
model.generate(ids, max_new_tokens=4, do_sample=False)
out = {}
for busy in (False, True):
    hog = subprocess.Popen([sys.executable, "-c", HOG]) if busy else None
    try:
        decode = []
        for _ in range(int(sys.argv[1])):
            t = time.perf_counter(); asr.transcribe(window, options=opts, word_timestamps=True)
            decode.append(time.perf_counter() - t)
        t = time.perf_counter()
        model.generate(ids, max_new_tokens=32, min_new_tokens=32, do_sample=False)
        out[str(busy)] = {"decode": sorted(decode)[len(decode) // 2], "tokens_per_s": 32 / (time.perf_counter() - t)}
    finally:
        if hog is not None:
            hog.kill()
print("RESULT" + json.dumps(out))
"""


def run(policy: str, repeats: int) -> dict:
    env = {**os.environ, "OMP_WAIT_POLICY": policy, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", WORKER, str(repeats)], env=env, capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if done.returncode:
        raise SystemExit(f"the {policy} run failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
    return json.loads(line[len("RESULT"):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5, help="Whisper decodes per cell (the median is shown)")
    args = ap.parse_args()
    rows = []
    for policy in ("ACTIVE", "PASSIVE"):
        result = run(policy, args.repeats)
        for busy, label in (("False", "as it is"), ("True", "+ a busy torch process")):
            r = result[busy]
            rows.append([policy, label, f"{r['decode']:.2f}", f"{r['tokens_per_s']:.1f}"])
    print(f"{os.cpu_count()} cores, load average now {os.getloadavg()[0]:.1f}")
    print(table(rows, ["OMP_WAIT_POLICY", "machine", "Whisper tiny.en, 6 s window (s)", "SmolLM2 tokens/s"]))


if __name__ == "__main__":
    main()
