"""Direct Preference Optimization (Rafailov et al. 2023) with LoRA on a small chat model, as a
background job.

For each pair, with π the model being trained and π_ref the model before training:
    reward(answer) = β · (log π(answer | prompt) − log π_ref(answer | prompt))
    loss           = −log σ(reward(chosen) − reward(rejected))
The loss only asks that the chosen answer gain log-probability *relative to* the rejected one.
Both rewards can fall (the model makes both answers less likely, the rejected one much more so)
and the pair is still won: that is why chosen rewards are often negative while training works.

The reference model is not a second copy: it is the same LoRA model with its adapter switched
off (`peft_model.disable_adapter()`), and since π_ref never changes its log-probabilities are
computed once, before the first step.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from core.chat.conversation import DEFAULT_MODEL, DEFAULT_SYSTEM_PROMPT, build_prompt_ids
from core.config import env_int
from core.jobs import BackgroundJob, error_text, new_job_id
from core.preference.pairs import PreferencePair, parse_pairs

DPO_MAX_STEPS = env_int("NLP_STUDIO_DPO_MAX_STEPS", 200)
DPO_THREADS = env_int("NLP_STUDIO_DPO_THREADS", 0)  # 0: torch's default
REPLY_TOKENS = env_int("NLP_STUDIO_DPO_REPLY_TOKENS", 24)  # greedy reply length before/after


@dataclass(frozen=True)
class DPOSettings:
    """β scales the implicit reward: small β lets the model move far from the reference."""

    beta: float = 0.1
    steps: int = 20
    learning_rate: float = 1e-3  # 5e-3 wins the pairs sooner but over-optimises: replies degenerate
    rank: int = 8
    alpha: int = 16
    seed: int = 0
    reply_tokens: int = REPLY_TOKENS

    def __post_init__(self) -> None:
        if not isinstance(self.beta, (int, float)) or not 0 < self.beta <= 10:
            raise ValueError(f"beta must be greater than 0 (and at most 10), got {self.beta}: it scales the reward "
                             "β·(log π − log π_ref); typical values are 0.05–0.5")
        if not 1 <= self.steps <= DPO_MAX_STEPS:
            raise ValueError(f"steps must be between 1 and {DPO_MAX_STEPS}, got {self.steps} (NLP_STUDIO_DPO_MAX_STEPS)")
        if not 1e-6 <= self.learning_rate <= 0.1:
            raise ValueError(f"learning rate must be between 1e-6 and 0.1, got {self.learning_rate}")
        if not 1 <= self.rank <= 64:
            raise ValueError(f"rank must be between 1 and 64, got {self.rank}")
        if not 1 <= self.reply_tokens <= 128:
            raise ValueError(f"reply tokens must be between 1 and 128, got {self.reply_tokens}")


def dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta: float):
    """Per-pair DPO loss and implicit rewards from summed log-probabilities (tensors of shape [N]).
    Returns (losses, chosen_rewards, rejected_rewards), each [N]."""
    import torch.nn.functional as F

    chosen_rewards = beta * (policy_chosen - ref_chosen)
    rejected_rewards = beta * (policy_rejected - ref_rejected)
    losses = -F.logsigmoid(chosen_rewards - rejected_rewards)
    return losses, chosen_rewards, rejected_rewards


def encode_pairs(tokenizer, pairs: tuple[PreferencePair, ...], system_prompt: str = DEFAULT_SYSTEM_PROMPT):
    """Token ids and answer masks for [chosen_1..chosen_N, rejected_1..rejected_N]: the chat-templated
    prompt, then the answer and the end-of-turn token (so the model also learns where to stop).
    Returns ids [2N, T], attention mask [2N, T], answer mask [2N, T] (1 on answer tokens)."""
    import torch

    rows = []
    for answer_of in ("chosen", "rejected"):
        for p in pairs:
            prompt = build_prompt_ids(tokenizer, [{"role": "system", "content": system_prompt},
                                                  {"role": "user", "content": p.prompt}])
            answer = tokenizer(getattr(p, answer_of), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
            rows.append((prompt, answer))
    width = max(len(a) + len(b) for a, b in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    attn = torch.zeros((len(rows), width), dtype=torch.long)
    answer_mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for r, (prompt, answer) in enumerate(rows):
        seq = prompt + answer
        ids[r, : len(seq)] = torch.tensor(seq)
        attn[r, : len(seq)] = 1
        answer_mask[r, len(prompt): len(seq)] = True
    return ids, attn, answer_mask


def sequence_logps(model, ids, attn, answer_mask):
    """Summed log-probability of each row's answer tokens given everything before them: [rows].

    The vocabulary projection (49k x 576 for SmolLM2) runs only on the answer positions, not on
    the prompt's: the same numbers as the full logits, for a fraction of the work."""
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model  # LoRA layers stay in place
    hidden = causal.model(input_ids=ids, attention_mask=attn).last_hidden_state  # [rows, T, H]
    keep = answer_mask[:, 1:]  # position t predicts token t+1
    logits = causal.lm_head(hidden[:, :-1][keep]).float()  # [answer tokens, vocab]
    logps = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:][keep].unsqueeze(-1)).squeeze(-1)
    rows = torch.arange(ids.shape[0], device=ids.device).unsqueeze(1).expand_as(keep)[keep]
    return torch.zeros(ids.shape[0], dtype=logps.dtype, device=ids.device).index_add(0, rows, logps)


