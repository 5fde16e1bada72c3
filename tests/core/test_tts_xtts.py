"""XTTS v2 voice cloning through core.tts.pipeline, on a small RANDOM-WEIGHT XTTS.

RANDOM WEIGHTS: no XTTS weights exist offline here (coqui/XTTS-v2 is a 1.8 GB download), so
these tests build coqui-tts' own `Xtts` class from an `XttsConfig` with tiny dimensions (a
1-layer, 64-wide GPT-2 with its perceiver resampler, a small HiFi-GAN decoder, the real ResNet
speaker encoder) and random weights. Its speech is noise; the tests check the code path only:
reference audio -> conditioning latents and speaker embedding -> GPT-2 audio codes -> HiFi-GAN
waveform, the language choice, the stage data, caching, and every error message.

The XTTS BPE vocabulary (vocab.json) is not shipped in any package either, so the fixture builds
a tiny character-level vocabulary with the same special tokens ([STOP], [UNK], [SPACE], [START],
[en], [de], ...) using the `tokenizers` library, and loads it through coqui's own
`VoiceBpeTokenizer`. Real XTTS would use its 6,681-token BPE vocabulary instead.
"""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from core import tts
from core.models import ModelMissingError
from core.tts.xtts import STAGES, XttsEngine, load_reference
from tests.xtts_fixture import LANGS, tiny_config, tiny_vocab, random_xtts, speech_clip  # noqa: F401


def test_clone_end_to_end_on_random_weights(random_xtts, speech_clip):
    ref = load_reference(speech_clip)
    # resampling may add or drop a few samples at the ends: 10 ms
    assert ref.sample_rate == 22050 and ref.duration == pytest.approx(len(speech_clip[1]) / 22050, abs=0.01)
    s = tts.synthesize("Hello there, friend.", engine=random_xtts, reference=ref, language="en", noise=0.0)
    assert s.engine == "xtts" and s.sample_rate == 24000
    assert s.audio.dtype == np.float32 and s.audio.ndim == 1 and len(s.audio) > 0
    assert np.abs(s.audio).max() <= 1.0
    # XTTS exposes neither a mel nor durations: nothing is made up for them
    assert s.mel is None and not s.has_durations and s.phonemes == ()
    assert set(STAGES) <= set(s.stage_seconds) and s.stage_seconds[STAGES[0]] > 0
    # the "phonemes" of a word are the tokens XTTS reads (here: characters of the test vocabulary)
    assert [w.text for w in s.words] == ["Hello", "there", "friend"]
    assert s.words[0].phonemes == "h·e·l·l·o" and s.words[1].punct == ","
    # the conditioning of a reference is computed once, then reused
    again = tts.synthesize("Hello there, friend.", engine=random_xtts, reference=ref, language="en", noise=0.0)
    assert again.stage_seconds[STAGES[0]] == 0.0
    np.testing.assert_array_equal(again.audio, s.audio)  # noise=0: greedy decoding, same codes


def test_reference_reaches_the_model(random_xtts, speech_clip):
    from core.tts.engine import SynthesisOptions

    a = load_reference(speech_clip)
    sr, audio = speech_clip
    b = load_reference((sr, audio[::-1].copy()))  # same loudness, different sound
    la, ea, _ = random_xtts.conditioning(SynthesisOptions(reference=a))
    lb, eb, _ = random_xtts.conditioning(SynthesisOptions(reference=b))
    assert tuple(la.shape) == (1, 32, 64) and tuple(ea.shape) == (1, 512, 1)
    assert not np.allclose(ea.numpy(), eb.numpy()) and not np.allclose(la.numpy(), lb.numpy())


def test_rate_language_and_streaming(random_xtts, speech_clip, monkeypatch):
    ref = load_reference(speech_clip)
    base = tts.synthesize("Guten Tag.", engine=random_xtts, reference=ref, language="de", noise=0.0)
    slow = tts.synthesize("Guten Tag.", engine=random_xtts, reference=ref, language="de", noise=0.0, rate=0.5)
    assert len(slow.audio) == pytest.approx(2 * len(base.audio), rel=0.1)  # XTTS stretches its latents
    # German text is not run through the English normalizer (XTTS expands its own numbers)
    de = tts.synthesize("Ich habe 5 Katzen.", engine=random_xtts, reference=ref, language="de", noise=0.0)
    assert de.normalized.text == "Ich habe 5 Katzen." and de.normalized.rewrites == ()
    chunks = list(tts.stream("One cat. Two dogs!", random_xtts, options=tts.SynthesisOptions(reference=ref, language="en", noise=0.0)))
    assert [c.sentence for c in chunks] == [0, 1] and chunks[1].offset == pytest.approx(chunks[0].duration)
    assert chunks[1].stage_seconds[STAGES[0]] == 0.0  # second sentence: conditioning reused
    # a sentence longer than XTTS' own limit for its language (real: 239 characters for Spanish;
    # lowered here to fit the tiny model's 120 tokens) is cut before it reaches the GPT
    monkeypatch.setitem(random_xtts.model.tokenizer.char_limits, "es", 50)
    long = "uno dos tres cuatro, " * 4  # 84 characters, one sentence
    parts = list(tts.stream(long, random_xtts, options=tts.SynthesisOptions(reference=ref, language="es", noise=0.0)))
    assert len(parts) == 2 and all(len(" ".join(w.text + w.punct for w in p.words)) <= 50 for p in parts)
    with pytest.raises(ValueError, match="does not speak 'xx'; its languages: en, de, fr, es"):
        tts.synthesize("Hello.", engine=random_xtts, reference=ref, language="xx")


