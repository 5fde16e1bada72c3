"""LoRA fine-tuning as a background job, one at a time per machine.

    job = start_training("pirate", LoraSettings(steps=30), name="my-pirate",
                         on_step=lambda s: print(s.step, s.losses[-1]))
    job.wait()                 # or poll job.status() from a UI timer; job.cancel() stops it
    job.status().adapter       # the saved adapter's name

The job trains a private copy of the base model (the shared one keeps serving chat), reports
every step through `on_step` and `status()`, and saves the adapter as safetensors when it ends:
after the last step, or after the current step when cancelled (a usable checkpoint). A
machine-wide file lock allows one job at a time, across processes too; a second caller gets a
ValueError that says who holds it and for about how long.

A run checks itself when it ends (`learning_check`): if the LoRA weights did not change, or the
loss did not fall, `status().warning` says so (and the saved adapter's studio.json records it),
because a training run that learned nothing must not look like one that worked.
"""
from __future__ import annotations

import copy
import fcntl
import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

from core.chat.conversation import DEFAULT_MODEL, DEFAULT_SYSTEM_PROMPT
from core.config import LORA_CHECK_MIN_DROP, LORA_CHECK_MIN_STEPS, LORA_TRAIN_THREADS
from core.chat.lora import LoraSettings, check_name, describe, name_taken, save_adapter, settings_dict, unique_name, user_dir
from core.chat.lora_data import Dataset, encode_example, load_dataset
from core.jobs import BackgroundJob, error_text, new_job_id

log = logging.getLogger("nlp_studio")
STATES = ("starting", "running", "saving", "done", "cancelled", "failed")


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of one job. `losses[i]` is the training loss (mean over response tokens) of
    step i+1; `eta_s` is the estimated seconds left; `adapter` is set once it is saved;
    `warning` is set when the finished run did not visibly learn (see `learning_check`)."""

    job_id: str
    name: str
    state: str
    step: int
    total: int
    losses: tuple[float, ...]
    seconds: float
    eta_s: float | None
    adapter: str | None = None
    error: str | None = None
    params: dict | None = None
    warning: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "cancelled", "failed")


_jobs: dict[str, "TrainingJob"] = {}  # every job of this process, by id (the UI keeps the id per user)
_slot = threading.Lock()  # guards taking the machine-wide lock from several threads


def _lock_path():
    return user_dir() / ".training.lock"


def _busy_message() -> str:
    try:
        info = json.loads((user_dir() / ".training.json").read_text())
        left = max(5, int(info.get("eta_until", 0) - time.time()))
        return f"training in progress by another user ({info.get('name', '?')}); try again in about {left} s"
    except (OSError, json.JSONDecodeError, ValueError):
        return "training in progress by another user; try again in a minute"


def training_batches(features: list[tuple[list[int], list[int]]], batch_size: int, steps: int, seed: int, pad_id: int):
    """`steps` padded batches drawn from shuffled passes over the examples."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    order: list[int] = []
    for _ in range(steps):
        if len(order) < batch_size:
            order += torch.randperm(len(features), generator=gen).tolist()
        idx, order = order[:batch_size], order[batch_size:]
        width = max(len(features[i][0]) for i in idx)
        ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
        labels = torch.full((len(idx), width), -100, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            x, y = features[i]
            ids[row, : len(x)] = torch.tensor(x)
            labels[row, : len(y)] = torch.tensor(y)
            mask[row, : len(x)] = 1
        yield ids, labels, mask


def response_loss(peft_model, ids, mask, labels):
    """Mean cross-entropy over the response tokens only, the same number as the model's own
    `labels=` loss, but the vocabulary projection (49k x 576 for SmolLM2) runs only where a
    label exists instead of on every prompt token: about a fifth less work per step."""
    import torch.nn.functional as F

    causal = peft_model.get_base_model()
    hidden = causal.model(input_ids=ids, attention_mask=mask).last_hidden_state  # [B, T, H]
    targets = labels[:, 1:]
    keep = targets != -100
    logits = causal.lm_head(hidden[:, :-1][keep])  # [N, V], N = number of response tokens
    return F.cross_entropy(logits.float(), targets[keep])


def prepare(model_key: str, settings: LoraSettings, seed_offset: int = 0):
    """A private trainable copy of the base model with fresh LoRA layers, and its tokenizer.

    With `settings.quantization == "4bit"` (QLoRA) the copy is of the model's 4-bit nf4 form
    (loaded once per process beside the full-precision one), made ready for k-bit training by
    peft: norms and the output head in fp32, inputs that carry gradients through frozen layers.
    """
    import torch
    from peft import LoraConfig, get_peft_model

    from core import models

    four_bit = settings.quantization == "4bit"
    if four_bit:
        from core.chat.llm import LOADER_4BIT

        base = models.get(model_key, loader=LOADER_4BIT)
    else:
        base = models.get(model_key)
    torch.manual_seed(settings.seed + seed_offset)
    model = copy.deepcopy(base.model)
    if four_bit:
        from peft import prepare_model_for_kbit_training

        from core.chat.lora_4bit import keep_backward

        keep_backward(model)  # a no-op after load_causal_lm's own guard, unless something repacked it since
        on_gpu = next(model.parameters()).device.type == "cuda"
        # Checkpointing trades compute for activation memory: worth it on a GPU, where QLoRA is
        # about fitting a bigger model; on a CPU it is time that runs short, not memory.
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=on_gpu)
    cfg = LoraConfig(r=settings.rank, lora_alpha=settings.alpha, target_modules=list(settings.target_modules),
                     lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, cfg)
    peft_model.train()
    return peft_model, base.tokenizer


