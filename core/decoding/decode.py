"""Greedy search, beam search and sampling, written out over a causal LM's real logits.

Each strategy is our own loop over `model(input_ids, past_key_values=cache)` (the KV cache keeps
every step to one new token's work), so each step can be recorded: the next-token distribution,
the chosen token and, for beam search, every beam with its cumulative log-probability (the tree).

Greedy and beam search follow transformers' `generate()` rule for rule (tests/core/test_decoding.py
checks the same tokens on SmolLM2): beam search keeps 2·num_beams candidates per step (top-k over
all beams × vocabulary of the summed log-probs), continues with the best num_beams that did not
end, and files an ended candidate (end-of-sequence, or the length limit) among the finished ones
only if it ranks in the top num_beams, scored sum(log p) / (generated length ** length_penalty).
With `early_stopping=False` (generate()'s default) the search stops once the best running beam,
at its current length, cannot beat the worst of num_beams finished ones.

Sampling: logits / temperature, then top-k, then top-p (nucleus: the smallest set of tokens whose
probabilities reach p), then one draw from a torch.Generator seeded with `seed`, so the same seed
gives the same text. Temperature 0 is refused with a message (greedy search is that limit).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from core.config import DECODE_MAX_BEAMS, DECODE_MAX_NEW_TOKENS, DECODE_MAX_PROMPT_CHARS, DECODE_MAX_PROMPT_TOKENS, \
    DECODE_TOP_TOKENS

STRATEGIES = ("greedy", "beam", "sample")
DEFAULT_MODEL = "smollm2-135m"


@dataclass(frozen=True)
class Settings:
    """One decoding request. `top_k` 0 and `top_p` 1.0 switch those filters off."""

    strategy: str = "greedy"
    max_new_tokens: int = 24
    num_beams: int = 4
    length_penalty: float = 1.0
    early_stopping: bool = False
    temperature: float = 0.8
    top_k: int = 50
    top_p: float = 0.95
    seed: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if not 1 <= int(self.max_new_tokens) <= DECODE_MAX_NEW_TOKENS:
            raise ValueError(f"max new tokens must be 1–{DECODE_MAX_NEW_TOKENS} (NLP_STUDIO_DECODE_MAX_NEW_TOKENS), "
                             f"got {self.max_new_tokens}")
        if self.strategy == "beam" and not 1 <= int(self.num_beams) <= DECODE_MAX_BEAMS:
            raise ValueError(f"num_beams must be 1–{DECODE_MAX_BEAMS}, got {self.num_beams}")
        if not -5.0 <= self.length_penalty <= 5.0:
            raise ValueError(f"length penalty must be between -5 and 5, got {self.length_penalty}")
        if self.strategy == "sample":
            if self.temperature == 0:
                raise ValueError("temperature 0 with sampling is not a distribution (it would divide the logits "
                                 "by zero): choose the greedy strategy for that limit, or a temperature > 0")
            if not 0 < self.temperature <= 5:
                raise ValueError(f"temperature must be in (0, 5], got {self.temperature}")
            if not 0 <= int(self.top_k):
                raise ValueError(f"top-k must be ≥ 0 (0 switches it off), got {self.top_k}")
            if not 0 < self.top_p <= 1:
                raise ValueError(f"top-p must be in (0, 1] (1 switches it off), got {self.top_p}")


@dataclass(frozen=True)
class StepInfo:
    """One decoding step: the token chosen and the top tokens of the next-token distribution
    (after temperature / top-k / top-p for sampling; the model's own softmax otherwise)."""

    step: int
    token: str
    token_id: int
    prob: float
    top: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class BeamNode:
    """A node of the beam-search tree: a token appended to beam `parent` at `step`.
    `score` is the cumulative log-probability of the sequence up to and including it."""

    id: int
    parent: int  # -1: the prompt
    step: int
    token: str
    token_id: int
    logprob: float
    score: float
    finished: bool = False  # ended here (end-of-sequence or the length limit) and was filed
    final_score: float | None = None  # score / length ** length_penalty, for finished nodes
    kept: bool = True  # continued as a running beam
    best: bool = False  # on the path of the returned sequence


@dataclass(frozen=True)
class Result:
    """What a strategy produced. `sequence_logprob` is Σ log p(token | prefix) under the model's
    own distribution (temperature 1, no filters), comparable across strategies."""

    strategy: str
    prompt: str
    text: str
    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    token_logprobs: tuple[float, ...]
    sequence_logprob: float
    steps: tuple[StepInfo, ...]
    tree: tuple[BeamNode, ...] = ()
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)


