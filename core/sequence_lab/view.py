"""What the Sequence Lab shows, UI-neutral: control declarations, and views (figures, rows, text,
code) built from core results. Both front ends and the API go through here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.config import NGRAM_MAX_SAMPLE_TOKENS, SEQ_MAX_HIDDEN, SEQ_MAX_STEP_CHARS, SEQ_MAX_STEPS, \
    SEQ_MAX_TRAIN_SECONDS
from core.controls import Control
from core.sequence_lab import figures, ngram
from core.sequence_lab.cells import KINDS, step_through
from core.sequence_lab.corpus import SOURCE, held_out_text, play
from core.sequence_lab.train import JobStatus, TrainSettings, get_job

EXPLAINER = (
    "Three recurrent networks learn the same text one character at a time, on this computer's CPU, while "
    "you watch: a plain **RNN**, an **LSTM** (input, forget and output gates around a cell state) and a "
    "**GRU** (update and reset gates). Then step through a sentence to see their hidden states and gates, "
    "and measure how far back in time the gradient still reaches. The **n-gram** tab builds the classic "
    "count-based language model on text you can edit.")
TRAIN_HELP = (f"Default text: {SOURCE}, four tragedies (about 560,000 characters). Paste your own text to "
              "train on it instead. Training stops at the step count or the time budget, whichever comes first, "
              "and then checks that each loss really fell.")


def _default_ngram_corpus() -> str:
    try:
        return play("hamlet_gut.txt", fetch=False)[:40_000]  # computed at import: never download here
    except ValueError:  # the texts are not here: the box starts empty and says so when used
        return ""


def _default_held_out() -> str:
    try:
        text = play("hamlet_gut.txt", fetch=False)
        start = text.index("\n\n", 60_000) + 2  # a whole speech, not the middle of a word
        return text[start:text.index("\n\n", start + 3_000)]
    except ValueError:
        return ""


TRAIN_CONTROLS = (
    Control("hidden", "Hidden units", "slider", 128, "Size of each model's hidden state", 16, min(256, SEQ_MAX_HIDDEN), 16),
    Control("seq_len", "Sequence length (characters)", "slider", 64, "Characters per training window "
            "(truncated backpropagation through time)", 16, 128, 8),
    Control("learning_rate", "Learning rate (Adam)", "choice", 0.005, "", choices=(0.001, 0.002, 0.005, 0.01, 0.02)),
    Control("steps", "Steps (of each model)", "slider", 500, "", 20, min(2000, SEQ_MAX_STEPS), 10),
    Control("seconds", "Time budget (s)", "slider", 100, "The run stops here even if steps remain",
            10, min(300, SEQ_MAX_TRAIN_SECONDS), 5),
    Control("seed", "Seed", "int", 0, "Same seed, same initial weights and batches", 0, 10_000),
    Control("text", "Your own training text (leave empty for the Shakespeare plays)", "textarea", "",
            "At least 2,000 characters", lines=3),
)
STEP_CONTROLS = (
    Control("kind", "Model", "radio", "LSTM", "", choices=KINDS),
    Control("step_text", "Sequence to step through", "text", "To be, or not to be, that is the question",
            f"Up to {SEQ_MAX_STEP_CHARS} characters, each one in the training text"),
    Control("units", "Units shown", "slider", 24, "The first units of the hidden state and gates", 4, 64, 4),
)
NGRAM_CONTROLS = (
    Control("corpus", "Training corpus (editable)", "textarea", _default_ngram_corpus(),
            "Default: the first 40,000 characters of Hamlet (Project Gutenberg, public domain)", lines=8),
    Control("order", "n (order)", "slider", 3, "1 = unigram … 5 = 5-gram", 1, 5, 1),
    Control("smoothing", "Smoothing", "radio", "kneser-ney", "", choices=ngram.SMOOTHINGS),
    Control("k", "k (add-k)", "choice", 0.1, "Pseudo-count added to every word",
            choices=(0.001, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0)),
    Control("discount", "Discount d (Kneser–Ney)", "number", 0.75, "Subtracted from every seen count", 0.05, 1.0, 0.05),
    Control("test_sentence", "Test sentence", "text", "To be, or not to be, that is the question.", ""),
    Control("held_out", "Held-out text (perplexity)", "textarea", _default_held_out(),
            "Default: a later passage of Hamlet, not in the training corpus", lines=4),
    Control("seed", "Sampling seed", "int", 0, "", 0, 10_000),
    Control("n_samples", "Samples", "slider", 3, "Sentences generated from the model", 1, 10, 1),
)


def train_settings(values: dict[str, Any]) -> TrainSettings:
    """TrainSettings from the TRAIN_CONTROLS values (text excluded)."""
    return TrainSettings(hidden=int(values["hidden"]), seq_len=int(values["seq_len"]),
                         learning_rate=float(values["learning_rate"]), steps=int(values["steps"]),
                         seconds=float(values["seconds"]), seed=int(values["seed"]))


@dataclass(frozen=True)
class TrainingView:
    message: str
    loss_figure: Any
    gradient_figure: Any
    rows: list  # [model, parameters, steps, last loss, held-out loss, gradient slope, verdict]
    samples: str  # markdown
    finished: bool
    code: str


def training_view(status: JobStatus) -> TrainingView:
    rows = []
    for r in status.reports:
        last = sum(r.losses[-10:]) / len(r.losses[-10:]) if r.losses else None
        rows.append([r.kind, r.params, len(r.losses), None if last is None else round(last, 3),
                     None if r.val_loss is None else round(r.val_loss, 3),
                     None if r.gradient is None else round(r.gradient.slope, 4), r.verdict or "training…"])
    samples = "\n\n".join(f"**{r.kind}** (temperature 0.8):\n```text\n{r.sample.strip()[:300]}\n```"
                          for r in status.reports if r.sample)
    profiles = [r.gradient for r in status.reports]
    return TrainingView(status.message(), figures.loss_figure(status.reports, status.uniform_loss),
                        figures.gradient_figure(profiles) if any(profiles) else None, rows,
                        samples or "_Samples appear every few seconds once training runs._", status.finished,
                        TRAIN_CODE)


TRAIN_CODE = """from core.sequence_lab import TrainSettings, start_training

