"""What the Embedding Explorer shows for each action, for any front end: figure, table rows, the
"show the code" text and the info line. Gradio's tab and Streamlit's page both call these, so the
two show the same result and the same words; the front ends only lay it out.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from core import config
from core.controls import Control
from core.embeddings import explorer, sentences, corpus as corpus_mod
from core.embeddings.sets import WORD_SETS, split_words
from core.embeddings.figures import axes_figure, neighbours_figure, projection_figure
from core.embeddings.sentences import SentenceIndex
from core.embeddings.snippets import analogy_code, axes_code, neighbours_code, projection_code
from core.embeddings.wordvectors import Neighbour

Progress = Callable[[float, str], None]

ANALOGY_EXAMPLES = [["king", "man", "woman"], ["paris", "france", "italy"], ["walked", "walk", "swim"],
                    ["bigger", "big", "small"], ["tokyo", "japan", "egypt"]]
NEIGHBOUR_EXAMPLES = [["frog", "word"], ["python", "word"], ["bank", "word"],
                      ["My phone battery dies too fast", "sentence"], ["Will it be sunny tomorrow?", "sentence"]]
EXPLAINER = """A word or sentence becomes a vector; **closeness in that space is similarity of use**.
Neighbours and analogies are computed in the original space (50 dimensions for GloVe words,
384 for MiniLM sentences) with cosine similarity. Projections to 2D/3D are only a picture of that
space: PCA keeps global directions, t-SNE and UMAP keep local neighbourhoods and distort distances.
"""
ANALOGY_HELP = ("**a − b + c**: *king − man + woman* lands near *queen*. The three input words are "
                "left out of the answer (they are always close to the result).")
AXES_HELP = ("An axis is the direction from one pole to another (each pole one or more words). "
             "Each word is placed by its **scalar projection**: −1 at the first pole, +1 at the second.")
DEMO_NOTE = "the studio's assets/demo_corpus.csv"
CORPUS_HELP = (f"Paste lines (one sentence each) or upload a `.txt` or a `.csv` with a `text` column and, "
               f"optionally, a `label` column. Up to {config.MAX_CORPUS_LINES:,} lines and "
               f"{config.MAX_CORPUS_CHARS:,} characters. It stays in your browser session only; "
               "sentence neighbours and projections then use it.")
PREVIEW_ROWS = 50

# --- the tab's inputs, declared once (apps/gradio/controls.py and apps/streamlit/controls.py draw them) ---
SECTIONS = ("Nearest neighbours", "Analogies", "Projection (2D / 3D)", "Semantic axes", "Your corpus")
BUTTONS = {"neighbours": "Find neighbours", "analogy": "Solve the analogy", "project": "Project",
           "axes": "Place the words", "corpus": "Embed this corpus"}
NEIGHBOUR_CONTROLS = (  # names are neighbours_view's keywords
    Control("kind", "Space", "radio", "word", choices=explorer.KINDS,
            help="word: GloVe, 400k words · sentence: MiniLM over the demo corpus (or yours, once loaded)"),
    Control("query", "Word or sentence", "text", "frog"),
    Control("k", "How many neighbours (k)", "slider", 10, minimum=1, maximum=config.UI_MAX_NEIGHBOURS, step=1),
)
ANALOGY_CONTROLS = (  # analogy_view's keywords
    Control("a", "a", "text", "king"),
    Control("b", "− b", "text", "man"),
    Control("c", "+ c", "text", "woman"),
    Control("k", "k", "slider", 5, minimum=1, maximum=config.UI_MAX_ANALOGY_ANSWERS, step=1),
)
PROJECTION_CONTROLS = (  # projection_result's keywords
    Control("source", "Points", "radio", "word set", choices=explorer.SOURCES),
    Control("word_set", "Word set", "choice", next(iter(WORD_SETS)), choices=tuple(WORD_SETS)),
    Control("words", "Typed words (commas or spaces)", "textarea", lines=3,
            default="apple banana cherry car truck bus dog cat horse red blue green"),
    Control("n", "How many of the most frequent words", "slider", 2_000, minimum=config.UI_MIN_FREQUENT_WORDS,
            maximum=config.UI_MAX_FREQUENT_WORDS, step=config.UI_MIN_FREQUENT_WORDS),
    Control("centre", "Centre word", "text", "music"),
    Control("method", "Method", "radio", "PCA", choices=("PCA", "t-SNE", "UMAP")),
    Control("dims", "Dimensions", "radio", 2, choices=(2, 3)),
    Control("colour", "Colour by", "radio", "label", choices=explorer.COLOURINGS),
    Control("clusters", "k-means clusters", "slider", 4, minimum=config.MIN_KMEANS_CLUSTERS,
            maximum=config.MAX_KMEANS_CLUSTERS, step=1),
)
# Which projection input each choice shows (the others stay hidden): source -> input, colour -> input.
SOURCE_INPUT = {"word set": "word_set", "typed words": "words", "frequent words": "n", "word neighbourhood": "centre"}
COLOUR_INPUT = {"k-means clusters": "clusters"}
AXES_CONTROLS = (  # axes_view's keywords
    Control("x_a", "x axis: first pole", "text", "man, he, his"),
    Control("x_b", "x axis: second pole", "text", "woman, she, her"),
    Control("y_a", "y axis: first pole (optional)", "text", "bad, awful"),
    Control("y_b", "y axis: second pole (optional)", "text", "good, great"),
    Control("words", "Words to place", "textarea", lines=2,
            default="king queen doctor nurse engineer teacher soldier dancer hero villain brave cruel gentle"),
)
PASTED = Control("pasted", "Paste lines", "textarea", "", lines=8)
UPLOAD_LABEL = "…or upload .txt / .csv"  # a file input: no Control kind, the same words in both front ends
UPLOAD_TYPES = ("txt", "csv")


@dataclass(frozen=True)
class TableView:
    """A ranked list (neighbours, analogy answers, axis positions) with its figure and code."""

    figure: Any  # plotly Figure
    rows: list[list]  # neighbours: [rank, text, cosine]; axes: [word, x, y or ""]
    code: str
    warning: str = ""  # words left out, for a non-blocking note


def neighbour_rows(found: list[Neighbour]) -> list[list]:
    """[rank, text, cosine] rows, cosine rounded to 4 places (the same numbers as explorer.as_rows)."""
    return [[r["rank"], r["text"], r["score"]] for r in explorer.as_rows(found)]


def neighbours_view(query: str, kind: str = "word", k: int = 10, corpus: SentenceIndex | None = None) -> TableView:
    """Cosine neighbours of a word (GloVe) or a sentence (MiniLM over `corpus`, else the demo corpus)."""
    found = explorer.neighbours(query, kind, int(k), corpus if kind == "sentence" else None)
    note = "your corpus" if (kind == "sentence" and corpus is not None) else DEMO_NOTE
    return TableView(neighbours_figure(query.strip(), found), neighbour_rows(found),
                     neighbours_code(query, kind, int(k), note))


def analogy_view(a: str, b: str, c: str, k: int = 5) -> TableView:
    """a - b + c in GloVe space, the inputs left out of the answers."""
    found = explorer.analogy(a, b, c, int(k))
    title = f"{a.strip().lower()} − {b.strip().lower()} + {c.strip().lower()}"
    return TableView(neighbours_figure(title, found), neighbour_rows(found), analogy_code(a, b, c, int(k)))


def axes_view(x_a: str, x_b: str, y_a: str, y_b: str, words: str) -> TableView:
    """Words placed by scalar projection between two poles (x) and optionally two more (y)."""
    axes = explorer.word_vectors().axes(split_words(words), (x_a, x_b), (y_a, y_b))
    rows = [[w, round(float(x), 3), "" if axes.y is None else round(float(axes.y[i]), 3)]
            for i, (w, x) in enumerate(zip(axes.words, axes.x))]
    warning = f"Not in the vocabulary (left out): {', '.join(axes.skipped[:20])}" if axes.skipped else ""
    return TableView(axes_figure(axes), rows, axes_code(axes.words, (x_a, x_b), axes.y_poles), warning)


@dataclass(frozen=True)
class ProjectionResult:
    view: explorer.ProjectionView
    figure: Any  # plotly Figure
    info: str  # markdown: point count, method, time, what was left out
    code: str


def projection_result(source: str, *, word_set: str = "", words: str = "", n: int = 2000, centre: str = "",
                      method: str = "PCA", dims: int = 2, colour: str = "label", clusters: int = 4,
                      corpus: SentenceIndex | None = None, progress: Progress | None = None) -> ProjectionResult:
    """Collect the points `source` names, project them, and describe the result."""
    report = progress or (lambda f, msg: None)
    report(0.1, "collecting points")
    points, is_words = explorer.points_for(source, word_set=word_set, words=words, n=int(n), query=centre,
                                           corpus=corpus)
    report(0.3, f"{method} on {len(points.texts):,} points")
    view = explorer.projection_view(points, is_words, method, int(dims), colour, int(clusters))
    info = (f"**{len(points.texts):,} points** · {view.projection.method.upper()} in "
            f"{view.projection.seconds:.2f} s · {view.projection.note}. ")
    if points.skipped:
        info += f"Not in the vocabulary (left out): {', '.join(points.skipped[:20])}. "
    if view.projection.method != "pca":
        info += "Distances between far-apart clusters mean little in t-SNE/UMAP; neighbourhoods do."
    code = projection_code(points.description, view.projection.method, int(dims),
                           points.texts if is_words else None)
    return ProjectionResult(view, projection_figure(points, view.projection, view.labels), info, code)


def point_text(view: explorer.ProjectionView, curve: int, index: int) -> str | None:
    """The text of the point a click picked in `projection_figure`: trace `curve` holds one label's
    points in first-seen order (the figure's grouping), `index` counts within that trace."""
    groups: dict[str, list[int]] = {}
    for i, lab in enumerate(view.labels or ["points"] * len(view.points.texts)):
        groups.setdefault(lab, []).append(i)
    members = list(groups.values())
    if not (0 <= curve < len(members)) or not (0 <= index < len(members[curve])):
        return None
    return view.points.texts[members[curve][index]]


@dataclass(frozen=True)
class CorpusResult:
    index: SentenceIndex  # this session's corpus with its vectors; never shared between users
    status: str  # markdown
    preview: list[list[str]]  # first rows: [text, label]


def corpus_from_upload(name: str, data: bytes) -> corpus_mod.Corpus:
    """An uploaded file given as its name and bytes (as a browser sends it), read with the same
    checks as a file on disk (size, binary, UTF-8, .txt/.csv)."""
    with tempfile.TemporaryDirectory(prefix="nlp-studio-corpus-") as tmp:
        path = Path(tmp) / (Path(name).name or "corpus.txt")
        path.write_bytes(data)
        return corpus_mod.from_file(path)


def corpus_result(corp: corpus_mod.Corpus, progress: Progress | None = None) -> CorpusResult:
    """Embed a user's corpus with MiniLM and say what was loaded."""
    index = sentences.build_index(corp, progress)
    labels = corp.labels or [""] * len(corp)
    status = (f"✓ Embedded **{len(corp):,} lines** from {corp.source}"
              + (f" with {len(set(corp.labels))} labels" if corp.labels else "")
              + ". Sentence neighbours and the projection's *my corpus* now use it.")
    return CorpusResult(index, status, [[t, lab] for t, lab in list(zip(corp.texts, labels))[:PREVIEW_ROWS]])
