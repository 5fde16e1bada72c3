"""What the Tokenizer Lab shows, for every front end: its controls (declared once), the views
(tables, token strips as HTML, figures, the code box) and the API's plain-JSON answers."""
from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core import config
from core.controls import Control
from core.tokenizer_lab import studio as cmp
from core.tokenizer_lab import figures
from core.tokenizer_lab.corpora import CORPORA, corpus_text
from core.tokenizer_lab.replay import Replay, replay
from core.tokenizer_lab.train import ALGORITHMS, PRE_TOKENIZER_HELP, PRE_TOKENIZERS, TrainedTokenizer, TrainSettings, train

MY_TEXT = "my text"
SOURCES = tuple(CORPORA) + (MY_TEXT,)
DEFAULT_SENTENCE = "Tokenizers learn their vocabulary from unbelievably frequent pairs."
MY_TEXT_EXAMPLE = ("low lower lowest newer newest wider widest\n" * 3).strip()

TRAIN_CONTROLS = (
    Control("source", "Training text", "radio", "python-docs", choices=SOURCES,
            help="; ".join(f"{c.key}: {c.title}, {c.licence}" for c in CORPORA.values())
            + f"; {MY_TEXT}: the box below"),
    Control("text", "Your text (used when the training text is 'my text')", "textarea", MY_TEXT_EXAMPLE, lines=4),
    Control("algorithm", "Algorithm", "radio", "BPE", choices=ALGORITHMS,
            help="BPE merges the most frequent pair; WordPiece the pair with the best likelihood gain; "
                 "Unigram starts big and prunes the pieces that cost least"),
    Control("vocab_size", "Vocabulary size", "int", 500, minimum=0, maximum=config.TOKENIZER_MAX_VOCAB,
            help="tokens in the final vocabulary, special tokens and single characters included"),
    Control("pre_tokenizer", "Pre-tokenizer", "radio", "whitespace", choices=PRE_TOKENIZERS,
            help="; ".join(f"{k}: {v}" for k, v in PRE_TOKENIZER_HELP.items())),
    Control("lowercase", "Lower-case first", "check", False),
    Control("sentence", "Sentence to replay", "text", DEFAULT_SENTENCE),
)

COMPARE_EXAMPLES = (
    "The studio's tokenizers don't agree on unbelievably long words.",
    "Привет, мир! 你好，世界！ مرحبا بالعالم",
    "I ❤️ emoji 🚀🤗 and naïve café accents.",
    "def tokenize(text):\n    return text.split()  # 4 spaces",
)
COMPARE_CONTROLS = (
    Control("text", "Text", "textarea", COMPARE_EXAMPLES[1] + " " + COMPARE_EXAMPLES[2], lines=3),
    Control("add_special_tokens", "Add each tokenizer's special tokens", "check", True,
            help="[CLS]/[SEP] for BERT, <|startoftranscript|> … <|endoftext|> for Whisper; SmolLM2 adds none"),
)

TRAIN_EXPLAINER = """
Train a real subword tokenizer (Hugging Face `tokenizers`) on the Python reference that ships with
CPython, a licence text, or your own text, then watch it cut a sentence. **BPE** replays its
merges in the order it learned them (merge #0 was the most frequent pair of the training text);
**WordPiece** takes the longest piece it knows from the left; **Unigram** picks the most probable
cut. A vocabulary larger than the text can fill is refused with the size it can give.
"""

COMPARE_EXPLAINER = """
The tokenizers of the studio's own models on the same text. **Bytes per token** is how much text
one token carries (higher = cheaper context). Byte-level BPE (SmolLM2, Whisper) never meets an
unknown character but may cut one character into several tokens (shown as `<F0><9F>`: bytes that
are only part of a character); WordPiece (MiniLM) strips accents, lower-cases, and maps what it
does not know to `[UNK]`.
"""


@lru_cache(maxsize=8)
def train_corpus(source: str, settings: TrainSettings) -> TrainedTokenizer:
    """A shipped corpus trained once per settings (read-only afterwards): replaying another sentence
    is then instant. Users' own text is trained afresh each time."""
    return train(corpus_text(source), settings)