def check_settings(settings: LoraSettings, device: str | None = None) -> None:
    """ValueError, before any work, when `settings` ask for something this machine cannot do:
    4-bit QLoRA without bitsandbytes, or on a device it does not run on (the message says
    what to install or where it runs)."""
    if settings.quantization != "none":
        from core.device import get_device
        from core.chat.llm import check_quantization

        check_quantization(settings.quantization, device or get_device())


def encode_dataset(tokenizer, dataset: Dataset, system_prompt: str = DEFAULT_SYSTEM_PROMPT):
    return [encode_example(tokenizer, ex, system_prompt) for ex in dataset.train]


def max_weight_change(before: list, after: list) -> float:
    """The largest absolute change of any trainable number between two snapshots."""
    return max((float((a.detach() - b).abs().max()) for b, a in zip(before, after) if b.numel()), default=0.0)


def learning_check(losses: list[float], weight_change: float, first_batch_after: float | None = None,
                   four_bit: bool = False) -> str | None:
    """None when a finished run visibly learned, else a sentence saying what did not happen and
    what to try. Two signs: the LoRA weights moved at all, and (from LORA_CHECK_MIN_STEPS steps)
    the loss of the first batch, measured again after the last step (`first_batch_after`), is at
    least LORA_CHECK_MIN_DROP below its loss at step 1 (`losses[0]`, taken before any update).
    The same batch on both sides: each step sees another batch, so comparing steps is noisy."""
    if not losses:
        return None
    fix = " or train without 4-bit quantization" if four_bit else ""
    if weight_change == 0.0:
        return (f"the LoRA weights did not change in {len(losses)} step(s): this adapter does nothing. "
                f"Raise the learning rate{fix}.")
    if first_batch_after is not None and len(losses) >= LORA_CHECK_MIN_STEPS:
        if not first_batch_after <= losses[0] * (1 - LORA_CHECK_MIN_DROP):
            return (f"the loss did not fall (first batch: {losses[0]:.3f} before training, {first_batch_after:.3f} "
                    f"after {len(losses)} steps): this run may have learned nothing. Try a higher learning rate or "
                    f"more steps{fix}.")
    return None


