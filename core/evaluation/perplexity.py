"""Perplexity of a text under a causal language model, with each token's surprisal.

For tokens t_1..t_n, the model gives p(t_i | t_<i) for i = 2..n (the first token has no context to
be predicted from, so it is not scored). Surprisal is -log2 p in bits; perplexity is
exp(mean of -ln p), the same number as exp(loss) of transformers' own `labels=` loss.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from core import config

DEFAULT_MODEL = "smollm2-135m"


@dataclass(frozen=True)
class Perplexity:
    model: str
    perplexity: float
    mean_nll: float  # nats per scored token
    tokens: tuple[str, ...]  # every token's text (decoded), the first one included
    ids: tuple[int, ...]
    surprisal_bits: tuple[float, ...]  # one per token from the second on
    top_prediction: tuple[str, ...]  # the model's most likely next token at each scored position
    note: str = ""  # where it was computed, when that is not the plain local model (core.chat.llm_server)

    @property
    def bits_per_token(self) -> float:
        return self.mean_nll / math.log(2)

    def as_dict(self) -> dict:
        return {"model": self.model, "note": self.note, "perplexity": self.perplexity, "mean_nll_nats": self.mean_nll,
                "bits_per_token": self.bits_per_token,
                "tokens": [{"text": t, "id": i, "surprisal_bits": s, "top_prediction": p}
                           for t, i, s, p in zip(self.tokens, self.ids, (None,) + self.surprisal_bits,
                                                 (None,) + self.top_prediction)]}


def perplexity_models() -> list[str]:
    """The causal language models of the registry (SmolLM2-135M ships offline)."""
    from core.registry import available_models

    return available_models("causal-lm")


def perplexity(text: str, model: str = DEFAULT_MODEL) -> Perplexity:
    """Score `text` under `model` (a registry key of a causal LM). Raises ValueError for empty or
    one-token text, or text longer than PERPLEXITY_MAX_TOKENS."""
    from core import models
    from core.chat import llm_server

    if not isinstance(text, str) or not text.strip():
        raise ValueError("the text is empty; type a sentence to score")
    if model not in perplexity_models():
        raise ValueError(f"{model!r} is not a causal language model here; choose one of "
                         f"{', '.join(perplexity_models())}")
    note = ""
    if llm_server.served(model):
        try:
            return served_perplexity(text, model)
        except llm_server.MisalignedLogprobs as exc:
            note = f"Computed on this machine: {exc}"
    import torch

    lm = models.get(model)
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) < 2:
        raise ValueError("the text is a single token: perplexity needs at least two (the first token "
                         "has nothing before it to be predicted from); type a few words")
    if len(ids) > config.PERPLEXITY_MAX_TOKENS:
        raise ValueError(f"the text is {len(ids)} tokens; at most {config.PERPLEXITY_MAX_TOKENS} "
                         "(NLP_STUDIO_PERPLEXITY_MAX_TOKENS)")
    x = torch.tensor([ids], device=lm.device)
    with torch.inference_mode():
        logits = lm.model(input_ids=x).logits[0, :-1].float()
    logp = torch.log_softmax(logits, dim=-1)
    target = x[0, 1:]
    nll = -logp.gather(1, target[:, None])[:, 0]
    mean = float(nll.mean())
    tok = lm.tokenizer
    pieces = tuple(tok.decode([i]) for i in ids)
    top = tuple(tok.decode([int(i)]) for i in logp.argmax(-1).tolist())
    return Perplexity(model, math.exp(mean), mean, pieces, tuple(int(i) for i in ids),
                      tuple(float(v) / math.log(2) for v in nll.tolist()), top, note)


def served_perplexity(text: str, model: str = DEFAULT_MODEL) -> Perplexity:
    """The same score from the language-model server (core.chat.llm_server): the completions endpoint
    with echo=True gives log p of each of the text's own tokens. The server does not report token
    ids, so `ids` holds -1 for each token."""
    from core.chat import llm_server

    scored = llm_server.prompt_logprobs(text, top_logprobs=1)
    if len(scored) < 2:
        raise ValueError("the text is a single token: perplexity needs at least two (the first token "
                         "has nothing before it to be predicted from); type a few words")
    if len(scored) > config.PERPLEXITY_MAX_TOKENS:
        raise ValueError(f"the text is {len(scored)} tokens; at most {config.PERPLEXITY_MAX_TOKENS} "
                         "(NLP_STUDIO_PERPLEXITY_MAX_TOKENS)")
    nll = [-(t.logprob if t.logprob is not None else 0.0) for t in scored[1:]]
    mean = sum(nll) / len(nll)
    top = tuple(t.top[0][0] if t.top else "" for t in scored[1:])
    return Perplexity(model, math.exp(mean), mean, tuple(t.text for t in scored), tuple(-1 for _ in scored),
                      tuple(v / math.log(2) for v in nll), top, "Scored by the language-model server "
                      "(NLP_STUDIO_LLM_URL).")
