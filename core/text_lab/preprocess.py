"""One sentence through the classic preprocessing stages; each stage is its own function so that a
front end can feed it the (possibly hand-edited) output of the stage before.

    clean(text, rules)            -> Cleaned: the text after each chosen regex rule, with counts
    tokenize(text, method)        -> Tokens: whitespace, rule-based regex, or MiniLM WordPiece
    remove_stopwords(tokens, ...) -> Filtered: scikit-learn's English stop-word list (318 words)
    normalize(tokens)             -> Normalized: Porter and Snowball stems beside simplemma lemmas
    preprocess(text, ...)         -> Preprocessed: all four at once (the /preprocess endpoint)

Offline: the stemmers come from `snowballstemmer` (BSD-3), the lemma dictionary from `simplemma`
(MIT), the stop words from scikit-learn, the WordPiece vocabulary from the MiniLM weights package.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from core import config, models

TOKENIZERS = ("whitespace", "rule-based", "subword (WordPiece)")
WORDPIECE_KEY = "minilm"  # the registry model whose tokenizer.json we read


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: str  # a Python regex, or "" for lower-casing
    replacement: str
    what: str  # one line for the learner


# Applied in this order: tags before URLs before punctuation; whitespace last.
RULES: tuple[Rule, ...] = (
    Rule("html", r"<[^>]+>", " ", "drop HTML tags such as <br/>"),
    Rule("urls", r"https?://\S+|www\.\S+", " ", "drop web addresses"),
    Rule("mentions", r"@\w+", " ", "drop @user mentions"),
    Rule("hashtags", r"#(\w+)", r"\1", "keep the word of a #hashtag"),
    Rule("repeats", r"(\w)\1{2,}", r"\1\1", "cut a letter repeated 3+ times to two (loooved -> looved)"),
    Rule("numbers", r"\d+(?:[.,/:]\d+)*", " ", "drop numbers"),
    Rule("punctuation", r"[^\w\s']", " ", "drop punctuation except apostrophes"),
    Rule("lowercase", "", "", "lower-case everything"),
    Rule("whitespace", r"\s+", " ", "collapse runs of spaces and newlines"),
)
RULE_NAMES = tuple(r.name for r in RULES)
DEFAULT_RULES = ("html", "urls", "mentions", "hashtags", "repeats", "lowercase", "whitespace")

# Rule-based tokenizer: the first alternative that matches at a position wins (order matters).
TOKEN_RULES: tuple[tuple[str, str], ...] = (
    ("url", r"https?://\S+|www\.\S+"),
    ("email", r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    ("mention/hashtag", r"[@#]\w+"),
    ("number", r"\d+(?:[.,/:]\d+)*%?"),
    ("word before n't", r"[^\W\d_]+(?=(?i:n't)\b)"),
    ("clitic", r"(?i:n't)\b|'(?i:s|re|ve|ll|d|m)\b"),
    ("word", r"\w+(?:[-']\w+)*"),
    ("ellipsis", r"\.\.\.|…"),
    ("punctuation", r"[^\w\s]"),
)
_TOKEN_RE = re.compile("|".join(f"(?P<r{i}>{p})" for i, (_, p) in enumerate(TOKEN_RULES)))


@dataclass(frozen=True)
class RuleHit:
    rule: str
    pattern: str
    replacement: str
    matches: int  # how many places the rule changed
    after: str  # the text after this rule


@dataclass(frozen=True)
class Cleaned:
    text: str
    hits: list[RuleHit]  # the chosen rules, in the order applied


@dataclass(frozen=True)
class Tokens:
    tokens: list[str]
    method: str
    kinds: list[str]  # per token: the rule that matched (rule-based), "word-start"/"continuation"
    ids: list[int] | None = None  # WordPiece vocabulary ids (subword only)


@dataclass(frozen=True)
class Filtered:
    kept: list[str]
    removed: list[str]


@dataclass(frozen=True)
class Normalized:
    tokens: list[str]
    porter: list[str]
    snowball: list[str]
    lemmas: list[str]


@dataclass(frozen=True)
class Preprocessed:
    text: str
    cleaned: Cleaned
    tokens: Tokens
    filtered: Filtered
    normalized: Normalized


def check_text(text: str, what: str = "sentence") -> str:
    text = "" if text is None else str(text)
    if not text.strip():
        raise ValueError(f"The {what} is empty: type a sentence first.")
    if len(text) > config.TEXT_LAB_MAX_CHARS:
        raise ValueError(f"That {what} is {len(text):,} characters; this lab takes at most "
                         f"{config.TEXT_LAB_MAX_CHARS:,} (NLP_STUDIO_TEXT_LAB_MAX_CHARS). "
                         "Use one or two sentences; for many documents use Representations.")
    return text


def clean(text: str, rules: tuple[str, ...] | list[str] = DEFAULT_RULES) -> Cleaned:
    """Apply the chosen rules in the fixed order of RULES; report each rule's number of changes."""
    text = check_text(text)
    unknown = [r for r in rules if r not in RULE_NAMES]
    if unknown:
        raise ValueError(f"Unknown cleaning rule(s) {unknown}; choose from {', '.join(RULE_NAMES)}.")
    hits = []
    for rule in RULES:
        if rule.name not in rules:
            continue
        if rule.name == "lowercase":
            n = sum(1 for ch in text if ch != ch.lower())
            text = text.lower()
        elif rule.name == "whitespace":
            # Count only real changes: a run that is not one plain space, and the ends trimmed.
            n = sum(1 for m in re.finditer(rule.pattern, text) if m.group() != " ")
            new = re.sub(rule.pattern, rule.replacement, text)
            n += len(new) - len(new.strip()) > 0
            text = new.strip()
        else:
            text, n = re.subn(rule.pattern, rule.replacement, text)
        hits.append(RuleHit(rule.name, rule.pattern or "str.lower()", rule.replacement, n, text))
    return Cleaned(text, hits)




