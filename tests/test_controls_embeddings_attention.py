"""The Embedding Explorer's and the Attention Visualizer's inputs are declared once (core/embeddings/view.py,
core/attention/view.py): each front end draws what the declaration says, and no UI words are written twice."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core import config
from core.attention import view as av
from core.controls import Control
from core.embeddings import view as ev

ROOT = Path(__file__).resolve().parents[1]
EMBEDDING_CONTROLS = (ev.NEIGHBOUR_CONTROLS, ev.ANALOGY_CONTROLS, ev.PROJECTION_CONTROLS, ev.AXES_CONTROLS,
                      (ev.PASTED,))
ATTENTION_CONTROLS = (av.INPUT_CONTROLS, av.VIEW_CONTROLS, (av.EXPORT_CONTROL,))


def test_slider_limits_come_from_core_config():
    controls = {c.label: c for group in EMBEDDING_CONTROLS for c in group}
    assert controls["How many neighbours (k)"].maximum == config.UI_MAX_NEIGHBOURS
    assert controls["k"].maximum == config.UI_MAX_ANALOGY_ANSWERS
    assert controls["How many of the most frequent words"].maximum == config.UI_MAX_FREQUENT_WORDS
    assert controls["k-means clusters"].maximum == config.MAX_KMEANS_CLUSTERS
    # What the sliders allow, core accepts (the API keeps core's wider limits).
    assert max(config.UI_MAX_NEIGHBOURS, config.UI_MAX_ANALOGY_ANSWERS) <= config.MAX_NEIGHBOURS
    assert config.MIN_PROJECT_POINTS <= config.UI_MIN_FREQUENT_WORDS
    assert config.UI_MAX_FREQUENT_WORDS <= config.MAX_PROJECT_POINTS
    # Every input the projection shows or hides is one of its declared controls.
    names = {c.name for c in ev.PROJECTION_CONTROLS}
    assert set(ev.SOURCE_INPUT.values()) | set(ev.COLOUR_INPUT.values()) <= names
    assert set(ev.SOURCE_INPUT) <= set(dict(((c.name, c.choices) for c in ev.PROJECTION_CONTROLS))["source"])


# --- no UI words written in both front ends ------------------------------------------------------

def _literals(path: Path) -> set[str]:
    """String constants of 12+ characters in a module (f-string parts included), docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node)}
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and len(node.value) >= 12 and id(node) not in docstrings}


@pytest.mark.parametrize("tab", ["embeddings", "attention"])
def test_no_string_is_written_in_both_front_ends(tab):
    both = _literals(ROOT / "apps" / "gradio" / f"{tab}.py") & _literals(ROOT / "apps" / "streamlit" / f"{tab}.py")
    assert not both, f"move these into core/{tab}/view.py: {sorted(both)}"


