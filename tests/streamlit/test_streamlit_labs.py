"""Tokenizer Lab and Evaluation Lab as Streamlit pages: widgets as declared in core, the main actions
give what core gives, a bad input shows core's message, and both pages in headless Chromium."""
from __future__ import annotations

import os

import pytest

from core.controls import defaults
from core.evaluation import view as ev
from core.tokenizer_lab import view as tv
from tests.streamlit_pages import errors, run_page, text_of


def _widget(at, control, key):
    c = control
    finder = {"int": at.number_input, "number": at.number_input, "slider": at.slider, "radio": at.radio,
              "choice": at.selectbox, "check": at.checkbox, "text": at.text_input, "textarea": at.text_area}[c.kind]
    return finder(key=key)


def _check(at, controls, prefix):
    for c in controls:
        w = _widget(at, c, f"{prefix}_{c.name}")
        assert w.label == c.label, c.name
        assert w.value == c.default, c.name
        assert (w.help or "") == c.help, c.name
        if c.kind in ("int", "number", "slider"):
            assert (w.min, w.max) == (c.minimum, c.maximum), c.name
        if c.kind in ("radio", "choice"):
            assert list(w.options) == list(c.choices), c.name


@pytest.fixture(scope="module")
def tok_page():
    at = run_page("tokenizer_lab")
    assert not errors(at)
    return at


def test_tokenizer_page_widgets_match_the_declarations(tok_page):
    _check(tok_page, tv.TRAIN_CONTROLS, "tok")
    _check(tok_page, tv.COMPARE_CONTROLS, "tokcmp")


def test_tokenizer_page_trains_and_compares_like_core(tok_page):
    at = tok_page
    at.button(key="tok_train_go").click().run()
    assert not at.exception and not errors(at)
    shown = at.session_state["tok_train"]
    direct = tv.train_view(**defaults(tv.TRAIN_CONTROLS))
    assert shown.replay.pieces == direct.replay.pieces and shown.summary == direct.summary
    assert "The replay gives the library's own pieces" in text_of(at)
    at.slider(key="tok_step").set_value(1).run()
    assert "merge #" in text_of(at)
    compared = at.session_state["tok_compare"]  # drawn when the page opens
    assert compared.rows == tv.compare_view(**defaults(tv.COMPARE_CONTROLS)).rows


def test_tokenizer_page_bad_vocabulary_shows_the_message(tok_page):
    at = tok_page
    at.number_input(key="tok_vocab_size").set_value(0)
    at.button(key="tok_train_go").click().run()
    assert not at.exception
    assert any("cannot hold a single token" in e for e in errors(at))


def test_evaluation_page_widgets_scores_perplexity_and_bad_input():
    at = run_page("evaluation_lab")
    _check(at, ev.SCORE_CONTROLS, "eval")
    _check(at, ev.PERPLEXITY_CONTROLS, "ppl")
    _check(at, ev.STUDIO_CONTROLS, "evst")
    shown = at.session_state["eval_scores"]  # scored when the page opens
    direct = ev.scores_view(**defaults(ev.SCORE_CONTROLS))
    assert shown.summary_rows == direct.summary_rows and shown.sentence_rows == direct.sentence_rows
    at.button(key="eval_ppl_go").click().run()
    assert not at.exception and not errors(at)
    text, model = (c.default for c in ev.PERPLEXITY_CONTROLS)
    assert at.session_state["eval_ppl"].summary == ev.perplexity_view(text, model).summary
    at.text_area(key="eval_references").set_value("only one line")
    at.button(key="eval_scores_go").click().run()
    assert not at.exception
    assert any("same length" in e for e in errors(at))


@pytest.mark.browser
def test_both_lab_pages_in_chromium(streamlit_url, browser, screenshot_dir):
    import time

    from selenium.webdriver.common.by import By

    from tests.browser import st_open_page, st_page_errors

    st_open_page(browser, streamlit_url, "tokenizer_lab", expect="Press Train and replay")
    next(b for b in browser.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Train and replay").click()
    deadline = time.time() + 120
    while time.time() < deadline and "library's own pieces" not in browser.find_element(By.TAG_NAME, "body").text:
        assert not st_page_errors(browser)
        time.sleep(0.5)
    assert "library's own pieces" in browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-tokenizer-lab-train.png"))
    st_open_page(browser, streamlit_url, "evaluation_lab", expect="Corpus scores")
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-evaluation-lab-scores.png"))
    assert not st_page_errors(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid='stAlertContentError']")