def greedy_reply(model, tokenizer, prompt: str, max_new_tokens: int,
                 system_prompt: str = DEFAULT_SYSTEM_PROMPT) -> str:
    """The model's greedy answer to one prompt (deterministic, so before/after differ only by training)."""
    import torch

    ids = build_prompt_ids(tokenizer, [{"role": "system", "content": system_prompt},
                                       {"role": "user", "content": prompt}])
    device = next(model.parameters()).device
    with torch.no_grad():
        out = model.generate(input_ids=torch.tensor([ids], device=device),
                             attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=device),
                             max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0, len(ids):], skip_special_tokens=True).strip()


@dataclass(frozen=True)
class StepStats:
    """One step, per pair: chosen and rejected rewards β·(log π − log π_ref) and the loss."""

    loss: float
    chosen: tuple[float, ...]
    rejected: tuple[float, ...]

    @property
    def margins(self) -> tuple[float, ...]:
        return tuple(c - r for c, r in zip(self.chosen, self.rejected))

    @property
    def accuracy(self) -> float:
        """Share of pairs whose chosen reward beats the rejected one."""
        return sum(m > 0 for m in self.margins) / len(self.margins)

    @property
    def mean_margin(self) -> float:
        return sum(self.margins) / len(self.margins)


@dataclass(frozen=True)
class DPOStatus:
    job_id: str
    state: str  # starting, running, done, cancelled, failed
    step: int
    total: int
    pairs: tuple[PreferencePair, ...]
    history: tuple[StepStats, ...] = ()
    before: tuple[str, ...] = ()  # greedy replies to each pair's prompt, adapter off (the reference)
    after: tuple[str, ...] = ()  # the same with the trained adapter
    final: StepStats | None = None  # rewards with the trained weights (after the last update)
    seconds: float = 0.0
    verdict: str = ""
    learned: bool | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "cancelled", "failed")

    @property
    def losses(self) -> tuple[float, ...]:
        return tuple(s.loss for s in self.history)


def judge(history: tuple[StepStats, ...]) -> tuple[bool, str]:
    """Did DPO move the model? The mean margin is 0 before the first update (π = π_ref)."""
    if not history:
        return False, "no step finished; nothing was learned"
    last = history[-1]
    if last.mean_margin > 0.05 and last.accuracy >= 0.5:
        return True, (f"the mean reward margin rose from {history[0].mean_margin:+.3f} to {last.mean_margin:+.3f}; "
                      f"{last.accuracy:.0%} of pairs are won")
    return False, (f"the mean reward margin is only {last.mean_margin:+.3f} after {len(history)} steps: DPO learned "
                   "little. Raise the learning rate, beta or the steps")


