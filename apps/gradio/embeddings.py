"""Embedding Explorer: GloVe word vectors and MiniLM sentence embeddings, neighbours, analogies,
projections (PCA / t-SNE / UMAP) and semantic axes. Roadmap weeks 1 and 5."""
from __future__ import annotations

import gradio as gr

from apps.gradio.common import code_box, friendly
from apps.gradio.controls import render, render_all
from apps.tabs import TABS
from core.controls import by_name
from core.embeddings import corpus as corpus_mod, view as ev, explorer
from core.embeddings.view import ANALOGY_EXAMPLES, BUTTONS, NEIGHBOUR_EXAMPLES

TITLE, WEEKS, SUMMARY = TABS["embeddings"].heading

INTRO = "### Embedding Explorer · roadmap weeks 1 (text representation) and 5 (embeddings)\n" + ev.EXPLAINER


def api_neighbors(query: str, kind: str = "word", k: int = 10) -> list[dict]:
    """Nearest neighbours by cosine similarity. kind "word": GloVe 6B 50d (400k words);
    kind "sentence": MiniLM over the shipped demo corpus. Returns [{rank, text, score}]."""
    return explorer.as_rows(explorer.neighbours(query, kind, k))


def api_analogy(a: str, b: str, c: str, k: int = 5) -> list[dict]:
    """a - b + c in GloVe space (king - man + woman), inputs excluded. Returns [{rank, text, score}]."""
    return explorer.as_rows(explorer.analogy(a, b, c, k))


def api_project(words: str, method: str = "pca", dims: int = 2) -> list[dict]:
    """Project typed GloVe words (comma or space separated) to 2D/3D. Returns [{text, x, y[, z]}]."""
    points, is_words = explorer.points_for("typed words", words=words)
    view = explorer.projection_view(points, is_words, method, int(dims), colour="none")
    return explorer.coords_rows(view)


# --- handlers (module level: each sub-tab wires its own) -----------------------------------

@friendly
def do_neighbours(q, kd, kk, index):
    shown = ev.neighbours_view(q, kd, int(kk), index)
    return shown.figure, shown.rows, shown.code


@friendly
def do_analogy(aa, bb, cc, kk):
    shown = ev.analogy_view(aa, bb, cc, int(kk))
    return shown.figure, shown.rows, shown.code


@friendly
def do_project(src, ws, wd, n, ctr, meth, dm, col, ncl, index, progress=gr.Progress()):
    result = ev.projection_result(src, word_set=ws, words=wd, n=int(n), centre=ctr, method=meth, dims=int(dm),
                                  colour=col, clusters=int(ncl), corpus=index,
                                  progress=lambda f, msg: progress(f, desc=msg))
    return result.figure, result.info, result.code


@friendly
def do_axes(p1, p2, p3, p4, wd):
    shown = ev.axes_view(p1, p2, p3, p4, wd)
    if shown.warning:
        gr.Warning(shown.warning)
    return shown.figure, shown.rows, shown.code


@friendly
def do_corpus(text, path, progress=gr.Progress()):
    corp = corpus_mod.from_file(path) if path else corpus_mod.from_text(text)
    progress(0, desc="loading MiniLM")
    result = ev.corpus_result(corp, lambda f, msg: progress(f, desc=msg))
    return result.index, result.status, result.preview


SOURCE_INPUTS = list(ev.SOURCE_INPUT.values())  # the inputs show_source_inputs shows or hides, in order


def show_source_inputs(src):
    return tuple(gr.update(visible=ev.SOURCE_INPUT.get(src) == name) for name in SOURCE_INPUTS)


def show_colour_inputs(col):
    return gr.update(visible=ev.COLOUR_INPUT.get(col) == "clusters")


# --- sub-tabs ------------------------------------------------------------------------------

def neighbours_tab(user_corpus: gr.State) -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            ctl = by_name(ev.NEIGHBOUR_CONTROLS)
            kind, query, k = render(ctl["kind"]), render(ctl["query"], max_lines=3), render(ctl["k"])
            go = gr.Button(BUTTONS["neighbours"], variant="primary")
            gr.Examples(NEIGHBOUR_EXAMPLES, [query, kind], label="Try")
        with gr.Column(scale=2):
            plot = gr.Plot(label="Cosine similarity")
            table = gr.Dataframe(headers=["rank", "text", "cosine"], interactive=False, wrap=True)
    code = code_box()
    inputs, outputs = [query, kind, k, user_corpus], [plot, table, code]
    go.click(do_neighbours, inputs, outputs, api_visibility="private", concurrency_limit=8)
    query.submit(do_neighbours, inputs, outputs, api_visibility="private", concurrency_limit=8)
    # The first view is filled in when the page opens, so a projected page is never blank.
    gr.on(None, do_neighbours, inputs, outputs, api_visibility="private", concurrency_limit=8)


