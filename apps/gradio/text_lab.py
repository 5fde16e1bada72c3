"""Text Lab: one sentence through every preprocessing stage (each stage editable), one-hot /
Bag-of-Words / TF-IDF over a real corpus, and sentiment three ways. Roadmap week 1."""
from __future__ import annotations

import gradio as gr

from apps.gradio.common import code_box, friendly
from apps.gradio.controls import render_all
from apps.tabs import TABS
from core import config
from core.text_lab import data
from core.text_lab import preprocess as pp
from core.text_lab import sentiment as sa
from core.text_lab import vectorize as vz
from core.text_lab import view as tv

TITLE, WEEKS, SUMMARY = TABS["text_lab"].heading

INTRO = ("### Text Lab · roadmap week 1 (text representation)\n"
         "Carry one sentence through cleaning, tokenization, stop words and stemming (edit any stage's "
         "output and run the next), turn a real corpus into one-hot, Bag-of-Words and TF-IDF vectors, "
         "then read a sentence's sentiment three ways, word by word.")
P_NAMES = [c.name for c in tv.PREPROCESS_CONTROLS]
V_NAMES = [c.name for c in tv.VECTORIZE_CONTROLS]
T_NAMES = [c.name for c in tv.TRAIN_CONTROLS]


# --- API (documented in docs/text_lab.md) ------------------------------------------------------

def api_preprocess(text: str, tokenizer: str = "rule-based", rules: str = ",".join(pp.DEFAULT_RULES),
                   stopwords: bool = True, punctuation: bool = True) -> dict:
    """Every stage for one text. rules: comma-separated names from html, urls, mentions, hashtags,
    repeats, numbers, punctuation, lowercase, whitespace (applied in that order)."""
    names = tuple(r.strip() for r in (rules or "").split(",") if r.strip())
    r = pp.preprocess(text, names, tokenizer, stopwords, punctuation)
    return {"cleaned": r.cleaned.text,
            "rules_applied": [{"rule": h.rule, "pattern": h.pattern, "replacement": h.replacement,
                               "matches": h.matches} for h in r.cleaned.hits],
            "tokens": r.tokens.tokens, "token_ids": r.tokens.ids, "kept": r.filtered.kept,
            "removed": r.filtered.removed, "porter": r.normalized.porter,
            "snowball": r.normalized.snowball, "lemmas": r.normalized.lemmas}


def api_vectorize(corpus: str, method: str = "tfidf", lowercase: bool = True, stop_words: bool = False,
                  min_df: int = 1, max_features: int = 0, norm: str = "l2", smooth_idf: bool = True,
                  sublinear_tf: bool = False) -> dict:
    """corpus: one document per line; method one-hot | bow | tfidf. Defaults are scikit-learn's.
    Returns the vocabulary (column order, alphabetical) and the dense matrix [documents][terms]."""
    docs = data.parse_corpus(corpus)
    settings = vz.Settings(lowercase, stop_words, int(min_df), int(max_features), norm, smooth_idf, sublinear_tf)
    rep = vz.vectorize(docs, method, settings)
    cells = rep.shape[0] * rep.shape[1]
    if cells > config.TEXT_LAB_MAX_CELLS:
        raise ValueError(f"The matrix would have {cells:,} cells ({rep.shape[0]} documents × {rep.shape[1]:,} "
                         f"terms); the limit is {config.TEXT_LAB_MAX_CELLS:,} (NLP_STUDIO_TEXT_LAB_MAX_CELLS). "
                         "Set max_features or min_df to keep fewer terms.")
    out = {"method": rep.method, "shape": list(rep.shape), "vocabulary": rep.vocabulary,
           "matrix": rep.matrix.toarray().tolist(), "df": rep.df.tolist()}
    if rep.idf is not None:
        out["idf"] = rep.idf.tolist()
    return out


def api_sentiment(text: str) -> dict:
    """VADER, GloVe-average and MiniLM verdicts with per-word scores, and held-out accuracy
    (the two classifiers are trained with the default settings on first use)."""
    clfs = sa.default_classifiers()
    out = {v.method: {"label": v.label, "score": round(v.score, 4), "unit": v.unit, "note": v.note,
                      "words": [[w.word, round(w.score, 4)] for w in v.words]}
           for v in sa.analyze(text, clfs)}
    out["held_out"] = {"n_train": clfs.glove.n_train, "n_test": clfs.glove.n_test,
                       "majority": clfs.glove.majority, "VADER": clfs.vader_accuracy,
                       "GloVe average": clfs.glove.accuracy, "MiniLM": clfs.minilm.accuracy,
                       "data": clfs.source}
    return out


