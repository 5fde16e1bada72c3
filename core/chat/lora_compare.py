"""Base vs adapted: per-token probabilities of one reply under both models, and perplexity.

    rows = token_probabilities([{"role": "user", "content": "Hi"}], "Arr, ahoy matey!", "pirate-demo")
    [(r.token, r.p_base, r.p_adapted) for r in rows.tokens]
    perplexity("pirate", adapter="pirate-demo")   # on the dataset's held-out split

The probability of reply token t is p(t | prompt, earlier reply tokens) under teacher forcing:
each model reads the same text, so the two columns are directly comparable.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from core.chat.conversation import DEFAULT_MODEL, DEFAULT_SYSTEM_PROMPT, build_prompt_ids, normalize_messages, resolve_model
from core.chat.lora_data import Dataset, encode_example, load_dataset


@dataclass(frozen=True)
class TokenProb:
    """One reply token: its text, its probability under each model, and log2(p_adapted / p_base)."""

    token: str
    p_base: float
    p_adapted: float
    log_ratio: float


@dataclass(frozen=True)
class TokenComparison:
    tokens: tuple[TokenProb, ...]
    mean_logprob_base: float
    mean_logprob_adapted: float

    def as_dict(self) -> dict:
        return {"tokens": [t.__dict__ for t in self.tokens], "mean_logprob_base": self.mean_logprob_base,
                "mean_logprob_adapted": self.mean_logprob_adapted}


def _reply_logprobs(model, prompt_ids: list[int], reply_ids: list[int]) -> list[float]:
    """log p(reply_ids[i] | prompt, reply_ids[:i]) for every i, natural log."""
    import torch

    device = next(model.parameters()).device
    ids = torch.tensor([prompt_ids + reply_ids], device=device)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1: -1].float()  # [R, V]
    logp = torch.log_softmax(logits, dim=-1)
    return logp.gather(1, torch.tensor(reply_ids, device=device)[:, None])[:, 0].tolist()


def token_probabilities(messages: list[dict], reply_text: str, adapter: str, model: str = DEFAULT_MODEL,
                        system_prompt: str = DEFAULT_SYSTEM_PROMPT) -> TokenComparison:
    """Probabilities of each token of `reply_text` (the assistant's answer to `messages`) under
    the base model and under the base model with `adapter`."""
    if not adapter:
        raise ValueError("pick an adapter to compare with the base model")
    if not reply_text or not reply_text.strip():
        raise ValueError("give the reply text to score (e.g. one of the two answers)")
    base, tokenizer = resolve_model(model, None)
    adapted, _ = resolve_model(model, adapter)
    msgs = normalize_messages(messages, system_prompt)
    prompt_ids = build_prompt_ids(tokenizer, msgs)
    reply_ids = tokenizer(reply_text, add_special_tokens=False)["input_ids"][:512]
    lb = _reply_logprobs(base, prompt_ids, reply_ids)
    la = _reply_logprobs(adapted, prompt_ids, reply_ids)
    rows = tuple(
        TokenProb(tokenizer.decode([t]), round(math.exp(b), 5), round(math.exp(a), 5), round((a - b) / math.log(2), 3))
        for t, b, a in zip(reply_ids, lb, la)
    )
    return TokenComparison(rows, round(sum(lb) / len(lb), 4), round(sum(la) / len(la), 4))


def perplexity(dataset: str | Dataset, adapter: str | None = None, model: str = DEFAULT_MODEL,
               split: str = "heldout", system_prompt: str = DEFAULT_SYSTEM_PROMPT) -> float:
    """exp(mean negative log-likelihood per response token) on a split ("heldout" or "train")."""
    import torch

    ds = load_dataset(dataset) if isinstance(dataset, str) else dataset
    examples = ds.heldout if split == "heldout" else ds.train
    if not examples:
        raise ValueError(f"the {split} split of {ds.name} is empty")
    lm, tokenizer = resolve_model(model, adapter)
    device = next(lm.parameters()).device
    encoded = [encode_example(tokenizer, ex, system_prompt) for ex in examples]
    width = max(len(ids) for ids, _ in encoded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    # One padded batch (right padding, so real positions are unaffected by the causal mask).
    x = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in encoded], device=device)
    y = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in encoded], device=device)
    mask = (torch.arange(width, device=device)[None, :] < torch.tensor([len(i) for i, _ in encoded],
                                                                        device=device)[:, None]).long()
    with torch.inference_mode():
        logits = lm(input_ids=x, attention_mask=mask).logits[:, :-1].float()  # [N, T-1, V]
    targets = y[:, 1:]
    keep = targets != -100
    nll = torch.nn.functional.cross_entropy(logits[keep], targets[keep], reduction="mean")
    return round(math.exp(float(nll)), 3)
