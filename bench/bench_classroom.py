"""A classroom on one server: simulated students making light calls while one fine-tune runs.

    .venv/bin/python -m bench.bench_classroom [--students 60] [--seconds 60] [--steps 20] [--no-streamlit]

Each student is a gradio_client session that clicks, reads for 1-3 s, and clicks again, choosing
among the light calls a lesson makes: GloVe neighbours, one attention head redrawn, a sentence
spoken by Piper, a text image search. Meanwhile one student fine-tunes SmolLM2 with LoRA through
/finetune. Prints p50/p95 per endpoint, the errors, and whether the fine-tune finished. Then the
same number of clients poll the Streamlit server's health endpoint, for its side of the picture
(Streamlit has no HTTP API for page actions; bench_streamlit measures page reruns).
Goal (issue 16): 0 errors, light calls p95 <= 2 s on 2 cores, the fine-tune finishes.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

from apps.sticky_proxy import COOKIE
from bench.bench_app import ROOT, WORDS, answers, free_port, start_app, student_client
from bench.common import pct, table

SENTENCES = ["The cat sat on the mat.", "Attention lets every word look at every other word.",
             "Paris is the capital of France.", "Students learn quickly when they can see the model."]
QUERIES = ["a cat", "a cup of coffee", "a rocket", "an astronaut", "a horse", "flowers"]


def _call(rnd: random.Random) -> tuple[str, tuple, callable]:
    """One light call: (endpoint, arguments, a check of the answer)."""
    pick = rnd.random()
    if pick < 0.35:
        return "/neighbors", (rnd.choice(WORDS), "word", 10), lambda r: r and "text" in r[0]
    if pick < 0.6:
        return ("/attention", (rnd.choice(SENTENCES), "minilm", rnd.randrange(6), rnd.randrange(12)),
                lambda r: r["tokens"] and len(r["weights"]) == 1)
    if pick < 0.8:
        return "/search_images", (rnd.choice(QUERIES), 8, ""), lambda r: len(r["items"]) > 0
    return "/speak", (rnd.choice(SENTENCES), "piper", "piper-joe", 1.0), lambda r: bool(r)


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) a process has used so far: the server's, or this process's (the
    simulated students) when `pid` is None. Linux /proc; the split shows how much of the 2 cores the
    clients take from the server they measure."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connect(url: str, errors: list, lock: threading.Lock, replica: str | None = None):
    """A student's gradio_client session (3 tries: 60 students opening the page at once on a busy
    machine can time out the first config fetch), or None, counted as an error. `replica`: behind
    the sticky proxy, the replica its cookie names, as the proxy pins a browser on its first visit."""
    last = None
    cookies = {COOKIE: replica} if replica else {}
    for _ in range(3):
        try:
            return student_client(url, httpx_kwargs={"timeout": 60, "cookies": cookies}, analytics_enabled=False)
        except Exception as exc:  # noqa: BLE001
            last = exc
            time.sleep(1.0)
    with lock:
        errors.append(f"connect: {str(last)[:160]}")
    return None


def classroom(url: str, students: int, seconds: float, steps: int, replicas: list[str] | None = None) -> dict:
    """`replicas`: the names behind the sticky proxy at `url`; students are spread over them in turn
    (the proxy's round robin) and the fine-tune runs on the first."""
    replicas = replicas or [None]
    latencies: dict[str, list[float]] = {}
    errors: list[str] = []
    clicked: set[int] = set()  # students who got at least one answer
    lock = threading.Lock()
    stop_at = [0.0]
    # The clock starts in the barrier's action, before any student is let go: set after the barrier,
    # students released first saw no end time and left at once (runs then had fewer students).
    ready = threading.Barrier(students + 1, action=lambda: stop_at.__setitem__(0, time.perf_counter() + seconds))
    finetune: dict = {}
    opened: list[float] = []  # each student's first call, made while the page opens

    def student(i: int) -> None:
        rnd = random.Random(i)
        time.sleep(rnd.uniform(0, 5))  # students open the page over a few seconds
        client = connect(url, errors, lock, replicas[i % len(replicas)])
        if client is not None:
            # A browser starts its server session when the page opens (the app's load event); a
            # gradio_client session starts on its first call. So each student makes that first call
            # while the class opens the page, not all 60 at the first click; it is timed on its own.
            t = time.perf_counter()
            try:
                client.predict(rnd.choice(WORDS), "word", 10, api_name="/neighbors")
                with lock:
                    opened.append(time.perf_counter() - t)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"page open: {str(exc)[:160]}")
        ready.wait()
        while client is not None and time.perf_counter() < stop_at[0]:
            api, args, ok = _call(rnd)
            t = time.perf_counter()
            try:
                result = client.predict(*args, api_name=api)
                assert ok(result), f"unexpected answer {str(result)[:80]}"
                with lock:
                    latencies.setdefault(api, []).append(time.perf_counter() - t)
                    clicked.add(i)
            except Exception as exc:  # noqa: BLE001 - count every failure
                with lock:
                    errors.append(f"{api}: {str(exc)[:160]}")
            time.sleep(rnd.uniform(1.0, 3.0))  # a student reads the answer before the next click

    def trainer() -> None:
        client = connect(url, errors, lock, replicas[0])
        name = f"bench-classroom-{uuid.uuid4().hex[:6]}"
        t = time.perf_counter()
        try:
            assert client is not None, "the fine-tuning student could not connect"
            out = client.predict("pirate", {"steps": steps}, name, api_name="/finetune")
            finetune.update(out, wall_s=time.perf_counter() - t, name=name)
        except Exception as exc:  # noqa: BLE001
            finetune.update(error=str(exc)[:200], wall_s=time.perf_counter() - t, name=name)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(students)]
    for th in threads:
        th.start()
    ready.wait()
    train = threading.Thread(target=trainer)
    train.start()
    for th in threads:
        th.join()
    train.join()
    return {"latencies": latencies, "errors": errors, "finetune": finetune, "clicked": len(clicked), "opened": opened}