# --- handlers ----------------------------------------------------------------------------------

@friendly
def run_all(*args):
    shown = tv.preprocess_view(dict(zip(P_NAMES, args)))
    c, t, f, n = shown.clean, shown.tokens, shown.filtered, shown.normal
    return c.text, c.rows, t.text, t.rows, t.summary, f.text, f.removed, n.rows, n.summary, shown.code


@friendly
def run_tokenize(cleaned, tokenizer, stopwords, punctuation):
    t = tv.tokens_view(cleaned, tokenizer)
    f = tv.filter_view(t.text, stopwords, punctuation)
    n = tv.normal_view(f.text) if f.text else tv.NormalShown([], "Every token was removed.")
    return t.text, t.rows, t.summary, f.text, f.removed, n.rows, n.summary


@friendly
def run_filter(tokens_text, stopwords, punctuation):
    f = tv.filter_view(tokens_text, stopwords, punctuation)
    n = tv.normal_view(f.text) if f.text else tv.NormalShown([], "Every token was removed.")
    return f.text, f.removed, n.rows, n.summary


@friendly
def run_normalize(kept_text):
    n = tv.normal_view(kept_text)
    return n.rows, n.summary


@friendly
def run_vectorize(*args):
    v = tv.vectorize_view(dict(zip(V_NAMES, args)))
    return (v.summary, gr.update(value=v.matrix_rows, headers=v.matrix_headers), v.heatmap, v.doc_text,
            v.top_bar, gr.update(value=v.steps_rows, headers=v.steps_headers), v.top_rows, v.similarity,
            v.similar_rows, v.query_rows, v.query_note, v.code)


@friendly
def run_train(*args, progress=gr.Progress()):
    settings = tv.train_settings(dict(zip(T_NAMES, args)))
    clfs = sa.train(settings, lambda f, msg: progress(f, desc=msg))
    shown = tv.train_view(clfs)
    if shown.warning:
        gr.Warning(shown.warning)
    return clfs, shown.figure, shown.rows, shown.summary


@friendly
def run_sentiment(text, clfs, progress=gr.Progress()):
    shown = tv.sentiment_view(text, clfs, lambda f, msg: progress(f, desc=msg))
    return (*shown.cards, *shown.figures, shown.notes, shown.code)


# --- layout ------------------------------------------------------------------------------------

def build_preprocess() -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            ctrls = render_all(tv.PREPROCESS_CONTROLS)
            go = gr.Button("Run every stage", variant="primary")
        with gr.Column(scale=2):
            cleaned = gr.Textbox(label="1 · Cleaned text (edit it, then Tokenize)", lines=2)
            rules = gr.Dataframe(headers=["rule", "pattern", "replacement", "changes", "text after"],
                                 label="Rules applied, in order", interactive=False, wrap=True,
                                 column_widths=["11%", "20%", "11%", "9%", "49%"])
            b_tok = gr.Button("Tokenize ↓")
            tokens = gr.Textbox(label="2 · Tokens, separated by spaces (edit them, then Remove stop words)",
                                lines=2)
            tok_summary = gr.Markdown()
            with gr.Accordion("Each token and the rule that made it", open=False):
                tok_rows = gr.Dataframe(headers=["#", "token", "rule / piece", "WordPiece id"], interactive=False)
            b_filter = gr.Button("Remove stop words ↓")
            with gr.Row():
                kept = gr.Textbox(label="3 · Kept tokens (edit them, then Stem & lemmatize)", lines=2, scale=2)
                removed = gr.Textbox(label="Removed", lines=2, interactive=False, scale=1)
            b_norm = gr.Button("Stem & lemmatize ↓")
            norm_rows = gr.Dataframe(headers=["token", "Porter", "Snowball", "lemma", "differ"],
                                     label="4 · Porter vs Snowball stems vs lemmas", interactive=False)
            norm_summary = gr.Markdown()
    code = code_box()
    inputs = list(ctrls.values())
    outs = [cleaned, rules, tokens, tok_rows, tok_summary, kept, removed, norm_rows, norm_summary, code]
    go.click(run_all, inputs, outs, api_visibility="private", concurrency_limit=8)
    gr.on(None, run_all, inputs, outs, api_visibility="private", concurrency_limit=8)
    opts = [ctrls["tokenizer"], ctrls["stopwords"], ctrls["punctuation"]]
    b_tok.click(run_tokenize, [cleaned, *opts],
                [tokens, tok_rows, tok_summary, kept, removed, norm_rows, norm_summary],
                api_visibility="private", concurrency_limit=8)
    b_filter.click(run_filter, [tokens, *opts[1:]], [kept, removed, norm_rows, norm_summary],
                   api_visibility="private", concurrency_limit=8)
    b_norm.click(run_normalize, [kept], [norm_rows, norm_summary], api_visibility="private", concurrency_limit=8)