def test_xtts_input_errors(random_xtts, speech_clip):
    ref = load_reference(speech_clip)
    with pytest.raises(ValueError, match="upload or record 3 to 30 s of reference audio"):
        tts.synthesize("Hello.", engine=random_xtts, language="en")
    with pytest.raises(ValueError, match="not IPA, so phoneme edits do not apply"):
        tts.synthesize("Hello world.", engine=random_xtts, reference=ref, edits={1: "wɜːld"})
    with pytest.raises(ValueError, match="the limit is 119"):
        tts.synthesize("a " * 80, engine=random_xtts, reference=ref)
    with pytest.raises(ValueError, match="single speaker|either reference audio"):
        tts.synthesize("Hello.", engine=random_xtts, reference=ref, speaker="Ana")
    # the engine still works after the errors
    assert len(tts.synthesize("Hi.", engine=random_xtts, reference=ref, noise=0.0).audio) > 0


def test_bad_reference_audio_says_what_to_do(tmp_path):
    sr = 22050
    rng = np.random.default_rng(0)
    def voice(seconds, rate=sr):
        n = int(seconds * rate)
        return (0.2 * np.sin(2 * np.pi * 180 * np.arange(n) / rate) + 0.02 * rng.standard_normal(n)).astype(np.float32)

    with pytest.raises(ValueError, match=r"1\.0 s long; XTTS needs at least 3 s"):
        load_reference((sr, voice(1.0)))
    with pytest.raises(ValueError, match="41 s long; the limit is 30 s"):
        load_reference((sr, voice(41.0)))
    with pytest.raises(ValueError, match="silent"):
        load_reference((sr, np.zeros(5 * sr, np.float32)))
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio at all")
    with pytest.raises(ValueError, match="The reference audio could not be used"):
        load_reference(str(text))
    with pytest.raises(ValueError, match="needs reference audio"):
        load_reference(None)
    wav = tmp_path / "ok.wav"
    sf.write(wav, voice(4.0, 44100), 44100)  # any rate: resampled to 22,050 Hz
    ref = load_reference(str(wav))
    assert ref.name == "ok.wav" and ref.duration == pytest.approx(4.0, abs=0.05)  # resampler edge samples


def test_reference_is_only_for_xtts(speech_clip):
    with pytest.raises(ValueError, match="Reference audio is for voice cloning with XTTS"):
        tts.synthesize("Hello.", reference=speech_clip)
    with pytest.raises(ValueError, match="speaks en-us; it cannot switch to de"):
        tts.synthesize("Hallo.", language="de")


def test_missing_xtts_weights_say_how_to_get_them(monkeypatch):
    monkeypatch.delenv("NLP_STUDIO_MODEL_XTTS_V2", raising=False)
    with pytest.raises(ModelMissingError) as err:
        tts.synthesize("Hello.", engine="coqui", voice="xtts-v2", reference=None)
    msg = str(err.value)
    assert "python -m core.download xtts-v2" in msg and "1.8 GB" in msg and "non-commercial" in msg
    with pytest.raises(ModelMissingError, match="python -m core.download xtts-v2"):
        tts.clone("Hello.", reference=(22050, np.ones(22050 * 4, np.float32) * 0.1))


def test_xtts_figures_say_what_is_missing(random_xtts, speech_clip):
    from core.tts.figures import karaoke_html, mel_figure, stage_rows, timeline_figure

    s = tts.synthesize("Hello.", engine=random_xtts, reference=load_reference(speech_clip), noise=0.0)
    assert "XTTS has no mel stage" in mel_figure(s).layout.title.text
    assert "no durations" in timeline_figure(s).layout.title.text
    assert "does not expose durations" in karaoke_html(s)
    rows = {r[0]: r[2] for r in stage_rows(s)}
    assert "BPE" in rows["phonemize"] and "codes" in rows[STAGES[1]]


