"""Benchmark for the LoRA Chat tab, ours vs plain transformers, in one run.

    .venv/bin/python -m bench.bench_chat                 # generation + the shipped demo fine-tune
    .venv/bin/python -m bench.bench_chat --skip-train    # generation only
    .venv/bin/python -m bench.bench_chat --threads 1     # torch threads for everything

Generation: first-token latency and tokens/s of `core.chat.conversation.stream_reply` against a plain
`transformers` greedy loop (model forward with a KV cache, argmax, no streamer), same prompts.
Training: the shipped demo fine-tune (scripts/train_demo_adapter.py settings: pirate, 40 steps,
rank 8, q/v), its steps/s and seconds, and per-step time of our response-only loss against
peft's usual `labels=` loss over every position.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPTS = ["What is the capital of France?", "Explain what a neural network is.",
           "Give me three tips for learning to cook.", "Write a short poem about the sea."]


def plain_generate(model, tokenizer, messages, max_new_tokens):
    """The baseline: a hand-written greedy loop over model(...) with past_key_values."""
    import torch

    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    t0 = time.perf_counter()
    first = None
    out, past, x = [], None, ids
    with torch.inference_mode():
        for _ in range(max_new_tokens):
            res = model(input_ids=x, past_key_values=past, use_cache=True)
            past = res.past_key_values
            nxt = int(res.logits[0, -1].argmax())
            if first is None:
                first = time.perf_counter() - t0
            if nxt == tokenizer.eos_token_id:
                break
            out.append(nxt)
            x = torch.tensor([[nxt]])
    return first, len(out), time.perf_counter() - t0


def ours_generate(tokenizer, messages, max_new_tokens):
    from core.chat.conversation import GenerationSettings, stream_reply

    s = GenerationSettings(max_new_tokens=max_new_tokens)
    t0 = time.perf_counter()
    first, text = None, ""
    for text in stream_reply(messages, settings=s):
        if first is None:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return first, len(tokenizer(text, add_special_tokens=False)["input_ids"]), total


def bench_generation(max_new_tokens: int) -> None:
    from core import models
    from core.chat.conversation import DEFAULT_SYSTEM_PROMPT

    lm = models.get("smollm2-135m")
    rows = {"ours (core.chat.conversation.stream_reply)": [], "plain transformers loop": []}
    ours_generate(lm.tokenizer, [{"role": "user", "content": "Hi"}], 4)  # warm-up
    for p in PROMPTS:
        msgs = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}, {"role": "user", "content": p}]
        rows["ours (core.chat.conversation.stream_reply)"].append(ours_generate(lm.tokenizer, msgs, max_new_tokens))
        rows["plain transformers loop"].append(plain_generate(lm.model, lm.tokenizer, msgs, max_new_tokens))
    print(f"\nGeneration, SmolLM2-135M-Instruct fp32, greedy, up to {max_new_tokens} new tokens, "
          f"{len(PROMPTS)} prompts (medians)")
    print(f"{'':32} {'first token (s)':>16} {'tokens/s':>10} {'tokens':>8}")
    for name, r in rows.items():
        first = statistics.median(x[0] for x in r)
        tps = statistics.median(x[1] / (x[2] - x[0]) if x[2] > x[0] else 0 for x in r)
        print(f"{name:32} {first:16.3f} {tps:10.1f} {statistics.median(x[1] for x in r):8.0f}")


def bench_training(steps: int, threads: int) -> None:
    from core.chat.lora import LoraSettings, delete_adapter, unique_name
    from core.chat.lora_data import load_dataset
    from core.chat.lora_train import training_batches, encode_dataset, finetune, prepare, response_loss

    # Per-step cost: our response-only loss vs peft's labels= loss over every position.
    s = LoraSettings()
    model, tok = prepare("smollm2-135m", s)
    feats = encode_dataset(tok, load_dataset("pirate"))
    batches = list(training_batches(feats, s.batch_size, 6, 0, tok.pad_token_id))
    times = {"ours (response-only logits)": [], "peft labels= loss": []}
    for ids, labels, mask in batches:
        t0 = time.perf_counter()
        response_loss(model, ids, mask, labels).backward()
        times["ours (response-only logits)"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        model(input_ids=ids, attention_mask=mask, labels=labels).loss.backward()
        times["peft labels= loss"].append(time.perf_counter() - t0)
        model.zero_grad(set_to_none=True)
    print("\nTraining step (batch 4, forward + backward), median of 5 after a warm-up step")
    for name, t in times.items():
        print(f"{name:32} {statistics.median(t[1:]):8.2f} s/step")
    del model

    print(f"\nShipped demo fine-tune: pirate, {steps} steps, rank 8, alpha 16, q_proj+v_proj, lr 2e-3")
    start = time.perf_counter()
    st = finetune("pirate", LoraSettings(steps=steps, learning_rate=2e-3), name=unique_name("bench-pirate"),
                  threads=threads)
    total = time.perf_counter() - start
    try:
        per_step = (st.seconds - 0) / max(st.step, 1)
        print(f"state {st.state}; {st.step} steps in {total:.1f} s (incl. copying the model); "
              f"{st.step / total:.2f} steps/s overall, {per_step:.2f} s/step")
        l = st.losses
        print(f"loss first 3 mean {statistics.mean(l[:3]):.2f} -> last 3 mean {statistics.mean(l[-3:]):.2f}")
        print("losses: " + " ".join(f"{x:.2f}" for x in l))
    finally:
        if st.adapter:
            delete_adapter(st.adapter)


def main(argv: list[str] | None = None) -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} (other processes share these cores)")
    bench_generation(args.max_new_tokens)
    if not args.skip_train:
        bench_training(args.steps, args.threads)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
