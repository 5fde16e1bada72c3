"""Live Whisper in a real browser: Chromium's fake microphone plays a LibriVox clip into the tab."""
from __future__ import annotations

import os
import time

import pytest

from core import asr

CLIPS = asr.librivox_clips()
WORDS = ("john", "dashwood", "leisure", "consider", "prudently", "power")


def _visible_errors(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    found = []
    for el in driver.find_elements(By.CSS_SELECTOR, ".toast-body, .error, [data-testid='toast-body']"):
        if el.is_displayed() and el.text.strip():
            found.append(el.text.strip())
    body = driver.find_element(By.TAG_NAME, "body").text
    if "Traceback (most recent call last)" in body:
        found.append("traceback on page")
    return found


@pytest.mark.slow
@pytest.mark.skipif(not CLIPS, reason="needs Debian pocketsphinx-testdata (scripts/setup.sh --test)")
def test_fake_microphone_words_appear(app_url, mic_browser, screenshot_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    d = mic_browser
    d.get(app_url)
    wait = WebDriverWait(d, 60)
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "button[role='tab']")))
    tab = next(b for b in d.find_elements(By.CSS_SELECTOR, "button[role='tab']")
               if b.is_displayed() and b.text.strip() == "Live Whisper")
    tab.click()
    mic = wait.until(EC.visibility_of_element_located((By.ID, "whisper-mic")))
    record = wait.until(lambda _: next((b for b in mic.find_elements(By.TAG_NAME, "button")
                                        if b.is_displayed() and "record" in (b.text + (b.get_attribute("aria-label") or "")).lower()),
                                       None))
    record.click()
    text = d.find_element(By.ID, "whisper-live-text")
    deadline = time.time() + 120
    while time.time() < deadline and not any(w in text.text.lower() for w in WORDS):
        assert not _visible_errors(d), _visible_errors(d)
        time.sleep(1)
    time.sleep(3)  # let a few more updates land for the screenshot
    d.save_screenshot(os.path.join(screenshot_dir, "whisper_live.png"))
    content = text.text.lower()
    assert any(w in content for w in WORDS), content
    assert "lag behind real time" in d.find_element(By.ID, "whisper-meters").text.lower()
    assert "window whisper decodes" in d.find_element(By.ID, "whisper-policy").text.lower()
    assert not _visible_errors(d), _visible_errors(d)
    stop = next((b for b in mic.find_elements(By.TAG_NAME, "button")
                 if b.is_displayed() and "stop" in (b.text + (b.get_attribute("aria-label") or "")).lower()), None)
    if stop is not None:
        stop.click()
        time.sleep(2)
    assert not _visible_errors(d), _visible_errors(d)