def build_vectorize() -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            go = gr.Button("Vectorize", variant="primary")
            ctrls = render_all(tv.VECTORIZE_CONTROLS)
        with gr.Column(scale=3):
            summary = gr.Markdown()
            matrix = gr.Dataframe(label="The matrix (a window of documents × their strongest terms)",
                                  interactive=False, max_height=420)
            heat = gr.Plot(label="Heatmap")
            with gr.Row():
                with gr.Column():
                    doc_text = gr.Textbox(label="The inspected document", lines=5, interactive=False)
                    top_bar = gr.Plot(label="Top terms")
                with gr.Column():
                    steps = gr.Dataframe(label="Step by step for the inspected document", interactive=False,
                                         max_height=520)
            top_rows = gr.Dataframe(headers=["document", "top terms"], label="Top terms per document",
                                    interactive=False, wrap=True)
            sim = gr.Plot(label="Cosine similarity")
            similar = gr.Dataframe(headers=["rank", "document", "cosine", "text"], wrap=True,
                                   label="Most similar to the inspected document", interactive=False)
            query = gr.Dataframe(headers=["rank", "document", "cosine", "text"], wrap=True,
                                 label="Nearest documents to your new document", interactive=False)
            query_note = gr.Markdown()
    code = code_box()
    inputs = list(ctrls.values())
    outs = [summary, matrix, heat, doc_text, top_bar, steps, top_rows, sim, similar, query, query_note, code]
    go.click(run_vectorize, inputs, outs, api_visibility="private", concurrency_limit=4)
    gr.on(None, run_vectorize, inputs, outs, api_visibility="private", concurrency_limit=4)


def build_sentiment() -> None:
    clfs = gr.State(None)  # this session's classifiers once trained; None: the shared defaults
    with gr.Row():
        with gr.Column(scale=3):
            ctrls = render_all(tv.SENTIMENT_CONTROLS)
        with gr.Column(scale=1, min_width=220):
            go = gr.Button("Analyze", variant="primary")
            gr.Markdown("The first Analyze trains both classifiers on real labelled sentences "
                        "(about 22 s of CPU time, once per server; longer on a busy machine).")
    gr.Examples([[e] for e in tv.SENTIMENT_EXAMPLES], [ctrls["text"]], label="Try")
    with gr.Row():
        cards = [gr.Markdown() for _ in sa.METHODS]
    with gr.Row():
        plots = [gr.Plot(label=m) for m in sa.METHODS]
    notes = gr.Markdown()
    with gr.Accordion("Train the classifiers (your settings, this session only)", open=False):
        with gr.Row():
            tctrls = render_all(tv.TRAIN_CONTROLS)
        train = gr.Button("Train both classifiers", variant="primary")
        train_summary = gr.Markdown()
        with gr.Row():
            acc_plot = gr.Plot(label="Held-out accuracy")
            acc_rows = gr.Dataframe(headers=["method", "train", "held-out", "accuracy %", "majority %",
                                             "margin (points)", "seconds"], interactive=False)
    code = code_box()
    go.click(run_sentiment, [ctrls["text"], clfs], [*cards, *plots, notes, code], api_visibility="private",
             concurrency_limit=2)
    train.click(run_train, list(tctrls.values()), [clfs, acc_plot, acc_rows, train_summary],
                api_visibility="private", concurrency_limit=1)


def build() -> None:
    gr.Markdown(INTRO)
    with gr.Tabs():
        with gr.Tab("Preprocessing"):
            build_preprocess()
        with gr.Tab("Representations"):
            build_vectorize()
        with gr.Tab("Sentiment"):
            build_sentiment()
    gr.api(friendly(api_preprocess), api_name="preprocess", concurrency_limit=8)
    gr.api(friendly(api_vectorize), api_name="vectorize", concurrency_limit=2)
    gr.api(friendly(api_sentiment), api_name="sentiment", concurrency_limit=2)
