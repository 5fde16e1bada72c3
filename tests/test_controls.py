"""core.controls: a declaration is checked when made, and each front end's helper draws what it says."""
from __future__ import annotations

import pytest

from core.controls import Control, defaults


def test_a_bad_declaration_says_what_is_wrong():
    with pytest.raises(ValueError, match="outside"):
        Control("k", "k", "slider", default=0, minimum=1, maximum=5)
    with pytest.raises(ValueError, match="not among"):
        Control("m", "Method", "choice", default="x", choices=("a", "b"))
    with pytest.raises(ValueError, match="kind"):
        Control("m", "Method", "knob", default=1)


DECLARED = (
    Control("k", "Neighbours", "slider", default=10, minimum=1, maximum=100, step=1, help="how many"),
    Control("temperature", "Temperature", "slider", default=0.7, minimum=0.1, maximum=2.0, step=0.1),
    Control("method", "Method", "radio", default="tfidf", choices=("one-hot", "bow", "tfidf")),
    Control("text", "Text", "textarea", default="hello world", lines=3),
    Control("lower", "Lower-case", "check", default=True),
)


def test_defaults_by_name():
    assert defaults(DECLARED) == {"k": 10, "temperature": 0.7, "method": "tfidf",
                                  "text": "hello world", "lower": True}
    assert DECLARED[0].integer and not DECLARED[1].integer


def test_gradio_draws_the_declaration():
    import gradio as gr

    from apps.gradio.controls import render_all

    with gr.Blocks():
        widgets = render_all(DECLARED)
    k, temp, method, text, lower = (widgets[c.name] for c in DECLARED)
    assert (k.label, k.minimum, k.maximum, k.value, k.info) == ("Neighbours", 1, 100, 10, "how many")
    assert (temp.minimum, temp.maximum, temp.value) == (0.1, 2.0, 0.7)
    assert [c[0] for c in method.choices] == ["one-hot", "bow", "tfidf"] and method.value == "tfidf"
    assert text.lines == 3 and text.value == "hello world"
    assert lower.value is True


def test_streamlit_draws_the_declaration(tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "page.py"
    script.write_text(
        "import streamlit as st\n"
        "from tests.test_controls import DECLARED\n"
        "from apps.streamlit.controls import render_all\n"
        "values = render_all(DECLARED, 'demo')\n"
        "st.write(repr(values))\n")
    at = AppTest.from_file(str(script)).run()
    assert not at.exception
    k, temp = at.slider
    assert (k.label, k.min, k.max, k.value) == ("Neighbours", 1, 100, 10)
    assert (temp.min, temp.max) == (0.1, 2.0) and temp.value == pytest.approx(0.7)
    assert at.radio[0].options == ["one-hot", "bow", "tfidf"] and at.radio[0].value == "tfidf"
    assert at.text_area[0].value == "hello world" and at.checkbox[0].value is True


# The studio's own declarations against what each front end draws.

def _gradio_widgets(blocks) -> dict:
    return {getattr(b, "label", None): b for b in blocks.blocks.values() if getattr(b, "label", None)}


def _check_gradio(widgets: dict, controls) -> None:
    for c in controls:
        w = widgets[c.label]
        assert w.value == c.default, c.name
        if c.minimum is not None:
            assert (w.minimum, w.maximum) == (c.minimum, c.maximum), c.name


def test_gradio_chat_and_tts_tabs_draw_their_declarations():
    import gradio as gr

    from apps.gradio import chat, tts
    from core.chat.view import CHAT_CONTROLS, FINETUNE_CONTROLS
    from core.config import LORA_MAX_STEPS, TTS_MAX_RATE
    from core.tts.view import VOICE_CONTROLS

    widgets = {}
    for module in (chat, tts):  # one tab at a time: another tab may use the same label (a lab's "Learning rate")
        with gr.Blocks() as blocks:
            module.build()
        widgets.update(_gradio_widgets(blocks))
    for controls in (CHAT_CONTROLS, FINETUNE_CONTROLS, VOICE_CONTROLS):
        _check_gradio(widgets, controls)
    # The limits that once drifted between the front ends now come from core/config.
    assert widgets["Steps (batch of 4)"].maximum == LORA_MAX_STEPS
    assert widgets["Speaking rate (1 = normal)"].maximum == TTS_MAX_RATE


def test_streamlit_chat_and_tts_pages_draw_their_declarations():
    from streamlit.testing.v1 import AppTest

    from apps.streamlit import page_file
    from core.chat.view import CHAT_CONTROLS, FINETUNE_CONTROLS
    from core.tts.view import VOICE_CONTROLS

    chat = AppTest.from_file(page_file("chat"), default_timeout=120).run()
    assert not chat.exception
    for c in CHAT_CONTROLS:
        w = chat.slider(key=f"chat_{c.name}")
        assert (w.label, w.min, w.max, w.value) == (c.label, c.minimum, c.maximum, c.default)
    tune = {c.name: c for c in FINETUNE_CONTROLS}
    for name in ("rank", "alpha", "steps"):
        w = chat.slider(key=f"ft_{name}")
        assert (w.label, w.min, w.max, w.value) == (tune[name].label, tune[name].minimum, tune[name].maximum,
                                                     tune[name].default)
    lr = chat.number_input(key="ft_lr")
    # st.number_input keeps floats; the declaration's 2e-3 round-trips exactly through it.
    assert (lr.label, lr.min, lr.max, lr.value) == ("Learning rate", 1e-6, 0.1, 2e-3)

    page = AppTest.from_file(page_file("tts"), default_timeout=120).run()
    assert not page.exception
    rate = page.slider(key="tts_rate")
    c = VOICE_CONTROLS[0]
    assert (rate.label, rate.min, rate.max, rate.value) == (c.label, c.minimum, c.maximum, c.default)