job = start_training(TrainSettings(hidden=128, seq_len=64, steps=500, seconds=100))  # Shakespeare
status = job.wait()                      # or poll job.status() while it runs
for r in status.reports:                 # RNN, LSTM, GRU
    print(r.kind, r.verdict)
    print(r.sample[:200])
    print("gradient decay, log10 per step:", r.gradient.slope)
"""


@dataclass(frozen=True)
class StepView:
    figure: Any
    rows: list  # [t, input, top-5 next characters]
    code: str


def step_view(job_id: str, kind: str, step_text: str, units: int = 24) -> StepView:
    """Step `step_text` through the `kind` model of training run `job_id`."""
    if not job_id:
        raise ValueError("train the models first (the Train tab), then step through a sequence")
    if kind not in KINDS:
        raise ValueError(f"model must be one of {', '.join(KINDS)}")
    if not step_text:
        raise ValueError("type a sequence to step through")
    if len(step_text) > SEQ_MAX_STEP_CHARS:
        raise ValueError(f"the sequence has {len(step_text)} characters; the limit is {SEQ_MAX_STEP_CHARS}")
    job = get_job(job_id)
    if kind not in job.models:
        raise ValueError(f"this run has no {kind} model yet; wait for training to start")
    model = job.models[kind]
    result = step_through(model, job.data, step_text)
    show = lambda c: {"\n": "⏎", " ": "␣"}.get(c, c)  # noqa: E731
    rows = [[t, show(c), "  ".join(f"{show(ch)} {p:.2f}" for ch, p in top)]
            for t, (c, top) in enumerate(zip(result.chars, result.top))]
    code = (f"from core.sequence_lab import step_through\n\n# job: a finished run (start_training(...).wait())\n"
            f"s = step_through(job.models[{kind!r}], job.data, {step_text!r})\n"
            "s.hidden.shape, {k: v.shape for k, v in s.gates.items()}, s.top[0]\n")
    return StepView(figures.step_figure(result, int(units)), rows, code)


@dataclass(frozen=True)
class NgramView:
    summary: str
    figure: Any
    token_rows: list  # [i, token, context, probability, surprisal bits]
    count_rows: list  # [context, word, count, probability]
    perplexity: float | None
    samples: list[str]
    code: str


def ngram_result(corpus: str, order: int = 3, smoothing: str = "kneser-ney", k: float = 0.1,
                 discount: float = 0.75, test_sentence: str = "", held_out: str = "", seed: int = 0,
                 n_samples: int = 3) -> dict:
    """The /ngram endpoint's work, as plain data (see docs/sequence_lab.md)."""
    model = ngram.fit(corpus, int(order), smoothing, float(k), float(discount))
    scores = model.score(ngram.check_test_text(test_sentence)) if test_sentence and test_sentence.strip() else []
    ppl = model.perplexity(held_out) if held_out and held_out.strip() else None
    if held_out and len(held_out) > ngram.NGRAM_MAX_TEST_CHARS:
        raise ValueError(f"the held-out text is longer than {ngram.NGRAM_MAX_TEST_CHARS:,} characters; shorten it")
    if not 1 <= int(n_samples) <= 10:
        raise ValueError("samples must be 1–10")
    return {
        "order": model.order, "smoothing": smoothing, "vocab_size": len(model.vocab), "tokens": model.n_tokens,
        "sentences": model.n_sentences,
        "scores": [{"token": s.token, "context": list(s.context), "prob": s.prob, "surprisal_bits": s.surprisal,
                    "unknown": s.unknown} for s in scores],
        "test_perplexity": float(2 ** (sum(s.surprisal for s in scores) / len(scores))) if scores else None,
        "held_out_perplexity": ppl,
        "counts": model.top_ngrams(30),
        "samples": model.generate(int(n_samples), int(seed), max_tokens=min(40, NGRAM_MAX_SAMPLE_TOKENS)),
        "_model": model, "_scores": scores,
    }


