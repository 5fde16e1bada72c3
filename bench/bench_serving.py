"""Many students chatting at once: the local model against a model server, side by side in one run.

    .venv/bin/python -m bench.bench_serving [--users 30] [--tokens 32] [--local-slots 2] [--url URL]

Every user sends one question at the same moment (a class told "now ask it something") and reads
the reply as it streams, through `core.chat.conversation.stream_reply`:
  - local: the model in this process, at most `--local-slots` replies generating at once (the Chat
    tab's concurrency limit in the Gradio app; the rest wait in its queue, as students would);
  - server: the same calls with NLP_STUDIO_LLM_URL set. Without --url the bench starts llama.cpp's
    server on the shipped GGUF here (python -m core.chat.serve_llm; it runs one reply at a time, in
    Q4_1); with --url it measures that server (vLLM on a GPU box, say).
Per row: replies answered, errors, time to the first streamed text (p50/p95, queueing included),
tokens/s per user (its reply's tokens over its whole wait), and all users' tokens per second of
wall time. Tokens are counted with SmolLM2's tokenizer on the text received.
"""
from __future__ import annotations

import argparse
import os
import threading
import time

from bench.common import pct, table

QUESTIONS = ["What is the capital of France?", "Give me one tip for learning a new language.",
             "What is photosynthesis?", "Why is the sky blue?", "Name three fruits.",
             "What does a computer's CPU do?", "How do plants drink water?", "What is a noun?"]


def run_users(users: int, tokens: int, slots: int | None) -> dict:
    """`users` threads ask at once; returns first-token and total seconds per user, texts, errors."""
    from core.chat.conversation import GenerationSettings, stream_reply

    settings = GenerationSettings(temperature=0.0, max_new_tokens=tokens)
    gate = threading.Semaphore(slots) if slots else None
    start = threading.Barrier(users + 1)
    first, total, texts, errors = [], [], [], []
    lock = threading.Lock()

    def user(i: int) -> None:
        msgs = [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}]
        start.wait()
        t0 = time.perf_counter()
        t_first, text = None, ""
        try:
            if gate:
                gate.acquire()
            try:
                for text in stream_reply(msgs, settings=settings):
                    if t_first is None and text.strip():
                        t_first = time.perf_counter() - t0
            finally:
                if gate:
                    gate.release()
        except Exception as exc:  # noqa: BLE001 - counted and shown
            with lock:
                errors.append(f"{type(exc).__name__}: {str(exc)[:160]}")
            return
        with lock:
            first.append(t_first if t_first is not None else time.perf_counter() - t0)
            total.append(time.perf_counter() - t0)
            texts.append(text)

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return {"first": first, "total": total, "texts": texts, "errors": errors, "wall": time.perf_counter() - t0}


def row(name: str, res: dict, tokenizer) -> list:
    counts = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in res["texts"]]
    per_user = [c / s for c, s in zip(counts, res["total"]) if s > 0]
    return [name, len(res["texts"]), len(res["errors"]), f"{pct(res['first'], 50):.1f}",
            f"{pct(res['first'], 95):.1f}", f"{pct(per_user, 50):.2f}", f"{min(per_user, default=0):.2f}",
            f"{sum(counts) / res['wall']:.1f}", f"{res['wall']:.0f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--tokens", type=int, default=32, help="max new tokens per reply (greedy)")
    parser.add_argument("--local-slots", type=int, default=2, help="replies generated at once locally (the app's limit)")
    parser.add_argument("--url", default="", help="a running server's API root; default: start llama.cpp's here")
    parser.add_argument("--threads", type=int, default=2, help="threads of the llama.cpp server started here")
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()

    from core import config, models
    from core.chat import serve_llm

    os.environ.pop(config.LLM_URL_ENV, None)
    lm = models.get("smollm2-135m")  # loaded before the clock starts (and its tokenizer counts tokens)
    print(f"{args.users} users, one question each at the same moment, greedy, up to {args.tokens} new tokens; "
          f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rows = []
    if not args.skip_local:
        run_users(2, 4, args.local_slots)  # warm-up
        rows.append(row(f"local, {args.local_slots} at a time (fp32, torch)", run_users(args.users, args.tokens,
                                                                                    args.local_slots), lm.tokenizer))
    proc = None
    url = args.url
    if not url:
        port = serve_llm.free_port()
        proc = serve_llm.start(port, threads=args.threads)
        url = f"http://127.0.0.1:{port}/v1"
        serve_llm.wait_ready(url, proc)
    os.environ[config.LLM_URL_ENV] = url
    try:
        run_users(2, 4, None)  # warm-up
        name = f"server {url}" if args.url else f"llama.cpp server here (Q4_1, {args.threads} threads)"
        res = run_users(args.users, args.tokens, None)
        rows.append(row(name, res, lm.tokenizer))
    finally:
        os.environ.pop(config.LLM_URL_ENV, None)
        if proc is not None:
            serve_llm.stop(proc)
    print(table(rows, ["backend", "answered", "errors", "first text p50 s", "p95 s", "tok/s per user p50",
                       "min", "tok/s all users", "wall s"]))
    if res["errors"]:
        print("first server error:", res["errors"][0])
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
