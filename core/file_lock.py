"""One holder at a time for a one-time step (a conversion, a fetch into the cache), across the
threads of this process and across processes (two app workers, two test runs)."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

try:  # POSIX; elsewhere the lock holds within this process only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold the lock named by `path` (a file created if missing): a thread lock per path, then
    flock on the file."""
    path = Path(path)
    with _guard:
        lock = _locks.setdefault(str(path.resolve()), threading.Lock())
    path.parent.mkdir(parents=True, exist_ok=True)
    with lock, open(path, "w") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_UN)