def streamlit_health(students: int, seconds: float) -> dict:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
                             "--server.headless", "true"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    url = f"http://127.0.0.1:{port}/_stcore/health"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(url, timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        lat, errors, lock = [], [], threading.Lock()
        stop_at = time.perf_counter() + seconds

        def poll(i: int) -> None:
            rnd = random.Random(i)
            while time.perf_counter() < stop_at:
                t = time.perf_counter()
                try:
                    assert urllib.request.urlopen(url, timeout=10).read() == b"ok"
                    with lock:
                        lat.append(time.perf_counter() - t)
                except Exception as exc:  # noqa: BLE001
                    with lock:
                        errors.append(str(exc)[:120])
                time.sleep(rnd.uniform(1.0, 3.0))

        threads = [threading.Thread(target=poll, args=(i,)) for i in range(students)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return {"latencies": lat, "errors": errors}
    finally:
        proc.terminate()
        proc.wait(10)


def start_servers(replicas: int) -> tuple[list[subprocess.Popen], list[str], str, float]:
    """The app as a teacher starts it (--host 0.0.0.0); with replicas > 1, that many app processes
    (NLP_STUDIO_REPLICA=web1, ...; adapters shared) behind apps.sticky_proxy, as in the README's
    recipe. Returns (processes, replica names or [], the URL students open, seconds to the first answer)."""
    if replicas <= 1:
        port = free_port()
        proc, cold = start_app(port, host="0.0.0.0")  # as a teacher starts it: scripts/start.sh --host 0.0.0.0
        return [proc], [], f"http://127.0.0.1:{port}/", cold
    procs, backends, cold = [], [], 0.0
    try:
        for k in range(1, replicas + 1):
            port = free_port()
            proc, took = start_app(port, host="0.0.0.0", env={"NLP_STUDIO_REPLICA": f"web{k}",
                                                               "NLP_STUDIO_SHARE_ADAPTERS": "1"})
            procs.append(proc)
            backends += ["--backend", f"web{k}=http://127.0.0.1:{port}"]
            cold = max(cold, took)
        port = free_port()
        procs.append(subprocess.Popen([sys.executable, "-m", "apps.sticky_proxy", "--host", "127.0.0.1", "--port",
                                       str(port), *backends], cwd=ROOT, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}/"
        if not answers(url, within=60):
            raise RuntimeError("the sticky proxy did not answer within 60 s")
        return procs, [f"web{k}" for k in range(1, replicas + 1)], url, cold
    except BaseException:
        for p in procs:
            p.terminate()
        raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--steps", type=int, default=20, help="fine-tune steps (the shipped demo is 40)")
    parser.add_argument("--no-streamlit", action="store_true")
    parser.add_argument("--replicas", type=int, default=1,
                        help="app processes behind apps.sticky_proxy, on the same cores (default 1: no proxy)")
    args = parser.parse_args()

    procs, names, url, cold = start_servers(args.replicas)
    print(f"Gradio up in {cold:.1f} s" + (f" ({args.replicas} replicas behind apps.sticky_proxy)" if names else "")
          + f"; load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    try:
        from core.chat.lora_train import wait_until_free

        wait_until_free()  # another process on this machine may be training: the class gets its own run
        t = time.perf_counter()
        for name in names or [None]:
            warm = student_client(url, httpx_kwargs={"cookies": {COOKIE: name} if name else {}})
            for api, call_args in (("/neighbors", ("frog", "word", 5)), ("/attention", ("Warm up.", "minilm", 0, 0)),
                                   ("/search_images", ("a cat", 3, "")),
                                   ("/speak", ("Warm up.", "piper", "piper-joe", 1.0))):
                warm.predict(*call_args, api_name=api)  # models load once, before the class
        print(f"Warm-up (every light model loaded once per process): {time.perf_counter() - t:.1f} s")
        cpu0, mine0, wall0 = sum(cpu_seconds(p.pid) for p in procs), cpu_seconds(), time.perf_counter()
        res = classroom(url, args.students, args.seconds, args.steps, names)
        wall = time.perf_counter() - wall0
        server_cores = (sum(cpu_seconds(p.pid) for p in procs) - cpu0) / wall
        client_cores = (cpu_seconds() - mine0) / wall
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
    rows = [[api, len(lat), f"{pct(lat, 50) * 1000:.0f}", f"{pct(lat, 95) * 1000:.0f}",
             "yes" if pct(lat, 95) <= 2.0 else "no"] for api, lat in sorted(res["latencies"].items())]
    print(f"\nClassroom: {args.students} gradio_client students for {args.seconds:.0f} s (1-3 s between clicks), "
          f"one {args.steps}-step LoRA fine-tune at the same time; load average after: {os.getloadavg()[0]:.1f}")
    print(table(rows, ["endpoint", "answered", "p50 ms", "p95 ms", "p95 <= 2 s"]))
    print(f"students who got an answer: {res['clicked']} of {args.students}")
    if res["opened"]:
        print(f"page open (each student's first call, which starts their server session), over the first 5 s: "
              f"p50 {pct(res['opened'], 50) * 1000:.0f} ms, p95 {pct(res['opened'], 95) * 1000:.0f} ms")
    answered = sum(len(lat) for lat in res["latencies"].values())
    print(f"CPU over the {wall:.0f} s run, in cores: server {server_cores:.2f} (every app process and the proxy; "
          "the fine-tune included), simulated "
          f"students {client_cores:.2f}, of {os.cpu_count()}; {answered / wall:.1f} light calls/s")
    print(f"errors: {len(res['errors'])}" + (f" (first: {res['errors'][0]})" if res["errors"] else ""))
    ft = res["finetune"]
    if "error" in ft:
        print(f"fine-tune: FAILED after {ft['wall_s']:.0f} s: {ft['error']}")
    else:
        print(f"fine-tune: {ft.get('state')} {ft.get('steps')} steps in {ft['wall_s']:.0f} s, loss "
              f"{ft['losses'][0]:.2f} -> {ft['losses'][-1]:.2f}" if ft.get("losses") else f"fine-tune: {ft}")
    if ft.get("name"):
        from core.chat.lora import delete_adapter, list_adapters

        if ft["name"] in [a.name for a in list_adapters()]:
            delete_adapter(ft["name"])  # leave the machine as it was
    if not args.no_streamlit:
        st = streamlit_health(args.students, min(args.seconds, 30))
        lat = st["latencies"]
        print(f"\nStreamlit: {args.students} clients polling /_stcore/health: {len(lat)} answered, "
              f"p50 {pct(lat, 50) * 1000:.0f} ms, p95 {pct(lat, 95) * 1000:.0f} ms, errors {len(st['errors'])}")


if __name__ == "__main__":
    main()