class DPOJob(BackgroundJob[DPOStatus]):
    """One DPO run in a background thread. Create with `start`."""

    def __init__(self, pairs: tuple[PreferencePair, ...], settings: DPOSettings, model_key: str) -> None:
        job_id = new_job_id()
        super().__init__(job_id, DPOStatus(job_id, "starting", 0, settings.steps, pairs), thread_name=f"dpo-{job_id}")
        self.pairs, self.settings, self.model_key = pairs, settings, model_key

    def _replies(self, model, tokenizer) -> tuple[str, ...]:
        return tuple(greedy_reply(model, tokenizer, p.prompt, self.settings.reply_tokens) for p in self.pairs)

    def _run(self) -> None:
        import torch

        from core.chat.lora import LoraSettings
        from core.chat.lora_train import prepare

        s = self.settings
        start = time.perf_counter()
        model = None
        if DPO_THREADS:
            torch.set_num_threads(DPO_THREADS)
        try:
            model, tokenizer = prepare(self.model_key, LoraSettings(rank=s.rank, alpha=s.alpha, seed=s.seed,
                                                                     learning_rate=s.learning_rate))
            device = next(model.parameters()).device
            ids, attn, answer_mask = (t.to(device) for t in encode_pairs(tokenizer, self.pairs))
            n = len(self.pairs)
            model.eval()  # no dropout: the same input gives the same log-probabilities
            with model.disable_adapter(), torch.no_grad():  # π_ref: the same weights, adapter off
                ref = sequence_logps(model, ids, attn, answer_mask)
                before = self._replies(model, tokenizer)
            self._set(state="running", before=before, seconds=time.perf_counter() - start)
            optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=s.learning_rate,
                                      weight_decay=0.0)
            history: list[StepStats] = []
            for _ in range(s.steps):
                if self.cancelled:
                    break
                policy = sequence_logps(model, ids, attn, answer_mask)
                losses, chosen, rejected = dpo_loss(policy[:n], policy[n:], ref[:n], ref[n:], s.beta)
                loss = losses.mean()
                optim.zero_grad(set_to_none=True)
                loss.backward()
                optim.step()
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise ValueError(f"the loss became {value} at step {len(history) + 1}; lower the learning rate")
                # Rewards of the weights this step was computed with (before its update), as TRL logs them.
                history.append(StepStats(value, tuple(chosen.detach().tolist()), tuple(rejected.detach().tolist())))
                self._set(step=len(history), history=tuple(history), seconds=time.perf_counter() - start)
            if not history:  # cancelled while preparing: nothing learned, no "after" to show
                self._set(state="cancelled", seconds=time.perf_counter() - start, learned=False,
                          verdict="cancelled before the first step; nothing was learned")
                return
            with torch.no_grad():
                policy = sequence_logps(model, ids, attn, answer_mask)
                losses, chosen, rejected = dpo_loss(policy[:n], policy[n:], ref[:n], ref[n:], s.beta)
            final = StepStats(float(losses.mean()), tuple(chosen.tolist()), tuple(rejected.tolist()))
            after = self._replies(model, tokenizer)
            learned, verdict = judge(tuple(history) + (final,))
            cancelled = self.cancelled and len(history) < s.steps
            self._set(state="cancelled" if cancelled else "done", after=after, final=final,
                      seconds=time.perf_counter() - start, verdict=verdict, learned=learned)
        except Exception as exc:  # noqa: BLE001 - reported through status(), the app stays up
            self._set(state="failed", error=error_text(exc), seconds=time.perf_counter() - start)
        finally:
            del model
            _slot.release()


_slot = threading.Semaphore(1)  # one DPO run per process: each step is a full forward+backward of the LLM
_jobs: dict[str, DPOJob] = {}


def start(pairs: Any, settings: DPOSettings = DPOSettings(), model: str = DEFAULT_MODEL) -> DPOJob:
    """Start a DPO run and return at once; every input is checked first (ValueError says what to fix)."""
    import peft  # noqa: F401 - imported here, not first in the job thread: lazy imports race across threads

    from core import models

    pairs = parse_pairs(pairs)
    models.get(model)  # a missing model fails here, in the caller, with how to get it
    if not _slot.acquire(blocking=False):
        raise ValueError("a DPO run is already going on this machine; wait for it to finish (a minute or two)")
    try:
        job = DPOJob(pairs, settings, model)
        _jobs[job.job_id] = job
        job.start()
    except Exception:
        _slot.release()
        raise
    return job


def get_job(job_id: str) -> DPOJob:
    try:
        return _jobs[job_id]
    except KeyError:
        raise ValueError(f"no DPO run {job_id!r} here (the app may have restarted); start one again") from None


def run_dpo(pairs: Any, settings: DPOSettings = DPOSettings(), model: str = DEFAULT_MODEL) -> DPOStatus:
    """Start a run and wait (the blocking form, for the API, scripts and tests)."""
    return start(pairs, settings, model).wait()
