"""The Streamlit TTS page, driven headless with AppTest on the real offline Piper voice (and espeak-ng);
XTTS cloning on the missing real entry and, for its code path only, a RANDOM-WEIGHT tiny XTTS."""
from __future__ import annotations

import io
import json

import pytest
import soundfile as sf

from core import tts
from core.tts import xtts as tts_xtts, view
from core.models import ModelMissingError
from tests.streamlit_pages import errors, run_page, text_of
from tests.xtts_fixture import random_xtts, speech_clip  # noqa: F401  (RANDOM-WEIGHT XTTS, tests only)

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
    from core.tts.coqui import is_available

    if not is_available("coqui-glow-tts"):
        assert "⚠️" in view.engine_note("coqui")  # says plainly it needs a download, and how


# ------------------------------------------------------------------------------------------
# XTTS v2 voice cloning
# ------------------------------------------------------------------------------------------
def wav_bytes(sample_rate: int, audio) -> bytes:
    out = io.BytesIO()
    sf.write(out, audio, sample_rate, format="WAV")
    return out.getvalue()


def choose_xtts(at):
    at.radio(key="tts_engine").set_value("coqui").run()
    at.selectbox(key="tts_voice_coqui").set_value(tts_xtts.XTTS_KEY).run()
    assert not at.exception
    return at


def test_xtts_controls_and_the_missing_weights_message(page, monkeypatch):
    """The real registry entry: no XTTS weights on this machine, so the page says how to get them,
    before and after Speak (nothing random is ever offered as XTTS)."""
    monkeypatch.delenv("NLP_STUDIO_MODEL_XTTS_V2", raising=False)
    assert not tts_xtts.is_available()
    assert tts_xtts.XTTS_KEY not in page.selectbox(key="tts_voice_piper").options
    choose_xtts(page)
    shown = text_of(page)
    assert tts_xtts.NOTE in shown and tts_xtts.HOW_TO_GET in shown
    assert view.engine_note("coqui", tts_xtts.XTTS_KEY) in shown  # the two-stage download is not XTTS'
    assert "core.tts.coqui download" not in view.engine_note("coqui", tts_xtts.XTTS_KEY)
    assert page.selectbox(key="tts_language").options == [f"{name} ({code})" for name, code in tts_xtts.LANGUAGES]
    assert page.selectbox(key="tts_language").value == "en"
    assert page.audio_input(key="tts_ref_record") is not None and page.file_uploader(key="tts_ref_upload") is not None
    page.file_uploader(key="tts_ref_upload").set_value(("me.wav", wav_bytes(22050, _voice(4.0)), "audio/wav"))
    speak(page, "Hello.")
    with pytest.raises(ModelMissingError) as missing:
        tts.synthesize("Hello.", engine="coqui", voice=tts_xtts.XTTS_KEY, reference=(22050, _voice(4.0)))
    assert errors(page) == [str(missing.value)] and "python -m core.download xtts-v2" in errors(page)[0]
    # back to Piper: the cloning controls go and the page still speaks
    page.radio(key="tts_engine").set_value("piper").run()
    assert not page.get("audio_input") and tts_xtts.HOW_TO_GET not in text_of(page)
    speak(page, "Still here.")
    assert not errors(page) and result(page)["speech"].engine == "piper"


def _voice(seconds: float, sr: int = 22050):
    import numpy as np

    rng = np.random.default_rng(1)
    n = int(seconds * sr)
    return (0.2 * np.sin(2 * np.pi * 180 * np.arange(n) / sr) + 0.02 * rng.standard_normal(n)).astype(np.float32)


