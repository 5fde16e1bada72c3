"""Sequence Lab and Decoding Lab as users and clients meet them: the API endpoints (/ngram, /decode),
each front end's widgets against the one declaration in core, and headless Chromium running each
lab's main action in both front ends with no error on the page (screenshots in out/screenshots)."""
from __future__ import annotations

import os
import time

import pytest

from core.controls import Control
from core.decoding import view as dv
from core.sequence_lab import view as sv

GRADIO_KIND = {"slider": "Slider", "int": "Number", "number": "Number", "choice": "Dropdown", "radio": "Radio",
               "check": "Checkbox", "text": "Textbox", "textarea": "Textbox"}


# ---- API -------------------------------------------------------------------------------------

def test_ngram_endpoint(client):
    corpus = sv.NGRAM_CONTROLS[0].default
    r = client.predict(corpus, 3, "kneser-ney", 0.1, 0.75, "To be, or not to be.", "", 1, 2, api_name="/ngram")
    assert r["order"] == 3 and len(r["scores"]) == 9  # to be , or not to be . and </s>
    tokens = [s["token"] for s in r["scores"]]
    assert tokens[-1] == "</s>" and tokens[:2] == ["to", "be"]
    assert all(0 < s["prob"] <= 1 for s in r["scores"]) and len(r["samples"]) == 2


def test_ngram_endpoint_bad_input_is_a_clear_error(client):
    with pytest.raises(Exception, match="corpus is empty"):
        client.predict("", 3, "kneser-ney", 0.1, 0.75, "", "", 0, 1, api_name="/ngram")


def test_decode_endpoint(client):
    r = client.predict("The capital of France is", "greedy", 6, 2, 1.0, 0.8, 50, 0.95, 0, api_name="/decode")
    assert "Paris" in r["text"] and r["sequence_logprob"] < 0 and len(r["tokens"]) <= 6
    with pytest.raises(Exception, match="temperature 0"):
        client.predict("Hello", "sample", 6, 2, 1.0, 0.0, 50, 0.95, 0, api_name="/decode")


# ---- the widgets match the declarations ---------------------------------------------------------

def _gradio_components(build):
    import gradio as gr

    with gr.Blocks() as demo:
        build()
    return [b for b in demo.blocks.values() if getattr(b, "label", None)]


def _check_gradio(components, controls: tuple[Control, ...]):
    by_label = {}
    for comp in components:
        by_label.setdefault(comp.label, comp)
    for c in controls:
        comp = by_label.get(c.label)
        assert comp is not None, f"no Gradio component labelled {c.label!r}"
        assert type(comp).__name__ == GRADIO_KIND[c.kind], c.name
        assert comp.value == c.default, c.name
        if c.kind == "slider":
            assert (comp.minimum, comp.maximum) == (c.minimum, c.maximum), c.name
        if c.kind in ("radio", "choice"):
            assert [ch[1] if isinstance(ch, tuple) else ch for ch in comp.choices] == list(c.choices), c.name


def test_gradio_widgets_match_the_declarations():
    from apps.gradio import decoding_lab, sequence_lab

    _check_gradio(_gradio_components(sequence_lab.build), sv.TRAIN_CONTROLS + sv.STEP_CONTROLS + sv.NGRAM_CONTROLS)
    _check_gradio(_gradio_components(decoding_lab.build), dv.DECODE_CONTROLS)


def _check_streamlit(at, controls: tuple[Control, ...], prefix: str):
    kinds = {"slider": "slider", "int": "number_input", "number": "number_input", "choice": "selectbox",
             "radio": "radio", "check": "checkbox", "text": "text_input", "textarea": "text_area"}
    for c in controls:
        widget = getattr(at, kinds[c.kind])(key=f"{prefix}_{c.name}")
        assert widget.label == c.label, c.name
        assert widget.value == c.default, c.name
        if c.kind == "slider":
            assert (widget.min, widget.max) == (c.minimum, c.maximum), c.name
        if c.kind == "radio":
            assert list(widget.options) == list(c.choices), c.name


def test_streamlit_widgets_match_the_declarations():
    from tests.streamlit_pages import run_page

    seq = run_page("sequence_lab")
    _check_streamlit(seq, sv.TRAIN_CONTROLS, "seq")
    _check_streamlit(seq, sv.STEP_CONTROLS, "seq_step")
    _check_streamlit(seq, sv.NGRAM_CONTROLS, "ngram")
    assert not seq.error  # the n-gram view is computed on first open, with the defaults
    dec = run_page("decoding_lab")
    _check_streamlit(dec, dv.DECODE_CONTROLS, "dec")


