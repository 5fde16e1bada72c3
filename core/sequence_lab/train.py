"""RNN, LSTM and GRU trained side by side on the same characters, as a background job.

    job = start_training(TrainSettings(steps=400))   # returns at once
    job.status()                                     # poll (a UI timer): losses, samples, verdicts
    job.wait(); job.cancel()

One job trains the three models in turn on the same batches (step 1 of each, then step 2 of
each, …), so their loss curves grow together. It stops after `steps` steps or `seconds` seconds,
whichever comes first, and then checks itself: each model's loss must have fallen clearly below
where it started and below a uniform guess over the characters, or its verdict says it did not
learn. Samples of each model are drawn every few seconds while it trains.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from core.config import SEQ_MAX_HIDDEN, SEQ_MAX_JOBS, SEQ_MAX_STEPS, SEQ_MAX_TRAIN_SECONDS, SEQ_TRAIN_THREADS
from core.jobs import BackgroundJob, error_text, new_job_id
from core.sequence_lab.cells import KINDS, build_model, check_kind
from core.sequence_lab.corpus import CharData, char_data
from core.sequence_lab.gradients import GradientProfile, gradient_profile

log = logging.getLogger("nlp_studio")
STATES = ("starting", "running", "done", "cancelled", "failed")
SAMPLE_EVERY_S = 8.0


@dataclass(frozen=True)
class TrainSettings:
    """What one run trains. Defaults learn visible words on Shakespeare in about a minute on 2 cores."""

    kinds: tuple[str, ...] = KINDS
    hidden: int = 128
    seq_len: int = 64
    batch_size: int = 32
    learning_rate: float = 0.005  # Adam
    steps: int = 500
    seconds: float = 100.0  # time budget for the whole run (all three models)
    clip: float = 1.0  # gradient-norm clipping: keeps the plain RNN from blowing up
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.kinds:
            raise ValueError("choose at least one of RNN, LSTM, GRU")
        for kind in self.kinds:
            check_kind(kind)
        checks = [
            (8 <= self.hidden <= SEQ_MAX_HIDDEN, f"hidden size must be 8–{SEQ_MAX_HIDDEN}"),
            (8 <= self.seq_len <= 256, "sequence length must be 8–256 characters"),
            (1 <= self.batch_size <= 256, "batch size must be 1–256"),
            (0 < self.learning_rate <= 0.1, "learning rate must be in (0, 0.1]"),
            (1 <= self.steps <= SEQ_MAX_STEPS, f"steps must be 1–{SEQ_MAX_STEPS} (NLP_STUDIO_SEQ_MAX_STEPS)"),
            (1 <= self.seconds <= SEQ_MAX_TRAIN_SECONDS,
             f"the time budget must be 1–{SEQ_MAX_TRAIN_SECONDS} s (NLP_STUDIO_SEQ_MAX_TRAIN_SECONDS)"),
            (self.clip > 0, "gradient clipping must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)


@dataclass(frozen=True)
class ModelReport:
    """One model's run: `losses[i]` training loss (nats per character) at step i+1."""

    kind: str
    losses: tuple[float, ...] = ()
    sample: str = ""
    val_loss: float | None = None
    verdict: str = ""
    learned: bool | None = None
    params: int = 0
    gradient: GradientProfile | None = None


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: str
    step: int
    total: int
    seconds: float
    reports: tuple[ModelReport, ...]
    uniform_loss: float  # ln(vocabulary size): the loss of a uniform guess
    source: str
    error: str | None = None
    steps_per_epoch: int = 0

    @property
    def finished(self) -> bool:
        return self.state in ("done", "cancelled", "failed")

    def message(self) -> str:
        if self.state == "failed":
            return f"Training failed: {self.error}"
        head = (f"{self.state}: step {self.step}/{self.total} of each model, {self.seconds:.0f} s"
                + (f" ({self.step / max(self.steps_per_epoch, 1):.2f} epochs)" if self.steps_per_epoch else ""))
        if self.finished:
            return head + ". " + " ".join(r.verdict for r in self.reports if r.verdict)
        return head


