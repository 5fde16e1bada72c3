"""Tokenizer Lab and Evaluation Lab in the Gradio app: the API endpoints as a client calls them, the
widgets as declared in core, and the tabs in headless Chromium (main action, no error box, screenshots)."""
from __future__ import annotations

import os
import time

import gradio as gr
import pytest
import sacrebleu
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from core.evaluation import view as ev
from core.tokenizer_lab import view as tv
from tests.browser import click_tab, number_box, open_app, page_errors, wait_for_text


# --- the widgets are the declaration ---------------------------------------------------------------

def _components(module) -> dict[str, gr.components.Component]:
    with gr.Blocks() as demo:
        module.build()
    return {b.label: b for b in demo.blocks.values() if isinstance(b, gr.components.Component) and b.label}


def _check(component, control) -> None:
    c = control
    assert component.value == c.default, c.name
    assert (component.info or "") == c.help, c.name
    kinds = {"int": gr.Number, "number": gr.Number, "slider": gr.Slider, "radio": gr.Radio, "choice": gr.Dropdown,
             "check": gr.Checkbox, "text": gr.Textbox, "textarea": gr.Textbox}
    assert isinstance(component, kinds[c.kind]), c.name
    if c.kind in ("int", "number", "slider"):
        assert (component.minimum, component.maximum) == (c.minimum, c.maximum), c.name
    if c.kind in ("radio", "choice"):
        assert [v for _, v in component.choices] == list(c.choices), c.name
    if c.kind == "textarea":
        assert component.lines == c.lines, c.name


@pytest.mark.parametrize("tab, declarations", [
    ("tokenizer_lab", tv.TRAIN_CONTROLS + tv.COMPARE_CONTROLS),
    ("evaluation_lab", ev.SCORE_CONTROLS + ev.PERPLEXITY_CONTROLS + ev.STUDIO_CONTROLS),
])
def test_gradio_widgets_match_the_declarations(tab, declarations):
    import importlib

    found = _components(importlib.import_module(f"apps.gradio.{tab}"))
    for control in declarations:
        assert control.label in found, f"{control.label!r} is not drawn"
        _check(found[control.label], control)


# --- the API --------------------------------------------------------------------------------------

def test_tokenizer_endpoints(client):
    out = client.predict("low lower lowest newer newest wider widest\n" * 3, "python-docs", "BPE", 27,
                         "lowest newest", "whitespace", False, api_name="/tokenizer_train")
    assert out["vocab_size"] == 27 and out["tokens"] == ["lowest", "newest"]
    assert out["replay"][0]["pieces"] == list("lowest") + list("newest")
    assert out["replay"][-1]["pieces"] == out["tokens"]
    cmp = client.predict("naïve café 🚀", "smollm2,minilm", True, api_name="/tokenize_compare")
    assert [c["tokenizer"] for c in cmp] == ["smollm2", "minilm"]
    assert cmp[1]["n_unknown"] == 1 and cmp[0]["n_unknown"] == 0
    with pytest.raises(Exception, match="cannot hold a single token"):
        client.predict("some text here", "python-docs", "BPE", 0, "text", "whitespace", False,
                       api_name="/tokenizer_train")
    with pytest.raises(Exception, match="at most 27 tokens"):
        client.predict("low lower lowest newer newest wider widest\n" * 3, "python-docs", "BPE", 10_000,
                       "low", "whitespace", False, api_name="/tokenizer_train")


def test_evaluation_endpoints(client):
    hyps = ["The cat sat on the mat.", "He reads"]
    refs = [["The cat is on the mat.", "He reads the book."]]
    out = client.predict(hyps, refs, ["bleu", "chrf"], "basic", api_name="/evaluate_text")
    assert out["bleu"]["score"] == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-9)  # same library
    assert out["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, refs).score, abs=1e-9)
    assert "rouge" not in out and out["sentences"][1]["bleu"]["none"] == 0.0
    with pytest.raises(Exception, match="same length"):
        client.predict(hyps, [["only one"]], None, "basic", api_name="/evaluate_text")
    with pytest.raises(Exception, match="hypothesis is empty"):
        client.predict([""], [["x"]], None, "basic", api_name="/evaluate_text")
    ppl = client.predict("The capital of France is Paris.", "smollm2-135m", api_name="/perplexity")
    assert ppl["perplexity"] > 1 and ppl["tokens"][0]["surprisal_bits"] is None
    assert all(t["surprisal_bits"] >= 0 for t in ppl["tokens"][1:])


# --- in the browser -------------------------------------------------------------------------------

def _button(driver, text: str):
    return next(b for b in driver.find_elements(By.TAG_NAME, "button") if b.is_displayed() and b.text.strip() == text)


@pytest.mark.browser
def test_tokenizer_lab_in_the_browser(browser, app_url, screenshot_dir):
    open_app(browser, app_url)
    click_tab(browser, "Tokenizer Lab")
    _button(browser, "Train and replay").click()
    wait_for_text(browser, "The replay gives the library's own pieces", timeout=120)
    browser.save_screenshot(os.path.join(screenshot_dir, "tokenizer-lab-train.png"))
    click_tab(browser, "Compare the studio's tokenizers")
    _button(browser, "Compare tokenizers").click()
    wait_for_text(browser, "bytes/token", timeout=180)
    browser.save_screenshot(os.path.join(screenshot_dir, "tokenizer-lab-compare.png"))
    assert not page_errors(browser)

    # A bad vocabulary size: a message that says what to do, and the app stays up.
    click_tab(browser, "Train a tokenizer")
    box = number_box(browser, "Vocabulary size")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("0", Keys.TAB)
    # Wait for the box to hold the new value before clicking: once in a loaded full-suite run the
    # click went out before it did, training ran with the old size, and no error came.
    deadline = time.time() + 10
    while time.time() < deadline and box.get_attribute("value") != "0":
        time.sleep(0.2)
    time.sleep(1.0)
    _button(browser, "Train and replay").click()
    deadline = time.time() + 60
    while time.time() < deadline and not page_errors(browser):
        time.sleep(0.3)
    assert "cannot hold a single token" in " ".join(page_errors(browser)), (
        box.get_attribute("value"), browser.find_element(By.TAG_NAME, "body").text[-600:])


@pytest.mark.browser
def test_evaluation_lab_in_the_browser(browser, app_url, screenshot_dir):
    open_app(browser, app_url)
    click_tab(browser, "Evaluation Lab")
    _button(browser, "Score").click()
    wait_for_text(browser, "BLEU (corpus)", timeout=120)
    browser.save_screenshot(os.path.join(screenshot_dir, "evaluation-lab-scores.png"))
    assert not page_errors(browser)
