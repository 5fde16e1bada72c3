"""ZeroGPU on Hugging Face Spaces: `@gpu()` on the handlers that run a model on the GPU.

On a ZeroGPU Space the `spaces` package is installed and a GPU is attached to a process only
while a function decorated with `spaces.GPU` runs. Everywhere else (a laptop, a classroom server,
a CPU Space) the package is absent and `gpu()` returns the function untouched, so the same tab
code serves every host. `spaces` is looked up when a handler is decorated, not at import.
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)


def available() -> bool:
    """True where the `spaces` package (ZeroGPU) can be imported."""
    return importlib.util.find_spec("spaces") is not None


def gpu(duration: int | None = None) -> Callable[[F], F]:
    """Decorator: `spaces.GPU(duration=...)` when `spaces` is importable, else a no-op.
    `duration` is the most seconds one call may hold the GPU (ZeroGPU's default is 60)."""

    def wrap(fn: F) -> F:
        if not available():
            return fn
        spaces = importlib.import_module("spaces")
        return spaces.GPU(duration=duration)(fn) if duration else spaces.GPU(fn)

    return wrap