def test_the_literal_check_finds_a_shared_string(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text('"""A docstring shared by both."""\nx = f"Find neighbours of {1}"\n')
    b.write_text('"""A docstring shared by both."""\ny = "Find neighbours of "\nz = "short"\n')
    assert _literals(a) & _literals(b) == {"Find neighbours of "}


# --- the helpers' overrides (runtime choices, layout) ---------------------------------------------

def test_gradio_overrides_win_over_the_declaration():
    import gradio as gr

    from apps.gradio.controls import render

    c = Control("model", "Model", "choice", "a", choices=("a", "b"), help="pick one")
    with gr.Blocks():
        w = render(c, choices=[("A (encoder)", "a"), ("B (decoder)", "b")], elem_id="m")
    assert w.choices == [("A (encoder)", "a"), ("B (decoder)", "b")] and w.value == "a"
    assert (w.label, w.info, w.elem_id) == ("Model", "pick one", "m")


def test_streamlit_options_win_over_the_declaration(tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "page.py"
    script.write_text(
        "from core.controls import Control\n"
        "from apps.streamlit.controls import render\n"
        "render(Control('layer', 'Layer', 'slider', 0, minimum=0, maximum=5, step=1), 'l', max_value=29)\n"
        "render(Control('h', 'Head', 'choice', 'all', choices=('all', '0')), 'h', options=['all', '0', '1'],\n"
        "       format_func=str.upper)\n")
    at = AppTest.from_file(str(script)).run()
    assert not at.exception
    assert (at.slider(key="l").label, at.slider(key="l").max, at.slider(key="l").value) == ("Layer", 29, 0)
    assert at.selectbox(key="h").options == ["ALL", "0", "1"] and at.selectbox(key="h").value == "all"


# --- each front end against the declarations -------------------------------------------------------

def _gradio_by_label(module) -> dict:
    import gradio as gr

    with gr.Blocks() as blocks:
        module.build()
    found: dict[str, list] = {}
    for block in blocks.blocks.values():
        label = getattr(block, "label", None)
        if label:
            found.setdefault(label, []).append(block)
    return found


def _values(choices) -> list:
    return [v[1] if isinstance(v, tuple) else v for v in choices]


def _check_gradio(found: dict, controls: tuple[Control, ...]) -> None:
    for c in controls:
        assert len(found.get(c.label, [])) == 1, f"{c.name}: {len(found.get(c.label, []))} widgets say {c.label!r}"
        w = found[c.label][0]
        assert w.value == c.default, c.name
        assert (getattr(w, "info", None) or "") == c.help, c.name
        if c.minimum is not None:
            assert (w.minimum, w.maximum, w.step) == (c.minimum, c.maximum, c.step), c.name
        if c.choices:
            assert _values(w.choices) == list(c.choices), c.name
        if c.kind in ("text", "textarea"):
            assert w.lines == c.lines, c.name


def test_gradio_embeddings_and_attention_tabs_draw_their_declarations():
    from apps.gradio import attention, embeddings

    found = _gradio_by_label(embeddings)
    for controls in EMBEDDING_CONTROLS:
        _check_gradio(found, controls)
    # Only the default source's input shows at first; the k-means slider waits for its colouring.
    visible = {c.name: found[c.label][0].visible for c in ev.PROJECTION_CONTROLS}
    assert [n for n in ev.SOURCE_INPUT.values() if visible[n]] == [ev.SOURCE_INPUT["word set"]]
    assert visible["clusters"] is False
    assert embeddings.show_source_inputs("frequent words") == tuple(
        {"__type__": "update", "visible": name == "n"} for name in embeddings.SOURCE_INPUTS)

    found = _gradio_by_label(attention)
    for controls in ATTENTION_CONTROLS:
        _check_gradio(found, controls)
    # The model list shows each key with its kind (encoder / decoder) around the declared keys.
    assert found["Model"][0].choices == av.model_choices()


def _check_streamlit(w, c: Control) -> None:
    assert w.label == c.label and (w.help or "") == c.help, c.name
    assert w.value == c.default, c.name
    if c.minimum is not None:
        assert (w.min, w.max) == (c.minimum, c.maximum), c.name
    if c.choices and c.name not in ("model", "focus"):  # those show formatted labels
        assert w.options == [str(v) for v in c.choices], c.name


def test_streamlit_embeddings_page_draws_its_declarations():
    from streamlit.testing.v1 import AppTest

    from apps.streamlit import page_file

    at = AppTest.from_file(page_file("embeddings"), default_timeout=180).run()  # draws frog's neighbours
    assert not at.exception
    kinds = {"slider": "slider", "radio": "radio", "choice": "selectbox", "text": "text_input",
             "textarea": "text_area"}

    def check(c: Control, key: str) -> None:  # looked up after each run: the page's elements change
        _check_streamlit(getattr(at, kinds[c.kind])(key=key), c)

    for c in ev.NEIGHBOUR_CONTROLS:
        check(c, f"emb_{c.name}")
    for c, key in zip(ev.ANALOGY_CONTROLS, ("emb_a", "emb_b", "emb_c", "emb_an_k")):
        check(c, key)
    for c, key in zip(ev.AXES_CONTROLS, ("emb_xa", "emb_xb", "emb_ya", "emb_yb", "emb_ax_words")):
        check(c, key)
    check(ev.PASTED, "emb_pasted")
    projection = {c.name: c for c in ev.PROJECTION_CONTROLS}
    for name in ("source", "method", "dims", "colour"):
        check(projection[name], f"emb_{name}")
    # Each source shows its own input (a cheap rerun: nothing is projected without the button).
    for source, name in ev.SOURCE_INPUT.items():
        at.radio(key="emb_source").set_value(source).run()
        assert not at.exception
        check(projection[name], f"emb_{name}")
    at.radio(key="emb_colour").set_value("k-means clusters").run()
    check(projection["clusters"], "emb_clusters")


def test_streamlit_attention_page_draws_its_declarations():
    from streamlit.testing.v1 import AppTest

    from apps.streamlit import page_file

    at = AppTest.from_file(page_file("attention"), default_timeout=180).run()
    assert not at.exception
    inputs = {c.name: c for c in av.INPUT_CONTROLS}
    _check_streamlit(at.text_area(key="attn_text"), inputs["text"])
    _check_streamlit(at.text_input(key="attn_pair"), inputs["pair"])
    _check_streamlit(at.checkbox(key="attn_ig"), inputs["integrated"])
    model = at.selectbox(key="attn_model")
    _check_streamlit(model, inputs["model"])
    assert model.options == [label for label, _ in av.model_choices()]
    # The view controls appear with a result: one short MiniLM run, without integrated gradients.
    at.text_area(key="attn_text").input("The cat sat.")
    at.checkbox(key="attn_ig").set_value(False)
    at.button(key="attn_go").click().run()
    assert not at.exception and not at.error
    maps = at.session_state["attn_result"]["maps"]
    _check_streamlit(at.checkbox(key="attn_special"), inputs["special"])
    view = {c.name: c for c in av.VIEW_CONTROLS}
    layer, head, focus = at.slider(key="attn_layer"), at.selectbox(key="attn_head"), at.selectbox(key="attn_focus")
    # Label and default from the declaration; range and choices from the result (as VIEW_CONTROLS says).
    assert (layer.label, layer.min, layer.max, layer.value) == ("Layer", 0, maps.n_layers - 1, 0)
    assert (head.label, head.value, len(head.options)) == (view["head"].label, av.ALL, maps.n_heads + 1)
    assert (focus.label, focus.value, focus.options[0]) == (view["focus"].label, -1, "none")
    _check_streamlit(at.radio(key="attn_view"), view["view"])
    _check_streamlit(at.selectbox(key="attn_which"), av.EXPORT_CONTROL)
