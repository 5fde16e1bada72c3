"""Helpers for driving the app in headless Chromium (used by every tab's browser test)."""
from __future__ import annotations

import time

from selenium.webdriver.common.by import By

ERROR_SELECTORS = ("[data-testid='toast-body'].error", ".toast-body.error")


def click_at(driver, x: float, y: float) -> None:
    """A real pointer click at viewport coordinates (what a person's mouse does)."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(int(x), int(y))
    actions.pointer_action.pause(0.4)
    actions.pointer_action.click()
    actions.perform()


def number_box(driver, label: str):
    """The number box of the visible Gradio slider/number whose label starts with `label`."""
    for block in driver.find_elements(By.CSS_SELECTOR, ".block"):
        if block.is_displayed() and block.text.strip().startswith(label):
            boxes = [b for b in block.find_elements(By.CSS_SELECTOR, "input[type='number']") if b.is_displayed()]
            if boxes:
                return boxes[0]
    raise AssertionError(f"no visible number input labelled {label!r}")


def set_number(driver, label: str, value) -> None:
    """Type `value` into that number box, as a user would (select all, type, leave the box)."""
    from selenium.webdriver.common.keys import Keys

    box = number_box(driver, label)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(str(value), Keys.TAB)
    time.sleep(0.5)


def visible_tabs(driver) -> list:
    return [b for b in driver.find_elements(By.CSS_SELECTOR, "button[role='tab']") if b.is_displayed()]


def click_tab(driver, title: str) -> None:
    """Click the visible top-level or nested tab whose text is `title` (hidden twins are skipped)."""
    for button in visible_tabs(driver):
        if button.text.strip() == title:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
            button.click()
            time.sleep(0.5)
            return
    raise AssertionError(f"no visible tab {title!r}; visible: {[b.text for b in visible_tabs(driver)]}")


def page_errors(driver) -> list[str]:
    """Red error toasts and Python tracebacks visible on the page."""
    found = []
    for sel in ERROR_SELECTORS:
        found += [e.text for e in driver.find_elements(By.CSS_SELECTOR, sel) if e.is_displayed()]
    body = driver.find_element(By.TAG_NAME, "body").text
    if "Traceback (most recent call last)" in body:
        found.append("Python traceback on the page")
    return found


def wait_for_text(driver, text: str, timeout: float = 60) -> None:
    """Wait until `text` is visible in the page; fail early on an error toast."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in driver.find_element(By.TAG_NAME, "body").text:
            return
        errors = page_errors(driver)
        if errors:
            raise AssertionError(f"error on the page while waiting for {text!r}: {errors}")
        time.sleep(0.5)
    raise AssertionError(f"{text!r} did not appear within {timeout} s")


def open_app(driver, url: str) -> None:
    driver.get(url)
    deadline = time.time() + 60
    while time.time() < deadline and not visible_tabs(driver):
        time.sleep(0.5)
    assert visible_tabs(driver), "the app did not render any tab"


# ---- Streamlit front end -------------------------------------------------------------------

ST_ERROR_SELECTORS = ("[data-testid='stException']",)


def st_page_errors(driver) -> list[str]:
    """Streamlit exception boxes and Python tracebacks visible on the page."""
    found = [e.text for sel in ST_ERROR_SELECTORS for e in driver.find_elements(By.CSS_SELECTOR, sel)]
    body = driver.find_element(By.TAG_NAME, "body").text
    if "Traceback (most recent call last)" in body:
        found.append("Python traceback on the page")
    return found


def st_open_page(driver, url: str, path: str = "", expect: str = "", timeout: float = 180) -> None:
    """Open a Streamlit page and wait until its script has finished: `expect` is on the page, the
    running indicator is gone and the text has stopped changing. Fail on an exception box."""
    driver.get(url + path)
    deadline = time.time() + timeout
    last, stable_since = None, time.time()
    while time.time() < deadline:
        errors = st_page_errors(driver)
        if errors:
            raise AssertionError(f"exception on /{path}: {errors}")
        body = driver.find_element(By.TAG_NAME, "body").text
        running = driver.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']")
        if body != last:
            last, stable_since = body, time.time()
        if expect in body and not running and time.time() - stable_since > 1.5:
            return
        time.sleep(0.3)
    raise AssertionError(f"Streamlit page /{path} did not finish (expected {expect!r}) within {timeout} s")
