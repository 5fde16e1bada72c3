"""The LoRA Chat tab as a client (gradio_client) and as a person (headless Chromium) would use it."""
from __future__ import annotations

import os
import time
import uuid

import pytest
from gradio_client.exceptions import AppError
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser import click_tab, open_app, page_errors, set_number, wait_for_text


def test_chat_endpoint_answers_with_and_without_adapter(client):
    msgs = [{"role": "user", "content": "What is the capital of France?"}]
    base = client.predict(msgs, "", {"max_new_tokens": 24}, api_name="/chat")
    assert "paris" in base.lower()
    pirate = client.predict([{"role": "user", "content": "How do I cook rice?"}], "pirate-demo",
                            {"max_new_tokens": 24}, api_name="/chat")
    assert any(m in pirate.lower() for m in ("arr", "matey", "ahoy")), pirate


@pytest.mark.parametrize("args, match", [
    (([], "", {}), "non-empty"),
    (([{"role": "user", "content": "hi"}], "no-such-adapter", {}), "no adapter named"),
    (([{"role": "user", "content": "hi"}], "", {"temperature": 9}), "temperature"),
    (([{"role": "user", "content": "hi"}], "", {"max_tokens": 9}), "unknown setting"),
])
def test_chat_endpoint_bad_input_is_a_clear_error(client, args, match):
    with pytest.raises(AppError, match=match):
        client.predict(*args, api_name="/chat")


def test_compare_endpoint_returns_token_probabilities_for_both(client):
    out = client.predict("What is the capital of Italy?", "pirate-demo", {"max_new_tokens": 20}, "",
                         api_name="/compare")
    assert out["base_reply"] and out["adapted_reply"] and out["base_reply"] != out["adapted_reply"]
    toks = out["tokens"]
    assert len(toks) >= 3 and {"token", "p_base", "p_adapted", "log_ratio"} <= set(toks[0])
    assert out["mean_logprob_adapted"] > out["mean_logprob_base"]  # the adapted model's own reply


def test_adapters_endpoint_lists_the_shipped_adapter(client):
    rows = client.predict(api_name="/adapters")
    demo = [r for r in rows if r["name"] == "pirate-demo"]
    assert demo and demo[0]["shipped"] and demo[0]["base_model"] == "smollm2-135m"


@pytest.mark.slow
def test_finetune_endpoint_returns_adapter_and_losses(client):
    from core.chat.lora import delete_adapter

    from core.chat.lora_train import wait_until_free

    name = f"test-api-{uuid.uuid4().hex[:6]}"
    wait_until_free()  # another test run on this machine may be training
    out = client.predict("pirate", {"steps": 2, "learning_rate": 3e-3}, name, api_name="/finetune")
    try:
        assert out["adapter"] == name and out["state"] == "done" and len(out["losses"]) == 2
    finally:
        delete_adapter(name)
    with pytest.raises(AppError, match="at least"):
        client.predict('{"prompt": "a", "response": "b"}\n', {"steps": 2}, "", api_name="/finetune")


@pytest.mark.browser
@pytest.mark.slow
def test_browser_chat_then_compare(browser, app_url, screenshot_dir):
    open_app(browser, app_url)
    click_tab(browser, "LoRA Chat")
    box = [e for e in browser.find_elements(By.CSS_SELECTOR, "textarea")
           if e.is_displayed() and "capital of France" in (e.get_attribute("placeholder") or "")][0]
    box.send_keys("What is the capital of France?")
    box.send_keys(Keys.ENTER)
    wait_for_text(browser, "Paris", timeout=120)
    assert not page_errors(browser)
    browser.save_screenshot(os.path.join(screenshot_dir, "chat_tab.png"))

    click_tab(browser, "Fine-tune")
    wait_for_text(browser, "held out for perplexity", timeout=60)
    browser.save_screenshot(os.path.join(screenshot_dir, "chat_finetune.png"))

    click_tab(browser, "Compare")
    button = [b for b in browser.find_elements(By.TAG_NAME, "button")
              if b.is_displayed() and b.text.strip() == "Answer with both"][0]
    button.click()
    deadline = time.time() + 180
    values: list = []
    while time.time() < deadline:
        values = [t.get_attribute("value") or "" for t in browser.find_elements(By.CSS_SELECTOR, "textarea")
                  if t.is_displayed()]
        scored = [e for e in browser.find_elements(By.CSS_SELECTOR, ".textfield") if e.text.strip()]
        if len([v for v in values if v]) >= 3 and scored:
            break
        assert not page_errors(browser), page_errors(browser)
        time.sleep(1)
    assert scored, "no per-token probabilities shown"
    assert any("matey" in v.lower() or "arr" in v.lower() for v in values), values
    assert not page_errors(browser)
    time.sleep(1)
    browser.save_screenshot(os.path.join(screenshot_dir, "chat_compare.png"))


@pytest.mark.browser
@pytest.mark.slow
def test_browser_fine_tune_shows_progress_and_loss_then_lists_the_adapter(browser, app_url, screenshot_dir):
    from core.chat.lora import delete_adapter, list_adapters

    name = f"test-ui-{uuid.uuid4().hex[:6]}"
    open_app(browser, app_url)
    click_tab(browser, "LoRA Chat")
    click_tab(browser, "Fine-tune")
    set_number(browser, "Steps", 3)
    box = [e for e in browser.find_elements(By.CSS_SELECTOR, "input, textarea")
           if e.is_displayed() and "my-pirate" in (e.get_attribute("placeholder") or "")][0]
    box.send_keys(name)
    from core.chat.lora_train import wait_until_free

    wait_until_free()
    [b for b in browser.find_elements(By.TAG_NAME, "button") if b.is_displayed() and b.text.strip() == "Train"][0].click()
    try:
        wait_for_text(browser, f"Saved adapter {name}", timeout=300)
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "3 steps" in body and "Trainable: 0.46M of 135M" in body
        assert name in [a.name for a in list_adapters()]
        assert not page_errors(browser)
        plot = [e for e in browser.find_elements(By.XPATH, "//*[contains(text(), 'Training loss')]") if e.is_displayed()]
        if plot:
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", plot[0])
            time.sleep(1)
        browser.save_screenshot(os.path.join(screenshot_dir, "chat_trained.png"))
    finally:
        if name in [a.name for a in list_adapters()]:
            delete_adapter(name)
