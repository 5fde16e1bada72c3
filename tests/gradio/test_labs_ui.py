"""Transformer Lab and Preference Lab front ends: each front end's widgets match the one
declaration in core (label, kind, default, limits, choices); the Streamlit pages render headless;
the Gradio API endpoint of the transformer lab answers (a tiny real run)."""
from __future__ import annotations

import gradio as gr
import pytest

from apps.gradio import preference_lab as g_pl
from apps.gradio import transformer_lab as g_tl
from core.preference import view as pv
from core.transformer_lab import view as tv
from tests.streamlit_pages import errors, run_page, text_of

GRADIO_KIND = {"slider": gr.Slider, "int": gr.Number, "number": gr.Number, "choice": gr.Dropdown,
               "radio": gr.Radio, "check": gr.Checkbox, "text": gr.Textbox, "textarea": gr.Textbox}
LABS = {"transformer_lab": (g_tl, tv.CONTROLS + tv.SAMPLE_CONTROLS + tv.VIEW_CONTROLS, "tl"),
        "preference_lab": (g_pl, pv.CONTROLS, "pl")}


def _gradio_components(module) -> dict[str, gr.components.Component]:
    with gr.Blocks() as demo:
        module.build()
    return {b.label: b for b in demo.blocks.values() if getattr(b, "label", None)}


@pytest.mark.parametrize("tab_id", list(LABS))
def test_gradio_widgets_match_the_declaration(tab_id):
    module, controls, _ = LABS[tab_id]
    found = _gradio_components(module)
    for c in controls:
        comp = found.get(c.label)
        assert comp is not None, f"{tab_id}: no component labelled {c.label!r}"
        assert isinstance(comp, GRADIO_KIND[c.kind]), (c.name, type(comp))
        assert comp.value == c.default, (c.name, comp.value, c.default)
        if c.kind in ("slider", "int", "number"):
            assert (comp.minimum, comp.maximum) == (c.minimum, c.maximum), c.name
        if c.kind in ("choice", "radio"):
            assert [v for _, v in comp.choices] == list(c.choices), c.name


def _st_widget(at, c, key):
    kind = {"slider": at.slider, "int": at.number_input, "number": at.number_input, "choice": at.selectbox,
            "radio": at.radio, "check": at.checkbox, "text": at.text_input, "textarea": at.text_area}[c.kind]
    return kind(key=key)


@pytest.mark.parametrize("tab_id", list(LABS))
def test_streamlit_widgets_match_the_declaration(tab_id):
    _, controls, prefix = LABS[tab_id]
    at = run_page(tab_id)
    assert not errors(at)
    for c in controls:
        w = _st_widget(at, c, f"{prefix}_{c.name}")
        assert w.label == c.label, c.name
        assert w.value == (c.default if c.kind not in ("text", "textarea") else (c.default or "")), c.name
        if c.kind in ("slider", "int", "number"):
            assert (w.min, w.max) == (c.minimum, c.maximum), c.name
        if c.kind in ("choice", "radio"):
            assert list(w.options) == [str(x) for x in c.choices], c.name


def test_streamlit_pages_explain_what_they_show():
    at = run_page("transformer_lab")
    assert "Causal" in text_of(at) and "Masked" in text_of(at)
    at = run_page("preference_lab")
    assert "Why can the chosen reward fall and still win?" not in text_of(at)  # shown with a run's numbers
    assert "Optimising a reward can be gamed" in text_of(at)
    assert at.dataframe and "What a wonderful question" in at.dataframe[-1].value.to_string()


def test_streamlit_transformer_lab_refuses_short_text():
    at = run_page("transformer_lab")
    at.text_area(key="tl_text").set_value("too short")
    at.button(key="FormSubmitter:tl_form-Train").click().run()
    assert any("at least 200" in e for e in errors(at)), errors(at)


def test_transformer_lab_api_trains_a_tiny_model():
    out = g_tl.train_api("masked", "zen", "", 1, 2, 32, 16, 12, 3e-3)
    assert out["objective"] == "masked" and len(out["losses"]) == 12 and out["steps"] == 12
    assert "█" not in out["sample"]  # the blanks are filled in
    assert out["learned"] in (True, False) and out["verdict"]
    with pytest.raises(ValueError, match="layers"):
        g_tl.train_api(layers=9)


def test_transformer_lab_shows_the_whole_model_source():
    src = tv.model_source()
    assert "class TinyTransformer" in src and "class Attention" in src and "torch.triu" in src
    assert len(src.splitlines()) < 110  # "one page"


def test_dpo_endpoint_refuses_bad_input_before_any_work():
    with pytest.raises(ValueError, match="no preference pairs"):
        g_pl.dpo_api([], 0.1, 5)
    with pytest.raises(ValueError, match="beta must be greater than 0"):
        g_pl.dpo_api([{"prompt": "Hi?", "chosen": "Ahoy!", "rejected": "Hello."}], 0.0, 5)
    with pytest.raises(ValueError, match="same chosen and rejected"):
        g_pl.dpo_api([{"prompt": "Hi?", "chosen": "Hello.", "rejected": "Hello."}], 0.1, 5)


def test_endpoints_through_the_client(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/dpo", "/transformer_lab_train"} <= names
    out = client.predict("causal", "zen", "", 1, 1, 16, 8, 8, 3e-3, api_name="/transformer_lab_train")
    assert out["steps"] == 8 and len(out["losses"]) == 8
    with pytest.raises(Exception, match="beta must be greater than 0"):
        client.predict([{"prompt": "Hi?", "chosen": "Ahoy!", "rejected": "Hello."}], 0, 5, 5e-3, api_name="/dpo")
