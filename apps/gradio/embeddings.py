"""Embedding Explorer: GloVe word vectors and MiniLM sentence embeddings, neighbours, analogies,
projections (PCA / t-SNE / UMAP) and semantic axes. Roadmap weeks 1 and 5."""
from __future__ import annotations

import gradio as gr

from apps.gradio.common import code_box, friendly
from apps.tabs import TABS
from core.embeddings import corpus as corpus_mod, view as ev, explorer
from core.embeddings.sets import WORD_SETS
from core.embeddings.view import ANALOGY_EXAMPLES, NEIGHBOUR_EXAMPLES

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


def show_source_inputs(src):
    return (gr.update(visible=src == "word set"), gr.update(visible=src == "typed words"),
            gr.update(visible=src == "frequent words"), gr.update(visible=src == "word neighbourhood"))


# --- sub-tabs ------------------------------------------------------------------------------

def neighbours_tab(user_corpus: gr.State) -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            kind = gr.Radio(list(explorer.KINDS), value="word", label="Space",
                            info="word: GloVe, 400k words · sentence: MiniLM over the demo corpus "
                                 "(or yours, once loaded)")
            query = gr.Textbox(value="frog", label="Word or sentence", max_lines=3)
            k = gr.Slider(1, 30, value=10, step=1, label="How many neighbours (k)")
            go = gr.Button("Find neighbours", variant="primary")
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
        a = gr.Textbox(value="king", label="a")
        b = gr.Textbox(value="man", label="− b")
        c = gr.Textbox(value="woman", label="+ c")
        k = gr.Slider(1, 20, value=5, step=1, label="k")
    go = gr.Button("Solve the analogy", variant="primary")
    gr.Examples(ANALOGY_EXAMPLES, [a, b, c], label="Classic analogies")
    with gr.Row():
        plot = gr.Plot(label="Answers")
        table = gr.Dataframe(headers=["rank", "word", "cosine"], interactive=False)
    code = code_box()
    go.click(do_analogy, [a, b, c, k], [plot, table, code], api_visibility="private", concurrency_limit=8)


def projection_tab(user_corpus: gr.State) -> None:
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            go = gr.Button("Project", variant="primary")
            source = gr.Radio(list(explorer.SOURCES), value="word set", label="Points")
            word_set = gr.Dropdown(list(WORD_SETS), value=list(WORD_SETS)[0], label="Word set")
            words = gr.Textbox(label="Typed words (commas or spaces)", lines=3, visible=False,
                               value="apple banana cherry car truck bus dog cat horse red blue green")
            n_freq = gr.Slider(100, 10_000, value=2_000, step=100, visible=False,
                               label="How many of the most frequent words")
            centre = gr.Textbox(value="music", label="Centre word", visible=False)
            with gr.Row():
                method = gr.Radio(["PCA", "t-SNE", "UMAP"], value="PCA", label="Method")
                dims = gr.Radio([2, 3], value=2, label="Dimensions")
            colour = gr.Radio(list(explorer.COLOURINGS), value="label", label="Colour by")
            clusters = gr.Slider(2, 10, value=4, step=1, label="k-means clusters", visible=False)
        with gr.Column(scale=3):
            plot = gr.Plot(label="Projection")
            info = gr.Markdown()
    code = code_box()
    source.change(show_source_inputs, source, [word_set, words, n_freq, centre], api_visibility="private",
                  queue=False)
    colour.change(lambda c: gr.update(visible=c == "k-means clusters"), colour, clusters,
                  api_visibility="private", queue=False)
    go.click(do_project, [source, word_set, words, n_freq, centre, method, dims, colour, clusters, user_corpus],
             [plot, info, code], api_visibility="private", concurrency_limit=2)


def axes_tab() -> None:
    gr.Markdown(ev.AXES_HELP)
    with gr.Row():
        xa = gr.Textbox(value="man, he, his", label="x axis: first pole")
        xb = gr.Textbox(value="woman, she, her", label="x axis: second pole")
        ya = gr.Textbox(value="bad, awful", label="y axis: first pole (optional)")
        yb = gr.Textbox(value="good, great", label="y axis: second pole (optional)")
    words = gr.Textbox(label="Words to place", lines=2,
                       value="king queen doctor nurse engineer teacher soldier dancer "
                             "hero villain brave cruel gentle")
    go = gr.Button("Place the words", variant="primary")
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
        pasted = gr.Textbox(label="Paste lines", lines=8)
        upload = gr.File(label="…or upload .txt / .csv", file_types=[".txt", ".csv"], type="filepath")
    go = gr.Button("Embed this corpus", variant="primary")
    status = gr.Markdown()
    preview = gr.Dataframe(headers=["text", "label"], interactive=False, wrap=True)
    go.click(do_corpus, [pasted, upload], [user_corpus, status, preview], api_visibility="private",
             concurrency_limit=1)


def build() -> None:
    gr.Markdown(INTRO)
    user_corpus = gr.State(None)  # this browser session's SentenceIndex, never shared
    with gr.Tabs():
        with gr.Tab("Nearest neighbours"):
            neighbours_tab(user_corpus)
        with gr.Tab("Analogies"):
            analogies_tab()
        with gr.Tab("Projection (2D / 3D)"):
            projection_tab(user_corpus)
        with gr.Tab("Semantic axes"):
            axes_tab()
        with gr.Tab("Your corpus"):
            corpus_tab(user_corpus)
    gr.api(friendly(api_neighbors), api_name="neighbors", concurrency_limit=8)
    gr.api(friendly(api_analogy), api_name="analogy", concurrency_limit=8)
    gr.api(friendly(api_project), api_name="project", concurrency_limit=2)
