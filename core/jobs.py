"""The skeleton every background training job shares: a daemon thread doing the work, a frozen
status snapshot the UI polls, and a cancel flag the work checks between steps.

    class CountJob(BackgroundJob[CountStatus]):
        def __init__(self) -> None:
            job_id = new_job_id()
            super().__init__(job_id, CountStatus(job_id, "running", 0), thread_name=f"count-{job_id}")

        def _run(self) -> None:
            while not self.cancelled:
                self._set(step=self.status().step + 1)
            self._set(state="cancelled")

    job = CountJob(); job.start(); job.cancel(); job.wait().state   # "cancelled"

What the work does, its status fields and how many jobs may run at once stay with each job's
module (core.chat.lora_train, core.sequence_lab.train, core.transformer_lab.train,
core.preference.dpo); this module only owns the threading.
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from typing import Any, Generic, TypeVar

S = TypeVar("S")  # the job's status: a frozen dataclass


def new_job_id() -> str:
    """A fresh job id: 12 hex characters, short enough to show, unique enough per process."""
    return uuid.uuid4().hex[:12]


def error_text(exc: BaseException) -> str:
    """A failed job's `error`: a ValueError's own message (written for the user, with the fix),
    else the exception's type and message."""
    return str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"


class BackgroundJob(Generic[S]):
    """One piece of long work in a daemon thread, seen from outside only through `status()`.

    A subclass passes its first status and a thread name, and implements `_run`, which reports
    with `_set(field=value, ...)` and checks `cancelled` between steps. `status()` always returns
    a whole snapshot: `_set` swaps it under a lock, so a reader never sees half an update.
    """

    def __init__(self, job_id: str, status: S, thread_name: str) -> None:
        self.job_id = job_id
        self._cancel = threading.Event()
        self._mutex = threading.Lock()
        self._status = status
        self._thread = threading.Thread(target=self._run, daemon=True, name=thread_name)

    def start(self) -> None:
        """Start the work in its thread (once)."""
        self._thread.start()

    def status(self) -> S:
        """The latest snapshot (a frozen dataclass: safe to keep and read from any thread)."""
        with self._mutex:
            return self._status

    def cancel(self) -> None:
        """Ask the work to stop; it does at its next check of `cancelled` (after the current step)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether `cancel()` was called."""
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> S:
        """Block until the work ends (or `timeout` seconds pass), then return the status."""
        self._thread.join(timeout)
        return self.status()

    def _set(self, **changes: Any) -> S:
        """Replace the given status fields in one step and return the new snapshot."""
        with self._mutex:
            self._status = replace(self._status, **changes)
            return self._status

    def _run(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _run, the work its thread does")
