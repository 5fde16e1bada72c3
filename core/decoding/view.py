"""What the Decoding Lab shows, UI-neutral: control declarations, the three strategies run side by
side, and the /decode endpoint's plain-data answer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.config import DECODE_MAX_BEAMS, DECODE_MAX_NEW_TOKENS
from core.controls import Control
from core.decoding import figures
from core.decoding.decode import STRATEGIES, Result, Settings, decode

EXPLAINER = (
    "The same prompt, the same model (**SmolLM2-135M**, its real logits), three ways to pick the next token: "
    "**greedy** takes the most likely one, **beam search** keeps the best few partial sequences by their "
    "cumulative log-probability, **sampling** draws from the distribution after temperature, top-k and top-p. "
    "The loop is ours (with a KV cache), so every step can be shown.")

DECODE_CONTROLS = (
    Control("prompt", "Prompt", "textarea", "The best thing about learning a new language is", lines=2),
    Control("max_new_tokens", "Max new tokens", "slider", 16, "", 1, DECODE_MAX_NEW_TOKENS, 1),
    Control("num_beams", "Beams (num_beams)", "slider", 3, "Beam search only", 1, DECODE_MAX_BEAMS, 1),
    Control("length_penalty", "Length penalty", "slider", 1.0,
            "Finished beams are ranked by log-prob / length^penalty: > 0 favours longer ones", -2.0, 2.0, 0.1),
    Control("temperature", "Temperature", "slider", 0.8, "Sampling only; 0 is refused (that limit is greedy)",
            0.0, 2.0, 0.05),
    Control("top_k", "Top-k (0 = off)", "slider", 50, "Sampling only", 0, 200, 1),
    Control("top_p", "Top-p (1 = off)", "slider", 0.95, "Sampling only", 0.05, 1.0, 0.05),
    Control("seed", "Seed", "int", 0, "Sampling only: the same seed gives the same text", 0, 2**31 - 1),
)


def settings_for(strategy: str, values: dict[str, Any]) -> Settings:
    """Settings of one strategy from the DECODE_CONTROLS values (the prompt excluded)."""
    return Settings(strategy=strategy, max_new_tokens=int(values["max_new_tokens"]),
                    num_beams=int(values["num_beams"]), length_penalty=float(values["length_penalty"]),
                    temperature=float(values["temperature"]), top_k=int(values["top_k"]),
                    top_p=float(values["top_p"]), seed=int(values["seed"]))


def as_dict(r: Result) -> dict:
    """The /decode answer: text, tokens, sequence log-prob, steps and the beam tree."""
    return {
        "strategy": r.strategy, "text": r.text, "tokens": list(r.tokens), "token_ids": list(r.token_ids),
        "token_logprobs": list(r.token_logprobs), "sequence_logprob": r.sequence_logprob,
        "steps": [{"step": s.step, "token": s.token, "prob": s.prob, "top": [list(t) for t in s.top]}
                  for s in r.steps],
        "beam_tree": [dict(n.__dict__) for n in r.tree] if r.strategy == "beam" else None,
        "seconds": r.seconds,
    }


def decode_api(prompt: str, strategy: str = "greedy", max_new_tokens: int = 20, num_beams: int = 3,
               length_penalty: float = 1.0, temperature: float = 0.8, top_k: int = 50, top_p: float = 0.95,
               seed: int = 0) -> dict:
    """/decode: one strategy on SmolLM2-135M → text, tokens, sequence log-prob, steps, beam tree."""
    values = dict(max_new_tokens=max_new_tokens, num_beams=num_beams, length_penalty=length_penalty,
                  temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
    return as_dict(decode(prompt, settings_for(strategy, values)))


@dataclass(frozen=True)
class DecodeView:
    rows: list  # [strategy, output text, sequence log-prob, tokens, seconds]
    results: dict  # strategy -> Result
    tree_figure: Any
    distribution_figures: dict  # strategy -> figure
    code: str


def compare_view(prompt: str, **values) -> DecodeView:
    """All three strategies on `prompt`. All settings are checked before any model runs."""
    settings = {s: settings_for(s, values) for s in STRATEGIES}
    results = {s: decode(prompt, settings[s]) for s in STRATEGIES}
    # A strategy run by the language-model server (core.chat.llm_server) says so; beam search is always local.
    rows = [[s + (" (model server)" if r.settings.get("served") else ""), r.text, round(r.sequence_logprob, 3),
             len(r.token_ids), round(r.seconds, 2)] for s, r in results.items()]
    dists = {s: figures.distribution_figure(r.steps, f"{s}: top next tokens at each step (✓ chosen)")
             for s, r in results.items()}
    code = ("from core.decoding import Settings, decode\n\n"
            f"prompt = {prompt!r}\n"
            f"greedy = decode(prompt, Settings('greedy', max_new_tokens={values['max_new_tokens']}))\n"
            f"beam = decode(prompt, Settings('beam', max_new_tokens={values['max_new_tokens']}, "
            f"num_beams={values['num_beams']}, length_penalty={values['length_penalty']}))\n"
            f"sampled = decode(prompt, Settings('sample', max_new_tokens={values['max_new_tokens']}, "
            f"temperature={values['temperature']}, top_k={values['top_k']}, top_p={values['top_p']}, seed={values['seed']}))\n"
            "for r in (greedy, beam, sampled):\n    print(r.strategy, r.sequence_logprob, r.text)\n"
            "# beam.tree: every candidate with its cumulative log-prob\n")
    return DecodeView(rows, results, figures.tree_figure(results["beam"].tree), dists, code)


__all__ = ["EXPLAINER", "DECODE_CONTROLS", "settings_for", "as_dict", "decode_api", "DecodeView", "compare_view"]
