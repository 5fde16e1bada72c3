"""The app as a person sees it: headless Chromium opens it, clicks every tab, uses the Explorer."""
from __future__ import annotations

import os

import pytest
from selenium.webdriver.common.by import By

from apps.gradio import tab_modules
from tests.browser import click_tab, open_app, page_errors, wait_for_text

pytestmark = pytest.mark.browser


def test_every_tab_opens_without_errors(browser, app_url, screenshot_dir):
    open_app(browser, app_url)
    wait_for_text(browser, "NLP Studio")
    for module in tab_modules():
        click_tab(browser, module.TITLE)
        browser.save_screenshot(os.path.join(screenshot_dir, f"tab-{module.__name__.split('.')[-1]}.png"))
        assert not page_errors(browser), f"{module.TITLE}: {page_errors(browser)}"


def test_embedding_explorer_in_the_browser(browser, app_url, screenshot_dir):
    open_app(browser, app_url)
    click_tab(browser, "Embedding Explorer")
    wait_for_text(browser, "toad")  # neighbours of the pre-filled "frog", computed on page load
    browser.save_screenshot(os.path.join(screenshot_dir, "embeddings-neighbours.png"))

    click_tab(browser, "Analogies")
    button = next(b for b in browser.find_elements(By.TAG_NAME, "button")
                  if b.is_displayed() and b.text == "Solve the analogy")
    button.click()
    wait_for_text(browser, "queen")
    browser.save_screenshot(os.path.join(screenshot_dir, "embeddings-analogy.png"))

    click_tab(browser, "Projection (2D / 3D)")
    next(b for b in browser.find_elements(By.TAG_NAME, "button") if b.is_displayed() and b.text == "Project").click()
    wait_for_text(browser, "PCA in")
    browser.save_screenshot(os.path.join(screenshot_dir, "embeddings-projection.png"))

    click_tab(browser, "Semantic axes")
    next(b for b in browser.find_elements(By.TAG_NAME, "button")
         if b.is_displayed() and b.text == "Place the words").click()
    wait_for_text(browser, "scalar projection)")
    browser.save_screenshot(os.path.join(screenshot_dir, "embeddings-axes.png"))
    assert not page_errors(browser)


def test_a_bad_query_shows_a_message_not_a_crash(browser, app_url):
    open_app(browser, app_url)
    click_tab(browser, "Embedding Explorer")
    wait_for_text(browser, "toad")
    box = next(t for t in browser.find_elements(By.CSS_SELECTOR, "textarea") if t.is_displayed())
    box.clear()
    box.send_keys("qwzxvbnmkpl")
    next(b for b in browser.find_elements(By.TAG_NAME, "button")
         if b.is_displayed() and b.text == "Find neighbours").click()
    import time

    deadline = time.time() + 30
    while time.time() < deadline and not page_errors(browser):
        time.sleep(0.3)
    errors = page_errors(browser)
    assert errors and "not among" in " ".join(errors)
