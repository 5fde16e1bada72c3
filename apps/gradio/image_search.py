"""Voice Image Search: speak or type a question, find pictures by what is in them, hear a grounded answer."""
from __future__ import annotations

import gradio as gr

from apps.gradio.common import code_box, friendly
from apps.gradio.controls import render, render_all
from apps.tabs import TABS
from core import image_search as search_mod
from core.image_search import rag, view
from core.zerogpu import gpu

TITLE, WEEKS, SUMMARY = TABS["image_search"].heading

INTRO = ("### Voice Image Search: cross-modal retrieval and RAG\n" + view.INTRO
         + " Click a result for the regions behind its match.\n")

SCORE_COLUMNS = view.SCORE_COLUMNS


@gpu()
def ui_search(query, image, image_sign, k, w_clip, w_tags, w_text, my_gallery, source, progress=gr.Progress()):
    gallery = view.pick_gallery(source, my_gallery)
    weights = view.weights(w_clip, w_tags, w_text)
    progress(0, desc="loading models and the gallery index (first time only)")
    result = search_mod.search_text(query, int(k), gallery, weights, image=image,
                                    image_sign=1.0 if image_sign.startswith("+") else -1.0)
    g = search_mod.get_gallery(gallery)
    state = {"gallery": gallery, "rows": [h.row for h in result.hits], "query": query or ""}
    return (view.gallery_items(g, result.hits), view.table(result.hits),
            view.notes(result.notes, result.query, result.approximate),
            state, view.snippet(query, int(k), gallery, weights), "", "", "", None, None, gr.update(visible=False))


def ui_heatmap(state, evt: gr.SelectData):
    if not state or evt.index is None or evt.index >= len(state["rows"]):
        raise gr.Error("Search first, then click a result.")
    g = search_mod.get_gallery(state["gallery"])
    clip, _ = search_mod.clip_status()
    image, what = search_mod.heatmap(g, state["rows"][evt.index], state["query"], clip=clip)
    return image, view.heatmap_note(g.items[state["rows"][evt.index]].key, what)


@gpu()
def ui_index(files, my_gallery, progress=gr.Progress()):
    paths = [f if isinstance(f, str) else f.name for f in (files or [])]
    g = search_mod.index_upload(paths, my_gallery or None,
                                progress=lambda frac, msg: progress(frac, desc=msg))
    return g.name, view.index_message(g), gr.update(value="My upload")


def ui_index_folder(folder, my_gallery, progress=gr.Progress()):
    g = search_mod.index_folder(view.check_folder(folder), my_gallery or None,
                                progress=lambda frac, msg: progress(frac, desc=msg))
    return g.name, view.index_message(g, incremental=False), gr.update(value="My upload")


def ui_ask(question, audio, k, w_clip, w_tags, w_text, my_gallery, source, speak, progress=gr.Progress()):
    gallery = view.pick_gallery(source, my_gallery)
    progress(0, desc=view.ASK_WORK)
    g = search_mod.get_gallery(gallery)
    for answer in rag.ask_steps(question=question or "", audio=audio if not (question or "").strip() else None,
                                gallery=gallery, k=int(k), weights=view.weights(w_clip, w_tags, w_text),
                                speak=bool(speak)):
        sources_part, model_part = view.sources_markdown(answer), view.model_markdown(answer)
        timings = view.timing_rows(answer)
        state = {"gallery": gallery, "rows": [h.row for h in answer.hits], "query": answer.query}
        prompt = view.prompt_text(answer)
        yield (view.asked_markdown(answer.question), sources_part, model_part,
               view.pcm(answer.audio, answer.sample_rate), view.pcm(answer.model_audio, answer.sample_rate), timings,
               prompt, view.gallery_items(g, answer.hits), view.table(answer.hits),
               view.notes(answer.notes, answer.query, False), state, gr.update(visible=True))


# --- API-only functions (plain JSON) ----------------------------------------------------------

def api_index_images(zip_file) -> dict:
    """A zip of images -> {"gallery": name, "indexed": n, "skipped": [{"file", "reason"}]}."""
    if not zip_file:
        raise ValueError("send a .zip file of images")
    path = zip_file if isinstance(zip_file, str) else zip_file.name
    if not str(path).lower().endswith(".zip"):
        raise ValueError("send a .zip file of images")
    g = search_mod.index_upload([path])
    return {"gallery": g.name, "indexed": len(g),
            "skipped": [{"file": s.key, "reason": s.reason} for s in g.skipped]}


def api_search_images(query: str, k: int = 8, gallery: str = "") -> dict:
    """Ranked items: file (name as in the folder or zip), score, per-channel scores, tags, caption."""
    result = search_mod.search_text(query, int(k), gallery)
    return {"query": result.query, "channels": result.channels, "approximate": result.approximate,
            "notes": result.notes, "items": [h.as_dict() for h in result.hits]}


def api_ask_images(question, audio, gallery) -> dict:
    """Question text or audio -> answer, citations, items, prompt, step timings (no audio returned)."""
    answer = rag.ask(question=question or "", audio=audio if not (question or "").strip() else None,
                     gallery=gallery or "", speak=False)
    return answer.as_dict()


