"""Voice Image Search page: type or speak a question, find pictures by what is in them, hear a
grounded answer. Roadmap week 9 (CLIP, cross-modal RAG).

The query controls sit in one form (typing does not rerun the page); Search and Ask are its two
submit buttons. Results, the answer and the heatmap are kept in st.session_state and redrawn from
there; only a button press calls core.
"""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st
from PIL import Image

from apps.streamlit.common import code_box, guard, heading, run_page
from apps.streamlit.controls import render, render_all
from core import config
from core import image_search as search_mod
from core.image_search import rag, view

RESULT = "imgsearch_result"  # the last results: gallery, hits, thumbnails, table, notes, query
ANSWER = "imgsearch_answer"  # the last answer: texts, audio, timings, prompt
HEAT = "imgsearch_heat"  # the last heatmap: (image, note)
HEAT_REQUEST = "imgsearch_heat_request"  # a result's index, set by its "Regions" button
MY_GALLERY = "imgsearch_my_gallery"  # this session's uploaded gallery name
INDEX_NOTE = "imgsearch_index_note"
SOURCE_NEXT = "imgsearch_source_next"  # set after indexing: switch "Search in" before it is drawn
COLUMNS = 3


def _form() -> dict:
    if SOURCE_NEXT in st.session_state:
        st.session_state["imgsearch_source"] = st.session_state.pop(SOURCE_NEXT)
    with st.form("imgsearch_form", border=False):
        render(view.QUERY, "imgsearch_query", max_chars=config.IMAGE_SEARCH_MAX_QUERY_CHARS,
               placeholder=view.QUERY_PLACEHOLDER)
        b1, b2 = st.columns(2)
        search = b1.form_submit_button("Search", type="primary", key="imgsearch_search", icon=":material/search:",
                                       width="stretch")
        ask = b2.form_submit_button("Ask (RAG)", key="imgsearch_ask", icon=":material/mic:", width="stretch",
                                    help="Retrieval-augmented answer: the best matches as cited sources, a short "
                                         "sentence from the chat model, both spoken")
        st.audio_input("…or ask aloud (used by Ask when the box above is empty)", key="imgsearch_voice")
        st.file_uploader("…or upload a recording", type=["wav", "mp3", "flac", "ogg", "m4a", "webm"],
                         key="imgsearch_voice_file")
        with st.expander(view.EXAMPLE_TITLE):
            st.file_uploader(view.EXAMPLE_IMAGE, type=["png", "jpg", "jpeg", "webp", "bmp", "gif"],
                             key="imgsearch_example")
            render_all(view.EXAMPLE_CONTROLS, "imgsearch")
        with st.expander(view.WEIGHTS_TITLE, expanded=True):
            render_all(view.WEIGHT_CONTROLS, "imgsearch")
        # Drawn from the declaration but without its default: after indexing the page sets this
        # widget's value through session_state, and Streamlit warns when a widget gets both.
        st.radio(view.SOURCE.label, view.SOURCE.choices, key="imgsearch_source", horizontal=True)
    ss = st.session_state
    return {"search": search, "ask": ask, "query": ss["imgsearch_query"], "k": int(ss["imgsearch_k"]),
            "weights": view.weights(ss["imgsearch_w_clip"], ss["imgsearch_w_tags"], ss["imgsearch_w_text"]),
            "source": ss["imgsearch_source"], "speak": bool(ss["imgsearch_speak"])}


def _save_uploads(files, folder: Path) -> list[str]:
    """Uploaded files into `folder` (a temporary one), under their own names (zips stay zips)."""
    paths = []
    for f in files:
        path = folder / (Path(f.name).name or "upload")
        path.write_bytes(f.getvalue())
        paths.append(str(path))
    return paths