def load_wordpiece(path: Path, device: str = "cpu"):
    """Registry loader (an alternative form of the MiniLM weights): its WordPiece tokenizer only,
    through the `tokenizers` library, from the folder's tokenizer.json (no model weights load)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(path) / "tokenizer.json"))
    tok.no_padding()  # the saved file pads to 128 for batches; one sentence needs no [PAD]
    tok.no_truncation()
    return tok


def wordpiece():
    """The MiniLM WordPiece tokenizer (30,522 pieces, uncased), loaded once per process."""
    return models.get(WORDPIECE_KEY, device="cpu", loader="core.text_lab.preprocess:load_wordpiece")


def tokenize(text: str, method: str = "rule-based") -> Tokens:
    """Split `text` into tokens with one of TOKENIZERS."""
    text = check_text(text, "text to tokenize")
    if method == "whitespace":
        toks = text.split()
        return Tokens(toks, method, ["space-separated"] * len(toks))
    if method == "rule-based":
        toks, kinds = [], []
        for m in _TOKEN_RE.finditer(text):
            toks.append(m.group())
            kinds.append(TOKEN_RULES[int(m.lastgroup[1:])][0])
        return Tokens(toks, method, kinds)
    if method.startswith("subword"):
        enc = wordpiece().encode(text, add_special_tokens=False)
        kinds = ["continuation" if t.startswith("##") else "word start" for t in enc.tokens]
        return Tokens(list(enc.tokens), TOKENIZERS[2], kinds, list(enc.ids))
    raise ValueError(f"Unknown tokenizer {method!r}; choose one of: {', '.join(TOKENIZERS)}.")


def stop_words() -> frozenset[str]:
    """scikit-learn's English stop-word list (318 words; note it contains 'not', 'no', 'never')."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


def _is_punct(token: str) -> bool:
    return not any(ch.isalnum() for ch in token)


def remove_stopwords(tokens: list[str], stopwords: bool = True, punctuation: bool = True) -> Filtered:
    """Drop stop words (compared lower-cased) and, optionally, tokens with no letter or digit."""
    if not tokens:
        raise ValueError("There are no tokens to filter: tokenize a sentence first.")
    words = stop_words()
    kept, removed = [], []
    for tok in tokens:
        drop = (stopwords and tok.lower() in words) or (punctuation and _is_punct(tok))
        (removed if drop else kept).append(tok)
    return Filtered(kept, removed)


_stemmers: dict[str, object] = {}
_stem_lock = threading.Lock()


def _stemmer(algorithm: str):
    with _stem_lock:
        if algorithm not in _stemmers:
            import snowballstemmer

            _stemmers[algorithm] = snowballstemmer.stemmer(algorithm)
    return _stemmers[algorithm]


def porter(words: list[str]) -> list[str]:
    """The original Porter (1980) algorithm, as the Snowball project publishes it."""
    return _stemmer("porter").stemWords([w.lower() for w in words])


def snowball(words: list[str]) -> list[str]:
    """Snowball English ("Porter2"): Porter's revision, e.g. generously -> generous, not gener."""
    return _stemmer("english").stemWords([w.lower() for w in words])


def lemmatize(words: list[str]) -> list[str]:
    """simplemma's English dictionary lookup (with rules for unseen words); no part of speech."""
    import simplemma

    return [simplemma.lemmatize(w.lower(), lang="en") for w in words]


def normalize(tokens: list[str]) -> Normalized:
    if not tokens:
        raise ValueError("There are no tokens to stem: every token was removed or the box is empty.")
    return Normalized(list(tokens), porter(tokens), snowball(tokens), lemmatize(tokens))


def split_tokens(text: str) -> list[str]:
    """Tokens typed (or edited) in a box: separated by spaces."""
    return (text or "").split()


def preprocess(text: str, rules: tuple[str, ...] | list[str] = DEFAULT_RULES, tokenizer: str = "rule-based",
               stopwords: bool = True, punctuation: bool = True) -> Preprocessed:
    """Every stage at once, each fed the previous stage's output."""
    cleaned = clean(text, rules)
    if not cleaned.text.strip():
        raise ValueError("Cleaning removed everything: switch off a rule (e.g. numbers or punctuation).")
    toks = tokenize(cleaned.text, tokenizer)
    filtered = remove_stopwords(toks.tokens, stopwords, punctuation)
    normal = normalize(filtered.kept) if filtered.kept else Normalized([], [], [], [])
    return Preprocessed(text, cleaned, toks, filtered, normal)