def build() -> None:
    gr.Markdown(INTRO)
    my_gallery = gr.State("")
    results = gr.State(None)
    with gr.Row():
        with gr.Column(scale=2, min_width=320):
            query = render(view.QUERY, elem_id="imgsearch-query", placeholder=view.QUERY_PLACEHOLDER)
            with gr.Row():
                search_btn = gr.Button("Search", variant="primary", elem_id="imgsearch-search")
                ask_btn = gr.Button("Ask (RAG, spoken answer)", variant="secondary", elem_id="imgsearch-ask")
            voice = gr.Audio(sources=["microphone", "upload"], type="filepath", elem_id="imgsearch-voice",
                             label="…or ask aloud (used when the box above is empty for Ask)")
            with gr.Accordion(view.EXAMPLE_TITLE, open=False):
                example = gr.Image(type="pil", label=view.EXAMPLE_IMAGE, height=180)
                image_sign = render_all(view.EXAMPLE_CONTROLS)["image_sign"]
            with gr.Accordion(view.WEIGHTS_TITLE, open=True):
                w = render_all(view.WEIGHT_CONTROLS)
                w_tags, w_text, w_clip, k, speak = (w[name] for name in ("w_tags", "w_text", "w_clip", "k", "speak"))
            source = render(view.SOURCE)
            with gr.Accordion(view.OWN_TITLE, open=False):
                files = gr.File(file_count="multiple", file_types=[".zip", "image"], label=view.FILES_LABEL)
                index_btn = gr.Button(view.INDEX_BUTTON)
                with gr.Row():
                    folder = render(view.FOLDER, scale=3)
                    folder_btn = gr.Button(view.INDEX_FOLDER_BUTTON, scale=1)
                index_status = gr.Markdown()
        with gr.Column(scale=3):
            notes = gr.Markdown()
            with gr.Row(visible=False) as answer_row:
                with gr.Column(scale=3):
                    asked = gr.Markdown()
                    sources_md = gr.Markdown()
                    model_words = gr.Markdown()
                with gr.Column(scale=2, min_width=220):
                    answer_audio = gr.Audio(label=view.SPOKEN_MATCH, autoplay=True,
                                            interactive=False)
                    model_audio = gr.Audio(label=view.SPOKEN_MODEL, interactive=False)
            shown = gr.Gallery(label="Results (click one for its grounding heatmap)", columns=3, height=380,
                               object_fit="contain", allow_preview=False, elem_id="imgsearch-results")
            table = gr.Dataframe(headers=SCORE_COLUMNS, label=view.SCORES_LABEL, interactive=False, wrap=True)
            with gr.Row():
                heat = gr.Image(label=view.HEATMAP_LABEL, height=260, interactive=False)
                heat_note = gr.Markdown("Click a result to see which regions drove its match.")
            timings = gr.Dataframe(headers=["step", "seconds"], label=view.TIMINGS_LABEL, interactive=False)
            with gr.Accordion(view.PROMPT_TITLE, open=False):
                prompt = gr.Code(language=None, interactive=False, label="prompt")
            code = code_box(view.snippet(view.DEFAULT_QUERY, view.DEFAULT_K, "", search_mod.DEFAULT_WEIGHTS))

    search_in = [query, example, image_sign, k, w_clip, w_tags, w_text, my_gallery, source]
    search_out = [shown, table, notes, results, code, asked, model_words, sources_md, answer_audio, model_audio,
                  answer_row]
    search_btn.click(friendly(ui_search), search_in, search_out, api_visibility="private", concurrency_limit=4)
    query.submit(friendly(ui_search), search_in, search_out, api_visibility="private", concurrency_limit=4)
    shown.select(friendly(ui_heatmap), [results], [heat, heat_note], api_visibility="private", concurrency_limit=2)
    # Indexing is heavy: one at a time across its three doors, the others wait with their queue position.
    index_btn.click(friendly(ui_index), [files, my_gallery], [my_gallery, index_status, source],
                    api_visibility="private", concurrency_limit=1, concurrency_id="index")
    folder_btn.click(friendly(ui_index_folder), [folder, my_gallery], [my_gallery, index_status, source],
                     api_visibility="private", concurrency_limit=1, concurrency_id="index")
    ask_btn.click(friendly(ui_ask), [query, voice, k, w_clip, w_tags, w_text, my_gallery, source, speak],
                  [asked, sources_md, model_words, answer_audio, model_audio, timings, prompt, shown, table, notes,
                   results, answer_row],
                  api_visibility="private", concurrency_limit=1)

    # API endpoints. File inputs need components, so they sit on hidden ones.
    with gr.Row(visible=False):
        api_zip = gr.File(file_types=[".zip"])
        api_question = gr.Textbox()
        api_audio = gr.Audio(type="filepath")
        api_gallery = gr.Textbox()
        api_out = gr.JSON()
        api_index_btn = gr.Button()
        api_ask_btn = gr.Button()
    api_index_btn.click(friendly(api_index_images), [api_zip], [api_out], api_name="index_images", concurrency_limit=1,
                        concurrency_id="index")
    api_ask_btn.click(friendly(api_ask_images), [api_question, api_audio, api_gallery], [api_out],
                      api_name="ask_images", concurrency_limit=1)
    gr.api(friendly(api_search_images), api_name="search_images", concurrency_limit=4)