def _text_for(source: str, text: str) -> str:
    if source == MY_TEXT:
        return text
    if source not in CORPORA:
        raise ValueError(f"unknown training text {source!r}; choose one of {', '.join(SOURCES)}")
    return corpus_text(source)


def strip_html(pieces: list[str], titles: list[str] | None = None, marks: list[bool] | None = None,
               word_starts: set[int] | None = None) -> str:
    """Tokens as coloured boxes side by side (alternating colours show the boundaries); a wider gap
    before each index in `word_starts` (where a new word begins)."""
    out = []
    for i, p in enumerate(pieces):
        if word_starts and i in word_starts and i:
            out.append('<span style="display:inline-block;width:14px"></span>')
        bg = "#ffd6d6" if marks and marks[i] else ("#dbeafe" if i % 2 == 0 else "#fde68a")
        title = f' title="{html.escape(titles[i])}"' if titles else ""
        shown = html.escape(p).replace(" ", "&middot;").replace("\n", "\\n") or "&empty;"
        out.append(f'<span{title} style="background:{bg};color:#111;border-radius:4px;padding:1px 4px;'
                   f'margin:2px;display:inline-block;font-family:monospace">{shown}</span>')
    return '<div style="line-height:2">' + "".join(out) + "</div>"


@dataclass(frozen=True)
class TrainView:
    trained: TrainedTokenizer
    replay: Replay
    summary: str
    vocab_rows: list[list]  # learned tokens: [rank or id, token, detail]
    replay_rows: list[list]  # [step, action, pieces so far]
    pieces_html: str
    code: str


def train_view(source: str = "python-docs", text: str = "", algorithm: str = "BPE", vocab_size: int = 500,
               pre_tokenizer: str = "whitespace", lowercase: bool = False,
               sentence: str = DEFAULT_SENTENCE) -> TrainView:
    if vocab_size is None or (isinstance(vocab_size, float) and not vocab_size.is_integer()):
        raise ValueError("type a whole number for the vocabulary size, e.g. 500")
    settings = TrainSettings(algorithm, int(vocab_size), pre_tokenizer, bool(lowercase))
    trained = train_corpus(source, settings) if source in CORPORA else train(_text_for(source, text), settings)
    rep = replay(trained, sentence)
    lib_pieces = trained.tokenizer.encode(sentence, add_special_tokens=False).tokens
    same = list(rep.pieces) == list(lib_pieces)
    short = (f" (Unigram's pruning stopped a little under the {int(vocab_size):,} asked)"
             if trained.vocab_size < int(vocab_size) else "")
    summary = (f"**{algorithm}**, {trained.vocab_size:,} tokens{short} ({trained.alphabet_size:,} single characters), "
               f"trained on {trained.chars:,} characters in {trained.seconds:.2f} s; "
               f"{trained.chars_per_token:.2f} characters per token on the training text. "
               f"The sentence becomes **{len(rep.pieces)} tokens** in {len(rep.steps) - 1} steps. "
               + ("The replay gives the library's own pieces." if same else
                  f"The replay differs from the library's encoding ({' '.join(lib_pieces)})."))
    if algorithm == "BPE":
        vocab_rows = [[r, a, b, a + b] for r, (a, b) in enumerate(trained.merges[:200])]
    elif algorithm == "Unigram":
        best = sorted(trained.scores.items(), key=lambda kv: -kv[1])[:200]
        vocab_rows = [[i, p, round(s, 3), len(p)] for i, (p, s) in enumerate(best)]
    else:
        longest = sorted((p for _, p in trained.vocab()), key=lambda p: (-len(p.lstrip("#")), p))[:200]
        vocab_rows = [[i, p, len(p.lstrip("#")), "inside a word" if p.startswith("##") else "word start"]
                      for i, p in enumerate(longest)]
    replay_rows = [[s.step, s.action, s.shown()] for s in rep.steps]
    code = (
        "from core.tokenizer_lab import TrainSettings, corpus_text, replay, train\n"
        f"text = {('corpus_text(' + repr(source) + ')') if source != MY_TEXT else repr(text[:200])}\n"
        f"trained = train(text, TrainSettings({algorithm!r}, {int(vocab_size)}, {pre_tokenizer!r}, {bool(lowercase)}))\n"
        f"for step in replay(trained, {sentence!r}).steps:\n"
        "    print(step.action, '|', ' '.join(step.pieces))\n"
        f"print(trained.tokenizer.encode({sentence!r}).tokens)  # the library's own answer\n")
    return TrainView(trained, rep, summary, vocab_rows, replay_rows, step_html(rep.steps[-1]), code)


