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


def build() -> None:
    gr.Markdown(INTRO)
    user_corpus = gr.State(None)  # this browser session's SentenceIndex, never shared

    with gr.Tabs():
        with gr.Tab("Nearest neighbours"):
            with gr.Row():
                with gr.Column(scale=1, min_width=300):
                    kind = gr.Radio(list(explorer.KINDS), value="word", label="Space",
                                    info="word: GloVe, 400k words · sentence: MiniLM over the demo corpus "
                                         "(or yours, once loaded)")
                    query = gr.Textbox(value="frog", label="Word or sentence", max_lines=3)
                    k = gr.Slider(1, 30, value=10, step=1, label="How many neighbours (k)")
                    go_nn = gr.Button("Find neighbours", variant="primary")
                    gr.Examples(NEIGHBOUR_EXAMPLES, [query, kind], label="Try")
                with gr.Column(scale=2):
                    nn_plot = gr.Plot(label="Cosine similarity")
                    nn_table = gr.Dataframe(headers=["rank", "text", "cosine"], interactive=False, wrap=True)
            nn_code = code_box()

        with gr.Tab("Analogies"):
            gr.Markdown(ev.ANALOGY_HELP)
            with gr.Row():
                a = gr.Textbox(value="king", label="a")
                b = gr.Textbox(value="man", label="− b")
                c = gr.Textbox(value="woman", label="+ c")
                k_an = gr.Slider(1, 20, value=5, step=1, label="k")
            go_an = gr.Button("Solve the analogy", variant="primary")
            gr.Examples(ANALOGY_EXAMPLES, [a, b, c], label="Classic analogies")
            with gr.Row():
                an_plot = gr.Plot(label="Answers")
                an_table = gr.Dataframe(headers=["rank", "word", "cosine"], interactive=False)
            an_code = code_box()

        with gr.Tab("Projection (2D / 3D)"):
            with gr.Row():
                with gr.Column(scale=1, min_width=320):
                    go_pr = gr.Button("Project", variant="primary")
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
                    pr_plot = gr.Plot(label="Projection")
                    pr_info = gr.Markdown()
            pr_code = code_box()

        with gr.Tab("Semantic axes"):
            gr.Markdown(ev.AXES_HELP)
            with gr.Row():
                xa = gr.Textbox(value="man, he, his", label="x axis: first pole")
                xb = gr.Textbox(value="woman, she, her", label="x axis: second pole")
                ya = gr.Textbox(value="bad, awful", label="y axis: first pole (optional)")
                yb = gr.Textbox(value="good, great", label="y axis: second pole (optional)")
            ax_words = gr.Textbox(label="Words to place", lines=2,
                                  value="king queen doctor nurse engineer teacher soldier dancer "
                                        "hero villain brave cruel gentle")
            go_ax = gr.Button("Place the words", variant="primary")
            with gr.Row():
                with gr.Column(scale=3):
                    ax_plot = gr.Plot(label="Axes")
                with gr.Column(scale=1, min_width=260):
                    ax_table = gr.Dataframe(headers=["word", "x", "y"], interactive=False)
            ax_code = code_box()

        with gr.Tab("Your corpus"):
            gr.Markdown(ev.CORPUS_HELP)
            with gr.Row():
                pasted = gr.Textbox(label="Paste lines", lines=8)
                upload = gr.File(label="…or upload .txt / .csv", file_types=[".txt", ".csv"], type="filepath")
            go_co = gr.Button("Embed this corpus", variant="primary")
            co_status = gr.Markdown()
            co_preview = gr.Dataframe(headers=["text", "label"], interactive=False, wrap=True)

    # --- handlers -------------------------------------------------------------------------
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

    source.change(show_source_inputs, source, [word_set, words, n_freq, centre], api_visibility="private",
                  queue=False)
    colour.change(lambda c: gr.update(visible=c == "k-means clusters"), colour, clusters,
                  api_visibility="private", queue=False)

    nn_out = [nn_plot, nn_table, nn_code]
    go_nn.click(do_neighbours, [query, kind, k, user_corpus], nn_out, api_visibility="private",
                concurrency_limit=8)
    query.submit(do_neighbours, [query, kind, k, user_corpus], nn_out, api_visibility="private",
                 concurrency_limit=8)
    an_in, an_out = [a, b, c, k_an], [an_plot, an_table, an_code]
    go_an.click(do_analogy, an_in, an_out, api_visibility="private", concurrency_limit=8)
    go_pr.click(do_project, [source, word_set, words, n_freq, centre, method, dims, colour, clusters, user_corpus],
                [pr_plot, pr_info, pr_code], api_visibility="private", concurrency_limit=2)
    go_ax.click(do_axes, [xa, xb, ya, yb, ax_words], [ax_plot, ax_table, ax_code], api_visibility="private",
                concurrency_limit=8)
    go_co.click(do_corpus, [pasted, upload], [user_corpus, co_status, co_preview],
                api_visibility="private", concurrency_limit=1)
    # The first view is filled in when the page opens, so a projected page is never blank.
    gr.on(None, do_neighbours, [query, kind, k, user_corpus], nn_out, api_visibility="private",
          concurrency_limit=8)

    gr.api(friendly(api_neighbors), api_name="neighbors", concurrency_limit=8)
    gr.api(friendly(api_analogy), api_name="analogy", concurrency_limit=8)
    gr.api(friendly(api_project), api_name="project", concurrency_limit=2)