def test_streamlit_decoding_page_runs_all_three():
    """The Decoding Lab page's main action, headless (AppTest, in this process: SmolLM2 is shared)."""
    from tests.streamlit_pages import errors, run_page

    at = run_page("decoding_lab")
    at.slider(key="dec_max_new_tokens").set_value(4)
    at.button(key="dec_go").click().run()
    assert not at.exception and not errors(at), errors(at)
    rows = at.dataframe[0].value.values.tolist()
    assert [r[0] for r in rows] == ["greedy", "beam", "sample"]
    assert all(r[2] < 0 and 1 <= r[3] <= 4 for r in rows)  # sequence log-prob, token count


# ---- browsers -----------------------------------------------------------------------------------

@pytest.mark.browser
def test_sequence_lab_in_gradio(browser, app_url, screenshot_dir):
    from selenium.webdriver.common.by import By

    from tests.browser import click_tab, open_app, page_errors, set_number, wait_for_text

    open_app(browser, app_url)
    click_tab(browser, "Sequence Lab")
    click_tab(browser, "n-gram language model")
    browser.find_element(By.ID, "ngram-go").click()
    wait_for_text(browser, "Held-out perplexity", 60)
    browser.save_screenshot(os.path.join(screenshot_dir, "sequence-lab-ngram.png"))
    click_tab(browser, "Train RNN / LSTM / GRU")
    set_number(browser, "Hidden units", 32)
    set_number(browser, "Steps (of each model)", 40)
    browser.find_element(By.ID, "seq-train").click()
    wait_for_text(browser, "done: step", 180)
    assert "learned" in browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(os.path.join(screenshot_dir, "sequence-lab-train.png"))
    click_tab(browser, "Step through")
    browser.find_element(By.ID, "seq-step").click()
    wait_for_text(browser, "one character at a time (first", 60)
    time.sleep(1)
    browser.save_screenshot(os.path.join(screenshot_dir, "sequence-lab-step.png"))
    assert not page_errors(browser)


@pytest.mark.browser
def test_decoding_lab_in_gradio(browser, app_url, screenshot_dir):
    from selenium.webdriver.common.by import By

    from tests.browser import click_tab, open_app, page_errors, set_number, wait_for_text

    open_app(browser, app_url)
    click_tab(browser, "Decoding Lab")
    set_number(browser, "Max new tokens", 8)
    browser.find_element(By.ID, "dec-go").click()
    wait_for_text(browser, "Beam search tree (label", 180)
    time.sleep(1)
    browser.save_screenshot(os.path.join(screenshot_dir, "decoding-lab.png"))
    assert not page_errors(browser)


def _st_click(driver, text: str, selector: str = "button") -> None:
    from selenium.webdriver.common.by import By

    for b in driver.find_elements(By.CSS_SELECTOR, selector):
        if b.is_displayed() and b.text.strip() == text:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", b)
            b.click()
            return
    raise AssertionError(f"no visible {selector} {text!r}")


def _st_wait(driver, text: str, timeout: float, shot: str = "") -> None:
    from selenium.webdriver.common.by import By

    from tests.browser import st_page_errors

    deadline = time.time() + timeout
    while time.time() < deadline:
        assert not st_page_errors(driver)
        assert not driver.find_elements(By.CSS_SELECTOR, "[data-testid='stAlertContentError']"), "error box"
        if text in driver.find_element(By.TAG_NAME, "body").text:
            return
        time.sleep(0.5)
    if shot:
        driver.save_screenshot(shot)
    raise AssertionError(f"{text!r} did not appear within {timeout} s")


@pytest.mark.browser
def test_labs_in_streamlit(browser, streamlit_url, screenshot_dir):
    from tests.browser import st_open_page

    st_open_page(browser, streamlit_url, "sequence_lab", expect="Press Train to start")
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-sequence-lab.png"))
    _st_click(browser, "n-gram language model", "[role='tab']")
    _st_wait(browser, "Held-out perplexity", 60)
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-sequence-lab-ngram.png"))
    st_open_page(browser, streamlit_url, "decoding_lab", expect="Set a prompt and press")
    _st_click(browser, "Decode three ways")
    # The results table is drawn on a canvas (no DOM text); the code box appears with the results.
    _st_wait(browser, "Show the code (runs on its own)", 300,  # three strategies × 16 tokens on a CPU
             os.path.join(screenshot_dir, "streamlit-decoding-lab-timeout.png"))
    from selenium.webdriver.common.by import By

    deadline = time.time() + 30  # give the browser time to draw the four Plotly charts
    while time.time() < deadline and len(browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) < 2:
        time.sleep(0.5)
    time.sleep(1)
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-decoding-lab.png"))
