"""Transformer Lab and Preference Lab in headless Chromium, in both front ends: open the tab or
page, start a short run, see its numbers (or, for DPO, the run start and cancel it), no error box.
Screenshots land in out/screenshots for people to look at."""
from __future__ import annotations

import os
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser import (click_tab, open_app, page_errors, set_number, st_open_page, st_page_errors,
                           wait_for_text)

pytestmark = pytest.mark.browser
VERDICT = "a uniform guess is"  # in the run's verdict, whether or not it learned


def _button(driver, text: str):
    for b in driver.find_elements(By.TAG_NAME, "button"):
        if b.is_displayed() and b.text.strip() == text:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", b)
            return b
    raise AssertionError(f"no visible button {text!r}")


def _wait_any(driver, texts: tuple[str, ...], timeout: float, errors=page_errors) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = driver.find_element(By.TAG_NAME, "body").text
        for t in texts:
            if t in body:
                return t
        assert not errors(driver), errors(driver)
        time.sleep(0.5)
    raise AssertionError(f"none of {texts} appeared within {timeout} s")


def test_gradio_transformer_lab_trains_and_draws(browser, app_url, screenshot_dir):
    open_app(browser, app_url)
    click_tab(browser, "Transformer Lab")
    set_number(browser, "Training steps", 30)
    _button(browser, "Train").click()
    wait_for_text(browser, VERDICT, timeout=180)
    assert browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot"), "no figure drawn"
    assert not page_errors(browser)
    browser.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.5)
    browser.save_screenshot(os.path.join(screenshot_dir, "transformer-lab.png"))
    plots = browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", plots[-1])
    time.sleep(0.5)
    browser.save_screenshot(os.path.join(screenshot_dir, "transformer-lab-attention.png"))


def test_gradio_preference_lab_starts_a_run(browser, app_url, screenshot_dir):
    open_app(browser, app_url)
    click_tab(browser, "Preference Lab")
    wait_for_text(browser, "Optimising a reward can be gamed")
    set_number(browser, "Steps", 1)
    _button(browser, "Run DPO").click()
    _wait_any(browser, ("Preparing", "Step 1/1"), timeout=120)
    assert not page_errors(browser)
    browser.save_screenshot(os.path.join(screenshot_dir, "preference-lab.png"))
    _button(browser, "Cancel").click()
    time.sleep(1)
    assert not page_errors(browser)


def _st_home_slider(driver, value_now: int) -> None:
    """Move the Streamlit slider that shows `value_now` to its minimum with the Home key (widgets
    may still be skeletons for a while after the page's text is up on a busy machine)."""
    from selenium.webdriver.common.action_chains import ActionChains

    deadline = time.time() + 90
    while time.time() < deadline:
        # Streamlit 1.67 sliders are react-aria groups around a visually hidden <input type="range">.
        for box in driver.find_elements(By.CSS_SELECTOR, "input[type='range']"):
            if box.get_attribute("value") == str(value_now):
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", box)
                ActionChains(driver).send_keys(Keys.HOME).perform()
                time.sleep(1.0)
                assert box.get_attribute("value") != str(value_now), "the slider did not move"
                return
        time.sleep(0.5)
    raise AssertionError(f"no slider at {value_now}")


def test_streamlit_transformer_lab_trains(streamlit_url, browser, screenshot_dir):
    st_open_page(browser, streamlit_url, "transformer_lab", expect="a 2-layer model learns")
    _st_home_slider(browser, 300)  # steps: 300 -> 20
    _button(browser, "Train").click()
    _wait_any(browser, (VERDICT,), timeout=180, errors=st_page_errors)
    time.sleep(2)
    assert not st_page_errors(browser)
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-transformer-lab.png"))


def test_streamlit_preference_lab_starts_a_run(streamlit_url, browser, screenshot_dir):
    st_open_page(browser, streamlit_url, "preference_lab", expect="Optimising a reward can be gamed")
    _st_home_slider(browser, 20)  # steps: 20 -> 1
    _button(browser, "Run DPO").click()
    _wait_any(browser, ("Preparing", "Step 1/1"), timeout=120, errors=st_page_errors)
    assert not st_page_errors(browser)
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-preference-lab.png"))
    _button(browser, "Cancel").click()
    time.sleep(1)
    assert not st_page_errors(browser)