def test_gradio_tab_clones_through_its_handler(random_xtts, speech_clip, tmp_path, monkeypatch):
    """The tab's Speak handler with an XTTS voice, reference file and language. RANDOM WEIGHTS:
    the random engine is put in place of the real loader for this test only."""
    from apps.gradio import tts as tab

    assert not tab.xtts_controls("piper", "piper-joe")[0]["visible"]
    assert not tab.voice_speakers("coqui", "xtts-v2")["visible"]  # not loaded: no speaker list yet
    shown, note = tab.xtts_controls("coqui", "xtts-v2")
    assert shown["visible"] and "python -m core.download xtts-v2" in note and "non-commercial" in note
    with pytest.raises(ModelMissingError, match="1.8 GB"):  # no weights here: Speak says how to get them
        list(tab.speak("Hello.", "coqui", "xtts-v2", 1.0, 0.0, 0.8, 50, False, None, None, None, "en"))

    import core.tts.xtts

    monkeypatch.setattr(core.tts.xtts, "get_xtts_engine", lambda voice=None: random_xtts)
    wav = tmp_path / "me.wav"
    sf.write(wav, speech_clip[1], speech_clip[0])
    with pytest.raises(ValueError, match="upload or record 3 to 30 s of reference audio"):
        list(tab.speak("Hello.", "coqui", "xtts-v2", 1.0, 0.0, 0.8, 50, False, None, None, None, "en"))
    outs = list(tab.speak("Hallo Welt.", "coqui", "xtts-v2", 1.0, 0.0, 0.8, 50, False, None, None, str(wav), "de"))
    final = outs[-1]
    assert final[1].startswith("xtts · random-xtts")
    assert [row[1] for row in final[3]] == ["Hallo", "Welt"]
    assert "language='de'" in final[10] and "reference=" in final[10]
    table = final[3]
    table[0][2] = "h·a·l·o"
    with pytest.raises(ValueError, match="phoneme edits do not apply"):
        list(tab.respeak("Hallo Welt.", "coqui", "xtts-v2", 1.0, 0.0, 0.8, 50, False, None, table, final[11],
                         str(wav), "de"))


def test_registry_loader_reads_an_xtts_folder(tmp_path, speech_clip):
    """core.tts.xtts.load_xtts (the registry's loader for xtts-v2) on a folder laid out like
    coqui/XTTS-v2 (config.json, model.pth, vocab.json) holding a RANDOM-WEIGHT tiny model: the
    real loading code (XttsConfig.load_json, Xtts.init_from_config, load_checkpoint) runs."""
    import torch
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    from core import models
    from core.registry import MODELS
    from core.tts.xtts import load_xtts

    assert models._import_loader(MODELS["xtts-v2"].loader) is load_xtts
    cfg = tiny_config()
    with pytest.raises(ModelMissingError, match="lacks config.json, model.pth, vocab.json"):
        load_xtts(tmp_path, "cpu")
    tiny_vocab(tmp_path / "vocab.json")
    torch.manual_seed(3)
    model = Xtts(cfg)
    model.tokenizer = VoiceBpeTokenizer(vocab_file=str(tmp_path / "vocab.json"))
    model.init_models()
    torch.save({"model": model.state_dict()}, tmp_path / "model.pth")
    cfg.save_json(str(tmp_path / "config.json"))
    # built-in studio speakers, as speakers_xtts.pth holds them: name -> (GPT latents, speaker embedding)
    torch.save({name: {"gpt_cond_latent": torch.randn(1, 32, 64), "speaker_embedding": torch.randn(1, 512, 1)}
                for name in ("Claribel Dervla", "Ana Florence")}, tmp_path / "speakers_xtts.pth")
    engine = load_xtts(tmp_path, "cpu")
    assert isinstance(engine, XttsEngine) and engine.voice == "xtts-v2" and engine.languages() == list(LANGS)
    loaded = dict(engine.model.named_parameters())
    for name, p in model.named_parameters():
        assert torch.equal(loaded[name], p), name
    s = tts.synthesize("Hi.", engine=engine, reference=load_reference(speech_clip), noise=0.0)
    assert s.sample_rate == 24000 and len(s.audio) > 0
    # a built-in speaker instead of a reference (no conditioning to compute)
    assert engine.speakers() == ["Ana Florence", "Claribel Dervla"]
    ana = tts.synthesize("Hi.", engine=engine, speaker="Ana Florence", noise=0.0)
    cla = tts.synthesize("Hi.", engine=engine, speaker=1, noise=0.0)
    assert ana.stage_seconds[STAGES[0]] == 0.0 and not np.array_equal(ana.audio, cla.audio)
    with pytest.raises(ValueError, match="or pick one of its 2 built-in speakers"):
        tts.synthesize("Hi.", engine=engine)
    with pytest.raises(ValueError, match="no speaker 'Bob'; its speakers: Ana Florence, Claribel Dervla"):
        tts.synthesize("Hi.", engine=engine, speaker="Bob")