def test_xtts_cloning_from_the_page_is_core_cloning(page, random_xtts, speech_clip, monkeypatch):
    """RANDOM WEIGHTS: the tiny random XTTS of tests/xtts_fixture.py stands in for the real
    loader in this test only; it checks the page's path (reference, language, noise) end to end."""
    import numpy as np

    monkeypatch.setattr(tts_xtts, "get_xtts_engine", lambda voice=None: random_xtts)
    choose_xtts(page)
    sr, clip = speech_clip
    upload = wav_bytes(sr, clip)
    # no reference yet, then a too-short one: core's messages
    speak(page, "Hello there, friend.")
    assert errors(page) == [core_message(tts.synthesize, "Hello there, friend.", engine=random_xtts)]
    page.file_uploader(key="tts_ref_upload").set_value(("short.wav", upload[: 44 + 2 * sr], "audio/wav"))
    speak(page)
    assert errors(page) == [core_message(tts_xtts.load_reference, upload[: 44 + 2 * sr])]
    assert "at least 3 s" in errors(page)[0]
    # a good upload, noise 0 (greedy): the page's take is core's, sample for sample
    page.file_uploader(key="tts_ref_upload").set_value(("me.wav", upload, "audio/wav"))
    page.slider(key="tts_noise").set_value(0.0)
    page.selectbox(key="tts_language").set_value("de")
    speak(page, "Hallo Welt.")
    assert not errors(page), errors(page)
    direct = tts.synthesize("Hallo Welt.", engine=random_xtts, reference=tts_xtts.load_reference(upload),
                            language="de", noise=0.0)
    speech = result(page)["speech"]
    assert speech.engine == "xtts" and speech.sample_rate == 24000
    # Same codes, same length; float sums may differ in the last bits between the page's thread and this one.
    np.testing.assert_allclose(speech.audio, direct.audio, rtol=0, atol=1e-5)
    assert "language='de'" in result(page)["code"] and "reference=" in result(page)["code"]
    # honest stages: no durations, no mel, BPE tokens instead of phonemes, and edits refused by core
    assert "does not expose durations" in result(page)["karaoke"]
    assert "XTTS has no mel stage" in result(page)["mel"].layout.title.text
    assert view.XTTS_TOKENS_NOTE in text_of(page)
    assert "| " + tts_xtts.STAGES[1] + " |" in text_of(page)
    edit(page, 0, "h·a·l·o")
    assert errors(page) == [core_message(tts.synthesize, "Hallo Welt.", engine=random_xtts,
                                         reference=tts_xtts.load_reference(upload), language="de",
                                         edits={0: "h·a·l·o"})]
    # a recording wins over the upload
    recording = wav_bytes(sr, clip[::-1].copy())
    page.audio_input(key="tts_ref_record").set_value(("rec.wav", recording, "audio/wav"))
    speak(page, "Hallo Welt.")
    assert not errors(page)
    from_rec = tts.synthesize("Hallo Welt.", engine=random_xtts, reference=recording, language="de", noise=0.0)
    np.testing.assert_allclose(result(page)["speech"].audio, from_rec.audio, rtol=0, atol=1e-5)
    assert not np.array_equal(from_rec.audio, direct.audio)


def test_xtts_built_in_speakers_once_loaded(page, random_xtts, speech_clip, monkeypatch):
    """RANDOM WEIGHTS (tests/xtts_fixture.py) with two made-up studio speakers, laid out as
    speakers_xtts.pth holds them, standing in for a loaded XTTS: the page lists them, none picked
    (the reference is used), and a picked one speaks as core does with that speaker."""
    import types

    import numpy as np
    import torch

    from core import models

    torch.manual_seed(5)
    studio = {name: {"gpt_cond_latent": torch.randn(1, 32, 64), "speaker_embedding": torch.randn(1, 512, 1)}
              for name in ("Claribel Dervla", "Ana Florence")}
    monkeypatch.setattr(random_xtts.model, "speaker_manager", types.SimpleNamespace(speakers=studio), raising=False)
    monkeypatch.setattr(tts_xtts, "get_xtts_engine", lambda voice=None: random_xtts)
    real_loaded, real_get = models.is_loaded, models.get
    monkeypatch.setattr(models, "is_loaded", lambda key: key == tts_xtts.XTTS_KEY or real_loaded(key))
    monkeypatch.setattr(models, "get", lambda key, *a, **k: random_xtts if key == tts_xtts.XTTS_KEY else real_get(key, *a, **k))
    choose_xtts(page)
    picker = page.selectbox(key="tts_xtts_speaker")
    assert picker.options == ["Ana Florence", "Claribel Dervla"] and picker.value is None
    assert picker.label == view.XTTS_SPEAKER_LABEL
    picker.set_value("Ana Florence")
    page.slider(key="tts_noise").set_value(0.0)
    speak(page, "Hi there.")
    assert not errors(page), errors(page)
    direct = tts.synthesize("Hi there.", engine=random_xtts, speaker="Ana Florence", noise=0.0)
    np.testing.assert_allclose(result(page)["speech"].audio, direct.audio, rtol=0, atol=1e-5)
    # a speaker and a reference at once: core's message
    page.file_uploader(key="tts_ref_upload").set_value(("me.wav", wav_bytes(*speech_clip), "audio/wav"))
    speak(page)
    assert errors(page) == [core_message(tts.synthesize, "Hi there.", engine=random_xtts, speaker="Ana Florence",
                                         reference=wav_bytes(*speech_clip), noise=0.0)]
