"""Replay how a trained tokenizer cuts one sentence, step by step, in plain Python.

BPE: every pre-tokenized word starts as single characters; the learned merges are applied in rank
order (the earliest-learned pair first, every occurrence left to right), and the pieces are
recorded after each merge. A pair made by merge r can only take part in later merges (its token
did not exist before r), so applying merges globally in rank order gives the same pieces as the
library's per-word priority queue; the tests check that the final pieces equal the library's.
WordPiece: greedy longest match from the left, one piece per step.
Unigram: the Viterbi best cut of each word, with each piece's log-probability.
"""
from __future__ import annotations

from dataclasses import dataclass

from core import config
from core.tokenizer_lab.train import UNK, TrainedTokenizer


@dataclass(frozen=True)
class ReplayStep:
    """One step: what was done (`action`) and every piece of the sentence after it."""

    step: int
    action: str
    pieces: tuple[str, ...]
    rank: int | None = None  # BPE: the merge's rank (0 = learned first)
    groups: tuple[tuple[str, ...], ...] = ()  # the same pieces, word by word

    def shown(self) -> str:
        """The pieces as text: pieces apart by a space, words apart by a bar."""
        return "  |  ".join(" ".join(g) for g in self.groups) if self.groups else " ".join(self.pieces)


@dataclass(frozen=True)
class Replay:
    algorithm: str
    words: tuple[str, ...]  # the pre-tokenizer's output
    steps: tuple[ReplayStep, ...]
    pieces: tuple[str, ...]  # the final pieces
    truncated: bool = False  # more steps than TOKENIZER_MAX_REPLAY_STEPS (BPE only)


def pre_tokenize(trained: TrainedTokenizer, sentence: str) -> list[str]:
    """The words the subword model sees: the normalizer, then the pre-tokenizer, as the library does."""
    tok = trained.tokenizer
    text = tok.normalizer.normalize_str(sentence) if tok.normalizer is not None else sentence
    return [w for w, _ in tok.pre_tokenizer.pre_tokenize_str(text)]


def _flat(words: list[list[str]]) -> tuple[str, ...]:
    return tuple(p for w in words for p in w)


def _groups(words: list[list[str]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(w) for w in words)


def _merge_word(word: list[str], a: str, b: str) -> list[str]:
    out, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
            out.append(a + b)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def replay_bpe(trained: TrainedTokenizer, sentence: str, max_steps: int | None = None) -> Replay:
    """Apply the learned merges in rank order to `sentence` and record the pieces after each."""
    if trained.settings.algorithm != "BPE":
        raise ValueError("merge replay is for BPE; WordPiece and Unigram replay with `replay`")
    max_steps = config.TOKENIZER_MAX_REPLAY_STEPS if max_steps is None else max_steps
    vocab = trained.tokenizer.get_vocab()
    ranks = {pair: r for r, pair in enumerate(trained.merges)}
    words_text = pre_tokenize(trained, sentence)
    # A character the training text never had is unknown to the model: it stays [UNK].
    words = [[ch if ch in vocab else UNK for ch in w] for w in words_text]
    steps = [ReplayStep(0, "start: every word as single characters", _flat(words), None, _groups(words))]
    truncated = False
    while True:
        best = None
        for w in words:
            for pair in zip(w, w[1:]):
                r = ranks.get(pair)
                if r is not None and (best is None or r < best[0]):
                    best = (r, pair)
        if best is None:
            break
        rank, (a, b) = best
        words = [_merge_word(w, a, b) for w in words]
        if len(steps) > max_steps:
            truncated = True
            continue  # keep merging so the final pieces are right; stop recording
        steps.append(ReplayStep(len(steps), f"merge #{rank}: {a} + {b} → {a + b}", _flat(words), rank,
                                _groups(words)))
    return Replay("BPE", tuple(words_text), tuple(steps), _flat(words), truncated)


def replay_wordpiece(trained: TrainedTokenizer, sentence: str) -> Replay:
    """Greedy longest match, as BERT's WordPiece does: one step per piece taken."""
    vocab = trained.tokenizer.get_vocab()
    words_text = pre_tokenize(trained, sentence)
    done: list[list[str]] = []
    steps = [ReplayStep(0, "start: the pre-tokenized words", tuple(words_text), None,
                        tuple((w,) for w in words_text))]
    for wi, word in enumerate(words_text):
        pieces, start = [], 0
        while start < len(word):
            end, found = len(word), None
            while start < end:
                cand = word[start:end] if start == 0 else "##" + word[start:end]
                if cand in vocab:
                    found = cand
                    break
                end -= 1
            if found is None:  # no piece fits: the whole word is unknown
                pieces = [UNK]
                break
            pieces.append(found)
            start = end
        done.append(pieces)
        groups = _groups(done) + tuple((w,) for w in words_text[wi + 1:])
        steps.append(ReplayStep(len(steps), f"{word} → {' + '.join(pieces)} (longest match first)",
                                _flat([list(g) for g in groups]), None, groups))
    return Replay("WordPiece", tuple(words_text), tuple(steps), _flat(done))


def replay_unigram(trained: TrainedTokenizer, sentence: str) -> Replay:
    """The library's best (Viterbi) cut of each word, with the log-probability of each piece."""
    tok = trained.tokenizer
    words_text = pre_tokenize(trained, sentence)
    done: list[list[str]] = []
    steps = [ReplayStep(0, "start: the pre-tokenized words", tuple(words_text), None,
                        tuple((w,) for w in words_text))]
    for wi, word in enumerate(words_text):
        pieces = [t.value for t in tok.model.tokenize(word)]
        total = sum(trained.scores.get(p, float("nan")) for p in pieces)
        done.append(pieces)
        groups = _groups(done) + tuple((w,) for w in words_text[wi + 1:])
        parts = " + ".join(f"{p} ({trained.scores.get(p, float('nan')):.2f})" for p in pieces)
        steps.append(ReplayStep(len(steps), f"{word} → {parts} = log p {total:.2f} (the most probable cut)",
                                _flat([list(g) for g in groups]), None, groups))
    return Replay("Unigram", tuple(words_text), tuple(steps), _flat(done))


def replay(trained: TrainedTokenizer, sentence: str) -> Replay:
    """The step-by-step cut of `sentence` for the tokenizer's algorithm."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError("the sentence to replay is empty; type a sentence")
    if len(sentence) > config.TOKENIZER_MAX_TEXT_CHARS:
        raise ValueError(f"the sentence has {len(sentence):,} characters; at most "
                         f"{config.TOKENIZER_MAX_TEXT_CHARS:,} (NLP_STUDIO_TOKENIZER_MAX_TEXT_CHARS)")
    algo = trained.settings.algorithm
    if algo == "BPE":
        return replay_bpe(trained, sentence)
    if algo == "WordPiece":
        return replay_wordpiece(trained, sentence)
    return replay_unigram(trained, sentence)
