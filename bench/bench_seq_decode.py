"""Sequence Lab and Decoding Lab benchmark (the part of issue #18's bench_labs.py that these labs own).

Prints, side by side:
  - one training epoch of RNN / LSTM / GRU on the default Shakespeare text (batch 32 × 64 characters,
    128 units, SEQ_TRAIN_THREADS torch threads), and the loss before and after it;
  - the interactive Sequence Lab actions: a step-through of 60 characters, a gradient profile;
  - an n-gram fit (n = 3 and 5, Kneser–Ney and add-k) on 200,000 characters of the plays and the
    perplexity of 20,000 held-out characters; the Gradio n-gram view on its default inputs;
  - each decoding strategy on SmolLM2-135M for 64 new tokens (our loop) beside transformers'
    generate() with the same settings, and the Decoding Lab's three-way view at its default 20 tokens.
Wall seconds and this process's CPU seconds (on a busy shared machine CPU s / threads estimates the
wall time on idle cores). Goals: every interactive action ≤ 1 s, except training.
Run from the repo root: .venv/bin/python -m bench.bench_seq_decode [--epoch-steps N] [--skip-decoding]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.common import table  # noqa: E402


def timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def bench_training(epoch_steps: int | None) -> list[list]:
    import torch

    from core.config import SEQ_TRAIN_THREADS
    from core.sequence_lab.corpus import char_data
    from core.sequence_lab.train import TrainSettings, epoch_seconds

    if SEQ_TRAIN_THREADS:
        torch.set_num_threads(SEQ_TRAIN_THREADS)
    data = char_data(None)
    rows = []
    for kind in ("RNN", "LSTM", "GRU"):
        r = epoch_seconds(kind, data, TrainSettings(), steps=epoch_steps)
        rows.append([f"{kind}: {'epoch' if epoch_steps is None else f'{epoch_steps} steps'} ({r['steps']} steps)",
                     f"{r['seconds']:.1f}", f"{r['seconds'] / r['steps'] * 1000:.0f} ms/step",
                     f"loss {r['first_loss']:.2f} → {r['last_loss']:.2f}"])
    return rows


def bench_sequence_actions() -> list[list]:
    from core.sequence_lab.cells import build_model, step_through
    from core.sequence_lab.corpus import char_data
    from core.sequence_lab.gradients import gradient_profile

    data = char_data(None)
    rows = []
    for kind in ("RNN", "LSTM", "GRU"):
        model = build_model(kind, data.vocab_size, 128)
        _, s1, c1 = timed(lambda: step_through(model, data, "To be, or not to be, that is the question: whether 'tis"))
        _, s2, c2 = timed(lambda: gradient_profile(model, data.ids))
        rows.append([f"{kind}: step through 60 chars", f"{s1:.3f}", f"cpu {c1:.3f}", ""])
        rows.append([f"{kind}: gradient profile (16 windows × 61)", f"{s2:.3f}", f"cpu {c2:.3f}", ""])
    return rows


def bench_ngram() -> list[list]:
    from core.sequence_lab import ngram
    from core.sequence_lab import view as sv
    from core.sequence_lab.corpus import default_text, held_out_text

    corpus, held = default_text()[:200_000], held_out_text()[:20_000]
    rows = []
    for order in (3, 5):
        for smoothing in ngram.SMOOTHINGS:
            model, fit_s, _ = timed(lambda: ngram.fit(corpus, order, smoothing, k=0.1))
            ppl, ppl_s, _ = timed(lambda: model.perplexity(held))
            rows.append([f"{order}-gram {smoothing}: fit 200k chars + perplexity 20k chars", f"{fit_s + ppl_s:.2f}",
                         f"fit {fit_s:.2f} s, perplexity {ppl_s:.2f} s", f"perplexity {ppl:.1f}"])
    values = {c.name: c.default for c in sv.NGRAM_CONTROLS}
    _, s, c = timed(lambda: sv.ngram_view(**values))
    rows.append(["n-gram tab, default inputs (40k chars, 3-gram KN)", f"{s:.2f}", f"cpu {c:.2f}", ""])
    return rows


def bench_decoding() -> list[list]:
    import torch

    from core import models
    from core.decoding import Settings, decode
    from core.decoding import view as dv

    lm = models.get("smollm2-135m")
    prompt = "The best thing about learning a new language is"
    ids = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    decode(prompt, Settings("greedy", max_new_tokens=4))  # warm-up
    rows = []
    for s in (Settings("greedy", 64), Settings("beam", 64, num_beams=3), Settings("sample", 64, seed=0)):
        r, sec, cpu = timed(lambda: decode(prompt, s))
        kw = dict(max_new_tokens=64, do_sample=s.strategy == "sample")
        if s.strategy == "beam":
            kw.update(num_beams=3)
        if s.strategy == "sample":
            kw.update(temperature=s.temperature, top_k=s.top_k, top_p=s.top_p)
        with torch.no_grad():
            _, hf, _ = timed(lambda: lm.model.generate(ids, attention_mask=torch.ones_like(ids), **kw))
        rows.append([f"{s.strategy}, 64 new tokens ({len(r.token_ids)} made)", f"{r.seconds:.2f}",
                     f"generate() {hf:.2f} s", f"{len(r.token_ids) / r.seconds:.1f} tok/s"])
    values = {c.name: c.default for c in dv.DECODE_CONTROLS}
    prompt = values.pop("prompt")
    _, s, c = timed(lambda: dv.compare_view(prompt, **values))
    rows.append([f"Decoding tab: three strategies × {values['max_new_tokens']} tokens + figures", f"{s:.2f}",
                 f"cpu {c:.2f}", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epoch-steps", type=int, default=None, help="time N steps instead of a whole epoch")
    parser.add_argument("--skip-decoding", action="store_true")
    args = parser.parse_args()
    rows = bench_training(args.epoch_steps) + bench_sequence_actions() + bench_ngram()
    if not args.skip_decoding:
        rows += bench_decoding()
    print(table(rows, ["action", "wall s", "detail", "result"]))


if __name__ == "__main__":
    main()
