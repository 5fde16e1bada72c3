"""The one place that decides where models run."""
from __future__ import annotations

import os
import warnings
from functools import lru_cache

VALID_DEVICES = ("cpu", "cuda", "mps")


@lru_cache(maxsize=1)
def get_device() -> str:
    """NLP_STUDIO_DEVICE if set (cpu, cuda, cuda:N, mps), else cuda, else mps, else cpu."""
    wanted = os.environ.get("NLP_STUDIO_DEVICE", "").strip().lower()
    import torch  # here, not at module import: `import core` stays cheap

    threads = os.environ.get("NLP_STUDIO_TORCH_THREADS", "").strip()
    if threads:
        # On a busy 2-core box one intra-op thread per request ran ~3x faster than two
        # (threads spin-wait for each other); a quiet laptop is faster with the default.
        torch.set_num_threads(max(1, int(threads)))

    if wanted:
        if wanted.split(":")[0] not in VALID_DEVICES:
            raise ValueError(f"NLP_STUDIO_DEVICE={wanted!r} is not one of {', '.join(VALID_DEVICES)}")
        if wanted.startswith("cuda") and not torch.cuda.is_available():
            warnings.warn(f"NLP_STUDIO_DEVICE={wanted} but no CUDA GPU is visible; using cpu", stacklevel=2)
            return "cpu"
        if wanted == "mps" and not torch.backends.mps.is_available():
            warnings.warn("NLP_STUDIO_DEVICE=mps but MPS is not available; using cpu", stacklevel=2)
            return "cpu"
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def use_fp16(device: str) -> bool:
    """Half precision only where it pays: on CUDA. CPUs run fp16 slower than fp32."""
    return device.startswith("cuda")


def shared_server_threads(host: str) -> str:
    """Bound to an address others reach (a classroom LAN, a Space, a Docker container): one torch
    thread and one ONNX Runtime thread per request, unless NLP_STUDIO_TORCH_THREADS /
    NLP_STUDIO_TTS_THREADS say otherwise. Two threads per request win for one user on a quiet
    machine; with a class on 2 cores each request's threads wait for each other's time slices (60
    simulated students with a fine-tune running: attention redraws p50 1.3-1.8 s, p95 3.6-4.2 s with
    torch's default of 2, 0.4-0.8 s / 1.4-1.6 s with 1; bench_classroom). Both front ends call it
    with their bind address before any model loads. Returns a line saying so, or "" for a local
    single-user app (nothing changed)."""
    if host.startswith("127.") or host in ("localhost", "::1"):
        return ""
    from core import config

    os.environ.setdefault("NLP_STUDIO_TORCH_THREADS", "1")  # read when the first torch model loads
    if "NLP_STUDIO_TTS_THREADS" not in os.environ:
        config.TTS_THREADS = 1  # read when a voice loads
    return (f"Serving others: {os.environ['NLP_STUDIO_TORCH_THREADS']} torch and {config.TTS_THREADS or 'default'} "
            "ONNX thread(s) per request (NLP_STUDIO_TORCH_THREADS, NLP_STUDIO_TTS_THREADS)")
