"""Text to speech as a pipeline whose every stage can be seen: normalize, phonemize, durations,
(mel), waveform.

    speech = synthesize("Dr. Smith paid $5.50 on May 3rd")       # Piper, en_US-joe-medium
    speech.sample_rate, speech.audio                             # 22050, float32 [-1, 1], mono
    [(w.text, w.phonemes, w.start, w.end) for w in speech.words] # per word, seconds

This module is the one interface: `Speech`, `synthesize`, `stream`, `phonemize`, the engines by
name (`get_engine`) and the stage logic they share (sentences, input checks, phoneme edits,
timings). Engines share one small interface (`Engine`, in `core.tts.engine`):
`analyze(sentence) -> [Word]` and `render(words, options) -> Rendered`.
- "piper" (`core.tts.piper`): VITS exported to ONNX. End to end, so it has no mel stage; it
  does expose how many samples each phoneme lasts, which gives word and phoneme timings.
- "espeak" (`core.tts.espeak`): espeak-ng, the classic rule-based formant synthesizer.
- "coqui" (`core.tts.coqui`): an acoustic model (Tacotron2 / Glow-TTS -> mel) plus a HiFi-GAN
  vocoder; and voice "xtts-v2" (`core.tts.xtts`): XTTS v2, which clones the voice of a
  `reference` recording and speaks one of 17 `language`s (GPT-2 audio codes -> HiFi-GAN).
Long text is cut into sentences; `stream()` yields one `Speech` per sentence as soon as it is
ready, `synthesize()` joins them.
"""
from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Iterator, Mapping

import numpy as np

from core import config
from core.audio import to_int16
from core.tts.textnorm import Normalized, normalize
from core.tts.engine import (  # noqa: F401 - re-exported: core.tts.pipeline is the public interface
    PUNCT, Engine, Rendered, SynthesisOptions, Word, group_words, pick_speaker, text_words, words_from_phonemes,
)
from core.tts.espeak import EspeakEngine  # noqa: F401
from core.tts.piper import (  # noqa: F401 - load_piper is the registry's "core.tts.pipeline:load_piper"
    PiperEngine, load_piper, onnx_session_options, piper_engine, piper_voices,
)
from core.tts.xtts import XttsEngine, load_reference  # noqa: F401

ENGINES = ("piper", "espeak", "coqui")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhonemeTiming:
    phoneme: str
    start: float  # seconds from the start of the audio
    end: float
    word: int  # index into Speech.words, -1 for pauses and sentence markers


@dataclass(frozen=True)
class WordTiming:
    text: str
    phonemes: str
    punct: str
    sentence: int
    start: float | None  # seconds; None when the engine exposes no durations
    end: float | None
    edited: bool = False


@dataclass(frozen=True)
class Speech:
    """Synthesized speech with its stage data.

    audio: float32 mono in [-1, 1] at `sample_rate` Hz.
    mel: [n_mels, frames] from the acoustic model itself (Coqui), else None: an end-to-end
      model has no mel stage, so a figure computes one from the audio and says so.
    stage_seconds: wall time of each stage (normalize, phonemize, synthesize, ...).
    first_audio_seconds: from the call to the first sentence's audio being ready.
    """

    sample_rate: int
    audio: np.ndarray
    engine: str
    voice: str
    text: str
    normalized: Normalized
    words: tuple[WordTiming, ...]
    phonemes: tuple[PhonemeTiming, ...]
    mel: np.ndarray | None = None
    mel_hop: int = 256
    stage_seconds: Mapping[str, float] = field(default_factory=dict)
    first_audio_seconds: float = 0.0
    sentence: int = 0  # in a stream: this chunk's sentence index (0-based)
    offset: float = 0.0  # in a stream: where this chunk starts in the whole, seconds

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate

    @property
    def has_durations(self) -> bool:
        return bool(self.words) and self.words[0].start is not None

    def phoneme_string(self) -> str:
        """All words' phonemes, space separated, with their punctuation."""
        return " ".join(w.phonemes + w.punct for w in self.words)

    def to_json(self) -> dict:
        """The stage data as plain JSON (no audio)."""
        return {
            "engine": self.engine, "voice": self.voice, "sample_rate": self.sample_rate,
            "duration_s": round(self.duration, 4), "text": self.text,
            "normalized": self.normalized.text,
            "rewrites": [r.__dict__ for r in self.normalized.rewrites],
            "words": [w.__dict__ for w in self.words],
            "phonemes": [p.__dict__ for p in self.phonemes],
            "mel_source": "acoustic model" if self.mel is not None else "none (end-to-end model)",
            "stage_seconds": {k: round(v, 4) for k, v in self.stage_seconds.items()},
            "first_audio_s": round(self.first_audio_seconds, 4),
        }


