"""An n-gram language model over words (n = 1–5) with add-k or interpolated Kneser–Ney smoothing.

Tokens: lower-cased words and punctuation marks (`tokenize`), one sentence per line or per
sentence end (. ! ?). Each sentence is padded with n−1 `<s>` in front and one `</s>` at the end.
The vocabulary V is every training token type plus `</s>` and `<unk>` (a test word never seen in
training becomes `<unk>`); `<s>` is only ever a context, never predicted. Every distribution
P(· | context) is over exactly V, and sums to 1 for every context, seen or not:

- add-k: P(w | h) = (c(h, w) + k) / (c(h) + k·|V|); an unseen context gives the uniform 1/|V|.
- interpolated Kneser–Ney (Chen & Goodman 1998, one discount d per order):
      P_m(w | h) = max(c_m(h, w) − d, 0) / c_m(h) + d · N1+(h •) / c_m(h) · P_{m−1}(w | h⁻)
  where c_m is the raw count at the highest order and the continuation count N1+(• h w)
  (how many different words precede it) below; h⁻ drops the oldest word of h; an unseen
  context (c_m(h) = 0) hands all its mass to P_{m−1}; and P_0(w) = 1/|V| closes the recursion,
  so `<unk>` and every word keep some probability.
"""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from core.config import NGRAM_MAX_CHARS, NGRAM_MAX_SAMPLE_TOKENS, NGRAM_MAX_TEST_CHARS

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
SMOOTHINGS = ("kneser-ney", "add-k")
MAX_ORDER = 5
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")
_SENT_END = re.compile(r"(?<=[.!?])\s+|\n+")


def tokenize(text: str) -> list[list[str]]:
    """Sentences of tokens: lower-cased words (with an inner apostrophe: "'tis", "don't") and single
    punctuation marks. A sentence ends at a line break or after . ! ?"""
    sentences = []
    for part in _SENT_END.split(text.lower()):
        tokens = _TOKEN.findall(part)
        if tokens:
            sentences.append(tokens)
    return sentences


@dataclass(frozen=True)
class TokenScore:
    """One predicted token of a test text: its probability and surprisal (−log2 p, bits)."""

    token: str
    context: tuple[str, ...]
    prob: float
    surprisal: float
    unknown: bool  # mapped to <unk>


class NGramModel:
    """Counts of an n-gram model; probabilities are computed on demand. Build with `fit`."""

    def __init__(self, order: int, smoothing: str, k: float, discount: float) -> None:
        self.order, self.smoothing, self.k, self.discount = order, smoothing, k, discount
        self.vocab: list[str] = []
        self.index: dict[str, int] = {}
        # counts[m][h] = Counter of next tokens, for m = 1..order (h has m−1 tokens). At the top
        # order these are raw counts; below it, for Kneser–Ney, continuation counts.
        self.counts: dict[int, dict[tuple, Counter]] = {}
        self.raw: dict[int, dict[tuple, Counter]] = {}
        self.n_tokens = 0
        self.n_sentences = 0

    # ---- probabilities -------------------------------------------------------------------
    def _unknown(self, token: str) -> str:
        return token if token in self.index else UNK

    def context_of(self, history: list[str]) -> tuple[str, ...]:
        """The n−1 tokens before a position (padded with <s>; unknown words as <unk>)."""
        if self.order == 1:
            return ()
        padded = [BOS] * (self.order - 1) + [t if t == BOS else self._unknown(t) for t in history]
        return tuple(padded[-(self.order - 1):])

    def prob(self, word: str, context: tuple[str, ...]) -> float:
        """P(word | context); `context` has order−1 tokens (longer ones are cut to the last order−1)."""
        word = self._unknown(word)
        context = tuple(context)[-(self.order - 1):] if self.order > 1 else ()
        if self.smoothing == "add-k":
            table = self.raw[self.order].get(context)
            total = sum(table.values()) if table else 0
            count = table.get(word, 0) if table else 0
            return (count + self.k) / (total + self.k * len(self.vocab))
        return self._kn(word, context, self.order)

    def _kn(self, word: str, context: tuple[str, ...], m: int) -> float:
        if m == 0:
            return 1.0 / len(self.vocab)
        lower = self._kn(word, context[1:], m - 1)
        table = self.counts[m].get(context)
        if not table:
            return lower
        total = sum(table.values())
        d = self.discount
        return max(table.get(word, 0) - d, 0.0) / total + d * len(table) / total * lower

    def distribution(self, context: tuple[str, ...]) -> np.ndarray:
        """P(w | context) for every w in `vocab`, as float64 [|V|] (sums to 1)."""
        context = tuple(context)[-(self.order - 1):] if self.order > 1 else ()
        if self.smoothing == "add-k":
            table = self.raw[self.order].get(context) or Counter()
            counts = np.zeros(len(self.vocab))
            for w, c in table.items():
                counts[self.index[w]] = c
            return (counts + self.k) / (counts.sum() + self.k * len(self.vocab))
        return self._kn_vector(context, self.order)

    def _kn_vector(self, context: tuple[str, ...], m: int) -> np.ndarray:
        if m == 0:
            return np.full(len(self.vocab), 1.0 / len(self.vocab))
        lower = self._kn_vector(context[1:], m - 1)
        table = self.counts[m].get(context)
        if not table:
            return lower
        total = sum(table.values())
        counts = np.zeros(len(self.vocab))
        for w, c in table.items():
            counts[self.index[w]] = c
        d = self.discount
        return np.maximum(counts - d, 0.0) / total + d * len(table) / total * lower

    # ---- using it ------------------------------------------------------------------------
    def score(self, text: str) -> list[TokenScore]:
        """Every token of `text` (and each sentence's </s>) with P(token | its n−1 predecessors)."""
        out = []
        for sentence in tokenize(text):
            history: list[str] = []
            for token in sentence + [EOS]:
                ctx = self.context_of(history)
                p = self.prob(token, ctx)
                out.append(TokenScore(token, ctx, p, -math.log2(p), token not in self.index))
                history.append(token)
        return out

    def perplexity(self, text: str) -> float:
        """2 ** (mean surprisal in bits) over the tokens of `text`, </s> included."""
        scores = self.score(text)
        if not scores:
            raise ValueError("the held-out text has no words; paste a few sentences")
        return float(2 ** np.mean([s.surprisal for s in scores]))

    def generate(self, n_sentences: int = 3, seed: int = 0, max_tokens: int = 40) -> list[str]:
        """`n_sentences` sentences sampled from the model (seeded), each ending at </s> or `max_tokens`."""
        if not 1 <= max_tokens <= NGRAM_MAX_SAMPLE_TOKENS:
            raise ValueError(f"max tokens must be 1–{NGRAM_MAX_SAMPLE_TOKENS}")
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n_sentences):
            history: list[str] = []
            while len(history) < max_tokens:
                p = self.distribution(self.context_of(history))
                token = self.vocab[int(rng.choice(len(p), p=p / p.sum()))]
                if token == EOS:
                    break
                history.append(token)
            out.append(detokenize(history))
        return out

    def top_ngrams(self, limit: int = 30) -> list[dict]:
        """The most frequent n-grams of the top order: context, word, count, P(word | context)."""
        rows = [(ctx, w, c) for ctx, table in self.raw[self.order].items() for w, c in table.items()]
        rows.sort(key=lambda r: (-r[2], r[0], r[1]))
        return [{"context": " ".join(ctx), "word": w, "count": c, "prob": self.prob(w, ctx)}
                for ctx, w, c in rows[:limit]]

    def contexts(self) -> list[tuple[str, ...]]:
        """Every context seen in training at the top order."""
        return list(self.raw[self.order])


