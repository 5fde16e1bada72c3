"""The TTS pipeline on the real offline Piper voice (en_US-joe-medium), and espeak-ng."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core import tts
from core.tts.figures import karaoke_html, mel_figure, mel_from_audio, stage_rows, timeline_figure

DEMO = "Dr. Smith paid $5.50 on May 3rd."


@pytest.fixture(scope="session")
def demo_speech():
    # noise 0: VITS becomes deterministic, so two runs differ only where the input differs
    return tts.synthesize(DEMO, noise=0.0, noise_w=0.0)


def test_audio_format_and_plausible_duration(demo_speech):
    s = demo_speech
    assert s.sample_rate == 22050
    assert s.audio.dtype == np.float32 and s.audio.ndim == 1
    assert np.max(np.abs(s.audio)) <= 1.0
    n_words = len(s.normalized.text.split())  # 11 spoken words
    assert 0.15 * n_words < s.duration < 0.6 * n_words
    assert s.engine == "piper" and s.voice == "piper-joe"


def test_stage_data(demo_speech):
    s = demo_speech
    assert s.normalized.text == "Doctor Smith paid five dollars and fifty cents on May third."
    assert [w.text for w in s.words][:3] == ["Doctor", "Smith", "paid"]
    assert s.words[1].phonemes == "smˈɪθ"
    assert s.words[-1].punct == "."
    # durations: phonemes tile the audio exactly; words are ordered and inside it
    # sample counts over the rate: exact in integers, float sums only round (1e-6 s is 0.02 samples)
    assert sum(p.end - p.start for p in s.phonemes) == pytest.approx(s.duration, abs=1e-6)
    starts = [w.start for w in s.words]
    assert starts == sorted(starts) and all(0 <= w.start < w.end <= s.duration + 1e-6 for w in s.words)
    assert set(s.stage_seconds) >= {"normalize", "phonemize", "synthesize", "durations"}
    data = json.loads(json.dumps(s.to_json()))
    assert data["words"][1]["text"] == "Smith" and data["sample_rate"] == 22050


def test_same_input_same_audio_without_noise(demo_speech):
    again = tts.synthesize(DEMO, noise=0.0, noise_w=0.0)
    # exact on purpose: the same ids through the same ONNX session on one machine (noise off) give
    # the same samples; nothing here compares samples across machines
    assert np.array_equal(again.audio, demo_speech.audio)


def _word_mel(s: tts.Speech, i: int, frames: int = 20) -> np.ndarray:
    w = s.words[i]
    mel = mel_from_audio(s.audio[int(w.start * s.sample_rate):int(w.end * s.sample_rate)], s.sample_rate)
    return mel[:, np.linspace(0, mel.shape[1] - 1, frames).round().astype(int)]


def test_editing_one_words_phonemes_changes_that_word(demo_speech):
    edited = tts.synthesize(DEMO, noise=0.0, noise_w=0.0, edits={1: "smˈaɪθ"})  # Smith -> "Smythe"
    assert edited.words[1].phonemes == "smˈaɪθ" and edited.words[1].edited
    assert not any(w.edited for i, w in enumerate(edited.words) if i != 1)
    dist = [float(np.abs(_word_mel(demo_speech, i) - _word_mel(edited, i)).mean())
            for i in range(len(edited.words))]
    others = dist[:1] + dist[2:]
    assert dist[1] == max(dist), dist
    assert dist[1] > 1.5 * float(np.median(others)), dist
    # edits by word text do the same thing
    by_text = tts.synthesize(DEMO, noise=0.0, noise_w=0.0, edits={"smith": "smˈaɪθ"})
    assert np.array_equal(by_text.audio, edited.audio)  # the same phoneme ids, same session: exact


def test_invalid_phoneme_edit_names_the_symbol():
    with pytest.raises(ValueError, match=r"word 1 \('Smith'\).*'X'"):
        tts.synthesize(DEMO, edits={1: "smXθ"})


def test_rate_changes_duration(demo_speech):
    fast = tts.synthesize(DEMO, rate=2.0, noise=0.0, noise_w=0.0)
    assert fast.duration < 0.7 * demo_speech.duration


def test_merged_words_group_together():
    s = tts.phonemize("Most of the cats ran.")[1][0]
    texts = [w.text for w in s]
    assert "of the" in texts or ("of" in texts and "the" in texts)
    assert "".join(w.text.replace(" ", "") for w in s) == "Mostofthecatsran"


def test_stream_yields_sentence_by_sentence():
    chunks = list(tts.stream("One fish. Two fish. Red fish, blue fish."))
    assert [c.sentence for c in chunks] == [0, 1, 2]
    assert chunks[0].first_audio_seconds < chunks[-1].first_audio_seconds
    assert chunks[1].offset == pytest.approx(chunks[0].duration)  # sums of sample counts / rate
    whole = tts.join(chunks)
    assert whole.duration == pytest.approx(sum(c.duration for c in chunks))  # float sum of the same counts
    assert [w.sentence for w in whole.words] == [0, 0, 1, 1, 2, 2, 2, 2]
    assert whole.words[2].start >= chunks[0].duration - 1e-6


@pytest.mark.parametrize("text,kwargs,message", [
    ("", {}, "empty"),
    ("   ", {}, "empty"),
    ("a" * 50_000, {}, "limit is"),
    ("!!! ... ???", {}, "Nothing to speak"),
    ("😀🎉", {}, "Nothing to speak"),
    ("Hello Привет мир", {}, "Cyrillic"),
    ("Hello 日本", {}, "Cjk"),
    ("Hello", {"voice": "/no/such/voice.onnx"}, "outside the folders"),  # core.file_roots
    ("Hello", {"voice": "not-a-voice"}, "Unknown voice"),
    ("Hello", {"rate": 9.0}, "rate must be"),
    ("Hello", {"engine": "sapi"}, "unknown engine"),
])
def test_bad_input_gets_a_clear_message(text, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tts.synthesize(text, **kwargs)


def test_fast_start_cuts_the_first_sentence():
    text = "Dr. Smith paid $5.50 on May 3rd for a cup of coffee. The shop opens."
    normal = list(tts.stream(text))
    fast = list(tts.stream(text, fast_start=True))
    assert len(normal) == 2 and len(fast) == 3
    assert fast[0].duration < 0.75 * normal[0].duration
    assert [w.text for w in tts.join(fast).words] == [w.text for w in tts.join(normal).words]


def test_long_text_is_chunked():
    text = "This clause keeps going, " * 40 + "and ends."
    parts = tts.split_sentences(text)
    assert len(parts) > 1 and all(len(p) <= 400 for p in parts)


def test_wav_bytes_round_trip(demo_speech):
    import io

    import soundfile as sf

    audio, sr = sf.read(io.BytesIO(tts.to_wav_bytes(demo_speech)), dtype="float32")
    assert sr == 22050 and len(audio) == len(demo_speech.audio)


def test_figures(demo_speech):
    fig = timeline_figure(demo_speech)
    assert len(fig.data) == 2  # waveform + phoneme bars
    mel = mel_figure(demo_speech)
    assert "computed from the audio" in mel.layout.title.text
    assert mel.data[0].z.shape[0] == 80
    assert "data-s=" in karaoke_html(demo_speech)
    assert stage_rows(demo_speech)[0][0] == "normalize"


def test_espeak_baseline():
    s = tts.synthesize("Hello there, friends.", engine="espeak")
    assert s.engine == "espeak" and s.sample_rate == 22050
    assert 0.5 < s.duration < 4
    assert [w.text for w in s.words] == ["Hello", "there", "friends"] and s.words[1].punct == ","
    assert not s.has_durations
    assert "no durations" in timeline_figure(s).layout.title.text
    with pytest.raises(ValueError, match="reads text, not IPA"):
        tts.synthesize("Hello there.", engine="espeak", edits={0: "hɛlˈoʊ"})


def test_coqui_without_weights_says_how_to_get_them():
    from core.tts.coqui import is_available
    from core.models import ModelMissingError

    if is_available("coqui-glow-tts"):
        pytest.skip("Coqui weights are on this machine")
    with pytest.raises(ModelMissingError, match="python -m core.tts.coqui download coqui-glow-tts"):
        tts.synthesize("Hello.", engine="coqui", voice="coqui-glow-tts")


ROUND_TRIP = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "She sells sea shells by the sea shore.",
    "A large red balloon floated over the quiet village.",
    "We will meet at the library after lunch on Friday.",
    "Dr. Smith paid $5.50 on May 3rd.",
]
ROUND_TRIP_MAX_WER = 0.15  # measured 0.069 here (seashells, $5 for five fifty): see docs/tts.md


@pytest.mark.slow
def test_round_trip_through_whisper():
    from core.asr.whisper import transcribe, word_error_rate
    from core.audio import resample
    from core.tts.textnorm import normalize

    hyps = []
    for sentence in ROUND_TRIP:
        s = tts.synthesize(sentence)
        hyps.append(transcribe(resample(s.audio, s.sample_rate, 16000), model="whisper-tiny.en").text)
    refs = [normalize(r).text for r in ROUND_TRIP]
    wer = word_error_rate(refs, hyps)
    assert wer <= ROUND_TRIP_MAX_WER, list(zip(refs, hyps))


def test_single_speaker_voice_refuses_a_speaker():
    assert tts.get_engine("piper", "piper-joe").speakers() == []
    with pytest.raises(ValueError, match="single speaker"):
        tts.synthesize("Hello.", speaker="2")