# --------------------------------------------------------------------------------------------
# Phoneme edits
# --------------------------------------------------------------------------------------------
def apply_edits(words: list[Word], edits: Mapping[int | str, str] | None, first_index: int,
                check) -> list[Word]:
    """Replace phonemes: `edits` maps a word's index in the whole text, or a word itself
    (case-insensitive, every occurrence), to new IPA. `check(ipa)` raises on a bad symbol."""
    if not edits:
        return words
    by_text = {str(k).lower(): v for k, v in edits.items() if not isinstance(k, int)}
    out = []
    for offset, w in enumerate(words):
        new = edits.get(first_index + offset) if isinstance(edits, Mapping) else None
        if new is None:
            new = by_text.get(w.text.lower())
        if new is None or new.strip() == w.phonemes:
            out.append(w)
            continue
        new = unicodedata.normalize("NFC", new.strip())
        if not new:
            raise ValueError(f"the phonemes of word {first_index + offset} ({w.text!r}) are empty; "
                             "type some IPA or put the original back")
        try:
            check(new)
        except ValueError as exc:
            raise ValueError(f"word {first_index + offset} ({w.text!r}): {exc}") from None
        out.append(replace(w, phonemes=new, edited=True))
    return out


# --------------------------------------------------------------------------------------------
# Sentences and input checks
# --------------------------------------------------------------------------------------------
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+")
_LATIN_LANGS = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "cs", "sv", "da", "no", "nb", "fi",
                "ro", "hu", "tr", "ca", "sk", "sl", "hr", "sw", "vi", "id", "ms", "cy", "is", "lv", "lt",
                "et", "eu", "ga", "lb", "sq")


def split_sentences(text: str, max_chars: int | None = None, first_max_chars: int | None = None) -> list[str]:
    """Sentences, and sentences longer than `max_chars` cut at commas or spaces. With
    `first_max_chars`, the first sentence is cut that short too, so its audio is ready sooner."""
    max_chars = max_chars or config.TTS_MAX_SENTENCE_CHARS
    out = []
    for i, sentence in enumerate(_SENTENCE_END.split(text)):
        sentence = sentence.strip()
        if i == 0 and first_max_chars and len(sentence) > first_max_chars:
            cut = max(sentence.rfind(", ", 0, first_max_chars), sentence.rfind("; ", 0, first_max_chars))
            if cut <= 0:
                cut = sentence.rfind(" ", 0, first_max_chars)
            if cut > 0:
                out.append(sentence[:cut + 1].strip())
                sentence = sentence[cut + 1:].strip()
        while len(sentence) > max_chars:
            cut = max(sentence.rfind(", ", 0, max_chars), sentence.rfind("; ", 0, max_chars))
            if cut <= 0:
                cut = sentence.rfind(" ", 0, max_chars)
            if cut <= 0:
                cut = max_chars - 1
            out.append(sentence[:cut + 1].strip())
            sentence = sentence[cut + 1:].strip()
        if sentence:
            out.append(sentence)
    return out


def _script(ch: str) -> str:
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return "UNKNOWN"
    return name.split(" ")[0]


def check_text(text: str, language: str) -> None:
    """Clear errors for input a voice cannot read: empty, too long, or in another script."""
    if not text or not text.strip():
        raise ValueError("The text is empty: type a sentence to speak.")
    if len(text) > config.TTS_MAX_CHARS:
        raise ValueError(f"The text has {len(text):,} characters; the limit is {config.TTS_MAX_CHARS:,} "
                         "(about five minutes of speech). Split it, or raise NLP_STUDIO_TTS_MAX_CHARS.")
    if language.split("-")[0] in _LATIN_LANGS:
        foreign: dict[str, list[str]] = {}
        for ch in text:
            if ch.isalpha() and _script(ch) not in ("LATIN",):
                foreign.setdefault(_script(ch).title(), []).append(ch)
        if foreign:
            what = "; ".join(f"{script} ({''.join(chars[:12])})" for script, chars in foreign.items())
            raise ValueError(f"This voice speaks {language} and cannot read {what} text: it would "
                             "spell it out or skip it. Remove those characters, or choose a voice for "
                             "that language (any Piper .onnx voice path).")


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------
def get_engine(engine: str | Engine = "piper", voice: str | None = None) -> Engine:
    """The engine object for `engine` and `voice` (loaded once per process). An engine object
    passes through, so callers (and tests) can bring their own."""
    if not isinstance(engine, str):
        return engine
    if engine == "piper":
        return piper_engine(voice or "piper-joe")
    if engine == "espeak":
        return EspeakEngine(voice if voice and not voice.startswith("piper") else "en-us")
    if engine == "coqui":
        if voice and voice.startswith("xtts"):
            from core.tts.xtts import get_xtts_engine

            return get_xtts_engine(voice)
        from core.tts.coqui import get_coqui_engine

        return get_coqui_engine(voice)
    raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")


