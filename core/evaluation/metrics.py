"""Text metrics through the libraries people cite: BLEU and chrF (sacrebleu), ROUGE-1/2/L
(rouge-score), WER with its word alignment (jiwer), plus the matched n-grams behind BLEU.

Inputs follow sacrebleu: `hypotheses` is a list of sentences; `references` is a list of reference
*sets*, each a list with one reference per hypothesis. Corpus BLEU and chrF pool the n-gram counts
of every sentence (sacrebleu's corpus_score); ROUGE is the mean of each sentence's F1 (what
rouge-score's aggregator reports, without its bootstrap); WER counts every word of the corpus once,
against the first reference set.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from core import config

METRICS = ("bleu", "chrf", "rouge", "wer")
# Sentence BLEU smoothing (sacrebleu's names). none: the plain geometric mean, 0 as soon as one
# n-gram order has no match; floor: a zero count becomes 0.1; add-k: k = 1 added to counts and
# totals from 2-grams on; exp: 1 / 2^k for the k-th zero order (sacrebleu's sentence default).
SMOOTHING = ("none", "floor", "add-k", "exp")
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
MAX_ORDER = 4


@dataclass(frozen=True)
class BleuScore:
    score: float  # 0-100
    precisions: tuple[float, ...]  # modified n-gram precision, 1..4-grams, percent
    counts: tuple[int, ...]  # matched (clipped) n-grams per order
    totals: tuple[int, ...]  # hypothesis n-grams per order
    bp: float  # brevity penalty: exp(1 - ref_len / hyp_len) when the output is shorter, else 1
    hyp_len: int
    ref_len: int


@dataclass(frozen=True)
class WerAlignment:
    """One sentence's word alignment: (op, reference word, hypothesis word) with op one of
    "=", "S" (substitution), "D" (deletion: a reference word missing), "I" (insertion)."""

    ops: tuple[tuple[str, str, str], ...]

    def count(self, op: str) -> int:
        return sum(o == op for o, _, _ in self.ops)


@dataclass(frozen=True)
class Wer:
    wer: float  # (S + D + I) / reference words
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int
    normalizer: str  # what ran on both sides first (NORMALIZERS)


@dataclass(frozen=True)
class SentenceScores:
    index: int
    hypothesis: str
    references: tuple[str, ...]
    bleu: dict[str, float]  # smoothing method -> sentence BLEU
    bleu_precisions: tuple[float, ...]
    chrf: float
    rouge: dict[str, float]  # F1 x 100 per ROUGE type (best over references)
    wer: float | None
    alignment: WerAlignment | None


@dataclass(frozen=True)
class Evaluation:
    metrics: tuple[str, ...]
    n: int
    bleu: BleuScore | None
    chrf: float | None
    rouge: dict[str, dict[str, float]] | None  # type -> {precision, recall, f1}, percent
    wer: Wer | None
    sentences: tuple[SentenceScores, ...]

    def as_dict(self) -> dict:
        out: dict = {"n": self.n, "metrics": list(self.metrics)}
        if self.bleu:
            out["bleu"] = self.bleu.__dict__ | {"precisions": list(self.bleu.precisions),
                                                "counts": list(self.bleu.counts), "totals": list(self.bleu.totals)}
        if self.chrf is not None:
            out["chrf"] = self.chrf
        if self.rouge:
            out["rouge"] = self.rouge
        if self.wer:
            out["wer"] = self.wer.__dict__
        out["sentences"] = [{
            "index": s.index, "hypothesis": s.hypothesis, "references": list(s.references),
            "bleu": s.bleu, "chrf": s.chrf, "rouge": s.rouge, "wer": s.wer,
            "alignment": [list(o) for o in s.alignment.ops] if s.alignment else None,
        } for s in self.sentences]
        return out


# --- input checks ---------------------------------------------------------------------------------

def _as_list(value, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a sentence or a list of sentences")
    return list(value)


def check_inputs(hypotheses, references) -> tuple[list[str], list[list[str]]]:
    """Validate and shape the inputs: (hypotheses, reference sets). A plain list of strings is one
    reference set; a list of lists is several sets, each with one reference per hypothesis
    (sacrebleu's layout). A list with one list per hypothesis whose lists do not fit that layout
    but all have the same size (Hugging Face `evaluate`'s layout) is transposed into sets."""
    hyps = _as_list(hypotheses, "the hypothesis")
    if not hyps or not any(h.strip() for h in hyps):
        raise ValueError("the hypothesis is empty; type the system's output (one sentence per line)")
    for i, h in enumerate(hyps, 1):
        if not h.strip():
            raise ValueError(f"hypothesis {i} of {len(hyps)} is empty; remove the line or give the output")
    if isinstance(references, str) or (isinstance(references, (list, tuple))
                                       and all(isinstance(r, str) for r in references)):
        sets = [_as_list(references, "the references")]
    elif isinstance(references, (list, tuple)):
        sets = [_as_list(r, f"reference set {i}") for i, r in enumerate(references, 1)]
    else:
        raise ValueError("references must be a list of sentences, or a list of such lists (reference sets)")
    if not sets or not any(any(r.strip() for r in s) for s in sets):
        raise ValueError("there is no reference; give one reference sentence per hypothesis")
    n = len(hyps)
    if (any(len(s) != n for s in sets) and len(sets) == n and len({len(s) for s in sets}) == 1):
        # Hugging Face `evaluate`'s layout: one list of references per hypothesis, all the same size
        # (a single hypothesis with several references is the common case). sacrebleu wants sets.
        sets = [list(col) for col in zip(*sets)]
    if len(sets) > config.EVAL_MAX_REFERENCE_SETS:
        raise ValueError(f"{len(sets)} reference sets; at most {config.EVAL_MAX_REFERENCE_SETS} "
                         "(NLP_STUDIO_EVAL_MAX_REFERENCE_SETS)")
    for k, s in enumerate(sets, 1):
        if len(s) != len(hyps):
            raise ValueError(f"reference set {k} has {len(s)} sentence(s) but there are {len(hyps)} "
                             "hypotheses: the lists must have the same length, one reference per hypothesis "
                             "(or give one list of references per hypothesis, each list the same size)")
        for i, r in enumerate(s, 1):
            if not r.strip():
                raise ValueError(f"reference {i} of set {k} is empty; every hypothesis needs its reference")
    if len(hyps) > config.EVAL_MAX_SENTENCES:
        raise ValueError(f"{len(hyps):,} sentences; the lab scores at most {config.EVAL_MAX_SENTENCES:,} "
                         "at once (NLP_STUDIO_EVAL_MAX_SENTENCES)")
    chars = sum(map(len, hyps)) + sum(len(r) for s in sets for r in s)
    if chars > config.EVAL_MAX_CHARS:
        raise ValueError(f"{chars:,} characters in all; at most {config.EVAL_MAX_CHARS:,} (NLP_STUDIO_EVAL_MAX_CHARS)")
    return hyps, sets


def check_metrics(metrics) -> tuple[str, ...]:
    if metrics is None or metrics == "" or metrics == []:
        return METRICS
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    bad = [m for m in names if m not in METRICS]
    if bad:
        raise ValueError(f"unknown metric(s) {', '.join(bad)}; choose from {', '.join(METRICS)}")
    return tuple(m for m in METRICS if m in names)


# --- the metrics -----------------------------------------------------------------------------------

_metric_cache: dict[str, object] = {}


def _metric(name: str):
    """One sacrebleu metric object per configuration, built once (building one costs more than scoring)."""
    if name not in _metric_cache:
        import logging

        from sacrebleu.metrics import BLEU, CHRF

        # sacrebleu warns on every sentence scored without effective order; "none" does that on purpose.
        logging.getLogger("sacrebleu").setLevel(logging.ERROR)
        if name == "chrf":
            _metric_cache[name] = CHRF()
        elif name == "bleu":
            _metric_cache[name] = BLEU()
        else:
            _metric_cache[name] = BLEU(smooth_method=name, effective_order=name != "none")
    return _metric_cache[name]


def bleu(hypotheses: list[str], reference_sets: list[list[str]]) -> BleuScore:
    """Corpus BLEU (sacrebleu defaults: 13a tokenization, 4-grams, exp smoothing)."""
    r = _metric("bleu").corpus_score(hypotheses, reference_sets)
    return BleuScore(float(r.score), tuple(float(p) for p in r.precisions), tuple(r.counts), tuple(r.totals),
                     float(r.bp), int(r.sys_len), int(r.ref_len))


def sentence_bleu(hypothesis: str, references: list[str]) -> tuple[dict[str, float], tuple[float, ...]]:
    """One sentence's BLEU under each smoothing method, and its n-gram precisions.

    "none" is the textbook formula: a short sentence with no matching 4-gram scores 0. The others
    use sacrebleu's effective order (orders longer than the sentence are left out), as its
    `sentence_bleu` does."""
    scores, precisions = {}, ()
    for method in SMOOTHING:
        r = _metric(method).sentence_score(hypothesis, references)
        scores[method] = float(r.score)
        if method == "none":
            precisions = tuple(float(p) for p in r.precisions)
    return scores, precisions


def chrf(hypotheses: list[str], reference_sets: list[list[str]]) -> float:
    return float(_metric("chrf").corpus_score(hypotheses, reference_sets).score)


def sentence_chrf(hypothesis: str, references: list[str]) -> float:
    return float(_metric("chrf").sentence_score(hypothesis, references).score)


_rouge = None


def rouge_scorer():
    """rouge-score's scorer for ROUGE-1/2/L with its Porter stemmer (code, no nltk data needed).
    Its tokenizer keeps only [a-z0-9] after lower-casing: text in other scripts scores 0."""
    global _rouge
    if _rouge is None:
        from rouge_score import rouge_scorer as rs

        _rouge = rs.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    return _rouge


def sentence_rouge(hypothesis: str, references: list[str]) -> dict:
    """{type: Score(precision, recall, fmeasure)}: the best reference per type (rouge-score's score_multi)."""
    scorer = rouge_scorer()
    if len(references) == 1:
        return scorer.score(references[0], hypothesis)
    return scorer.score_multi(references, hypothesis)


# Before WER: "basic" lower-cases and drops punctuation; "whisper" is Whisper's English normalizer
# (numbers, British/American spelling, contractions) as the Live Whisper tab uses; "none" keeps the text.
NORMALIZERS = ("basic", "whisper", "none")


def _basic(text: str) -> str:
    import re

    return " ".join(re.sub(r"[^\w\s']|(?<!\w)'|'(?!\w)", " ", text.lower()).split())


def _whisper_normalize(text: str) -> str:
    """Whisper's English normalizer, the instance `core.asr.whisper.normalize` uses, built once
    (building it reads a spelling table: 2 ms a call, which dominated a 1,000-sentence evaluation)."""
    from core.asr.whisper import english_normalizer

    return english_normalizer()(text)


def normalize(text: str, how: str = "basic") -> str:
    if how not in NORMALIZERS:
        raise ValueError(f"normalizer {how!r} is not one of {', '.join(NORMALIZERS)}")
    if how == "basic":
        return _basic(text)
    return _whisper_normalize(text) if how == "whisper" else text


def wer(hypotheses: list[str], references: list[str], normalizer: str = "basic") -> tuple[Wer, list[WerAlignment]]:
    """Corpus WER and each sentence's alignment through jiwer (Levenshtein over words)."""
    import jiwer

    refs = [normalize(r, normalizer) for r in references]
    hyps = [normalize(h, normalizer) for h in hypotheses]
    # A reference that normalizes to nothing (only punctuation) cannot be scored: say so.
    for i, r in enumerate(refs, 1):
        if not r.strip():
            raise ValueError(f"reference {i} has no words left after normalization; give words, not only symbols")
    hyps = [h if h.strip() else "" for h in hyps]
    out = jiwer.process_words(refs, hyps)
    aligned = []
    for k, chunks in enumerate(out.alignments):
        ref_w, hyp_w = out.references[k], out.hypotheses[k]
        ops = []
        for c in chunks:
            if c.type == "equal":
                ops += [("=", ref_w[i], hyp_w[j]) for i, j in zip(range(c.ref_start_idx, c.ref_end_idx),
                                                                 range(c.hyp_start_idx, c.hyp_end_idx))]
            elif c.type == "substitute":
                ops += [("S", ref_w[i], hyp_w[j]) for i, j in zip(range(c.ref_start_idx, c.ref_end_idx),
                                                                 range(c.hyp_start_idx, c.hyp_end_idx))]
            elif c.type == "delete":
                ops += [("D", ref_w[i], "") for i in range(c.ref_start_idx, c.ref_end_idx)]
            else:
                ops += [("I", "", hyp_w[j]) for j in range(c.hyp_start_idx, c.hyp_end_idx)]
        aligned.append(WerAlignment(tuple(ops)))
    n_ref = sum(len(r) for r in out.references)
    return Wer(float(out.wer), int(out.hits), int(out.substitutions), int(out.deletions), int(out.insertions),
               n_ref, normalizer), aligned


def evaluate(hypotheses, references, metrics=None, normalizer: str = "basic",
             per_sentence: bool = True) -> Evaluation:
    """Score hypotheses against references with the chosen metrics (default: all).

    Raises ValueError for an empty hypothesis, reference sets whose length differs from the
    hypotheses', unknown metrics, or inputs over the limits."""
    chosen = check_metrics(metrics)
    hyps, sets = check_inputs(hypotheses, references)
    if normalizer not in NORMALIZERS:
        raise ValueError(f"normalizer {normalizer!r} is not one of {', '.join(NORMALIZERS)}")
    refs_by_sentence = [[s[i] for s in sets] for i in range(len(hyps))]
    b = bleu(hyps, sets) if "bleu" in chosen else None
    c = chrf(hyps, sets) if "chrf" in chosen else None
    rouge = None
    per_rouge = []
    if "rouge" in chosen:
        per_rouge = [sentence_rouge(h, r) for h, r in zip(hyps, refs_by_sentence)]
        rouge = {t: {"precision": 100 * sum(s[t].precision for s in per_rouge) / len(hyps),
                     "recall": 100 * sum(s[t].recall for s in per_rouge) / len(hyps),
                     "f1": 100 * sum(s[t].fmeasure for s in per_rouge) / len(hyps)} for t in ROUGE_TYPES}
    w, alignments = (wer(hyps, sets[0], normalizer) if "wer" in chosen else (None, []))
    sentences = []
    if per_sentence:
        for i, (h, refs) in enumerate(zip(hyps, refs_by_sentence)):
            sb, sp = sentence_bleu(h, refs) if "bleu" in chosen else ({}, ())
            al = alignments[i] if alignments else None
            n_ref = sum(o != "I" for o, _, _ in al.ops) if al else 0
            sentences.append(SentenceScores(
                i, h, tuple(refs), sb, sp, sentence_chrf(h, refs) if "chrf" in chosen else float("nan"),
                {t: 100 * per_rouge[i][t].fmeasure for t in ROUGE_TYPES} if per_rouge else {},
                (sum(o != "=" for o, _, _ in al.ops) / n_ref) if al and n_ref else None, al))
    return Evaluation(chosen, len(hyps), b, c, rouge, w, tuple(sentences))


# --- matched n-grams (what BLEU counts) -------------------------------------------------------------

def bleu_tokens(text: str) -> list[str]:
    """sacrebleu's default (13a) tokenization: what BLEU's n-grams are made of."""
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    return Tokenizer13a()(text.rstrip()).split()


def _ngrams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def matched_ngrams(hypothesis: str, references: list[str], max_order: int = MAX_ORDER) -> tuple[
        list[str], list[int], list[int]]:
    """(tokens, longest matched n per token, matched count per order) for the hypothesis.

    A hypothesis n-gram matches while it has been used fewer times than it occurs in the reference
    that has it most often (BLEU's clipping), taken left to right; so the counts per order equal
    sacrebleu's matched counts for this sentence."""
    hyp = bleu_tokens(hypothesis)
    refs = [bleu_tokens(r) for r in references]
    longest = [0] * len(hyp)
    counts = []
    for n in range(1, max_order + 1):
        allowed: Counter = Counter()
        for r in refs:
            for g, c in Counter(_ngrams(r, n)).items():
                allowed[g] = max(allowed[g], c)
        used: Counter = Counter()
        matched = 0
        for i, g in enumerate(_ngrams(hyp, n)):
            if used[g] < allowed[g]:
                used[g] += 1
                matched += 1
                for j in range(i, i + n):
                    longest[j] = max(longest[j], n)
        counts.append(matched)
    return hyp, longest, counts
