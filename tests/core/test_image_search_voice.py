"""The whole spoken path in a real browser: Chromium's fake microphone asks the question aloud
(speech synthesized by the TTS core), the tab transcribes, searches and answers with the cat."""
from __future__ import annotations

import os
import time

import pytest


@pytest.fixture(scope="module")
def voice_browser(tmp_path_factory):
    import soundfile as sf

    from core.audio import resample
    from core.tts.pipeline import synthesize
    from tests.conftest import make_browser

    speech = synthesize("Which picture shows an animal?")
    audio = resample(speech.audio, speech.sample_rate, 48000)
    pad = [0.0] * 48000 * 3  # Chromium loops the file: silence after the question
    wav = tmp_path_factory.mktemp("voice") / "question.wav"
    sf.write(wav, list(audio) + pad, 48000)
    driver = make_browser((f"--use-file-for-fake-audio-capture={wav}",))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _errors(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    found = [el.text for el in driver.find_elements(By.CSS_SELECTOR, ".toast-body") if el.is_displayed() and el.text]
    if "Traceback" in driver.find_element(By.TAG_NAME, "body").text:
        found.append("traceback on page")
    return found


def _button(root, word):
    from selenium.webdriver.common.by import By

    for b in root.find_elements(By.TAG_NAME, "button"):
        label = (b.text + " " + (b.get_attribute("aria-label") or "")).lower()
        if b.is_displayed() and word in label:
            return b
    return None


@pytest.mark.slow
def test_asked_aloud_answer_cites_the_cat(app_url, voice_browser, screenshot_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    d = voice_browser
    d.get(app_url)
    wait = WebDriverWait(d, 60)
    tab = wait.until(lambda _: next((b for b in d.find_elements(By.CSS_SELECTOR, "button[role='tab']")
                                     if b.is_displayed() and b.text.strip() == "Voice Image Search"), None))
    tab.click()
    box = wait.until(lambda _: d.find_element(By.CSS_SELECTOR, "#imgsearch-query textarea, #imgsearch-query input"))
    from selenium.webdriver.common.keys import Keys

    box.send_keys(Keys.CONTROL, "a")  # an empty box: Ask uses the recording
    box.send_keys(Keys.BACKSPACE)
    mic = d.find_element(By.ID, "imgsearch-voice")
    wait.until(lambda _: _button(mic, "record")).click()
    time.sleep(3.5)  # the question lasts about 2 s
    wait.until(lambda _: _button(mic, "stop")).click()
    wait.until(lambda _: d.find_elements(By.CSS_SELECTOR, "#imgsearch-voice audio, #imgsearch-voice .waveform-container"))
    time.sleep(2)  # the recording is uploaded
    d.find_element(By.ID, "imgsearch-ask").click()
    deadline = time.time() + 180
    body = ""
    while time.time() < deadline:
        body = d.find_element(By.TAG_NAME, "body").text
        if "Best match [1]" in body and "→ total" in body:
            break
        assert not _errors(d), _errors(d)
        time.sleep(1)
    d.save_screenshot(os.path.join(screenshot_dir, "image_search_voice.png"))
    assert "Best match [1]" in body, body[-2000:]
    asked = next(line for line in body.splitlines() if line.startswith("You asked:"))
    assert "picture" in asked.lower() or "animal" in asked.lower(), asked
    assert "chelsea.png" in body and "asr" in body
    assert not _errors(d), _errors(d)