def _own_pictures() -> None:
    with st.expander(view.OWN_TITLE):
        files = st.file_uploader(view.FILES_LABEL, accept_multiple_files=True, key="imgsearch_files",
                                 type=["zip", "png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"])
        index = st.button(view.INDEX_BUTTON, key="imgsearch_index", icon=":material/upload:")
        folder = render(view.FOLDER, "imgsearch_folder")
        index_folder = st.button(view.INDEX_FOLDER_BUTTON, key="imgsearch_index_folder", icon=":material/folder:")
        if index or index_folder:
            bar = st.progress(0.0, text="indexing…")
            progress = lambda frac, msg: bar.progress(min(max(float(frac), 0.0), 1.0), text=msg)  # noqa: E731
            with guard():
                mine = st.session_state.get(MY_GALLERY) or None
                if index:
                    with tempfile.TemporaryDirectory(prefix="nlp-studio-upload-") as tmp:  # indexing copies
                        g = search_mod.index_upload(_save_uploads(files or [], Path(tmp)), mine, progress=progress)
                    note = view.index_message(g)
                else:
                    g = search_mod.index_folder(view.check_folder(folder), mine, progress=progress)
                    note = view.index_message(g, incremental=False)
                st.session_state[MY_GALLERY], st.session_state[INDEX_NOTE] = g.name, note
                st.session_state[SOURCE_NEXT] = view.SOURCES[1]
                st.rerun()
            bar.empty()
        if st.session_state.get(INDEX_NOTE):
            st.markdown(st.session_state[INDEX_NOTE])


def _example_image() -> Image.Image | None:
    upload = st.session_state.get("imgsearch_example")
    if upload is None:
        return None
    try:
        with Image.open(upload) as im:
            return im.convert("RGB")
    except (OSError, ValueError) as exc:
        raise ValueError(f"the example image could not be read ({exc}); upload a PNG or JPEG") from exc


def _jpeg(image: Image.Image) -> bytes:
    """Encoded once when the result arrives, so a rerun sends bytes instead of re-encoding pixels."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def _score_frame(rows: list[list]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=view.SCORE_COLUMNS)
    for column in ("tags", "text", "clip"):
        table[column] = pd.to_numeric(table[column], errors="coerce")  # "–": the channel did not score it
    # A channel that scored nothing (CLIP without its weights) would be a column of "None": leave it out.
    return table.drop(columns=[c for c in ("tags", "text", "clip") if table[c].isna().all()])


def _results(gallery: str, query: str, hits, result_notes: list[str], approximate: bool) -> dict:
    g = search_mod.get_gallery(gallery)
    return {"gallery": gallery, "query": query, "rows": [h.row for h in hits],
            "items": [(_jpeg(image), caption) for image, caption in view.gallery_items(g, hits)],
            "tags": [", ".join(f"{label} {p:.0%}" for label, p in h.tags[:3]) for h in hits],
            "table": _score_frame(view.table(hits)), "notes": view.notes(result_notes, query, approximate)}


def _search(c: dict) -> None:
    gallery = view.pick_gallery(c["source"], st.session_state.get(MY_GALLERY))
    sign = -1.0 if st.session_state.get("imgsearch_image_sign", "+").startswith("−") else 1.0
    with st.spinner("Searching (models and the gallery index load the first time)…"):
        result = search_mod.search_text(c["query"], c["k"], gallery, c["weights"], image=_example_image(),
                                        image_sign=sign)
    st.session_state[RESULT] = {**_results(gallery, c["query"] or "", result.hits, result.notes, result.approximate),
                                "code": view.snippet(c["query"], c["k"], gallery, c["weights"])}
    st.session_state[ANSWER] = None
    st.session_state[HEAT] = None


def _recording() -> bytes | None:
    for key in ("imgsearch_voice", "imgsearch_voice_file"):
        upload = st.session_state.get(key)
        if upload is not None:
            return upload.getvalue()
    return None


def _answer_view(a: dict, autoplay: bool = False) -> None:
    st.markdown(view.asked_markdown(a["question"]))
    text, sound = st.columns([3, 2])
    with text:
        st.markdown(a["sources"])
        st.markdown(a["model"])
    with sound:
        if a["audio"] is not None:
            st.caption(view.SPOKEN_MATCH)
            st.audio(a["audio"][1], sample_rate=a["audio"][0], autoplay=autoplay)
        if a["model_audio"] is not None:
            st.caption(view.SPOKEN_MODEL)
            st.audio(a["model_audio"][1], sample_rate=a["model_audio"][0])


def _ask(c: dict) -> None:
    """Transcribe → search → speak the sources → generate: the sources (and their audio) show as
    soon as they are found; the model's words follow."""
    gallery = view.pick_gallery(c["source"], st.session_state.get(MY_GALLERY))
    question = (c["query"] or "").strip()
    audio = None if question else _recording()
    shown = st.empty()
    with st.status(view.ASK_WORK.capitalize() + "…", expanded=False) as status:
        for step, answer in enumerate(rag.ask_steps(question=question, audio=audio, gallery=gallery, k=c["k"],
                                                    weights=c["weights"], speak=c["speak"])):
            a = {"question": answer.question, "sources": view.sources_markdown(answer),
                 "model": view.model_markdown(answer), "audio": view.pcm(answer.audio, answer.sample_rate),
                 "model_audio": view.pcm(answer.model_audio, answer.sample_rate),
                 "timings": pd.DataFrame(view.timing_rows(answer), columns=["step", "seconds"]),
                 "prompt": view.prompt_text(answer)}
            with shown.container():
                _answer_view(a, autoplay=step == 0)
            status.update(label="Sources found and spoken; the chat model is writing…" if step == 0 else
                          f"Answered in {answer.total_s:.1f} s")
        status.update(state="complete")
    st.session_state[ANSWER] = a
    st.session_state[RESULT] = {**_results(gallery, answer.query, answer.hits, answer.notes, False),
                                "code": view.snippet(answer.query, c["k"], gallery, c["weights"])}
    st.session_state[HEAT] = None