def _tok_text(tokenizer, token_id: int) -> str:
    return tokenizer.decode([int(token_id)])


def encode_prompt(tokenizer, prompt: str):
    """Prompt → input ids [1, T]; ValueError for an empty or too long prompt."""
    import torch

    if prompt is None or not str(prompt).strip():
        raise ValueError("the prompt is empty: type the beginning of a text for the model to continue")
    if len(prompt) > DECODE_MAX_PROMPT_CHARS:
        raise ValueError(f"the prompt has {len(prompt):,} characters; the limit is {DECODE_MAX_PROMPT_CHARS:,} "
                         "(NLP_STUDIO_DECODE_MAX_PROMPT_CHARS)")
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    if ids.shape[1] > DECODE_MAX_PROMPT_TOKENS:
        raise ValueError(f"the prompt is {ids.shape[1]} tokens; the limit is {DECODE_MAX_PROMPT_TOKENS} "
                         "(NLP_STUDIO_DECODE_MAX_PROMPT_TOKENS): shorten it")
    return ids if isinstance(ids, torch.Tensor) else torch.tensor(ids)


def _top(tokenizer, probs, k: int = DECODE_TOP_TOKENS) -> tuple[tuple[str, float], ...]:
    p, i = probs.topk(k)
    return tuple((_tok_text(tokenizer, int(t)), float(v)) for v, t in zip(p, i))


def _forward(model, ids, cache):
    """Logits of the last position [B, V] (float32) and the updated cache."""
    out = model(input_ids=ids, cache=cache, use_cache=True)
    return out.logits[:, -1, :].float(), out.cache


def greedy(model, tokenizer, ids, settings: Settings) -> tuple[list[int], list[StepInfo]]:
    import torch

    eos = tokenizer.eos_token_id
    out, steps, cache, step_ids = [], [], None, ids
    for step in range(settings.max_new_tokens):
        logits, cache = _forward(model, step_ids, cache)
        probs = torch.softmax(logits[0], dim=-1)
        nxt = int(torch.argmax(logits[0]))
        steps.append(StepInfo(step, _tok_text(tokenizer, nxt), nxt, float(probs[nxt]), _top(tokenizer, probs)))
        out.append(nxt)
        if nxt == eos:
            break
        step_ids = torch.tensor([[nxt]])
    return out, steps


def filter_logits(logits, temperature: float, top_k: int, top_p: float):
    """Sampling's processed logits [V]: temperature, then top-k, then top-p; removed tokens get −inf.
    The same order as transformers' warpers."""
    import torch

    logits = logits / temperature
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=False)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        remove_sorted = cum <= (1 - top_p)
        remove_sorted[-1] = False  # always keep the most likely token
        remove = remove_sorted.scatter(0, order, remove_sorted)
        logits = logits.masked_fill(remove, float("-inf"))
    return logits


def sample(model, tokenizer, ids, settings: Settings) -> tuple[list[int], list[StepInfo]]:
    import torch

    gen = torch.Generator().manual_seed(int(settings.seed))
    eos = tokenizer.eos_token_id
    out, steps, cache, step_ids = [], [], None, ids
    for step in range(settings.max_new_tokens):
        logits, cache = _forward(model, step_ids, cache)
        probs = torch.softmax(filter_logits(logits[0], settings.temperature, int(settings.top_k), settings.top_p), -1)
        nxt = int(torch.multinomial(probs, 1, generator=gen))
        steps.append(StepInfo(step, _tok_text(tokenizer, nxt), nxt, float(probs[nxt]), _top(tokenizer, probs)))
        out.append(nxt)
        if nxt == eos:
            break
        step_ids = torch.tensor([[nxt]])
    return out, steps