class TrainingJob(BackgroundJob[JobStatus]):
    """One fine-tuning run in a background thread. Create with `start_training`. `cancel()` stops
    it after the current step and saves what was learned so far."""

    def __init__(self, dataset: Dataset, settings: LoraSettings, name: str, model_key: str,
                 on_step: Callable[[JobStatus], None] | None, lock_file, threads: int = 0, owner: str = "") -> None:
        job_id = new_job_id()
        super().__init__(job_id, JobStatus(job_id, name, "starting", 0, settings.steps, (), 0.0, None),
                         thread_name=f"lora-train-{name}")
        self.owner = owner
        self.dataset, self.settings, self.name, self.model_key = dataset, settings, name, model_key
        self._on_step = on_step
        self.threads = threads or LORA_TRAIN_THREADS
        self._lock_file = lock_file

    def _publish(self, status: JobStatus) -> None:
        try:
            (user_dir() / ".training.json").write_text(json.dumps(
                {"name": self.name, "eta_until": time.time() + (status.eta_s or 60)}))
        except OSError:
            pass
        if self._on_step:
            try:
                self._on_step(status)
            except Exception:  # noqa: BLE001 - a broken progress display must not kill training
                log.exception("on_step callback failed")

    def _run(self) -> None:
        import torch

        start = time.perf_counter()
        model = None
        if self.threads:
            torch.set_num_threads(self.threads)  # per thread: chat in other threads keeps its own count
        try:
            model, tokenizer = prepare(self.model_key, self.settings)
            features = encode_dataset(tokenizer, self.dataset)
            params = describe(model)
            device = next(model.parameters()).device
            self._publish(self._set(state="running", params=params))
            trainable = [p for p in model.parameters() if p.requires_grad]
            start_weights = [p.detach().clone() for p in trainable]  # LoRA only: a few MB at most
            optim = torch.optim.AdamW(trainable, lr=self.settings.learning_rate, weight_decay=0.0)
            losses: list[float] = []
            step_times: list[float] = []
            first_batch = None
            for ids, labels, mask in training_batches(features, self.settings.batch_size, self.settings.steps,
                                              self.settings.seed, tokenizer.pad_token_id):
                if self.cancelled:
                    break
                ids, labels, mask = (t.to(device) for t in (ids, labels, mask))
                first_batch = first_batch or (ids, mask, labels)
                t0 = time.perf_counter()
                loss_t = response_loss(model, ids, mask, labels)
                loss_t.backward()
                optim.step()
                optim.zero_grad(set_to_none=True)
                loss = float(loss_t.detach())
                if not math.isfinite(loss):
                    raise ValueError(f"the loss became {loss} at step {len(losses) + 1}; lower the learning rate")
                losses.append(loss)
                step_times.append(time.perf_counter() - t0)
                # The first step pays for warm-up; later steps predict the rest better.
                recent = step_times[1:][-10:] or step_times
                eta = sum(recent) / len(recent) * (self.settings.steps - len(losses))
                self._publish(self._set(step=len(losses), losses=tuple(losses),
                                        seconds=time.perf_counter() - start, eta_s=eta))
            cancelled = self.cancelled and len(losses) < self.settings.steps
            if not losses:
                self._set(state="cancelled", seconds=time.perf_counter() - start, eta_s=0.0,
                          error="cancelled before the first step finished; nothing to save")
                return
            with torch.no_grad():  # one more forward: the first batch's loss after training
                first_after = float(response_loss(model, *first_batch))
            warning = learning_check(losses, max_weight_change(start_weights, trainable), first_after,
                                     self.settings.quantization != "none")
            if warning:
                log.warning("LoRA job %s: %s", self.name, warning)
            self._set(state="saving", warning=warning)
            model.eval()
            meta = {"base_model": self.model_key, "dataset": self.dataset.name, "steps": self.settings.steps,
                    "steps_done": len(losses), "losses": [round(x, 4) for x in losses],
                    "settings": settings_dict(self.settings), "seconds": round(time.perf_counter() - start, 1),
                    "status": "cancelled" if cancelled else "done", "params": params,
                    "system_prompt": DEFAULT_SYSTEM_PROMPT, "check": warning or "ok", "owner": self.owner}
            try:
                saved = save_adapter(model, self.name, meta)
            except ValueError:  # the name was taken meanwhile: keep the work under a free one
                saved = save_adapter(model, unique_name(self.name), meta)
            self._publish(self._set(state="cancelled" if cancelled else "done", adapter=saved.name,
                                    seconds=time.perf_counter() - start, eta_s=0.0))
        except Exception as exc:  # noqa: BLE001 - reported through status(), the app stays up
            self._set(state="failed", error=error_text(exc), seconds=time.perf_counter() - start, eta_s=0.0)
        finally:
            del model
            try:
                (user_dir() / ".training.json").unlink(missing_ok=True)
            finally:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                self._lock_file.close()


