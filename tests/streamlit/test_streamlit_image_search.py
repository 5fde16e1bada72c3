"""The Streamlit Voice Image Search page, driven headless with AppTest on the real offline models
(EfficientNet-Lite0 tags, MiniLM, Whisper tiny.en, SmolLM2, Piper)."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageOps
from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

from core import image_search as search_mod, tts
from core.image_search import rag, view
from tests.streamlit_pages import errors, run_page, text_of

SKIMAGE = Path(__import__("skimage").__file__).parent / "data"


def core_message(fn, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def upload(name: str, data: bytes, kind: str) -> UploadedFile:
    """What st.file_uploader / st.audio_input hand the page for one file."""
    return UploadedFile(UploadedFileRec(file_id=name, name=name, type=kind, data=data), None)


def press(at, button: str, query: str | None = None):
    if query is not None:
        at.text_input(key="imgsearch_query").input(query)
    at.button(key=button).click()
    return at.run()


def result(at) -> dict:
    return at.session_state["imgsearch_result"]


@pytest.fixture()
def page():
    return run_page("image_search")


def test_page_renders_with_its_controls(page):
    assert page.text_input(key="imgsearch_query").value == "a cat"
    assert page.radio(key="imgsearch_source").options == list(view.SOURCES)
    assert "Press **Search**" in text_of(page)
    assert not errors(page)


def test_search_gives_the_same_ranking_as_core(page):
    press(page, "imgsearch_search", "a cat")
    assert not page.exception and not errors(page)
    direct = search_mod.search_text("a cat", 6, "", search_mod.DEFAULT_WEIGHTS)
    table = page.dataframe[0].value
    assert list(table["file"]) == [h.key for h in direct.hits]
    # shown rounded to 3 decimals; a score within float rounding of a rounding boundary could show
    # either neighbour, so compare within one unit of the last shown digit
    assert all(abs(t - h.score) <= 1e-3 + 1e-9 for t, h in zip(table["total"], direct.hits)), list(table["total"])
    assert table["file"][0] == "chelsea.png"
    # Each channel that scored something has a column; one that scored nothing (CLIP off) has none.
    scored = {c for h in direct.hits for c in h.scores}
    assert {c for c in ("tags", "text", "clip") if c in table.columns} == scored
    assert len(result(page)["items"]) == len(direct.hits) == 6
    assert len(page.get("image")) == 6  # the results grid
    assert "Searched for: **a cat**" in text_of(page)
    assert "image_search.search_text('a cat'" in page.code[-1].value


def test_a_result_shows_the_regions_behind_its_match(page):
    press(page, "imgsearch_search", "a cat")
    page.button(key="imgsearch_heat_0").click().run()
    assert not errors(page)
    image, note = page.session_state["imgsearch_heat"]
    assert note.startswith("**chelsea.png**") and "Brighter = mattered more" in note
    assert Image.open(io.BytesIO(image)).size[0] > 50 and note in text_of(page)


def test_bad_inputs_show_the_core_message_and_the_page_keeps_working(page):
    press(page, "imgsearch_search", "")
    assert errors(page) == [core_message(search_mod.search_text, "")]
    press(page, "imgsearch_ask", "")
    assert errors(page) == [core_message(rag.ask, "")]
    page.radio(key="imgsearch_source").set_value(view.SOURCES[1])
    press(page, "imgsearch_search", "a cat")
    assert errors(page) == [core_message(view.pick_gallery, view.SOURCES[1], "")]
    page.button(key="imgsearch_index").click().run()
    assert errors(page) == [core_message(search_mod.index_upload, [])]
    page.radio(key="imgsearch_source").set_value(view.SOURCES[0])  # a form widget: sent with the next submit
    press(page, "imgsearch_search", "show me the rocket")
    assert not errors(page) and result(page)["items"][0][1].split()[1] == "rocket.jpg"


def test_ask_gives_a_cited_spoken_answer(page):
    press(page, "imgsearch_ask", "Which picture shows an animal?")
    assert not page.exception and not errors(page)
    answer = page.session_state["imgsearch_answer"]
    assert "[1] chelsea.png" in answer["sources"]
    assert answer["audio"] is not None and answer["audio"][0] == 22050 and len(answer["audio"][1]) > 22050
    text = text_of(page)
    assert "**You asked:** Which picture shows an animal?" in text and "[1] chelsea.png" in text
    assert len(page.get("audio")) >= 1
    steps = list(page.dataframe[-1].value["step"])
    assert steps[:3] == ["embed", "search", "speak"] and "generate" in steps
    # the rerun after it redraws the stored answer without asking again
    page.run()
    assert page.session_state["imgsearch_answer"] is answer and "[1] chelsea.png" in text_of(page)


def test_a_spoken_question_is_transcribed_and_answered(page):
    wav = tts.to_wav_bytes(tts.synthesize("Show me the rocket."))
    page.session_state["imgsearch_voice"] = upload("question.wav", wav, "audio/wav")
    press(page, "imgsearch_ask", "")
    assert not errors(page)
    answer = page.session_state["imgsearch_answer"]
    assert "rocket" in answer["question"].lower()
    assert "rocket.jpg" in answer["sources"]
    assert answer["timings"]["step"][0] == "asr"


def test_own_pictures_are_indexed_and_searched(page, tmp_path):
    files = []
    for i, src in enumerate(("coffee.png", "rocket.jpg", "chelsea.png")):
        im = ImageOps.mirror(Image.open(SKIMAGE / src).convert("RGB"))
        path = tmp_path / f"IMG_{4100 + i}.jpg"
        im.save(path, quality=88)
        files.append(upload(path.name, path.read_bytes(), "image/jpeg"))
    page.session_state["imgsearch_files"] = files
    page.button(key="imgsearch_index").click().run()
    assert not errors(page)
    assert page.radio(key="imgsearch_source").value == view.SOURCES[1]
    assert "Your gallery has **3** images" in text_of(page)
    mine = page.session_state["imgsearch_my_gallery"]
    press(page, "imgsearch_search", "a cup of coffee")
    assert not errors(page) and result(page)["gallery"] == mine
    direct = search_mod.search_text("a cup of coffee", 6, mine, search_mod.DEFAULT_WEIGHTS)
    assert list(page.dataframe[0].value["file"]) == [h.key for h in direct.hits]
    assert direct.hits[0].key == "IMG_4100.jpg"


def test_a_rerun_redraws_without_calling_core(page, monkeypatch):
    press(page, "imgsearch_search", "a cat")
    shown = result(page)

    def refuse(*args, **kwargs):
        raise AssertionError("a rerun with no new action must not search")

    for name in ("search_text", "search", "get_gallery", "heatmap"):
        monkeypatch.setattr(search_mod, name, refuse)
    page.run()
    assert not page.exception and not errors(page)
    assert result(page) is shown and len(page.get("image")) == 6