def analogies_tab() -> None:
    gr.Markdown(ev.ANALOGY_HELP)
    with gr.Row():
        a, b, c, k = render_all(ev.ANALOGY_CONTROLS).values()
    go = gr.Button(BUTTONS["analogy"], variant="primary")
    gr.Examples(ANALOGY_EXAMPLES, [a, b, c], label="Classic analogies")
    with gr.Row():
        plot = gr.Plot(label="Answers")
        table = gr.Dataframe(headers=["rank", "word", "cosine"], interactive=False)
    code = code_box()
    go.click(do_analogy, [a, b, c, k], [plot, table, code], api_visibility="private", concurrency_limit=8)


def projection_tab(user_corpus: gr.State) -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            go = gr.Button(BUTTONS["project"], variant="primary")
            ctl = by_name(ev.PROJECTION_CONTROLS)
            source = render(ctl["source"])
            # Only the input the default source names shows at first; show_source_inputs does the rest.
            shown = ev.SOURCE_INPUT[ctl["source"].default]
            word_set, words, n_freq, centre = (render(ctl[name], visible=name == shown) for name in SOURCE_INPUTS)
            with gr.Row():
                method, dims = render(ctl["method"]), render(ctl["dims"])
            colour = render(ctl["colour"])
            clusters = render(ctl["clusters"], visible=ev.COLOUR_INPUT.get(ctl["colour"].default) == "clusters")
        with gr.Column(scale=3):
            plot = gr.Plot(label="Projection")
            info = gr.Markdown()
    code = code_box()
    source.change(show_source_inputs, source, [word_set, words, n_freq, centre], api_visibility="private",
                  queue=False)
    colour.change(show_colour_inputs, colour, clusters, api_visibility="private", queue=False)
    go.click(do_project, [source, word_set, words, n_freq, centre, method, dims, colour, clusters, user_corpus],
             [plot, info, code], api_visibility="private", concurrency_limit=2)


def axes_tab() -> None:
    gr.Markdown(ev.AXES_HELP)
    ctl = by_name(ev.AXES_CONTROLS)
    with gr.Row():
        xa, xb, ya, yb = (render(ctl[name]) for name in ("x_a", "x_b", "y_a", "y_b"))
    words = render(ctl["words"])
    go = gr.Button(BUTTONS["axes"], variant="primary")
    with gr.Row():
        with gr.Column(scale=3):
            plot = gr.Plot(label="Axes")
        with gr.Column(scale=1, min_width=260):
            table = gr.Dataframe(headers=["word", "x", "y"], interactive=False)
    code = code_box()
    go.click(do_axes, [xa, xb, ya, yb, words], [plot, table, code], api_visibility="private", concurrency_limit=8)


def corpus_tab(user_corpus: gr.State) -> None:
    gr.Markdown(ev.CORPUS_HELP)
    with gr.Row():
        pasted = render(ev.PASTED)
        upload = gr.File(label=ev.UPLOAD_LABEL, file_types=[f".{t}" for t in ev.UPLOAD_TYPES], type="filepath")
    go = gr.Button(BUTTONS["corpus"], variant="primary")
    status = gr.Markdown()
    preview = gr.Dataframe(headers=["text", "label"], interactive=False, wrap=True)
    go.click(do_corpus, [pasted, upload], [user_corpus, status, preview], api_visibility="private",
             concurrency_limit=1)


def build() -> None:
    gr.Markdown(INTRO)
    user_corpus = gr.State(None)  # this browser session's SentenceIndex, never shared
    neighbours_title, analogies_title, projection_title, axes_title, corpus_title = ev.SECTIONS
    with gr.Tabs():
        with gr.Tab(neighbours_title):
            neighbours_tab(user_corpus)
        with gr.Tab(analogies_title):
            analogies_tab()
        with gr.Tab(projection_title):
            projection_tab(user_corpus)
        with gr.Tab(axes_title):
            axes_tab()
        with gr.Tab(corpus_title):
            corpus_tab(user_corpus)
    gr.api(friendly(api_neighbors), api_name="neighbors", concurrency_limit=8)
    gr.api(friendly(api_analogy), api_name="analogy", concurrency_limit=8)
    gr.api(friendly(api_project), api_name="project", concurrency_limit=2)