def phonemize(text: str, engine: str | Engine = "piper", voice: str = "piper-joe") -> tuple[Normalized, list[list[Word]]]:
    """Normalized text and its phonemes, per sentence and per word (no audio)."""
    eng = get_engine(engine, voice)
    check_text(text, eng.language)
    norm = normalize(text)
    sentences = split_sentences(norm.text)
    words = [eng.analyze(s) for s in sentences]
    if not any(words):
        raise ValueError("Nothing to speak: the text has only punctuation, symbols or emoji.")
    return norm, words


def _voice_options(eng: Engine, reference, language: str | None):
    """(reference loaded and checked, language) for an engine that clones voices (XTTS); a
    clear error when they are given to one that does not."""
    language = (language or "").strip() or None
    if getattr(eng, "name", "") == "xtts":
        return (None if reference is None else load_reference(reference)), language
    if reference is not None:
        raise ValueError(f"Reference audio is for voice cloning with XTTS (engine coqui, voice xtts-v2); "
                         f"the {eng.name} voice {eng.voice} has its own voice. Remove the reference or choose xtts-v2.")
    if language and language.split("-")[0] != eng.language.split("-")[0]:
        raise ValueError(f"The {eng.name} voice {eng.voice} speaks {eng.language}; it cannot switch to {language}. "
                         "Choose a voice for that language, or XTTS (voice xtts-v2), which speaks 17.")
    return None, None


def stream(text: str, engine: str | Engine = "piper", voice: str = "piper-joe",
           options: SynthesisOptions | None = None, edits: Mapping[int | str, str] | None = None,
           fast_start: bool = False) -> Iterator[Speech]:
    """Speak `text` sentence by sentence: one `Speech` per sentence, as soon as it is ready.

    `options`: rate, sampling noise, pitch, speaker, and for XTTS the `reference` voice to clone
    (a path, bytes, (sample_rate, samples) or a `Reference`; 3 to 30 s) and the `language` it
    speaks ("en", "de", ...); see `SynthesisOptions`. Text in another language than English is
    not run through the (English) normalizer; XTTS expands its numbers.
    Each chunk's timings are relative to its own audio; `offset` places it in the whole.
    `edits` replaces phonemes: {word index in the whole text or word text: "IPA"}.
    `fast_start` cuts a long first sentence after about TTS_FIRST_CHUNK_CHARS characters (at a
    comma if there is one): the first audio comes sooner, at the cost of a seam in its melody."""
    start = time.perf_counter()
    options = options or SynthesisOptions()
    eng = get_engine(engine, voice)
    ref, language = _voice_options(eng, options.reference, options.language)
    options = replace(options, reference=ref, language=language)
    check_text(text, language or eng.language)
    t0 = time.perf_counter()
    norm = normalize(text) if (language or "en").startswith("en") else Normalized(raw=text, text=text, rewrites=())
    t_norm = time.perf_counter() - t0
    max_chars = eng.max_chars(language) if hasattr(eng, "max_chars") else None  # an engine's own limit (XTTS)
    sentences = split_sentences(norm.text, max_chars,
                                first_max_chars=config.TTS_FIRST_CHUNK_CHARS if fast_start else None)
    if not sentences or not any(text_words(s) for s in sentences):
        raise ValueError("Nothing to speak: the text has only punctuation, symbols or emoji.")
    word_index, offset, spoke = 0, 0.0, 0
    for si, sentence in enumerate(sentences):
        t0 = time.perf_counter()
        words = eng.analyze(sentence)
        if not words:
            continue
        words = apply_edits(words, edits, word_index, eng.check_phonemes)
        t_g2p = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = eng.render(words, options)
        t_render = time.perf_counter() - t0
        t0 = time.perf_counter()
        sr = eng.sample_rate
        w_times, p_times = _timings(words, out, sr, si)
        t_align = time.perf_counter() - t0
        stages = {"normalize": t_norm if spoke == 0 else 0.0, "phonemize": t_g2p,
                  **(dict(out.stage_seconds) if out.stage_seconds else {"synthesize": t_render}),
                  "durations": t_align}
        chunk = Speech(sample_rate=sr, audio=out.audio, engine=eng.name, voice=eng.voice, text=text,
                       normalized=norm, words=w_times, phonemes=p_times, mel=out.mel,
                       mel_hop=out.mel_hop, stage_seconds=stages,
                       first_audio_seconds=time.perf_counter() - start, sentence=si, offset=offset)
        yield chunk
        offset += chunk.duration
        word_index += len(words)
        spoke += 1
    if not spoke:
        raise ValueError("Nothing to speak: the text has only punctuation, symbols or emoji.")