def ngram_view(**values) -> NgramView:
    r = ngram_result(**values)
    model, scores = r.pop("_model"), r.pop("_scores")
    parts = [f"**{model.order}-gram, {r['smoothing']}**: {r['tokens']:,} tokens in {r['sentences']:,} sentences, "
             f"vocabulary {r['vocab_size']:,} (with `</s>` and `<unk>`)."]
    if r["test_perplexity"] is not None:
        parts.append(f"Test sentence perplexity **{r['test_perplexity']:.1f}**.")
    if r["held_out_perplexity"] is not None:
        parts.append(f"Held-out perplexity **{r['held_out_perplexity']:.1f}**.")
    token_rows = [[i, s.token, " ".join(s.context), round(s.prob, 6), round(s.surprisal, 2)]
                  for i, s in enumerate(scores)]
    count_rows = [[c["context"], c["word"], c["count"], round(c["prob"], 4)] for c in r["counts"]]
    code = ("from core.sequence_lab import ngram\n\n"
            f"m = ngram.fit(corpus, order={model.order}, smoothing={r['smoothing']!r}, k={values.get('k', 0.1)}, "
            f"discount={values.get('discount', 0.75)})\n"
            f"m.score({values.get('test_sentence', '')!r})   # per-token probability and surprisal\n"
            "m.perplexity(held_out), m.generate(3, seed=0)\n")
    return NgramView(" ".join(parts), figures.surprisal_figure(scores) if scores else None, token_rows, count_rows,
                     r["held_out_perplexity"], r["samples"], code)


def ngram_api(corpus: str, order: int = 3, smoothing: str = "kneser-ney", k: float = 0.1, discount: float = 0.75,
              test_sentence: str = "", held_out: str = "", seed: int = 0, n_samples: int = 3) -> dict:
    """/ngram: fit on `corpus`, score `test_sentence`, perplexity on `held_out`, samples (seeded)."""
    r = ngram_result(corpus, order, smoothing, k, discount, test_sentence, held_out, seed, n_samples)
    r.pop("_model")
    r.pop("_scores")
    return r


__all__ = ["EXPLAINER", "TRAIN_HELP", "TRAIN_CONTROLS", "STEP_CONTROLS", "NGRAM_CONTROLS", "train_settings",
           "TrainingView", "training_view", "StepView", "step_view", "NgramView", "ngram_view", "ngram_api",
           "ngram_result", "held_out_text"]
