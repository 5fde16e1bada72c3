"""Benchmark for the Transformer Lab and the Preference Lab, with the issue's goals beside them.

    .venv/bin/python -m bench.bench_transformer_dpo                 # both
    .venv/bin/python -m bench.bench_transformer_dpo --skip-dpo      # transformer lab only
    .venv/bin/python -m bench.bench_transformer_dpo --dpo-steps 20

Transformer Lab: training steps/s of the default model (2 layers, 4 heads, d_model 64, context
32, batch 32) for each objective, through the background job (snapshots included) and as a bare
loop (no snapshots), and the interactive actions (a redraw of the attention view, a generation
of 120 characters, a fill-in) in seconds against the 1 s goal.
Preference Lab: DPO seconds per step on the 4 shipped pirate pairs, the time to a visible effect
(first step with every pair won and a reply changed = the whole run with its before/after
replies) against the 3-minute goal, and the lexicon-reward table's time.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import table  # noqa: E402


def _bare_steps_per_s(objective: str, steps: int = 60) -> float:
    import torch

    from core.transformer_lab import LabSettings, Vocab, source_text
    from core.transformer_lab.data import causal_batch, masked_batch
    from core.transformer_lab.model import TinyTransformer, loss_fn

    s = LabSettings(objective=objective)
    text = source_text("zen")
    vocab = Vocab.of(text)
    data = torch.tensor(vocab.encode(text))
    model = TinyTransformer(len(vocab), s.context, s.d_model, s.heads, s.layers, s.causal)
    opt = torch.optim.AdamW(model.parameters(), lr=s.learning_rate)
    gen = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        x, y = (causal_batch(data, s.batch_size, s.context, gen) if s.causal
                else masked_batch(data, s.batch_size, s.context, gen, vocab.mask_id))
        loss = loss_fn(model(x)[0], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


def bench_transformer(steps: int) -> list[list]:
    from core.transformer_lab import LabSettings, fill_in, generate, train
    from core.transformer_lab import view as tv

    rows = []
    for objective in ("causal", "masked"):
        job = train(LabSettings(objective=objective, steps=steps), source="zen")
        st = job.status()
        rows.append([f"{objective}: job steps/s ({steps} steps, snapshots each second)", f"{st.steps_per_s:.1f}",
                     f"{st.seconds:.1f} s run; loss {st.losses[0]:.2f} -> {st.losses[-1]:.2f}; learned={st.learned}"])
        rows.append([f"{objective}: bare loop steps/s", f"{_bare_steps_per_s(objective):.1f}", "no snapshots"])
        t0 = time.perf_counter()
        tv.attention_figure(st, 1, "all", "heatmap")
        tv.attention_figure(st, 0, "all", "model view")
        rows.append([f"{objective}: redraw attention (heatmap + model view)", f"{time.perf_counter() - t0:.3f} s",
                     "goal <= 1 s"])
        t0 = time.perf_counter()
        if objective == "causal":
            generate(job, "Beautiful is", 120)
            what = "generate 120 characters"
        else:
            fill_in(job, "Beautiful is b_tter th_n ugly.")
            what = "fill in 2 blanks"
        rows.append([f"{objective}: {what}", f"{time.perf_counter() - t0:.3f} s", "goal <= 1 s"])
    return rows


def bench_dpo(steps: int) -> list[list]:
    from core import models
    from core.preference import PIRATE_PAIRS, DPOSettings, gaming_rows, run_dpo

    t0 = time.perf_counter()
    models.get("smollm2-135m")
    load = time.perf_counter() - t0
    st = run_dpo(PIRATE_PAIRS, DPOSettings(steps=steps))
    per_step = st.seconds / max(st.step, 1)
    changed = sum(b != a for b, a in zip(st.before, st.after))
    won = [i + 1 for i, h in enumerate(st.history) if h.accuracy == 1.0]
    t1 = time.perf_counter()
    gaming_rows()
    return [
        ["SmolLM2-135M load (first use)", f"{load:.1f} s", ""],
        [f"DPO run, {len(PIRATE_PAIRS)} pairs, {steps} steps, before/after replies", f"{st.seconds:.1f} s",
         "goal: a visible effect <= 180 s"],
        ["DPO seconds per step (run time / steps, preparation included)", f"{per_step:.2f}", ""],
        ["first step with every pair won", str(won[0]) if won else "never", ""],
        ["final mean margin / accuracy", f"{st.final.mean_margin:+.3f} / {st.final.accuracy:.0%}" if st.final else "-",
         st.verdict],
        ["greedy replies changed", f"{changed}/{len(PIRATE_PAIRS)}", "; ".join(st.after)[:120]],
        ["lexicon-reward table", f"{time.perf_counter() - t1:.4f} s", "goal <= 1 s"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="transformer lab steps per objective")
    parser.add_argument("--dpo-steps", type=int, default=20)
    parser.add_argument("--skip-dpo", action="store_true")
    parser.add_argument("--skip-transformer", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    if not args.skip_transformer:
        rows += bench_transformer(args.steps)
    if not args.skip_dpo:
        rows += bench_dpo(args.dpo_steps)
    print(f"torch threads: {torch.get_num_threads()}; os.cpu_count(): {os.cpu_count()}")
    print(table(rows, ["what", "figure", "note"]))


if __name__ == "__main__":
    main()