def step_html(step) -> str:
    """One replay step's pieces as a token strip, words set apart."""
    starts, i = set(), 0
    for g in step.groups:
        starts.add(i)
        i += len(g)
    return strip_html(list(step.pieces), word_starts=starts)


def vocab_headers(algorithm: str) -> list[str]:
    if algorithm == "BPE":
        return ["rank", "left", "right", "merged"]
    if algorithm == "Unigram":
        return ["#", "piece", "log p", "length"]
    return ["#", "piece", "characters", "where"]


def api_train(text: str = "", corpus: str = "python-docs", algorithm: str = "BPE", vocab_size: int = 500,
              sentence: str = DEFAULT_SENTENCE, pre_tokenizer: str = "whitespace", lowercase: bool = False) -> dict:
    """/tokenizer_train: train on `text` (or, when it is empty, the shipped `corpus`) and replay `sentence`."""
    source = MY_TEXT if text and text.strip() else corpus
    v = train_view(source, text, algorithm, vocab_size, pre_tokenizer, lowercase, sentence)
    t = v.trained
    return {"algorithm": algorithm, "pre_tokenizer": pre_tokenizer, "vocab_size": t.vocab_size,
            "alphabet_size": t.alphabet_size, "train_chars": t.chars, "train_seconds": round(t.seconds, 4),
            "chars_per_token": round(t.chars_per_token, 4),
            "tokens": list(v.replay.pieces),
            "ids": t.tokenizer.encode(sentence, add_special_tokens=False).ids,
            "merges": [list(m) for m in t.merges[:100]],
            "replay": [{"step": s.step, "action": s.action, "pieces": list(s.pieces)} for s in v.replay.steps]}


# --- compare ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CompareView:
    views: list[cmp.TokenizerView]
    rows: list[list]  # one per tokenizer
    html: str
    figure: Any
    code: str


COMPARE_HEADERS = ["tokenizer", "kind", "vocab", "tokens", "special", "[UNK]", "B/token"]


def compare_view(text: str, add_special_tokens: bool = True) -> CompareView:
    views = cmp.compare(text, add_special_tokens=bool(add_special_tokens))
    rows = [[v.title, v.kind, v.vocab_size, v.n_tokens, v.n_special, v.n_unknown, round(v.bytes_per_token, 2)]
            for v in views]
    parts = []
    for v in views:
        titles = [f"id {t.id} · {t.piece} · {t.n_bytes} bytes" + (" · special" if t.special else "")
                  for t in v.tokens]
        marks = [t.special or t.piece == "[UNK]" for t in v.tokens]
        parts.append(f"<h4 style='margin:8px 0 2px'>{html.escape(v.title)} · {v.n_tokens} tokens "
                     f"· {v.bytes_per_token:.2f} bytes/token</h4>"
                     + strip_html([t.text for t in v.tokens], titles, marks))
    code = ("from core.tokenizer_lab import compare\n"
            f"for v in compare({text!r}, add_special_tokens={bool(add_special_tokens)}):\n"
            "    print(v.title, v.n_tokens, round(v.bytes_per_token, 2), [t.piece for t in v.tokens])\n")
    return CompareView(views, rows, "".join(parts) + "<p style='font-size:12px'>Red: special tokens and "
                       "[UNK]. Hover a token for its id, its spelling in the vocabulary and its bytes.</p>",
                       figures.compare_figure(views), code)


def api_compare(text: str, tokenizers: list[str] | str | None = None, add_special_tokens: bool = True) -> list[dict]:
    """/tokenize_compare: each studio tokenizer's pieces, ids, counts and bytes per token."""
    if isinstance(tokenizers, str):
        tokenizers = [t.strip() for t in tokenizers.split(",") if t.strip()]
    keys = tuple(tokenizers) if tokenizers else tuple(cmp.STUDIO_TOKENIZERS)
    return [v.as_dict() for v in cmp.compare(text, keys, bool(add_special_tokens))]
