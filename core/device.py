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