def start_training(dataset: str | Dataset, settings: LoraSettings = LoraSettings(), name: str | None = None,
                   model: str = DEFAULT_MODEL, on_step: Callable[[JobStatus], None] | None = None,
                   threads: int = 0, owner: str = "") -> TrainingJob:
    """Start a job and return at once. Refuses (ValueError) when another job holds the machine,
    when the name is taken, or when the dataset is unusable: all checked before any work.
    `owner`: the token of the session training it (core.chat.lora: who may see and delete it)."""
    import peft  # noqa: F401 - imported here, not first in the job thread: lazy imports race across threads

    from core import models

    ds = load_dataset(dataset) if isinstance(dataset, str) else dataset
    models.get(model)  # a missing model fails here, in the caller, with how to get it
    check_settings(settings)
    if name:
        name = check_name(name)
        if name_taken(name):
            raise ValueError(f"an adapter named {name!r} already exists; choose another name")
    else:
        name = unique_name(f"{ds.name}-{time.strftime('%m%d-%H%M%S')}")
    with _slot:
        fh = open(_lock_path(), "w")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise ValueError(_busy_message()) from None
    try:
        job = TrainingJob(ds, settings, name, model, on_step, fh, threads, owner)
        (user_dir() / ".training.json").write_text(json.dumps({"name": name, "eta_until": time.time() + 120}))
    except Exception:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()
        raise
    _jobs[job.job_id] = job
    job.start()
    return job


def busy() -> str | None:
    """None when no job holds the machine, else the message a new job would get."""
    with _slot, open(_lock_path(), "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _busy_message()
        fcntl.flock(fh, fcntl.LOCK_UN)
        return None


def wait_until_free(timeout: float = 600.0, poll: float = 2.0) -> None:
    """Block until no training job holds the machine (scripts and tests that share a machine)."""
    deadline = time.time() + timeout
    while (message := busy()) is not None:
        if time.time() > deadline:
            raise ValueError(message)
        time.sleep(poll)


def get_job(job_id: str) -> TrainingJob:
    try:
        return _jobs[job_id]
    except KeyError:
        raise ValueError(f"no training job {job_id!r} in this app (it may have been restarted)") from None


def finetune(dataset: str | Dataset, settings: LoraSettings = LoraSettings(), name: str | None = None,
             model: str = DEFAULT_MODEL, threads: int = 0, owner: str = "") -> JobStatus:
    """Train and wait (the blocking form, for the API and scripts)."""
    return start_training(dataset, settings, name, model, threads=threads, owner=owner).wait()


def estimate(dataset: str | Dataset, settings: LoraSettings = LoraSettings(), model: str = DEFAULT_MODEL,
             probe_steps: int = 3, threads: int = 0) -> dict:
    """Time a short probe (a few real steps on a throwaway copy) and predict the whole run.
    Returns seconds_per_step, estimated_s (for settings.steps) and the probe's own seconds."""
    import torch

    ds = load_dataset(dataset) if isinstance(dataset, str) else dataset
    check_settings(settings)
    threads = threads or LORA_TRAIN_THREADS
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _probe(ds, settings, model, probe_steps)
    finally:
        torch.set_num_threads(old_threads)


def _probe(ds: Dataset, settings: LoraSettings, model: str, probe_steps: int) -> dict:
    import torch

    t_start = time.perf_counter()
    peft_model, tokenizer = prepare(model, settings)
    features = encode_dataset(tokenizer, ds)
    optim = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=settings.learning_rate)
    times = []
    device = next(peft_model.parameters()).device
    for ids, labels, mask in training_batches(features, settings.batch_size, probe_steps, settings.seed,
                                      tokenizer.pad_token_id):
        ids, labels, mask = (t.to(device) for t in (ids, labels, mask))
        t0 = time.perf_counter()
        response_loss(peft_model, ids, mask, labels).backward()
        optim.step()
        optim.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    per_step = sum(times[1:]) / len(times[1:]) if len(times) > 1 else times[0]
    setup = time.perf_counter() - t_start - sum(times)
    return {"seconds_per_step": round(per_step, 3), "estimated_s": round(setup + per_step * settings.steps, 1),
            "probe_s": round(time.perf_counter() - t_start, 1), "steps": settings.steps,
            "trainable": describe(peft_model)["trainable"], "examples": len(ds.train)}
