"""core.jobs.BackgroundJob on its own: a tiny job that counts until it is cancelled."""
from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

import pytest

from core.jobs import BackgroundJob, error_text, new_job_id

PATIENCE_S = 20.0  # generous: the test machine is often shared with heavy runs


@dataclass(frozen=True)
class Count:
    job_id: str
    state: str
    step: int = 0
    a: int = 0  # a and b are always written together: a snapshot where they differ is torn
    b: int = 0


class CountJob(BackgroundJob[Count]):
    def __init__(self) -> None:
        job_id = new_job_id()
        super().__init__(job_id, Count(job_id, "starting"), thread_name=f"count-{job_id}")

    def _run(self) -> None:
        self._set(state="running")
        while not self.cancelled:
            self._set(step=self.status().step + 1)
            time.sleep(0.002)
        self._set(state="cancelled")


def until(predicate, timeout: float = PATIENCE_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


@pytest.fixture
def job():
    job = CountJob()
    yield job
    job.cancel()
    if job._thread.ident is not None:  # started: let it end (wait() on an unstarted job raises, as join does)
        job.wait(PATIENCE_S)


def test_a_new_job_has_an_id_and_its_first_status_before_it_starts(job):
    assert len(job.job_id) == 12 and int(job.job_id, 16) >= 0
    assert job.status() == Count(job.job_id, "starting")
    assert not job.cancelled
    assert job._thread.daemon and job._thread.name == f"count-{job.job_id}"
    assert new_job_id() != new_job_id()


def test_status_changes_made_in_the_thread_are_seen(job):
    job.start()
    assert until(lambda: job.status().step >= 5), job.status()
    first = job.status()
    assert first.state == "running"
    assert until(lambda: job.status().step > first.step), "the step stopped growing while the job runs"


def test_cancel_stops_the_work_and_wait_returns_the_final_status(job):
    job.start()
    assert until(lambda: job.status().step >= 3)
    job.cancel()
    assert job.cancelled
    final = job.wait(PATIENCE_S)
    assert final.state == "cancelled"
    assert not job._thread.is_alive()
    time.sleep(0.05)
    assert job.status() == final  # nothing runs after the end


def test_wait_with_a_timeout_returns_the_running_status_without_blocking(job):
    job.start()
    assert until(lambda: job.status().state == "running")
    t0 = time.monotonic()
    status = job.wait(0.05)
    assert time.monotonic() - t0 < PATIENCE_S / 2
    assert status.state == "running" and job._thread.is_alive()


def test_set_returns_the_new_snapshot_and_keeps_the_old_one_intact(job):
    before = job.status()
    after = job._set(a=7, b=7)
    assert after == dataclasses.replace(before, a=7, b=7) == job.status()
    assert before.a == 0  # a snapshot handed out earlier never changes under its reader


def test_set_from_many_threads_never_shows_a_torn_snapshot(job):
    writers, rounds = 4, 2000
    torn: list[Count] = []
    done = threading.Event()

    def write(k: int) -> None:
        for i in range(rounds):
            job._set(a=k * rounds + i, b=k * rounds + i)

    def read() -> None:
        while not done.is_set():
            s = job.status()
            if s.a != s.b:
                torn.append(s)

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PATIENCE_S)
    done.set()
    reader.join(PATIENCE_S)
    assert not torn, torn[:3]
    last = job.status()
    assert last.a == last.b and last.a % rounds == rounds - 1  # some writer's last write is what stays


def test_a_job_without_its_work_says_what_is_missing():
    class Empty(BackgroundJob[Count]):
        pass

    empty = Empty("0" * 12, Count("0" * 12, "starting"), thread_name="empty")
    with pytest.raises(NotImplementedError, match="Empty must implement _run"):
        empty._run()


def test_error_text_keeps_a_user_message_and_names_anything_else():
    assert error_text(ValueError("lower the learning rate")) == "lower the learning rate"
    assert error_text(RuntimeError("CUDA out of memory")) == "RuntimeError: CUDA out of memory"


@pytest.mark.parametrize("module, name", [("core.chat.lora_train", "TrainingJob"),
                                          ("core.sequence_lab.train", "TrainingJob"),
                                          ("core.transformer_lab.train", "LabJob"),
                                          ("core.preference.dpo", "DPOJob")])
def test_every_training_job_uses_the_one_base(module, name):
    import importlib

    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, BackgroundJob)
    copied = [m for m in ("status", "cancel", "wait", "_set", "start") if m in vars(cls)]
    assert not copied, f"{module}.{name} redefines {copied}: keep one copy, in core.jobs"
