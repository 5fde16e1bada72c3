"""Training the lab's transformer live, as a background job, and asking it things afterwards.

    job = start(LabSettings(objective="causal", steps=300), text=source_text("zen"))
    job.status()        # poll from a UI timer: losses, attention maps, a sample, the verdict
    job.wait()
    generate(job, "Beautiful is", 80)          # causal: the model writes on
    fill_in(job, "Beautiful is b_tter than")    # masked: predictions for each "_"

A job reports after every step (steps take milliseconds here), so a page polling once a second
always has fresh numbers. It checks itself when it ends: a run whose loss did not fall says so in
`status().verdict` instead of pretending it learned.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.attention.maps import AttentionMaps
from core.config import env_int
from core.jobs import BackgroundJob, error_text, new_job_id
from core.transformer_lab.data import MASK, SOURCES, Vocab, causal_batch, check_text, masked_batch, source_text

OBJECTIVES = ("causal", "masked")
MODEL_KEY = "transformer-lab"
LAB_MAX_STEPS = env_int("NLP_STUDIO_LAB_MAX_STEPS", 3000)
LAB_MAX_JOBS = env_int("NLP_STUDIO_LAB_MAX_JOBS", 2)  # runs at once per process: each takes a CPU core
LAB_THREADS = env_int("NLP_STUDIO_LAB_THREADS", 1)  # a model this small runs best on one thread
SNAPSHOT_S = 1.0  # attention maps and the sample are refreshed at most this often (losses: every step)
SAMPLE_CHARS = 40  # written at each snapshot: one forward per character, kept short (it pauses training)
BLANK = "_"  # in fill_in's input, each "_" is a position to predict
FALL_RATIO = 0.9  # the run "learned" when its last losses average below 90% of its start


@dataclass(frozen=True)
class LabSettings:
    """What to build and how to train it. d_model must be a multiple of heads."""

    objective: str = "causal"  # "causal" next-character, or "masked" fill-in (15% of positions hidden)
    layers: int = 2
    heads: int = 4
    d_model: int = 64
    context: int = 32
    steps: int = 300
    learning_rate: float = 3e-3
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if not 1 <= self.layers <= 4:
            raise ValueError(f"layers must be between 1 and 4, got {self.layers}")
        if self.heads not in (1, 2, 4, 8):
            raise ValueError(f"heads must be 1, 2, 4 or 8, got {self.heads}")
        if not 16 <= self.d_model <= 256 or self.d_model % self.heads:
            raise ValueError(f"d_model must be 16–256 and a multiple of heads ({self.heads}), got {self.d_model}")
        if not 8 <= self.context <= 128:
            raise ValueError(f"context must be between 8 and 128 characters, got {self.context}")
        if not 1 <= self.steps <= LAB_MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {LAB_MAX_STEPS}, got {self.steps} "
                             "(NLP_STUDIO_LAB_MAX_STEPS)")
        if not 1e-5 <= self.learning_rate <= 0.1:
            raise ValueError(f"learning rate must be between 1e-5 and 0.1, got {self.learning_rate}")
        if not 1 <= self.batch_size <= 256:
            raise ValueError(f"batch size must be between 1 and 256, got {self.batch_size}")

    @property
    def causal(self) -> bool:
        return self.objective == "causal"


@dataclass(frozen=True)
class LabStatus:
    """A snapshot of one run. `losses[i]` is the loss of step i+1 (nats per predicted character);
    `baseline` is ln(vocabulary size), the loss of a uniform guess; `maps` are the attention maps on
    the probe text at the last snapshot; `sample` is generated text (causal) or the probe filled in
    (masked); `verdict` says whether the loss fell, once the run ends."""

    job_id: str
    state: str  # running, done, cancelled, failed
    step: int
    total: int
    losses: tuple[float, ...]
    seconds: float
    baseline: float
    objective: str
    maps: AttentionMaps | None = None
    sample: str = ""
    verdict: str = ""
    learned: bool | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "cancelled", "failed")

    @property
    def steps_per_s(self) -> float:
        return self.step / self.seconds if self.seconds > 0 else 0.0


def display_char(c: str) -> str:
    """A character as an axis label: space and newline made visible."""
    return {" ": "␣", "\n": "⏎", "\t": "⇥"}.get(c, c)


def judge(losses: tuple[float, ...] | list[float], baseline: float) -> tuple[bool, str]:
    """Did the run learn? Compares the mean loss of its last tenth of steps with its start (the
    mean of its first 3 steps, about ln V for a fresh model)."""
    if len(losses) < 4:
        return False, (f"only {len(losses)} steps ran: too few to tell whether the model learned; "
                       "train for more steps")
    k = max(2, len(losses) // 10)
    first, last = float(np.mean(losses[:3])), float(np.mean(losses[-k:]))
    if last < FALL_RATIO * first:
        return True, (f"the loss fell from {first:.2f} to {last:.2f} nats per character "
                      f"(a uniform guess is {baseline:.2f}): the model learned")
    return False, (f"the loss did NOT fall enough (from {first:.2f} to {last:.2f}; a uniform guess is "
                   f"{baseline:.2f}): the model learned little. Raise the learning rate or the steps")


class LabJob(BackgroundJob[LabStatus]):
    """One training run in a background thread. Create with `start`; keep the job to sample from."""

    def __init__(self, settings: LabSettings, text: str) -> None:
        import torch

        from core.transformer_lab.model import TinyTransformer

        self.settings, self.text = settings, text
        self.vocab = Vocab.of(text)
        self.data = torch.tensor(self.vocab.encode(text), dtype=torch.long)
        if len(self.data) <= settings.context + 1:
            raise ValueError(f"the text ({len(self.data)} characters) must be longer than the context "
                             f"({settings.context}); paste more text or shorten the context")
        torch.manual_seed(settings.seed)
        self.model = TinyTransformer(len(self.vocab), settings.context, settings.d_model, settings.heads,
                                     settings.layers, settings.causal)
        self.probe = self._probe_ids()
        self.model_lock = threading.Lock()  # sampling and training never use the weights at once
        job_id = new_job_id()
        super().__init__(job_id, LabStatus(job_id, "running", 0, settings.steps, (), 0.0,
                                           math.log(len(self.vocab)), settings.objective),
                         thread_name=f"transformer-lab-{job_id}")

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def _probe_ids(self):
        """The window whose attention is drawn: the first `context` characters; for the masked
        objective every 6th character (from the 3rd) is hidden, so the maps show the blanks at work."""
        ids = self.data[: self.settings.context].clone()
        if not self.settings.causal:
            ids[2::6] = self.vocab.mask_id
        return ids

    def snapshot(self) -> tuple[AttentionMaps, str]:
        """Attention maps on the probe window, and the sample that goes with them."""
        import torch

        with self.model_lock, torch.no_grad():
            was = self.model.training
            self.model.eval()
            logits, maps = self.model(self.probe[None])
            self.model.train(was)
        tokens = tuple(display_char(self.vocab.chars[int(i)]) for i in self.probe)
        T = len(tokens)
        weights = maps[:, 0].float().numpy()  # [layers, heads, T, T]
        am = AttentionMaps(MODEL_KEY, "decoder" if self.settings.causal else "encoder", tokens, tokens,
                           (False,) * T, (0,) * T, weights)
        if self.settings.causal:
            sample = generate(self, self.vocab.decode(self.probe[: min(12, T)]), SAMPLE_CHARS, temperature=0.0)
        else:
            filled = logits[0].argmax(-1)
            hidden = self.probe == self.vocab.mask_id
            sample = self.vocab.decode(torch.where(hidden, filled, self.probe))
        return am, sample

    def _run(self) -> None:
        import torch

        from core.transformer_lab.model import loss_fn

        if LAB_THREADS:
            torch.set_num_threads(LAB_THREADS)
        s = self.settings
        start = time.perf_counter()
        gen = torch.Generator().manual_seed(s.seed)
        optim = torch.optim.AdamW(self.model.parameters(), lr=s.learning_rate, weight_decay=0.01)
        losses: list[float] = []
        last_snap = 0.0
        try:
            maps, sample = self.snapshot()
            self._set(maps=maps, sample=sample)
            self.model.train()
            for _ in range(s.steps):
                if self.cancelled:
                    break
                if s.causal:
                    x, y = causal_batch(self.data, s.batch_size, s.context, gen)
                else:
                    x, y = masked_batch(self.data, s.batch_size, s.context, gen, self.vocab.mask_id)
                with self.model_lock:
                    logits, _ = self.model(x)
                    loss = loss_fn(logits, y)
                    optim.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                    optim.step()
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise ValueError(f"the loss became {value} at step {len(losses) + 1}; lower the learning rate")
                losses.append(value)
                now = time.perf_counter()
                changes: dict[str, Any] = {}
                if now - last_snap >= SNAPSHOT_S or len(losses) == s.steps:
                    changes["maps"], changes["sample"] = self.snapshot()
                    last_snap = now
                self._set(step=len(losses), losses=tuple(losses), seconds=now - start, **changes)
            self.model.eval()
            maps, sample = self.snapshot()
            learned, verdict = judge(losses, self.status().baseline)
            cancelled = self.cancelled and len(losses) < s.steps
            self._set(state="cancelled" if cancelled else "done", maps=maps, sample=sample, verdict=verdict,
                      learned=learned, seconds=time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - reported through status(), the app stays up
            self._set(state="failed", error=error_text(exc), seconds=time.perf_counter() - start)


_jobs: dict[str, LabJob] = {}
_jobs_lock = threading.Lock()


def resolve_text(source: str, text: str = "") -> str:
    """The training text: what the user pasted, else the shipped source `source`."""
    if (text or "").strip():
        return check_text(text)
    if source not in SOURCES:
        raise ValueError(f"no text source {source!r}; choose one of {', '.join(SOURCES)} or paste your own text")
    return check_text(source_text(source))


def start(settings: LabSettings = LabSettings(), text: str = "", source: str = "zen") -> LabJob:
    """Start a run and return at once. Refuses (ValueError) when LAB_MAX_JOBS runs are going."""
    body = resolve_text(source, text)
    with _jobs_lock:
        running = sum(1 for j in _jobs.values() if not j.status().finished)
        if running >= LAB_MAX_JOBS:
            raise ValueError(f"{running} Transformer Lab runs are going on this machine (the limit is "
                             f"{LAB_MAX_JOBS}, NLP_STUDIO_LAB_MAX_JOBS); wait a few seconds and start again")
        job = LabJob(settings, body)
        for old in [k for k, j in _jobs.items() if j.status().finished][:-8]:
            del _jobs[old]  # keep a few finished runs to sample from, not every run ever
        _jobs[job.job_id] = job
    job.start()
    return job


def get_job(job_id: str) -> LabJob:
    try:
        return _jobs[job_id]
    except KeyError:
        raise ValueError(f"no Transformer Lab run {job_id!r} here (the app may have restarted); train again") from None


def train(settings: LabSettings = LabSettings(), text: str = "", source: str = "zen") -> LabJob:
    """Start a run and wait for it (the blocking form, for the API, scripts and tests)."""
    job = start(settings, text, source)
    job.wait()
    return job


def generate(job: LabJob, prompt: str, n_chars: int = 120, temperature: float = 0.8, seed: int = 0) -> str:
    """Causal model only: continue `prompt` for `n_chars` characters (temperature 0 = greedy)."""
    import torch

    if not job.settings.causal:
        raise ValueError("this run was trained with the masked objective: it fills in blanks but cannot write "
                         "on. Use fill-in, or train a causal run")
    if not 0 < n_chars <= 1000:
        raise ValueError(f"n_chars must be between 1 and 1000, got {n_chars}")
    if not prompt:
        raise ValueError("type a few characters to start from")
    ids = job.vocab.encode(prompt)
    gen = torch.Generator().manual_seed(seed)
    with job.model_lock, torch.no_grad():
        was = job.model.training
        job.model.eval()
        for _ in range(n_chars):
            window = torch.tensor(ids[-job.settings.context:])[None]
            logits = job.model(window)[0][0, -1]
            if temperature <= 0:
                nxt = int(logits.argmax())
            else:
                probs = torch.softmax(logits / temperature, -1)
                probs[job.vocab.mask_id] = 0  # the mask symbol is never written
                nxt = int(torch.multinomial(probs / probs.sum(), 1, generator=gen))
            ids.append(nxt)
        job.model.train(was)
    return job.vocab.decode(ids)


@dataclass(frozen=True)
class FillIn:
    """Masked model's predictions: the text with every blank filled by its top guess, and for each
    blank (position, top-k (character, probability))."""

    filled: str
    blanks: tuple[tuple[int, tuple[tuple[str, float], ...]], ...]


def fill_in(job: LabJob, text: str, top_k: int = 3) -> FillIn:
    """Masked model only: predict each "_" in `text` (at most `context` characters) from both sides."""
    import torch

    if job.settings.causal:
        raise ValueError("this run was trained with the causal objective: it only looks left and writes on. "
                         "Use generate, or train a masked run to fill in blanks")
    if BLANK not in text:
        raise ValueError(f"put at least one {BLANK!r} where a character should be predicted")
    if len(text) > job.settings.context:
        raise ValueError(f"the text has {len(text)} characters; this model reads at most {job.settings.context} "
                         "(its context). Shorten it")
    ids = [job.vocab.mask_id if c == BLANK else job.vocab.encode(c)[0] for c in text]
    with job.model_lock, torch.no_grad():
        was = job.model.training
        job.model.eval()
        probs = torch.softmax(job.model(torch.tensor(ids)[None])[0][0], -1)  # [T, vocab]
        job.model.train(was)
    probs[:, job.vocab.mask_id] = 0
    blanks, out = [], list(text)
    for i, c in enumerate(text):
        if c != BLANK:
            continue
        p, idx = probs[i].topk(top_k)
        guesses = tuple((job.vocab.chars[int(j)], float(v)) for v, j in zip(p, idx))
        blanks.append((i, guesses))
        out[i] = guesses[0][0]
    return FillIn("".join(out), tuple(blanks))


def mask_char() -> str:
    return MASK
