"""What the Evaluation Lab shows, for every front end: controls (declared once), the score views with
matched n-grams and WER alignments as HTML, the perplexity view, and the API's plain-JSON answers."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from core.controls import Control
from core.evaluation import figures
from core.evaluation.metrics import NORMALIZERS, ROUGE_TYPES, SMOOTHING, Evaluation, evaluate, matched_ngrams
from core.evaluation.perplexity import DEFAULT_MODEL, Perplexity, perplexity, perplexity_models
from core.evaluation.studio import CHAT_EXAMPLE, SOURCE_TITLES, SOURCES, TTS_EXAMPLE, StudioPair, studio_pair

SET_SEPARATOR = "---"

SCORE_CONTROLS = (
    Control("hypotheses", "Hypotheses (system output, one sentence per line)", "textarea",
            "The cat sat on the mat.\nThere is a cat on the mat\nHe reads", lines=4),
    Control("references", f"References (one per hypothesis line; a line '{SET_SEPARATOR}' starts another reference set)",
            "textarea", "The cat is on the mat.\nThe cat is on the mat.\nHe reads the book.", lines=4),
    Control("normalizer", "Before WER", "radio", "basic", choices=NORMALIZERS,
            help="basic: lower-case, no punctuation; whisper: Whisper's English normalizer (numbers, spelling); "
                 "none: the words as typed"),
)
PERPLEXITY_CONTROLS = (
    Control("text", "Text to score", "textarea",
            "The capital of France is Paris. The capital of France is banana.", lines=3),
    Control("model", "Language model", "choice", DEFAULT_MODEL, choices=tuple(perplexity_models()),
            help="SmolLM2-135M ships offline; the others need their weights downloaded first"),
)
STUDIO_CONTROLS = (
    Control("source", "Studio output", "radio", "tts-asr", choices=SOURCES,
            help="; ".join(f"{k}: {v}" for k, v in SOURCE_TITLES.items())),
    Control("prompt", "Chat prompt", "text", CHAT_EXAMPLE[0]),
    Control("reference", "Reference answer", "text", CHAT_EXAMPLE[1]),
    Control("text", "Text to speak (TTS → ASR)", "text", TTS_EXAMPLE),
    Control("clip", "LibriVox clip (stream vs offline)", "slider", 0, minimum=0, maximum=4, step=1),
)

BLEU_EXPLAINER = """
**Why a short sentence can score BLEU 0.** BLEU is the geometric mean of the 1- to 4-gram
precisions times a brevity penalty. If a sentence shares no 4-gram with its reference (any sentence
under four words), one precision is 0 and so is the product: the column **none** shows that.
**Smoothing** replaces the zero: *floor* counts 0.1 matches, *add-k* adds 1 to the counts of 2-grams
and up, *exp* (sacrebleu's default for sentence BLEU) gives the k-th empty order 1/2^k; the smoothed
columns also use sacrebleu's *effective order* (orders longer than the sentence are left out). The
corpus score pools the counts of all sentences first, so it rarely needs smoothing: report it, not
an average of sentence scores. **chrF** compares character n-grams (no smoothing needed, kinder to
morphology); **ROUGE** is recall-oriented (summaries); **WER** counts word edits against the
reference: substitutions, deletions (reference words missing) and insertions.
"""
PERPLEXITY_EXPLAINER = """
Each bar is a token's **surprisal**, −log₂ p(token | the tokens before it), in bits: how surprised
the model was. **Perplexity** is e to the mean surprisal in nats: the number of equally likely
choices the model was, on average, hesitating between. The first token is not scored (nothing
comes before it).
"""


def parse_lines(text: str) -> list[str]:
    """One sentence per line; trailing empty lines are dropped (an empty line inside stays, and the
    metrics refuse it with its number)."""
    lines = (text or "").replace("\r\n", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def parse_references(text: str) -> list[list[str]]:
    """Reference sets from a text box: one per block, blocks separated by a line '---'."""
    sets, block = [], []
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        if line.strip() == SET_SEPARATOR:
            sets.append(block)
            block = []
        else:
            block.append(line)
    sets.append(block)
    return [parse_lines("\n".join(b)) for b in sets if parse_lines("\n".join(b))]


def _tint(n: int) -> str:
    return ["transparent", "#dbeafe", "#93c5fd", "#60a5fa", "#2563eb"][min(n, 4)]


def ngram_html(hypothesis: str, references: list[str]) -> str:
    """The hypothesis with each token tinted by the longest n-gram (1-4) it shares with a reference."""
    tokens, longest, _ = matched_ngrams(hypothesis, references)
    spans = [f'<span title="in a matched {n}-gram" style="background:{_tint(n)};color:{"#fff" if n >= 4 else "#111"};'
             f'padding:1px 3px;border-radius:3px">{html.escape(t)}</span>' if n else
             f'<span title="no match" style="text-decoration:underline wavy #dc2626">{html.escape(t)}</span>'
             for t, n in zip(tokens, longest)]
    return " ".join(spans)


def alignment_html(ops) -> str:
    """A WER alignment: reference over hypothesis, S/D/I coloured."""
    colour = {"=": "#e5e7eb", "S": "#fde68a", "D": "#fecaca", "I": "#bbf7d0"}
    cells = []
    for op, r, h in ops:
        cells.append(f'<td style="background:{colour[op]};padding:2px 6px;text-align:center">'
                     f'{html.escape(r) or "—"}<br>{html.escape(h) or "—"}<br><b>{"" if op == "=" else op}</b></td>')
    return ('<table style="border-collapse:separate;border-spacing:2px;font-family:monospace"><tr>'
            + "".join(cells) + "</tr></table>")


LEGEND = ("<p style='font-size:12px'>Blue: tokens inside a matched n-gram (darker = longer, up to 4); "
          "wavy red: no match. Alignment: reference above, hypothesis below; S substitution (yellow), "
          "D deletion (red), I insertion (green).</p>")


@dataclass(frozen=True)
class ScoresView:
    evaluation: Evaluation
    summary_rows: list[list]  # [metric, score, detail]
    sentence_rows: list[list]
    html: str
    figure: Any
    code: str


SUMMARY_HEADERS = ["metric", "score", "detail"]
SENTENCE_HEADERS = ["#", "hypothesis"] + [f"BLEU {m}" for m in SMOOTHING] + ["chrF", "ROUGE-L F1", "WER"]


def scores_view(hypotheses: str | list[str], references: str | list, normalizer: str = "basic",
                max_shown: int = 20) -> ScoresView:
    hyps = parse_lines(hypotheses) if isinstance(hypotheses, str) else hypotheses
    refs = parse_references(references) if isinstance(references, str) else references
    ev = evaluate(hyps, refs, normalizer=normalizer)
    b, w = ev.bleu, ev.wer
    rows = [
        ["BLEU (corpus)", round(b.score, 2), "precisions " + " / ".join(f"{p:.1f}" for p in b.precisions)
         + f" · BP {b.bp:.3f} (hyp {b.hyp_len} / ref {b.ref_len} tokens)"],
        ["chrF", round(ev.chrf, 2), "character 6-grams, β = 2 (recall weighs more)"],
    ]
    rows += [[f"ROUGE-{t[5:].upper() if t != 'rougeL' else 'L'} F1", round(ev.rouge[t]["f1"], 2),
              f"P {ev.rouge[t]['precision']:.1f} · R {ev.rouge[t]['recall']:.1f}"] for t in ROUGE_TYPES]
    rows.append(["WER", round(100 * w.wer, 2), f"{w.substitutions} S + {w.deletions} D + {w.insertions} I over "
                 f"{w.reference_words} reference words ({w.normalizer} normalization)"])
    sentence_rows = [[s.index + 1, s.hypothesis] + [round(s.bleu[m], 2) for m in SMOOTHING]
                     + [round(s.chrf, 2), round(s.rouge["rougeL"], 2),
                        None if s.wer is None else round(100 * s.wer, 2)] for s in ev.sentences]
    parts = []
    for s in ev.sentences[:max_shown]:
        parts.append(f"<p style='margin:6px 0 2px'><b>{s.index + 1}.</b> {ngram_html(s.hypothesis, list(s.references))}</p>")
        if s.alignment is not None:
            parts.append(alignment_html(s.alignment.ops))
    if len(ev.sentences) > max_shown:
        parts.append(f"<p>… {len(ev.sentences) - max_shown} more sentences in the table.</p>")
    code = ("from core.evaluation import evaluate\n"
            f"ev = evaluate({hyps!r},\n              {refs!r}, normalizer={normalizer!r})\n"
            "print(ev.bleu, ev.chrf, ev.rouge, ev.wer)\n"
            "# the same numbers straight from the libraries:\n"
            "import sacrebleu\n"
            f"print(sacrebleu.corpus_bleu({hyps!r}, {refs!r}).score)\n")
    return ScoresView(ev, rows, sentence_rows, LEGEND + "".join(parts), figures.bleu_figure(ev), code)


def api_evaluate(hypothesis, references, metrics=None, normalizer: str = "basic") -> dict:
    """/evaluate_text: `hypothesis` a sentence or a list; `references` a list aligned with it (one
    reference set) or a list of such lists; `metrics` a list or comma string of bleu, chrf, rouge, wer."""
    return evaluate(hypothesis, references, metrics, normalizer).as_dict()


# --- perplexity ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PerplexityView:
    result: Perplexity
    summary: str
    rows: list[list]
    figure: Any
    code: str


PERPLEXITY_HEADERS = ["#", "token", "surprisal (bits)", "p", "model's top guess"]


def perplexity_view(text: str, model: str = DEFAULT_MODEL) -> PerplexityView:
    r = perplexity(text, model)
    rows = [[i + 1, r.tokens[i + 1], round(s, 3), f"{2 ** -s:.3g}", r.top_prediction[i]]
            for i, s in enumerate(r.surprisal_bits)]
    worst = max(range(len(r.surprisal_bits)), key=lambda i: r.surprisal_bits[i])
    summary = (f"**Perplexity {r.perplexity:.2f}** under {model} ({len(r.surprisal_bits)} scored tokens, "
               f"{r.bits_per_token:.2f} bits per token). The most surprising token: "
               f"`{r.tokens[worst + 1]!s}` ({r.surprisal_bits[worst]:.1f} bits; the model expected "
               f"`{r.top_prediction[worst]!s}`).")
    if r.note:  # the model server scored it, or could not and this machine did (core.chat.llm_server)
        summary += " " + r.note
    code = ("from core.evaluation import perplexity\n"
            f"r = perplexity({text!r}, {model!r})\n"
            "print(r.perplexity, list(zip(r.tokens[1:], r.surprisal_bits)))\n"
            "# the same number from transformers directly: exp(loss) with labels = input ids\n"
            "import torch; from core import models\n"
            f"lm = models.get({model!r}); ids = lm.tokenizer({text!r}, return_tensors='pt').input_ids\n"
            "print(torch.exp(lm.model(input_ids=ids, labels=ids).loss).item())\n")
    return PerplexityView(r, summary, rows, figures.surprisal_figure(r), code)


def api_perplexity(text: str, model: str = DEFAULT_MODEL) -> dict:
    """/perplexity: the text's perplexity and each token's surprisal in bits."""
    return perplexity(text, model).as_dict()


# --- the studio's own outputs -----------------------------------------------------------------------

def studio_view(source: str = "tts-asr", prompt: str = CHAT_EXAMPLE[0], reference: str = CHAT_EXAMPLE[1],
                text: str = TTS_EXAMPLE, clip: int = 0) -> tuple[StudioPair, ScoresView]:
    pair = studio_pair(source, prompt, reference, text, int(clip))
    return pair, scores_view([pair.hypothesis], [[pair.reference]], pair.normalizer)
