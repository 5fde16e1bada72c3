"""Train a subword tokenizer (BPE, WordPiece or Unigram) with Hugging Face `tokenizers`.

The lab's tokenizer is the library's own: `train` sets up a `tokenizers.Tokenizer` with the chosen
model, pre-tokenizer and trainer and calls `train_from_iterator`, so what the learner sees is what
the library learns. `library_tokenizer` builds the same pipeline with no lab code in between: the
tests compare the two.

A trainer that cannot reach the requested vocabulary stops early without a word; here that is an
error that says how many tokens this text allows, so a too-large size never passes silently.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from core import config

ALGORITHMS = ("BPE", "WordPiece", "Unigram")
# How text is cut into words before the subword model sees it.
PRE_TOKENIZERS = ("whitespace", "byte-level", "metaspace")
PRE_TOKENIZER_HELP = {
    "whitespace": "words and punctuation runs (\\w+ | [^\\w\\s]+); spaces are dropped",
    "byte-level": "GPT-2 / SmolLM2 style: UTF-8 bytes as 256 symbols, a space becomes Ġ; nothing is unknown",
    "metaspace": "SentencePiece style: a space becomes ▁ and starts the next piece",
}
UNK = "[UNK]"
SPECIAL_TOKENS = (UNK,)
LINE_BATCH = 1_000  # lines per batch handed to the trainer
UNIGRAM_TOLERANCE = 0.9  # Unigram may end up to 10% under the size asked (see `train`)


@dataclass(frozen=True)
class TrainSettings:
    algorithm: str = "BPE"
    vocab_size: int = 500
    pre_tokenizer: str = "whitespace"
    lowercase: bool = False
    min_frequency: int = 0  # BPE / WordPiece: a pair seen fewer times is never merged

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm {self.algorithm!r} is not one of {', '.join(ALGORITHMS)}")
        if self.pre_tokenizer not in PRE_TOKENIZERS:
            raise ValueError(f"pre-tokenizer {self.pre_tokenizer!r} is not one of {', '.join(PRE_TOKENIZERS)}")
        if not isinstance(self.vocab_size, int) or isinstance(self.vocab_size, bool):
            raise ValueError(f"the vocabulary size must be a whole number, not {self.vocab_size!r}")
        if self.vocab_size < 1:
            raise ValueError(f"a vocabulary size of {self.vocab_size} cannot hold a single token; "
                             "choose at least a few hundred (e.g. 500)")
        if self.vocab_size > config.TOKENIZER_MAX_VOCAB:
            raise ValueError(f"a vocabulary size of {self.vocab_size:,} is above the lab's limit of "
                             f"{config.TOKENIZER_MAX_VOCAB:,} (NLP_STUDIO_TOKENIZER_MAX_VOCAB)")
        if self.min_frequency < 0:
            raise ValueError("the minimum pair frequency cannot be negative")


@dataclass(frozen=True)
class TrainedTokenizer:
    """A trained tokenizer and what the learner wants to know about it.

    tokenizer: the `tokenizers.Tokenizer` itself; merges: BPE merges in rank order (empty for the
    other models); chars, seconds: the training text's length and the training time.
    """

    settings: TrainSettings
    tokenizer: Any
    vocab_size: int
    alphabet_size: int
    merges: tuple[tuple[str, str], ...]
    chars: int
    seconds: float
    chars_per_token: float  # on the training text (first 50k characters)
    scores: dict[str, float] = field(default_factory=dict)  # Unigram: log-probability of each piece

    def vocab(self) -> list[tuple[int, str]]:
        """(id, piece) for every token, by id."""
        return sorted((i, p) for p, i in self.tokenizer.get_vocab().items())


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def check_text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the training text is empty; paste some text or pick a shipped corpus")
    if len(text) > config.TOKENIZER_MAX_TRAIN_CHARS:
        raise ValueError(f"the training text has {len(text):,} characters; the lab trains on at most "
                         f"{config.TOKENIZER_MAX_TRAIN_CHARS:,} (NLP_STUDIO_TOKENIZER_MAX_TRAIN_CHARS)")
    return text


def build(settings: TrainSettings) -> tuple[Any, Any]:
    """An untrained `tokenizers.Tokenizer` and its trainer for `settings` (the library's own parts)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    s = settings
    if s.algorithm == "BPE":
        tok = Tokenizer(models.BPE(unk_token=UNK))
    elif s.algorithm == "WordPiece":
        tok = Tokenizer(models.WordPiece(unk_token=UNK, continuing_subword_prefix="##"))
    else:
        tok = Tokenizer(models.Unigram())
    if s.lowercase:
        tok.normalizer = normalizers.Lowercase()
    alphabet: list[str] = []
    if s.pre_tokenizer == "whitespace":
        tok.pre_tokenizer = pre_tokenizers.Whitespace()
    elif s.pre_tokenizer == "byte-level":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()  # all 256 bytes: no text is ever unknown
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    if s.algorithm == "WordPiece" and s.pre_tokenizer != "byte-level":
        tok.decoder = decoders.WordPiece(prefix="##")
    specials = list(SPECIAL_TOKENS)
    if s.algorithm == "BPE":
        trainer = trainers.BpeTrainer(vocab_size=s.vocab_size, min_frequency=s.min_frequency,
                                      special_tokens=specials, initial_alphabet=alphabet, show_progress=False)
    elif s.algorithm == "WordPiece":
        trainer = trainers.WordPieceTrainer(vocab_size=s.vocab_size, min_frequency=s.min_frequency,
                                            special_tokens=specials, initial_alphabet=alphabet,
                                            continuing_subword_prefix="##", show_progress=False)
    else:
        trainer = trainers.UnigramTrainer(vocab_size=s.vocab_size, special_tokens=specials, unk_token=UNK,
                                          initial_alphabet=alphabet, show_progress=False)
    return tok, trainer


def _batches(lines: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(lines), LINE_BATCH):
        yield lines[i:i + LINE_BATCH]


def library_tokenizer(text: str, settings: TrainSettings) -> Any:
    """The `tokenizers` library trained on `text` with `settings`, nothing else (the reference)."""
    tok, trainer = build(settings)
    lines = _lines(text)
    tok.train_from_iterator(_batches(lines), trainer=trainer, length=len(lines))
    return tok


def _merges(tok: Any) -> tuple[tuple[str, str], ...]:
    model = json.loads(tok.to_str())["model"]
    out = []
    for m in model.get("merges") or ():
        # tokenizers >= 0.20 writes [a, b]; older releases wrote "a b"
        a, b = (m if isinstance(m, (list, tuple)) else m.split(" ", 1))
        out.append((a, b))
    return tuple(out)


def _scores(tok: Any) -> dict[str, float]:
    model = json.loads(tok.to_str())["model"]
    if model.get("type") != "Unigram":
        return {}
    return {piece: float(score) for piece, score in model["vocab"]}


def train(text: str, settings: TrainSettings = TrainSettings()) -> TrainedTokenizer:
    """Train on `text` (one document per line). Raises ValueError when the text is empty or too
    long, or when this text cannot give the requested vocabulary size (the message gives the size
    it can give)."""
    check_text(text)
    start = time.perf_counter()
    tok = library_tokenizer(text, settings)
    seconds = time.perf_counter() - start
    got, want = tok.get_vocab_size(), settings.vocab_size
    alphabet = _alphabet_size(tok, settings)
    if got > want:
        raise ValueError(
            f"a vocabulary of {want:,} is smaller than the characters this text needs: {settings.algorithm} "
            f"starts from every character it saw ({alphabet:,}, plus {len(SPECIAL_TOKENS)} special token) "
            f"and learned {got:,} tokens; choose at least {got:,}")
    if got < want and settings.algorithm != "Unigram":
        raise ValueError(
            f"this text allows at most {got:,} tokens for {settings.algorithm} with the "
            f"{settings.pre_tokenizer} pre-tokenizer (training stopped there: nothing left to merge or add); "
            f"choose a vocabulary size of {got:,} or less, or train on more text")
    if got < UNIGRAM_TOLERANCE * want:
        # Unigram prunes a large seed vocabulary in steps, so it lands near the size asked, not on it:
        # a small shortfall is its normal behaviour, a large one means the text has too few pieces.
        raise ValueError(
            f"this text gave Unigram only {got:,} tokens when asked for {want:,} (it has too few distinct "
            f"pieces); choose a vocabulary size of about {got:,} or less, or train on more text")
    sample = text[:50_000]
    n = len(tok.encode(sample).ids) or 1
    return TrainedTokenizer(settings=settings, tokenizer=tok, vocab_size=got, alphabet_size=alphabet,
                            merges=_merges(tok), chars=len(text), seconds=seconds,
                            chars_per_token=len(sample) / n, scores=_scores(tok))


def _alphabet_size(tok: Any, settings: TrainSettings) -> int:
    """How many one-character (or one-byte) tokens the vocabulary holds: where training starts."""
    prefix = "##" if settings.algorithm == "WordPiece" else ""
    n = 0
    for piece in tok.get_vocab():
        bare = piece[len(prefix):] if prefix and piece.startswith(prefix) else piece
        n += len(bare) == 1
    return n


def encode(trained: TrainedTokenizer, sentence: str) -> tuple[list[str], list[int]]:
    """The tokenizer's pieces and ids for `sentence` (no special tokens are added)."""
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError("the sentence to encode is empty; type a sentence")
    if len(sentence) > config.TOKENIZER_MAX_TEXT_CHARS:
        raise ValueError(f"the sentence has {len(sentence):,} characters; at most "
                         f"{config.TOKENIZER_MAX_TEXT_CHARS:,} (NLP_STUDIO_TOKENIZER_MAX_TEXT_CHARS)")
    enc = trained.tokenizer.encode(sentence, add_special_tokens=False)
    return list(enc.tokens), list(enc.ids)
