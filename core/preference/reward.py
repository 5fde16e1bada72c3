"""Reward functions that are easy to game: what happens when a number stands in for a person.

A lexicon reward adds up the sentiment of the words in an answer: cheerful words score, facts do
not. It is the kind of cheap proxy people try first; the Preference Lab shows, with its numbers,
that the answer it likes best is flattery, and that pairs ranked by it teach a model to flatter.
The word weights below were written for this lab (positive 0.5–1.0, negative −0.5–−1.0).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

POSITIVE = {
    "amazing": 1.0, "wonderful": 1.0, "great": 0.8, "excellent": 1.0, "love": 0.9, "lovely": 0.8,
    "fantastic": 1.0, "awesome": 1.0, "brilliant": 0.9, "happy": 0.7, "glad": 0.6, "delighted": 0.9,
    "good": 0.5, "nice": 0.5, "beautiful": 0.8, "perfect": 0.9, "best": 0.8, "thanks": 0.5,
    "thank": 0.5, "enjoy": 0.6, "fun": 0.6, "superb": 1.0, "marvellous": 1.0, "marvelous": 1.0,
}
NEGATIVE = {
    "bad": -0.7, "terrible": -1.0, "awful": -1.0, "hate": -0.9, "wrong": -0.6, "sad": -0.6,
    "boring": -0.6, "poor": -0.5, "horrible": -1.0, "no": -0.3, "not": -0.3, "never": -0.4,
}
LEXICON = {**POSITIVE, **NEGATIVE}
REWARDS = ("lexicon", "length")
_WORD = re.compile(r"[a-z']+")


def lexicon_reward(text: str) -> float:
    """Sum of the lexicon weights of the words in `text` (lower-cased), plus 0.1 per '!'
    (excitement counts too): no upper bound, so repeating a word keeps paying."""
    words = _WORD.findall((text or "").lower())
    return round(sum(LEXICON.get(w, 0.0) for w in words) + 0.1 * text.count("!"), 3)


def length_reward(text: str) -> float:
    """Number of words: the proxy 'longer answers look more helpful'."""
    return float(len(_WORD.findall((text or "").lower())))


def reward(text: str, kind: str = "lexicon") -> float:
    if kind == "lexicon":
        return lexicon_reward(text)
    if kind == "length":
        return length_reward(text)
    raise ValueError(f"reward must be one of {', '.join(REWARDS)}, got {kind!r}")


@dataclass(frozen=True)
class Candidate:
    text: str
    helpful: bool  # what a person would say: does it answer the question?


GAMING_PROMPT = "What is the capital of France?"
GAMING_CANDIDATES = (
    Candidate("Paris.", True),
    Candidate("The capital of France is Paris.", True),
    Candidate("Good question! The capital of France is Paris.", True),
    Candidate("What a wonderful question! I love it!", False),
    Candidate("Great great great! Amazing, wonderful, fantastic, lovely!!!", False),
    Candidate("I am not sure, maybe London? Never mind, no idea.", False),
)


def gaming_rows(candidates=GAMING_CANDIDATES, kind: str = "lexicon") -> list[dict]:
    """Each candidate answer with its reward and whether it actually answers, best reward first."""
    rows = [{"answer": c.text, "reward": reward(c.text, kind), "answers the question": "yes" if c.helpful else "no"}
            for c in candidates]
    return sorted(rows, key=lambda r: -r["reward"])