def _timings(words: list[Word], out: Rendered, sr: int, sentence: int):
    if out.phoneme_samples is None:
        return tuple(WordTiming(w.text, w.phonemes, w.punct, sentence, None, None, w.edited) for w in words), ()
    phones, pos = [], 0
    bounds: dict[int, list[float]] = {}
    for p, n, o in out.phoneme_samples:
        s, e = pos / sr, (pos + n) / sr
        phones.append(PhonemeTiming(p, s, e, o))
        if o >= 0:
            b = bounds.setdefault(o, [s, e])
            b[1] = e
        pos += n
    w_times = tuple(WordTiming(w.text, w.phonemes, w.punct, sentence, *bounds.get(i, (None, None)), w.edited)
                    for i, w in enumerate(words))
    return w_times, tuple(phones)


def join(chunks: list[Speech]) -> Speech:
    """One `Speech` from a stream's chunks: audio concatenated, timings shifted, word indices
    made global, stage times summed."""
    if not chunks:
        raise ValueError("nothing was synthesized")
    first = chunks[0]
    words, phones, mels, stages = [], [], [], {}
    for c in chunks:
        base = len(words)
        for w in c.words:
            words.append(w if w.start is None else replace(w, start=w.start + c.offset, end=w.end + c.offset))
        for p in c.phonemes:
            phones.append(replace(p, start=p.start + c.offset, end=p.end + c.offset,
                                  word=p.word + base if p.word >= 0 else -1))
        if c.mel is not None:
            mels.append(c.mel)
        for k, v in c.stage_seconds.items():
            stages[k] = stages.get(k, 0.0) + v
    audio = np.concatenate([c.audio for c in chunks]).astype(np.float32)
    mel = np.concatenate(mels, axis=1) if mels and len(mels) == len(chunks) else None
    return Speech(sample_rate=first.sample_rate, audio=audio, engine=first.engine, voice=first.voice,
                  text=first.text, normalized=first.normalized, words=tuple(words), phonemes=tuple(phones),
                  mel=mel, mel_hop=first.mel_hop, stage_seconds=stages,
                  first_audio_seconds=first.first_audio_seconds)


def synthesize(text: str, engine: str | Engine = "piper", voice: str = "piper-joe", rate: float = 1.0,
               edits: Mapping[int | str, str] | None = None, noise: float | None = None,
               noise_w: float | None = None, pitch: int | None = None,
               speaker: str | int | None = None, reference=None, language: str | None = None) -> Speech:
    """Speak `text` in one go (the options as keywords, for scripts and notebooks); returns audio
    (float32 mono, `sample_rate` Hz: 22,050 for the Piper voices, 24,000 for XTTS) with every
    stage's data. Raises ValueError with the fix for input it cannot speak. `reference` and
    `language`: XTTS voice cloning, see `stream`."""
    options = SynthesisOptions(rate=rate, noise=noise, noise_w=noise_w, pitch=pitch, speaker=speaker,
                               language=language, reference=reference)
    return join(list(stream(text, engine, voice, options, edits)))


def clone(text: str, reference, language: str = "en", engine: str | Engine = "coqui", voice: str = "xtts-v2",
          rate: float = 1.0, noise: float | None = None) -> Speech:
    """Speak `text` in the voice of `reference` (3 to 30 s of one person speaking) with XTTS v2."""
    if reference is None:
        raise ValueError("Voice cloning needs reference audio: upload or record 3 to 30 s of one person speaking.")
    return synthesize(text, engine, voice, rate, noise=noise, reference=reference, language=language)


def to_wav_bytes(speech: Speech) -> bytes:
    """16-bit PCM WAV of the audio."""
    import io
    import wave

    pcm = to_int16(speech.audio).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(speech.sample_rate)
        w.writeframes(pcm)
    return buf.getvalue()
