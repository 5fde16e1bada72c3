"""Issue #17 for the Live Whisper and Voice Image Search tabs: each front end draws the inputs
declared in core/asr/view.py and core/image_search/view.py, with the limits from core/config, and
no longer writes the same label twice."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from core import config
from core.asr import view as whisper_view
from core.controls import Control
from core.image_search import view as search_view
from core.registry import available_models
from tests.streamlit_pages import run_page

ROOT = Path(__file__).resolve().parents[1]

WHISPER_DRAWN = (whisper_view.model_control(available_models("asr")), *whisper_view.SETTINGS_CONTROLS[1:],
                 *whisper_view.FILE_CONTROLS)
SEARCH_DRAWN = (search_view.QUERY, *search_view.EXAMPLE_CONTROLS, *search_view.WEIGHT_CONTROLS,
                search_view.SOURCE, search_view.FOLDER)
# The Streamlit keys the pages (and their tests) use, by declared name.
SEARCH_KEYS = {c.name: f"imgsearch_{c.name}" for c in SEARCH_DRAWN}


def _gradio_widgets(module) -> dict:
    import gradio as gr

    with gr.Blocks() as blocks:
        module.build()
    return {b.label: b for b in blocks.blocks.values() if getattr(b, "label", None)}


def _check_gradio(widgets: dict, controls: tuple[Control, ...]) -> None:
    for c in controls:
        w = widgets[c.label]
        assert w.value == c.default, c.name
        assert (getattr(w, "info", None) or "") == c.help, c.name
        if c.minimum is not None:
            assert (w.minimum, w.maximum) == (c.minimum, c.maximum), c.name
        if c.choices:
            assert [choice[0] for choice in w.choices] == list(c.choices), c.name


def test_the_declarations_take_their_limits_from_config():
    policy = {c.name: c for c in whisper_view.POLICY_CONTROLS}
    assert policy["trim_seconds"].default == config.STREAM_TRIM_SECONDS
    assert policy["max_buffer_seconds"].default == config.STREAM_MAX_BUFFER_SECONDS
    assert policy["max_buffer_seconds"].maximum == config.STREAM_MAX_CAP_SETTING
    assert policy["pause_seconds"].minimum == config.STREAM_MIN_PAUSE_SETTING
    weights = {c.name: c for c in search_view.WEIGHT_CONTROLS}
    assert weights["k"].maximum == config.IMAGE_SEARCH_MAX_K and weights["k"].integer
    assert all(weights[f"w_{ch}"].maximum == config.IMAGE_SEARCH_MAX_WEIGHT for ch in ("tags", "text", "clip"))
    # The model menu gets this machine's models; its default stays a choice even if it is missing.
    assert whisper_view.model_control(["whisper-base"]).choices[0] == whisper_view.MODEL.default
    assert set(WHISPER_DRAWN[0].choices) >= set(available_models("asr"))


def test_gradio_whisper_and_image_search_tabs_draw_their_declarations():
    from apps.gradio import image_search, whisper

    _check_gradio(_gradio_widgets(whisper), WHISPER_DRAWN)
    widgets = _gradio_widgets(image_search)
    _check_gradio(widgets, SEARCH_DRAWN)
    assert widgets["results"].maximum == config.IMAGE_SEARCH_MAX_K
    assert widgets[search_view.QUERY.label].placeholder == search_view.QUERY_PLACEHOLDER


def _check_streamlit(widget, c: Control) -> None:
    assert widget.label == c.label, c.name
    assert (widget.help or "") == c.help, c.name
    if c.minimum is not None:
        # st.number_input and st.slider keep the floats they were given: the declared values exactly.
        assert (widget.min, widget.max, widget.value) == (c.minimum, c.maximum, c.default), c.name
    elif c.choices:
        assert list(widget.options) == list(c.choices) and widget.value == c.default, c.name
    else:
        assert widget.value == c.default, c.name


def test_streamlit_whisper_page_draws_its_declarations():
    from apps.streamlit.whisper import KEYS

    at = run_page("whisper")
    finders = {"choice": at.selectbox, "radio": at.radio, "check": at.checkbox, "number": at.number_input}
    for c in (*WHISPER_DRAWN, *whisper_view.POLICY_CONTROLS):
        _check_streamlit(finders[c.kind](key=KEYS[c.name]), c)


def test_streamlit_image_search_page_draws_its_declarations():
    at = run_page("image_search")
    finders = {"text": at.text_input, "radio": at.radio, "slider": at.slider, "check": at.checkbox}
    for c in SEARCH_DRAWN:
        _check_streamlit(finders[c.kind](key=SEARCH_KEYS[c.name]), c)
    query = at.text_input(key="imgsearch_query")
    assert query.placeholder == search_view.QUERY_PLACEHOLDER
    assert query.max_chars == config.IMAGE_SEARCH_MAX_QUERY_CHARS


def _literals(path: Path) -> set[str]:
    """Every string constant of 12 characters or more in a module, docstrings left out."""
    tree = ast.parse(path.read_text())
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) >= 12
            and id(node) not in docs}


@pytest.mark.parametrize("tab", ["whisper", "image_search"])
def test_no_text_is_written_in_both_front_ends(tab):
    shared = _literals(ROOT / "apps/gradio" / f"{tab}.py") & _literals(ROOT / "apps/streamlit" / f"{tab}.py")
    shared.discard(tab)  # the tab's id, which each front end names to find its heading
    assert not shared, f"declare these once in core (view.py) and draw them from there: {sorted(shared)}"


# --- issue #17's other half: gallery items are a frozen dataclass, meta.json stays the same ------

def test_gallery_items_read_old_meta_and_write_what_old_code_reads():
    from dataclasses import FrozenInstanceError

    from core.image_search.gallery import Item

    # An item as meta.json held it before (a plain dict; tags as lists; a field this version
    # does not know), and one written before thumbnails existed.
    old = {"key": "chelsea.png", "sha1": "df9e", "path": "/x/chelsea.png", "caption": "A cat.",
           "origin": "skimage", "licence": "CC0", "thumb": "df9e.jpg", "width": 451, "height": 300,
           "tags": [["tiger cat", 282, 0.3698], ["tabby", 281, 0.2255]], "future_field": 1}
    item = Item.from_json(old)
    assert (item.key, item.thumb, item.width) == ("chelsea.png", "df9e.jpg", 451)
    assert item.tags == (("tiger cat", 282, 0.3698), ("tabby", 281, 0.2255))
    bare = Item.from_json({"key": "a.png", "sha1": "1", "path": "/a.png"})
    assert (bare.thumb, bare.tags, bare.caption) == ("", (), "")
    with pytest.raises(FrozenInstanceError):
        item.key = "other.png"  # type: ignore[misc]
    # Written back: every old key with its old JSON type (what older code indexes by name).
    written = json.loads(json.dumps(item.to_json()))
    assert written == {k: v for k, v in old.items() if k != "future_field"}
    assert Item.from_json(written) == item


def test_a_saved_gallery_loads_its_items_as_dataclasses(tmp_path, monkeypatch):
    import numpy as np

    from core.image_search import gallery as gal

    monkeypatch.setenv("NLP_STUDIO_CACHE", str(tmp_path))
    items = [gal.Item(f"{i}.jpg", f"{i:040x}", thumb=f"{i}.jpg", tags=[["cat", 1, 0.5]]) for i in range(3)]
    g = gal.Gallery("u0123456789abcdef", gal.galleries_dir() / "u0123456789abcdef", items,
                    {"x": np.eye(3, dtype=np.float32)}, {"x": "synthetic"})
    gal.save(g)
    raw = json.loads((g.root / "meta.json").read_text())
    assert raw["items"][0]["tags"] == [["cat", 1, 0.5]] and raw["items"][0]["key"] == "0.jpg"
    back = gal.read(g.name)
    assert back is not None and back.items == items and back.keys == ["0.jpg", "1.jpg", "2.jpg"]
