"""The Streamlit TTS page, driven headless with AppTest on the real offline Piper voice (and espeak-ng)."""
from __future__ import annotations

import io
import json

import pytest
import soundfile as sf

from core import tts
from core import tts_view as view
from tests.streamlit_pages import errors, run_page, text_of

PHONEMES = view.PHONEME_HEADERS[2]


def core_message(fn, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def speak(at, text: str | None = None):
    if text is not None:
        at.text_area(key="tts_text").input(text)
    at.button(key="tts_speak").click()
    return at.run()


def edit(at, row: int, phonemes: str):
    """Edit one cell of the phoneme table as the browser would (the data_editor's widget state)."""
    at.session_state["tts_phonemes"] = {"edited_rows": {row: {PHONEMES: phonemes}}, "added_rows": [],
                                        "deleted_rows": []}
    at.button(key="tts_respeak").click()
    return at.run()


def result(at) -> dict:
    return at.session_state["tts_result"]


@pytest.fixture()
def page():
    return run_page("tts")


def test_page_renders_with_the_demo_text_and_engines(page):
    assert page.text_area(key="tts_text").value == view.DEMO_TEXT
    assert page.radio(key="tts_engine").options == ["Piper (offline)", "Coqui two-stage", "espeak-ng (baseline)"]
    assert "Press **Speak**" in text_of(page)
    assert not errors(page)


def test_speak_gives_the_same_stages_as_core(page):
    text = "Dr. Smith paid $5.50 on May 3rd. Then he left."
    speak(page, text)
    assert not page.exception and not errors(page)
    direct = tts.synthesize(text, "piper", "piper-joe", 1.0, noise=0.667, noise_w=0.8)
    speech = result(page)["speech"]
    assert speech.normalized.text == direct.normalized.text
    assert [(w.text, w.phonemes) for w in speech.words] == [(w.text, w.phonemes) for w in direct.words]
    # the phoneme table shows the same words and phonemes
    table = page.dataframe[0].value
    assert list(table["word"]) == [w.text for w in direct.words]
    assert list(table[PHONEMES]) == [w.phonemes for w in direct.words]
    # VITS samples its noise, so the length varies a little between takes
    assert abs(speech.duration - direct.duration) < 0.25 * direct.duration
    normalized = page.get("html")[0].proto.body
    assert "five dollars and fifty cents" in normalized and ">currency</sup>" in normalized
    page_text = text_of(page)
    assert "| synthesize |" in page_text
    assert "Sentence 1 ready" in page_text and "Sentence 2 ready" in page_text
    # the downloads are the take itself: a 22,050 Hz wav and its stage json
    wav, sr = sf.read(io.BytesIO(result(page)["wav"]))
    assert sr == speech.sample_rate == 22050 and len(wav) == len(speech.audio)
    stages = json.loads(result(page)["json"])
    assert stages["normalized"] == direct.normalized.text and len(stages["words"]) == len(direct.words)
    assert len(page.get("plotly_chart")) == 2  # durations timeline and mel-spectrogram


def test_each_sentence_gets_its_own_player_as_it_is_made(page):
    speak(page, "One sentence here. A second one follows. And a third!")
    notes = [m.value for m in page.markdown if str(m.value).startswith("Sentence ")]
    assert [n.split(" ready")[0] for n in notes] == ["Sentence 1", "Sentence 2", "Sentence 3"]
    assert len(page.get("audio")) >= 4  # three sentences, then the whole take


def test_a_phoneme_edit_is_spoken_and_kept_apart_from_the_previous_take(page):
    speak(page, view.DEMO_TEXT)
    first = result(page)["speech"]
    smith = [w.text for w in first.words].index("Smith")
    edit(page, smith, "smˈaɪθ")
    assert not errors(page)
    after = result(page)
    assert after["speech"].words[smith].phonemes == "smˈaɪθ" and after["speech"].words[smith].edited
    assert "edited: **Smith** /smˈɪθ/ → /smˈaɪθ/" in after["note"]
    assert after["previous"] is first
    direct = tts.synthesize(view.DEMO_TEXT, edits={smith: "smˈaɪθ"})
    assert [w.phonemes for w in after["speech"].words] == [w.phonemes for w in direct.words]
    assert "edits={" in after["code"]


def test_bad_inputs_show_the_core_message_and_the_page_keeps_working(page):
    speak(page, "   ")
    assert errors(page) == [core_message(tts.synthesize, "   ")]
    speak(page, "你好世界")
    assert errors(page) == [core_message(tts.synthesize, "你好世界")]
    speak(page, view.DEMO_TEXT)
    assert not errors(page)
    # no edit at all, then a symbol the voice does not have
    page.button(key="tts_respeak").click().run()
    assert errors(page) == [core_message(view.edits_from_rows, result(page)["rows"],
                                         [w.phonemes for w in result(page)["speech"].words], view.DEMO_TEXT,
                                         view.DEMO_TEXT)]
    edit(page, 1, "sm☃θ")
    assert errors(page) == [core_message(tts.synthesize, view.DEMO_TEXT, edits={1: "sm☃θ"})]
    speak(page, "It still works.")
    assert not errors(page) and result(page)["speech"].normalized.text == "It still works."


def test_a_rerun_redraws_without_calling_core(page, monkeypatch):
    speak(page, view.DEMO_TEXT)
    shown = result(page)

    def refuse(*args, **kwargs):
        raise AssertionError("a rerun with no new action must not synthesize")

    monkeypatch.setattr(tts, "stream", refuse)
    page.run()
    assert not page.exception and not errors(page)
    assert result(page) is shown and "first audio after" in text_of(page)


def test_espeak_baseline_and_coqui_note(page):
    page.radio(key="tts_engine").set_value("espeak").run()
    assert "rule-based formant synthesis" in text_of(page)
    assert page.selectbox(key="tts_voice_espeak").value == "en-us"
    assert any(s.key == "tts_pitch" for s in page.slider)
    speak(page, "Hello there.")
    assert not errors(page)
    speech = result(page)["speech"]
    assert speech.engine == "espeak" and not speech.has_durations
    assert "does not expose durations" in result(page)["karaoke"]
    page.radio(key="tts_engine").set_value("coqui").run()
    assert view.engine_note("coqui") in text_of(page)
    from core.coqui import is_available

    if not is_available("coqui-glow-tts"):
        assert "⚠️" in view.engine_note("coqui")  # says plainly it needs a download, and how