def split(data: CharData, held_out: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Training ids and the last `held_out` share of the text, kept for the validation loss."""
    cut = int(len(data.ids) * (1 - held_out))
    return data.ids[:cut], data.ids[cut:]


def batches(ids: np.ndarray, seq_len: int, batch_size: int, seed: int):
    """Endless (inputs, targets) int64 tensors [B, T] from random offsets (seeded, same for every model)."""
    import torch

    rng = np.random.default_rng(seed)
    while True:
        starts = rng.integers(0, len(ids) - seq_len - 1, size=batch_size)
        block = np.stack([ids[s:s + seq_len + 1] for s in starts])
        yield torch.from_numpy(block[:, :-1]), torch.from_numpy(block[:, 1:])


def train_step(model, optim, inputs, targets, clip: float) -> float:
    import torch
    import torch.nn.functional as F

    logits, _ = model(inputs)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    optim.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optim.step()
    return float(loss.detach())


def evaluate(model, ids: np.ndarray, seq_len: int = 128, max_chars: int = 20_000) -> float:
    """Mean cross-entropy (nats per character) on `ids` (the first `max_chars`), in windows of `seq_len`."""
    import torch
    import torch.nn.functional as F

    ids = ids[:max_chars]
    n = (len(ids) - 1) // seq_len
    if n < 1:
        return float("nan")
    x = torch.from_numpy(ids[:n * seq_len].reshape(n, seq_len))
    y = torch.from_numpy(ids[1:n * seq_len + 1].reshape(n, seq_len))
    with torch.no_grad():
        logits, _ = model(x)
        return float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)))


def sample(model, data: CharData, length: int = 300, temperature: float = 0.8, seed: int = 0,
           prime: str = "\n") -> str:
    """`length` characters drawn from `model` after `prime` (seeded: the same seed, the same text)."""
    import torch

    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    gen = torch.Generator().manual_seed(seed)
    ids = torch.from_numpy(data.encode(prime)).unsqueeze(0)
    out = []
    with torch.no_grad():
        logits, state = model(ids)
        for _ in range(length):
            probs = torch.softmax(logits[0, -1] / temperature, dim=-1)
            nxt = int(torch.multinomial(probs, 1, generator=gen))
            out.append(nxt)
            logits, state = model(torch.tensor([[nxt]]), state)
    return data.decode(out)


def verdict(kind: str, losses: tuple[float, ...], uniform: float) -> tuple[bool, str]:
    """Did the loss fall? Compares the first steps with the last ones and with a uniform guess."""
    if len(losses) < 10:
        return False, f"{kind}: only {len(losses)} steps ran, too few to tell whether it learned."
    k = max(3, len(losses) // 10)
    start, end = float(np.mean(losses[:3])), float(np.mean(losses[-k:]))
    if not math.isfinite(end):
        return False, f"{kind} did not learn: the loss became {end}; lower the learning rate."
    if end < 0.85 * start and end < uniform - 0.3:
        return True, f"{kind} learned: loss {start:.2f} → {end:.2f} nats/char (a uniform guess is {uniform:.2f})."
    return False, (f"{kind} did NOT learn: loss {start:.2f} → {end:.2f} nats/char (a uniform guess is {uniform:.2f}); "
                   "train longer, or change the learning rate.")


_slots = threading.BoundedSemaphore(max(1, SEQ_MAX_JOBS))
_jobs: dict[str, "TrainingJob"] = {}


class TrainingJob(BackgroundJob[JobStatus]):
    """One run in a daemon thread. Create it with `start_training`. `cancel()` stops it after the
    current step; the models keep what they learned."""

    def __init__(self, data: CharData, settings: TrainSettings, threads: int = 0) -> None:
        job_id = new_job_id()
        train_ids, _ = split(data)
        spe = max(1, len(train_ids) // (settings.batch_size * settings.seq_len))
        super().__init__(job_id, JobStatus(job_id, "starting", 0, settings.steps, 0.0,
                                           tuple(ModelReport(k) for k in settings.kinds), math.log(data.vocab_size),
                                           data.source, steps_per_epoch=spe),
                         thread_name=f"seq-train-{job_id}")
        self.data, self.settings = data, settings
        self.threads = threads or SEQ_TRAIN_THREADS
        self.models: dict = {}

    def _run(self) -> None:
        import torch

        s, start = self.settings, time.perf_counter()
        try:
            if self.threads:
                torch.set_num_threads(self.threads)
            train_ids, val_ids = split(self.data)
            optims, losses = {}, {k: [] for k in s.kinds}
            for i, kind in enumerate(s.kinds):
                self.models[kind] = build_model(kind, self.data.vocab_size, s.hidden, seed=s.seed + i)
                optims[kind] = torch.optim.Adam(self.models[kind].parameters(), lr=s.learning_rate)
            params = {k: sum(p.numel() for p in m.parameters()) for k, m in self.models.items()}
            samples = {k: "" for k in s.kinds}
            self._set(state="running", reports=self._reports(losses, samples, params))
            last_sample, step = time.perf_counter(), 0
            stream = batches(train_ids, s.seq_len, s.batch_size, s.seed)
            while step < s.steps and not self.cancelled and time.perf_counter() - start < s.seconds:
                inputs, targets = next(stream)
                for kind in s.kinds:
                    loss = train_step(self.models[kind], optims[kind], inputs, targets, s.clip)
                    losses[kind].append(loss)
                    # After each model's step, not each round: progress shows even when a round is slow.
                    self._set(seconds=time.perf_counter() - start, reports=self._reports(losses, samples, params))
                step += 1
                if time.perf_counter() - last_sample > SAMPLE_EVERY_S:
                    samples = {k: sample(m, self.data, 160, seed=s.seed) for k, m in self.models.items()}
                    last_sample = time.perf_counter()
                self._set(step=step, seconds=time.perf_counter() - start,
                          reports=self._reports(losses, samples, params))
            self._finish(losses, params, val_ids, start, cancelled=self.cancelled)
        except Exception as exc:  # noqa: BLE001 - reported through status(); the app stays up
            log.exception("sequence training failed")
            self._set(state="failed", error=error_text(exc), seconds=time.perf_counter() - start)
        finally:
            _slots.release()

    def _reports(self, losses, samples, params, extra=None) -> tuple[ModelReport, ...]:
        extra = extra or {}
        return tuple(ModelReport(k, tuple(losses[k]), samples.get(k, ""), params=params.get(k, 0), **extra.get(k, {}))
                     for k in self.settings.kinds)

    def _finish(self, losses, params, val_ids, start, cancelled: bool) -> None:
        s, uniform = self.settings, math.log(self.data.vocab_size)
        extra, samples = {}, {}
        for i, (kind, model) in enumerate(self.models.items()):
            model.eval()
            ok, text = verdict(kind, tuple(losses[kind]), uniform)
            extra[kind] = dict(val_loss=evaluate(model, val_ids), verdict=text, learned=ok,
                               gradient=gradient_profile(model, val_ids, seed=s.seed))
            samples[kind] = sample(model, self.data, 300, seed=s.seed)
        self._set(state="cancelled" if cancelled else "done", seconds=time.perf_counter() - start,
                  reports=self._reports(losses, samples, params, extra))


def start_training(settings: TrainSettings = TrainSettings(), text: str | None = None,
                   threads: int = 0) -> TrainingJob:
    """Check everything, then start a job and return at once. ValueError when the text is unusable
    or SEQ_MAX_JOBS runs are already going in this process."""
    data = char_data(text)
    train_ids, val_ids = split(data)
    if len(train_ids) < settings.batch_size + settings.seq_len + 2 or len(val_ids) < 200:
        raise ValueError("the text is too short for this sequence length; paste more text or shorten the sequences")
    if not _slots.acquire(blocking=False):
        raise ValueError(f"{SEQ_MAX_JOBS} training runs are already going on this server; "
                         "wait for one to finish (about a minute) and try again")
    try:
        job = TrainingJob(data, settings, threads)
    except Exception:
        _slots.release()
        raise
    _jobs[job.job_id] = job
    job.start()
    return job


def get_job(job_id: str) -> TrainingJob:
    try:
        return _jobs[job_id]
    except KeyError:
        raise ValueError(f"no training run {job_id!r} on this server (it may have restarted): train again") from None


def epoch_seconds(kind: str, data: CharData, settings: TrainSettings = TrainSettings(), steps: int | None = None) -> dict:
    """Time one epoch (or `steps` steps) of one model: for the bench. Returns steps, seconds, losses."""
    import torch

    train_ids, _ = split(data)
    n = steps or max(1, len(train_ids) // (settings.batch_size * settings.seq_len))
    model = build_model(kind, data.vocab_size, settings.hidden, seed=settings.seed)
    optim = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    stream = batches(train_ids, settings.seq_len, settings.batch_size, settings.seed)
    t0 = time.perf_counter()
    losses = [train_step(model, optim, *next(stream), settings.clip) for _ in range(n)]
    return {"kind": kind, "steps": n, "seconds": time.perf_counter() - t0, "first_loss": losses[0],
            "last_loss": float(np.mean(losses[-max(1, n // 10):]))}


__all__ = ["TrainSettings", "ModelReport", "JobStatus", "TrainingJob", "start_training", "get_job", "sample",
           "evaluate", "verdict", "epoch_seconds", "split", "batches", "train_step", "STATES"]