def beam_search(model, tokenizer, ids, settings: Settings) -> tuple[list[int], list[StepInfo], list[BeamNode]]:
    """transformers' beam search (batch of one), recording the tree. Returns the best finished
    sequence's new ids, one StepInfo per step of that sequence, and the tree's nodes."""
    import torch

    nb, lp = int(settings.num_beams), float(settings.length_penalty)
    eos = tokenizer.eos_token_id
    keep = 2 * nb
    max_new = int(settings.max_new_tokens)
    nodes: list[BeamNode] = []
    # Running beams: their node id (−1 = the prompt), score; only beam 0 is live at first.
    running_nodes = [-1] * nb
    running_scores = torch.full((nb,), -1e9)
    running_scores[0] = 0.0
    finished: list[tuple[float, int]] = []  # (penalised score, node id), at most nb, best first
    improvement_possible = True
    cache, step_ids = None, ids.expand(nb, -1)
    dists: dict[int, tuple] = {}  # node id -> top tokens of the distribution it was chosen from
    for step in range(max_new):
        logits, cache = _forward(model, step_ids, cache)
        logp = torch.log_softmax(logits, dim=-1)  # [nb, V]
        vocab = logp.shape[-1]
        total = (logp + running_scores[:, None]).reshape(-1)
        top_scores, top_idx = torch.topk(total, keep)
        beam_of, token_of = top_idx // vocab, top_idx % vocab
        last = step + 1 == max_new
        cand = []
        for rank in range(keep):
            b, t = int(beam_of[rank]), int(token_of[rank])
            ends = t == eos or last
            node = BeamNode(len(nodes) + len(cand), running_nodes[b], step, _tok_text(tokenizer, t), t,
                            float(logp[b, t]), float(top_scores[rank]), kept=False)
            cand.append((node, b, ends))
        # Continue with the best nb candidates that did not end.
        cont = [c for c in cand if not c[2]][:nb]
        # File ended candidates ranked in the top nb, if improvement is still possible.
        if improvement_possible:
            for i, (node, b, ends) in enumerate(cand[:nb]):
                if ends:
                    penal = node.score / ((step + 1) ** lp)
                    finished.append((penal, node.id))
                    cand[i] = (replace(node, finished=True, final_score=penal), b, ends)
            finished.sort(key=lambda x: -x[0])
            finished = finished[:nb]
        kept_ids = {c[0].id for c in cont}
        for node, b, _ in cand:
            nodes.append(replace(node, kept=True) if node.id in kept_ids else node)
        # Top tokens per running beam at this step, for the step table of the best path.
        probs = logp.exp()
        for node, b, _ in cand:
            dists[node.id] = _top(tokenizer, probs[b], 5)
        if len(cont) < nb:  # cannot happen with 2·nb candidates and one end token, but stay safe
            break
        order = torch.tensor([c[1] for c in cont])
        running_nodes = [c[0].id for c in cont]
        running_scores = torch.tensor([c[0].score for c in cont])
        # Early-stop heuristic (early_stopping=False / True as in generate()).
        gen_len = step + 1
        if len(finished) == nb:
            best_possible = float(running_scores[0]) / (gen_len ** lp)
            worst_finished = min(f[0] for f in finished)
            improvement_possible = improvement_possible and best_possible > worst_finished
        if last or not improvement_possible or (settings.early_stopping and len(finished) == nb):
            break
        cache.reorder_cache(order)
        step_ids = torch.tensor([[c[0].token_id] for c in cont])
    if not finished:
        raise ValueError("beam search finished no sequence; raise max new tokens")
    best = finished[0][1]
    by_id = {n.id: n for n in nodes}
    path = []
    node_id = best
    while node_id != -1:
        path.append(node_id)
        node_id = by_id[node_id].parent
    path.reverse()
    on_path = set(path)
    nodes = [replace(n, best=n.id in on_path) for n in nodes]
    by_id = {n.id: n for n in nodes}
    tokens = [by_id[i].token_id for i in path]
    steps = [StepInfo(by_id[i].step, by_id[i].token, by_id[i].token_id, math.exp(by_id[i].logprob), dists[i])
             for i in path]
    return tokens, steps, nodes