def detokenize(tokens: list[str]) -> str:
    text = " ".join(tokens)
    return re.sub(r" ([,.;:!?')\]])", r"\1", text).replace("( ", "(")


def fit(corpus: str, order: int = 3, smoothing: str = "kneser-ney", k: float = 1.0,
        discount: float = 0.75) -> NGramModel:
    """Count the n-grams of `corpus`. ValueError with the fix for an empty or oversized corpus, an
    order outside 1–5 or larger than the corpus allows, k ≤ 0, or a discount outside (0, 1]."""
    if not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise ValueError(f"n must be a whole number from 1 to {MAX_ORDER}, got {order!r}")
    if smoothing not in SMOOTHINGS:
        raise ValueError(f"smoothing must be one of {', '.join(SMOOTHINGS)}, got {smoothing!r}")
    if smoothing == "add-k" and not k > 0:
        raise ValueError("k must be > 0 for add-k smoothing (k = 0 is the unsmoothed estimate, which gives "
                         "unseen words probability 0 and unseen contexts no distribution at all)")
    if smoothing == "kneser-ney" and not 0 < discount <= 1:
        raise ValueError(f"the Kneser–Ney discount must be in (0, 1], got {discount}")
    if corpus is None or not corpus.strip():
        raise ValueError("the corpus is empty: paste some text (a few paragraphs at least)")
    if len(corpus) > NGRAM_MAX_CHARS:
        raise ValueError(f"the corpus has {len(corpus):,} characters; the limit is {NGRAM_MAX_CHARS:,} "
                         "(NLP_STUDIO_NGRAM_MAX_CHARS): paste a shorter one")
    sentences = tokenize(corpus)
    n_tokens = sum(len(s) for s in sentences)
    if n_tokens < 2:
        raise ValueError("the corpus has fewer than two words; paste some sentences")
    longest = max(len(s) for s in sentences) + 1  # with </s>
    if order > 1 and order > longest + 1:
        raise ValueError(f"n = {order} is larger than this corpus allows: its longest sentence has "
                         f"{longest - 1} words, so no {order}-gram of real words exists; lower n or paste longer sentences")
    model = NGramModel(order, smoothing, k, discount)
    types = sorted({t for s in sentences for t in s} - {BOS, EOS, UNK})
    model.vocab = types + [EOS, UNK]
    model.index = {w: i for i, w in enumerate(model.vocab)}
    model.n_tokens, model.n_sentences = n_tokens, len(sentences)
    raw: dict[int, dict[tuple, Counter]] = {m: defaultdict(Counter) for m in range(1, order + 1)}
    left: dict[int, dict[tuple, set]] = {m: defaultdict(set) for m in range(1, order)}  # m-gram -> preceding words
    for sentence in sentences:
        padded = [BOS] * (order - 1) + sentence + [EOS]
        for i in range(order - 1, len(padded)):
            for m in range(1, order + 1):
                gram = tuple(padded[i - m + 1:i + 1])
                raw[m][gram[:-1]][gram[-1]] += 1
                if m < order:
                    left[m][gram].add(padded[i - m])
    model.raw = {m: dict(t) for m, t in raw.items()}
    counts: dict[int, dict[tuple, Counter]] = {order: model.raw[order]}
    for m in range(1, order):
        table: dict[tuple, Counter] = defaultdict(Counter)
        for gram, before in left[m].items():
            table[gram[:-1]][gram[-1]] = len(before)
        counts[m] = dict(table)
    model.counts = counts
    return model


def check_test_text(text: str) -> str:
    if text is None or not text.strip():
        raise ValueError("the test text is empty: type a sentence to score")
    if len(text) > NGRAM_MAX_TEST_CHARS:
        raise ValueError(f"the test text has {len(text):,} characters; the limit is {NGRAM_MAX_TEST_CHARS:,}")
    return text
