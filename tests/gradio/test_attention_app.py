"""Attention tab through the API (gradio_client) and in headless Chromium."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest

from tests.browser import click_tab, open_app, page_errors

TEXT = "The cat sat on the mat because it was warm."


def test_api_returns_layers_heads_T_T_matching_transformers(client):
    import torch
    from transformers import AutoModel, AutoTokenizer

    from core.models import resolve

    out = client.predict(TEXT, "minilm", -1, -1, "", api_name="/attention")
    w = np.array(out["weights"], dtype=np.float32)
    T = len(out["tokens"])
    assert w.shape == (6, 12, T, T) and out["layers"] == list(range(6)) and out["heads"] == list(range(12))
    path = resolve("minilm").path
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    enc = tok(TEXT, return_tensors="pt")
    assert out["raw_tokens"] == tok.convert_ids_to_tokens(enc["input_ids"][0])
    with torch.inference_mode():
        direct = torch.stack([a[0] for a in model(**enc, output_attentions=True).attentions]).numpy()
    assert np.allclose(w, direct, atol=1e-5)  # via the API (JSON floats) vs a direct call: rounding only


def test_api_one_layer_one_head_of_the_decoder(client):
    out = client.predict("The capital of France is", "smollm2-135m", 3, 2, "", api_name="/attention")
    w = np.array(out["weights"])
    T = len(out["tokens"])
    assert w.shape == (1, 1, T, T) and out["kind"] == "decoder"
    assert np.abs(np.triu(w[0, 0], 1)).max() == 0
    assert "Paris" in "".join(t["token"] for t in out["next_tokens"][:5])


def test_api_saliency(client):
    out = client.predict("The capital of France is", "smollm2-135m", "", False, api_name="/attention_saliency")
    assert len(out["grad_x_input"]) == len(out["tokens"]) and "Paris" in out["target"]


@pytest.mark.parametrize("args, fragment", [
    (("", "minilm", -1, -1, ""), "empty"),
    (("hello", "bert-large-nope", -1, -1, ""), "valid models"),
    (("hello", "minilm", 7, 0, ""), "layers 0..5"),
])
def test_api_bad_input_is_an_error_message_and_the_app_stays_up(client, fragment, args):
    with pytest.raises(Exception, match=fragment):
        client.predict(*args, api_name="/attention")
    assert client.predict("ok", "minilm", 0, 0, "", api_name="/attention")["tokens"] == ["[CLS]", "ok", "[SEP]"]


# --- the browser ------------------------------------------------------------------------------

def _wait_svg_text(driver, text: str, timeout: float = 90) -> None:
    """Wait until a plotly figure title (SVG text) contains `text`; fail early on an error toast."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        # Read in one script call: plotly redraws its SVG, so element handles go stale.
        titles = driver.execute_script(
            "return Array.from(document.querySelectorAll('text.gtitle')).map(e => e.textContent || '')")
        if any(text in t for t in titles):
            return
        assert not page_errors(driver), page_errors(driver)
        time.sleep(0.5)
    raise AssertionError(f"no figure title with {text!r} within {timeout} s")


@pytest.mark.browser
@pytest.mark.slow
def test_browser_renders_a_sentence_and_switches_layer_and_head(app_url, browser, screenshot_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_app(browser, app_url)
    click_tab(browser, "Attention")
    browser.find_element(By.CSS_SELECTOR, "#attn-run").click()
    _wait_svg_text(browser, "Head view: layer 0, all heads")
    _wait_svg_text(browser, "What drove the output")
    assert "[CLS]" in browser.find_element(By.TAG_NAME, "body").text

    # Layer: type into the slider's number box.
    box = browser.find_element(By.CSS_SELECTOR, "#attn-layer input[type='number']")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("3", Keys.TAB)
    _wait_svg_text(browser, "Head view: layer 3")

    # Head: open the dropdown and pick head 5.
    head = browser.find_element(By.CSS_SELECTOR, "#attn-head input")
    head.click()
    head.send_keys(Keys.CONTROL, "a")
    head.send_keys("5")
    time.sleep(0.5)
    options = [o for o in browser.find_elements(By.CSS_SELECTOR, "[role='option'], ul.options li")
               if o.is_displayed() and o.text.strip() == "5"]
    if options:
        options[0].click()
    else:  # the dropdown picks the first match on Enter
        head.send_keys(Keys.ENTER)
    _wait_svg_text(browser, "Head view: layer 3, head 5")
    assert not page_errors(browser)
    browser.execute_script("document.querySelector('#attn-layer').scrollIntoView({block: 'start'});")
    time.sleep(1)
    browser.save_screenshot(os.path.join(screenshot_dir, "attention.png"))


@pytest.mark.browser
def test_browser_click_on_a_model_view_tile_opens_that_head(app_url, browser, screenshot_dir):
    """A real mouse click on the model view's tile for layer 4, head 7 opens it in the head view."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    open_app(browser, app_url)
    click_tab(browser, "Attention")
    browser.find_element(By.CSS_SELECTOR, "#attn-run").click()
    _wait_svg_text(browser, "What drove the output")
    click_tab(browser, "Model view")
    _wait_svg_text(browser, "Click a tile to open it")
    # Where the centre of tile (layer 4, head 7) is, in pixels from the plot area's centre.
    offset = browser.execute_script("""
        const gd = document.querySelector('#attn-model .js-plotly-plot');
        const L = gd._fullLayout, t = L.meta.tile, n = t - Math.max(1, Math.floor(t / 9));
        const x = L.xaxis.l2p(7 * t + (n - 1) / 2), y = L.yaxis.l2p(4 * t + (n - 1) / 2);
        return [x - L._size.w / 2, y - L._size.h / 2];
    """)
    drag = browser.find_element(By.CSS_SELECTOR, "#attn-model .nsewdrag")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", drag)
    time.sleep(0.5)
    ActionChains(browser).move_to_element_with_offset(drag, int(offset[0]), int(offset[1])).click().perform()
    _wait_svg_text(browser, "Head view: layer 4, head 7")
    assert not page_errors(browser)
    browser.save_screenshot(os.path.join(screenshot_dir, "attention-model-view-click.png"))