def _request_heat(i: int) -> None:
    st.session_state[HEAT_REQUEST] = i


def _heatmap(result: dict) -> None:
    i = st.session_state.pop(HEAT_REQUEST, None)
    if i is not None and 0 <= i < len(result["rows"]):
        g = search_mod.get_gallery(result["gallery"])
        clip, _ = search_mod.clip_status()
        with st.spinner("Finding the regions behind this match…"):
            image, what = search_mod.heatmap(g, result["rows"][i], result["query"], clip=clip)
        st.session_state[HEAT] = (_jpeg(image), view.heatmap_note(g.items[result["rows"][i]].key, what))


def _show_results(result: dict) -> None:
    st.markdown(result["notes"])
    st.subheader("Results", anchor=False)
    for start in range(0, len(result["items"]), COLUMNS):
        cols = st.columns(COLUMNS)
        for i in range(start, min(start + COLUMNS, len(result["items"]))):
            image, caption = result["items"][i]
            with cols[i - start]:
                st.image(image, caption=caption, width="stretch")
                if result["tags"][i]:
                    st.caption(result["tags"][i])
                st.button("Show regions", key=f"imgsearch_heat_{i}", on_click=_request_heat,
                          args=(i,), icon=":material/center_focus_strong:")
    with guard():
        _heatmap(result)
    if st.session_state.get(HEAT):
        image, note = st.session_state[HEAT]
        left, right = st.columns([3, 2])
        left.image(image, caption=view.HEATMAP_LABEL, width="stretch")
        right.markdown(note)
    else:
        st.caption("Press *Show regions* under a result to see which regions drove its match.")
    st.markdown(f"**{view.SCORES_LABEL}**")
    st.dataframe(result["table"], hide_index=True, width="stretch", key="imgsearch_table")


def main() -> None:
    heading("image_search", view.INTRO)
    left, right = st.columns([2, 3], gap="large")
    with left:
        c = _form()
        _own_pictures()
    with right:
        if c["search"]:
            with guard():
                _search(c)
        if c["ask"]:
            with guard():
                _ask(c)  # draws the answer as it comes (the first audio autoplays)
        answer, result = st.session_state.get(ANSWER), st.session_state.get(RESULT)
        if answer and not c["ask"]:
            _answer_view(answer)
        if result is None:
            st.info("Press **Search** for pictures, or **Ask** for a spoken answer with its sources.",
                    icon=":material/info:")
            code_box(view.snippet(view.DEFAULT_QUERY, view.DEFAULT_K, "", search_mod.DEFAULT_WEIGHTS))
            return
        _show_results(result)
        if answer:
            st.markdown(f"**{view.TIMINGS_LABEL}**")
            st.dataframe(answer["timings"], hide_index=True,
                         key="imgsearch_timings")
            with st.expander(view.PROMPT_TITLE):
                st.code(answer["prompt"], language=None)
        code_box(result["code"])


run_page(main)