def sequence_logprobs(model, prompt_ids, new_ids: list[int]) -> list[float]:
    """log p(token | prompt, earlier tokens) of each of `new_ids` under the model itself
    (temperature 1, nothing filtered): one forward pass."""
    import torch

    if not new_ids:
        return []
    full = torch.cat([prompt_ids, torch.tensor([new_ids])], dim=1)
    logits = model(input_ids=full).logits[0, prompt_ids.shape[1] - 1:-1].float()
    logp = torch.log_softmax(logits, dim=-1)
    return [float(logp[i, t]) for i, t in enumerate(new_ids)]


def decode(prompt: str, settings: Settings = Settings(), model_key: str = DEFAULT_MODEL) -> Result:
    """Run one strategy on `prompt` with the registered causal LM `model_key` (SmolLM2 by default)."""
    import time

    from core import models
    from core.chat import llm_server

    if settings.strategy != "beam" and llm_server.served(model_key):
        return served_decode(prompt, settings)
    import torch

    lm = models.get(model_key)
    ids = encode_prompt(lm.tokenizer, prompt).to(lm.device)
    t0 = time.perf_counter()
    tree: list[BeamNode] = []
    with torch.no_grad():
        if settings.strategy == "greedy":
            new, steps = greedy(lm.model, lm.tokenizer, ids, settings)
        elif settings.strategy == "sample":
            new, steps = sample(lm.model, lm.tokenizer, ids, settings)
        else:
            new, steps, tree = beam_search(lm.model, lm.tokenizer, ids, settings)
        seconds = time.perf_counter() - t0
        logps = sequence_logprobs(lm.model, ids, new)
    tokens = tuple(_tok_text(lm.tokenizer, t) for t in new)
    text = lm.tokenizer.decode(new, skip_special_tokens=True)
    return Result(settings.strategy, prompt, text, tuple(new), tokens, tuple(logps), float(sum(logps)),
                  tuple(steps), tuple(tree), seconds, dict(settings.__dict__))


def served_decode(prompt: str, settings: Settings = Settings()) -> Result:
    """Greedy search or sampling on the language-model server (core.chat.llm_server): the completions
    endpoint with the top DECODE_TOP_TOKENS log-probabilities per step. Token ids are not reported
    (-1). Each step's top list is the model's own distribution, before temperature / top-k / top-p
    (what the server reports), and a seed reproduces the server's draws, not this process's."""
    import time

    from core.chat import llm_server

    if prompt is None or not str(prompt).strip():
        raise ValueError("the prompt is empty: type the beginning of a text for the model to continue")
    if len(prompt) > DECODE_MAX_PROMPT_CHARS:
        raise ValueError(f"the prompt has {len(prompt):,} characters; the limit is {DECODE_MAX_PROMPT_CHARS:,} "
                         "(NLP_STUDIO_DECODE_MAX_PROMPT_CHARS)")
    if settings.strategy == "beam":
        raise ValueError("beam search runs on the local model (the OpenAI API has no beam search)")
    greedy_run = settings.strategy == "greedy"
    t0 = time.perf_counter()
    text, scored = llm_server.complete(
        prompt, int(settings.max_new_tokens), temperature=0.0 if greedy_run else settings.temperature,
        top_p=1.0 if greedy_run else settings.top_p, top_k=0 if greedy_run else int(settings.top_k),
        seed=None if greedy_run else int(settings.seed), top_logprobs=DECODE_TOP_TOKENS)
    seconds = time.perf_counter() - t0
    logps = tuple(t.logprob if t.logprob is not None else float("nan") for t in scored)
    steps = tuple(StepInfo(i, t.text, -1, math.exp(lp), tuple((k, math.exp(v)) for k, v in t.top))
                  for i, (t, lp) in enumerate(zip(scored, logps)))
    return Result(settings.strategy, prompt, text, tuple(-1 for _ in scored), tuple(t.text for t in scored), logps,
                  float(sum(logps)), steps, (), seconds, dict(settings.__dict__, served=True))
