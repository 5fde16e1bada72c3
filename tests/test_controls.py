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
