"""App benchmarks: cold start to HTTP 200 with no model loaded, and a classroom of concurrent
gradio_client sessions calling /neighbors and /analogy.

    .venv/bin/python -m bench.bench_app [--students 30] [--seconds 60]
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from bench.common import pct, table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ["frog", "music", "king", "river", "doctor", "computer", "london", "happy", "bread", "football",
         "physics", "guitar", "winter", "ocean", "teacher", "language", "mountain", "coffee", "train", "money"]
ANALOGIES = [("king", "man", "woman"), ("paris", "france", "italy"), ("walked", "walk", "swim"),
             ("bigger", "big", "small"), ("tokyo", "japan", "egypt")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_TLS: list = []  # one TLS context for every simulated student (built on first use)


def student_client(url: str, **kwargs):
    """A gradio_client session that costs its machine what a student's browser would.
    gradio_client hands `ssl_verify` to a new httpx client on every request, and with the default
    (True) httpx loads the CA bundle each time: 60-70 ms of CPU per call here, 8x the rest of the
    client's work, spent on the same 2 cores as the server it measures. A browser keeps its TLS
    set-up, so every student shares one context, made as httpx makes its default (same checks)."""
    import httpx
    from gradio_client import Client

    if not _TLS:
        _TLS.append(httpx.create_ssl_context())
    return Client(url, verbose=False, ssl_verify=_TLS[0], **kwargs)


def start_app(port: int, host: str = "127.0.0.1", env: dict | None = None) -> tuple[subprocess.Popen, float]:
    """`python app.py` on `port`; answers on 127.0.0.1 either way. host="0.0.0.0" starts it as a
    classroom server (core.device.shared_server_threads). `env`: extra variables (a replica's name)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", **(env or {}))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--host", host, "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if answers(f"http://127.0.0.1:{port}/", within=120):
        return proc, time.perf_counter() - start
    proc.kill()
    raise RuntimeError("the app did not answer within 120 s")


def answers(url: str, within: float) -> bool:
    """Poll `url` until it answers 200 (True) or `within` seconds pass (False)."""
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return True
        except OSError:
            time.sleep(0.1)
    return False


def classroom(url: str, students: int, seconds: float) -> dict:
    latencies: dict[str, list[float]] = {"/neighbors": [], "/analogy": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    ready = threading.Barrier(students)

    def student(i: int) -> None:
        rnd = random.Random(i)
        client = student_client(url)
        ready.wait()
        while time.perf_counter() < stop_at:
            api = "/neighbors" if rnd.random() < 0.6 else "/analogy"
            args = (rnd.choice(WORDS), "word", 10) if api == "/neighbors" else (*rnd.choice(ANALOGIES), 5)
            t = time.perf_counter()
            try:
                result = client.predict(*args, api_name=api)
                assert result and "text" in result[0]
                with lock:
                    latencies[api].append(time.perf_counter() - t)
            except Exception as exc:  # noqa: BLE001 - count every failure
                with lock:
                    errors.append(f"{api}: {exc}")
            time.sleep(rnd.uniform(0.5, 1.5))  # a student reads the answer before the next click

    threads = [threading.Thread(target=student, args=(i,)) for i in range(students)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": latencies, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    port = free_port()
    proc, cold = start_app(port)
    print(f"Cold start, `python app.py` to HTTP 200, no model loaded: {cold:.2f} s (goal <= 10 s)")
    try:
        url = f"http://127.0.0.1:{port}/"
        t = time.perf_counter()
        student_client(url).predict("frog", "word", 5, api_name="/neighbors")
        print(f"First /neighbors call (loads GloVe, builds the index): {time.perf_counter() - t:.2f} s")
        res = classroom(url, args.students, args.seconds)
        rows = []
        for api, lat in res["latencies"].items():
            rows.append([api, len(lat), f"{pct(lat, 50) * 1000:.0f}", f"{pct(lat, 95) * 1000:.0f}"])
        print(f"\nClassroom: {args.students} concurrent gradio_client sessions for {args.seconds:.0f} s "
              "(each waits 0.5-1.5 s between clicks)")
        print(table(rows, ["endpoint", "answered", "p50 ms", "p95 ms"]))
        print(f"errors: {len(res['errors'])}" + (f" (first: {res['errors'][0]})" if res["errors"] else ""))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
