"""Text Lab in both front ends: widgets drawn from the declaration, the API as a client calls it,
and the tab and page in headless Chromium."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
from selenium.webdriver.common.by import By

from core.text_lab import view as tv
from tests.browser import click_tab, open_app, page_errors, st_open_page, wait_for_text
from tests.streamlit_pages import run_page

ALL_CONTROLS = tv.PREPROCESS_CONTROLS + tv.VECTORIZE_CONTROLS + tv.SENTIMENT_CONTROLS + tv.TRAIN_CONTROLS
PREFIX = {**{c.name: "tl_pp" for c in tv.PREPROCESS_CONTROLS}, **{c.name: "tl_vec" for c in tv.VECTORIZE_CONTROLS},
          **{c.name: "tl_sent" for c in tv.SENTIMENT_CONTROLS}, **{c.name: "tl_train" for c in tv.TRAIN_CONTROLS}}


@pytest.fixture(scope="module")
def trained():
    """The default sentiment classifiers, trained once per process before any page waits on them
    (AppTest's timeout would otherwise count the training)."""
    from core.text_lab import sentiment as sa

    return sa.default_classifiers()


# --- widgets against the declaration -----------------------------------------------------------

def test_gradio_widgets_match_the_declaration():
    import gradio as gr

    from apps.gradio import text_lab

    with gr.Blocks() as demo:
        text_lab.build()
    by_label = {}
    for block in demo.blocks.values():
        label = getattr(block, "label", None)
        if label:
            by_label.setdefault(label, []).append(block)
    for c in ALL_CONTROLS:
        assert len(by_label.get(c.label, [])) == 1, f"{c.label!r}: {len(by_label.get(c.label, []))} components"
        comp = by_label[c.label][0]
        if c.kind in ("slider", "int", "number"):
            assert (comp.minimum, comp.maximum) == (c.minimum, c.maximum), c.name
        if c.kind in ("radio", "choice"):
            assert [ch[1] for ch in comp.choices] == list(c.choices), c.name
        assert comp.value == c.default, c.name


def test_streamlit_widgets_match_the_declaration():
    at = run_page("text_lab")
    widgets = {}
    for kind in ("text_area", "text_input", "checkbox", "radio", "selectbox", "number_input", "slider"):
        for w in getattr(at, kind):
            widgets[w.key] = w
    for c in ALL_CONTROLS:
        w = widgets[f"{PREFIX[c.name]}_{c.name}"]
        assert w.label == c.label and w.value == c.default, c.name
        if c.kind in ("slider", "int", "number"):
            assert (w.min, w.max) == (c.minimum, c.maximum), c.name
        if c.kind in ("radio", "choice"):
            assert list(w.options) == [str(x) for x in c.choices], c.name
    # the page ran every stage and the default corpus on open, and shows no error
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["tl_kept"].startswith("honestly critics reviews n't generous")
    assert "300 documents" in at.session_state["tl_vec"].summary


def test_streamlit_an_edited_stage_feeds_the_next_and_sentiment_runs(trained):
    at = run_page("text_lab")
    at.text_area(key="tl_tokens").set_value("the studies were n't running").run()
    assert at.session_state["tl_kept"] == "studies n't running"
    assert [r[3] for r in at.session_state["tl_norm_rows"]] == ["study", "not", "run"]
    at.button(key="FormSubmitter:tl_sent_form-Analyze").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = at.session_state["tl_sent"]
    assert [c.split(":")[0] for c in shown.cards] == ["**VADER", "**GloVe average", "**MiniLM"]


def test_gradio_an_edited_stage_feeds_the_next():
    from apps.gradio import text_lab

    kept, removed, rows, _ = text_lab.run_filter("the studies were n't running", True, True)
    assert kept == "studies n't running" and removed == "the were"
    tokens, _, summary, *_ = text_lab.run_tokenize("un-believable tokenization", "subword (WordPiece)", True, True)
    assert "##ization" in tokens.split() and "pieces per word" in summary
    rows, _ = text_lab.run_normalize("generously studies")
    assert [r[1:4] for r in rows] == [["gener", "generous", "generously"], ["studi", "studi", "study"]]


# --- the API -------------------------------------------------------------------------------------

def test_api_preprocess(client):
    out = client.predict("The <b>studies</b> weren't running!!!", "rule-based", "html,lowercase,whitespace",
                         True, True, api_name="/preprocess")
    assert out["cleaned"] == "the studies weren't running!!!"
    assert out["kept"] == ["studies", "n't", "running"] and out["lemmas"] == ["study", "not", "run"]
    assert out["porter"] == ["studi", "n't", "run"]
    sub = client.predict("tokenization", "subword (WordPiece)", "", False, False, api_name="/preprocess")
    assert sub["tokens"] == ["token", "##ization"] and len(sub["token_ids"]) == 2


def test_api_vectorize_equals_scikit_learn(client):
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    docs = ["The cat sat on the mat.", "The dog ate my homework!", "Cats and dogs, cats and DOGS.",
            "Ünïcödé café: the café is open"]
    corpus = "\n".join(docs)
    for method, ref in (("tfidf", TfidfVectorizer()), ("bow", CountVectorizer()),
                        ("one-hot", CountVectorizer(binary=True))):
        out = client.predict(corpus, method, api_name="/vectorize")
        assert out["vocabulary"] == list(ref.fit(docs).get_feature_names_out())
        # float64 on both sides, JSON keeps 17 significant digits: 1e-12 as in tests/core/test_text_lab.py
        np.testing.assert_allclose(np.array(out["matrix"]), ref.transform(docs).toarray(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("corpus, fragment", [
    ("", "corpus is empty"),
    ("only one document", "one document"),
    ("word " * 2_100_000, "MB; the limit"),  # a 10 MB paste
], ids=["empty", "one-document", "10-MB-paste"])
def test_api_vectorize_bad_corpus_is_a_message(client, corpus, fragment):
    with pytest.raises(Exception, match=fragment):
        client.predict(corpus, "tfidf", api_name="/vectorize")


def test_api_sentiment(client, trained):
    out = client.predict("A gorgeous, witty and deeply moving film.", api_name="/sentiment")
    assert {out[m]["label"] for m in ("VADER", "GloVe average", "MiniLM")} == {"positive"}
    assert out["held_out"]["MiniLM"] > out["held_out"]["majority"]
    assert [w[0] for w in out["VADER"]["words"]][:2] == ["A", "gorgeous"]
    with pytest.raises(Exception, match="None of these words is among GloVe"):
        client.predict("qwzxv blorfts", api_name="/sentiment")


# --- the browser ---------------------------------------------------------------------------------

def _button(driver, text: str):
    return next(b for b in driver.find_elements(By.TAG_NAME, "button") if b.is_displayed() and b.text == text)


@pytest.mark.browser
def test_gradio_tab_in_the_browser(app_url, browser, screenshot_dir):
    open_app(browser, app_url)
    click_tab(browser, "Text Lab")
    wait_for_text(browser, "tokens (rule-based)")  # every stage ran when the page opened
    browser.save_screenshot(os.path.join(screenshot_dir, "text_lab-preprocessing.png"))
    click_tab(browser, "Representations")
    wait_for_text(browser, "300 documents")
    browser.save_screenshot(os.path.join(screenshot_dir, "text_lab-representations.png"))
    click_tab(browser, "Sentiment")
    _button(browser, "Analyze").click()
    wait_for_text(browser, "on held-out", timeout=300)  # trains on first use unless already trained
    time.sleep(1)
    browser.save_screenshot(os.path.join(screenshot_dir, "text_lab-sentiment.png"))
    assert not page_errors(browser)


@pytest.mark.browser
def test_gradio_tab_shows_a_bad_corpus_as_a_message(app_url, browser):
    open_app(browser, app_url)
    click_tab(browser, "Text Lab")
    click_tab(browser, "Representations")
    wait_for_text(browser, "300 documents")
    corpus = next(e for e in browser.find_elements(By.CSS_SELECTOR, "input, [role='listbox']")
                  if e.is_displayed() and e.get_attribute("aria-label") == "Corpus")
    corpus.click()
    time.sleep(0.5)
    next(o for o in browser.find_elements(By.CSS_SELECTOR, "li[role='option']")
         if o.text.strip() == tv.OWN_CORPUS).click()
    _button(browser, "Vectorize").click()
    deadline = time.time() + 30
    while time.time() < deadline and not page_errors(browser):
        time.sleep(0.3)
    assert "corpus is empty" in " ".join(page_errors(browser))


@pytest.mark.browser
def test_streamlit_page_in_the_browser(streamlit_url, browser, screenshot_dir):
    st_open_page(browser, streamlit_url, "text_lab", expect="Porter vs Snowball")
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-text_lab.png"))
    next(t for t in browser.find_elements(By.CSS_SELECTOR, "[role='tab']") if "Representations" in t.text).click()
    wait_for_text(browser, "300 documents")  # drawn when the page opened
    time.sleep(1)
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-text_lab-representations.png"))
