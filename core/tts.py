"""Text to speech as a pipeline whose every stage can be seen: normalize, phonemize, durations,
(mel), waveform.

    speech = synthesize("Dr. Smith paid $5.50 on May 3rd")       # Piper, en_US-joe-medium
    speech.sample_rate, speech.audio                             # 22050, float32 [-1, 1], mono
    [(w.text, w.phonemes, w.start, w.end) for w in speech.words] # per word, seconds

Engines share one small interface (`Engine`): `analyze(sentence) -> [Word]` (grapheme to
phoneme, one editable entry per spoken word) and `render(words, options) -> Rendered` (audio,
plus phoneme durations and a mel-spectrogram where the engine has them).
- "piper": VITS exported to ONNX. End to end, so it has no mel stage; it does expose how many
  samples each phoneme lasts (its duration predictor), which gives word and phoneme timings.
- "espeak": espeak-ng, the classic rule-based formant synthesizer, as the baseline.
- "coqui": an acoustic model (Tacotron2 / Glow-TTS -> mel) plus a HiFi-GAN vocoder, in
  `core.coqui`.
Long text is cut into sentences; `stream()` yields one `Speech` per sentence as soon as it is
ready, `synthesize()` joins them.
"""
from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator, Mapping, Protocol

import numpy as np

from core import config
from core.textnorm import Normalized, normalize

ENGINES = ("piper", "espeak", "coqui")
PUNCT = ".,;:!?"


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Word:
    """One spoken word (or a few words the phonemizer ran together, e.g. "of the" -> ʌvðə).

    `phonemes` is IPA without the trailing punctuation, which is kept in `punct` (it shapes
    the prosody: a comma is a short pause, a question mark a rising end)."""

    text: str
    phonemes: str
    punct: str = ""
    edited: bool = False


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
class SynthesisOptions:
    """Controls. `rate` > 1 speaks faster. `noise` / `noise_w` are VITS' sampling noise (voice
    variation, duration variation); None keeps the voice's own. `pitch` is 0-99 (espeak only).
    `speaker` picks a speaker of a multi-speaker voice, by name or number; None: its default."""

    rate: float = 1.0
    noise: float | None = None
    noise_w: float | None = None
    pitch: int | None = None
    speaker: str | int | None = None

    def __post_init__(self) -> None:
        if not (config.TTS_MIN_RATE <= self.rate <= config.TTS_MAX_RATE):
            raise ValueError(f"rate must be between {config.TTS_MIN_RATE} and {config.TTS_MAX_RATE} "
                             f"(1.0 is the voice's normal speed), got {self.rate}")
        for name in ("noise", "noise_w"):
            value = getattr(self, name)
            if value is not None and not (0.0 <= value <= 2.0):
                raise ValueError(f"{name} must be between 0 and 2 (try 0.667 / 0.8), got {value}")
        if self.pitch is not None and not (0 <= self.pitch <= 99):
            raise ValueError(f"pitch must be between 0 and 99 (espeak-ng's scale, 50 is normal), got {self.pitch}")


@dataclass(frozen=True)
class Rendered:
    """What an engine's render step gives back for one sentence."""

    audio: np.ndarray  # float32 mono, [-1, 1]
    phoneme_samples: tuple[tuple[str, int, int], ...] | None  # (phoneme, n_samples, word index)
    mel: np.ndarray | None = None  # [n_mels, frames], the acoustic model's own output
    mel_hop: int = 256
    stage_seconds: Mapping[str, float] | None = None  # a split of the render time, e.g. acoustic / vocoder


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


class Engine(Protocol):
    name: str
    voice: str
    sample_rate: int
    language: str  # espeak-style code, e.g. "en-us"

    def speakers(self) -> list[str]: ...  # empty for a single-speaker voice

    def analyze(self, sentence: str) -> list[Word]: ...
    def check_phonemes(self, phonemes: str) -> None: ...
    def render(self, words: list[Word], options: SynthesisOptions) -> Rendered: ...


# --------------------------------------------------------------------------------------------
# Words <-> phonemes
# --------------------------------------------------------------------------------------------
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_STRESS = "ˈˌːˑ"


def text_words(sentence: str) -> list[str]:
    """The words of a sentence as a phonemizer sees them (hyphens and punctuation split)."""
    return _WORD.findall(sentence)


def _bare(ph: str) -> str:
    return "".join(c for c in ph if c not in _STRESS and c not in PUNCT and not c.isspace())


def group_words(words: list[str], tokens: list[str], alone: list[str]) -> list[tuple[list[int], list[int]]]:
    """Pair text words with phoneme tokens when the phonemizer merged ("of the" -> ʌvðə) or split
    words. `alone[i]` is word i phonemized on its own, used to judge lengths. Returns groups of
    (word indices, token indices), each side 1 to 3 long and one side exactly 1, covering both."""
    n, m = len(words), len(tokens)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int] | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    tok_len = [len(_bare(t)) for t in tokens]
    word_len = [len(_bare(a)) for a in alone]
    for i in range(n + 1):
        for j in range(m + 1):
            if cost[i][j] == inf:
                continue
            for a, b in ((1, 1), (2, 1), (3, 1), (1, 2), (1, 3)):
                if i + a > n or j + b > m:
                    continue
                c = abs(sum(word_len[i:i + a]) - sum(tok_len[j:j + b])) + 0.5 * (a + b - 2)
                if cost[i][j] + c < cost[i + a][j + b]:
                    cost[i + a][j + b] = cost[i][j] + c
                    back[i + a][j + b] = (a, b)
    groups = []
    i, j = n, m
    while i or j:
        step = back[i][j]
        if step is None:  # lengths cannot be paired: one group for everything left
            groups.append((list(range(i)), list(range(j))))
            break
        a, b = step
        groups.append((list(range(i - a, i)), list(range(j - b, j))))
        i, j = i - a, j - b
    return groups[::-1]


def words_from_phonemes(sentence: str, phoneme_text: str, phonemize_word) -> list[Word]:
    """Split a sentence's phoneme string into `Word`s matched to the sentence's words."""
    words = text_words(sentence)
    tokens = phoneme_text.split()
    if not tokens:
        return []
    if len(words) == len(tokens):
        pairs = [([i], [i]) for i in range(len(words))]
    elif not words:
        pairs = [([], list(range(len(tokens))))]
    else:
        pairs = group_words(words, tokens, [phonemize_word(w) for w in words])
    out = []
    for wi, ti in pairs:
        joined = " ".join(tokens[t] for t in ti)
        stripped = joined.rstrip(PUNCT)
        out.append(Word(text=" ".join(words[i] for i in wi) or joined, phonemes=stripped,
                        punct=joined[len(stripped):]))
    return out


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
# Piper
# --------------------------------------------------------------------------------------------
class PiperEngine:
    """A Piper voice. Phonemes by Piper's own espeak-ng; audio and per-phoneme durations from
    the VITS model (`include_alignments` patches the ONNX graph to output them)."""

    name = "piper"

    def __init__(self, voice, key: str):
        self._voice = voice
        self.voice = key
        self.sample_rate = int(voice.config.sample_rate)
        self.language = str(voice.config.espeak_voice)
        self._id_map = voice.config.phoneme_id_map

    def speakers(self) -> list[str]:
        cfg = self._voice.config
        if cfg.num_speakers <= 1:
            return []
        names = [str(i) for i in range(cfg.num_speakers)]
        for name, i in cfg.speaker_id_map.items():
            if 0 <= int(i) < len(names):
                names[int(i)] = str(name)
        return names

    def _phonemize(self, text: str) -> str:
        sentences = self._voice.phonemize(text)
        return " ".join("".join(s) for s in sentences)

    def analyze(self, sentence: str) -> list[Word]:
        return words_from_phonemes(sentence, self._phonemize(sentence), self._phonemize)

    def check_phonemes(self, phonemes: str) -> None:
        for ch in unicodedata.normalize("NFD", phonemes):
            if ch not in self._id_map or ch in "^$_":
                shown = f"U+{ord(ch):04X}" if unicodedata.combining(ch) else repr(ch)
                raise ValueError(f"symbol {shown} is not in this voice's phoneme set; use IPA symbols "
                                 f"it knows, such as {' '.join(_sample_symbols(self._id_map))}")

    def phoneme_list(self, words: list[Word]) -> tuple[list[str], list[int]]:
        """Piper's phoneme list (NFD code points) and, for each, the word it belongs to."""
        phonemes: list[str] = []
        owner: list[int] = []
        for i, w in enumerate(words):
            if i:
                phonemes.append(" ")
                owner.append(-1)
            for ch in unicodedata.normalize("NFD", w.phonemes):
                phonemes.append(ch)
                owner.append(i)
            for ch in w.punct:
                phonemes.append(ch)
                owner.append(-1)
        keep = [k for k, p in enumerate(phonemes) if p in self._id_map]  # as Piper does: skip unknown
        return [phonemes[k] for k in keep], [owner[k] for k in keep]

    def render(self, words: list[Word], options: SynthesisOptions) -> Rendered:
        from piper.config import SynthesisConfig
        from piper.const import BOS, EOS, PAD

        phonemes, owner = self.phoneme_list(words)
        ids = self._voice.phonemes_to_ids(phonemes)
        syn = SynthesisConfig(speaker_id=pick_speaker(options.speaker, self.speakers(), self.voice),
                              length_scale=1.0 / options.rate, noise_scale=options.noise,
                              noise_w_scale=options.noise_w)
        # ONNX Runtime sessions are thread-safe: users' runs go in parallel (see onnx_session_options)
        result = self._voice.phoneme_ids_to_audio(ids, syn, include_alignments=True)
        audio, per_id = result if isinstance(result, tuple) else (result, None)
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        audio = (audio / peak if peak > 1e-8 else np.zeros_like(audio)).astype(np.float32)
        timings = None
        if per_id is not None and len(per_id) == len(ids):
            # ids are BOS PAD (p PAD)* EOS: give each phoneme its own ids and the PAD after it.
            pad = len(self._id_map[PAD])
            spans = [(BOS, len(self._id_map[BOS]) + pad, -1)]
            spans += [(p, len(self._id_map[p]) + pad, o) for p, o in zip(phonemes, owner)]
            spans.append((EOS, len(self._id_map[EOS]), -1))
            timings, k = [], 0
            for p, n_ids, o in spans:
                timings.append((p, int(np.sum(per_id[k:k + n_ids])), o))
                k += n_ids
            total = sum(t[1] for t in timings)
            if total != len(audio) and timings:  # keep the sum exact: the remainder goes to EOS
                p, n, o = timings[-1]
                timings[-1] = (p, max(0, n + len(audio) - total), o)
            timings = tuple(timings)
        return Rendered(audio=audio, phoneme_samples=timings)


def pick_speaker(speaker: str | int | None, names: list[str], voice: str) -> int | None:
    """A speaker name or number -> its index in `names`; None stays None (the voice's default)."""
    if speaker is None or str(speaker).strip() == "":
        return None
    if not names:
        raise ValueError(f"{voice} has a single speaker; leave the speaker empty")
    text = str(speaker).strip()
    if text in names:
        return names.index(text)
    if text.isdigit() and int(text) < len(names):
        return int(text)
    shown = ", ".join(names[:10]) + (f" … ({len(names)} in all)" if len(names) > 10 else "")
    raise ValueError(f"{voice} has no speaker {text!r}; its speakers: {shown} (or a number from 0 to {len(names) - 1})")


def _sample_symbols(id_map) -> list[str]:
    return [s for s in ("a", "i", "u", "ə", "ɪ", "ʊ", "ɛ", "æ", "ɑ", "ɔ", "θ", "ð", "ʃ", "ŋ", "ɹ", "ˈ", "ˌ", "ː")
            if s in id_map]


def load_piper(path: Path, device: str):
    """Registry loader: a Piper voice (.onnx beside its .onnx.json), with duration outputs."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.onnx"))
        if not found:
            raise ValueError(f"{path} has no .onnx Piper voice in it")
        path = found[0]
    if not path.is_file():
        raise ValueError(f"No Piper voice at {path}: give the path of a .onnx file")
    if not Path(f"{path}.json").is_file():
        raise ValueError(f"{path} needs its config {path.name}.json beside it (Piper voices come as a pair)")
    try:
        return _load_piper_voice(path, device)
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a Piper voice ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # onnx / onnxruntime raise their own types for a broken model
        if type(exc).__module__.split(".")[0] in ("onnxruntime", "onnx", "google"):
            raise ValueError(f"{path} is not a loadable ONNX voice: {exc}") from exc
        raise


def onnx_session_options():
    """ONNX Runtime settings for voices. NLP_STUDIO_TTS_THREADS=0 (default) keeps ONNX Runtime's
    own threading, fastest on a quiet machine (2 idle cores: RTF 0.063 vs 0.102 with one thread).
    N >= 1 gives N threads per run and no spin-waiting: several users' runs then go in parallel and
    a busy shared CPU is not burnt spinning (2 loaded cores: RTF 0.53 default, 0.30 with 1)."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    if config.TTS_THREADS > 0:
        opts.intra_op_num_threads = config.TTS_THREADS
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def _load_piper_voice(path: Path, device: str):
    """PiperVoice.load(include_alignments=True), with our session options: the graph is patched
    in memory to also output each phoneme's length (Piper's own helper does the patching)."""
    import onnx
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.patch_voice_with_alignment import add_alignment_output

    model = onnx.load(str(path))
    try:
        add_alignment_output(model)
    except ValueError:  # already patched, or no duration tensor: audio still works, timings do not
        pass
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    session = onnxruntime.InferenceSession(model.SerializeToString(), sess_options=onnx_session_options(),
                                           providers=providers)
    config_dict = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
    return PiperVoice(config=PiperConfig.from_dict(config_dict), session=session)


_path_voices: dict[str, PiperEngine] = {}
_path_lock = threading.Lock()


def _piper_engine(voice: str) -> PiperEngine:
    from core import models
    from core.registry import MODELS

    if voice in MODELS:
        if MODELS[voice].task != "tts" or MODELS[voice].loader != "core.tts:load_piper":
            raise ValueError(f"{voice} is not a Piper voice; Piper voices: {', '.join(piper_voices())}")
        loaded = models.get(voice)
        with _path_lock:
            engine = _path_voices.get("key:" + voice)
            if engine is None or engine._voice is not loaded:
                engine = _path_voices["key:" + voice] = PiperEngine(loaded, voice)
        return engine
    path = Path(voice).expanduser()
    if not (voice.endswith(".onnx") or path.is_dir()):
        raise ValueError(f"Unknown voice {voice!r}: use one of {', '.join(piper_voices())} or the path of "
                         "a Piper .onnx voice file")
    if not path.exists():
        raise ValueError(f"No Piper voice at {voice}: the file does not exist")
    with _path_lock:
        key = str(path.resolve())
        if key not in _path_voices:
            from core.device import get_device

            _path_voices[key] = PiperEngine(load_piper(path, get_device()), str(path))
        return _path_voices[key]


def piper_voices() -> list[str]:
    from core.registry import MODELS

    return [k for k, s in MODELS.items() if s.loader == "core.tts:load_piper"]


# --------------------------------------------------------------------------------------------
# espeak-ng (baseline)
# --------------------------------------------------------------------------------------------
class EspeakEngine:
    """espeak-ng through its command line: rule-based phonemes and formant synthesis. It
    exposes no durations to us, and reads text, so phoneme edits do not apply."""

    name = "espeak"
    sample_rate = 22050

    def __init__(self, voice: str = "en-us"):
        self.voice = voice
        self.language = voice

    def _run(self, args: list[str], text: str) -> bytes:
        try:
            return subprocess.run(["espeak-ng", "-v", self.voice, *args], input=text.encode(),
                                  capture_output=True, check=True, timeout=60).stdout
        except FileNotFoundError:
            raise ValueError("espeak-ng is not installed: `apt-get install espeak-ng`") from None
        except subprocess.CalledProcessError as exc:
            raise ValueError(f"espeak-ng failed: {exc.stderr.decode(errors='replace').strip()}") from None

    def _phonemize(self, text: str) -> str:
        return " ".join(self._run(["-q", "--ipa"], text).decode().split())

    def analyze(self, sentence: str) -> list[Word]:
        words = words_from_phonemes(sentence, self._phonemize(sentence), self._phonemize)
        # espeak prints no punctuation: take the punctuation after each word from the sentence.
        spans = list(_WORD.finditer(sentence))
        out, k = [], 0
        for w in words:
            k += max(1, len(w.text.split()))
            after = sentence[spans[min(k, len(spans)) - 1].end():] if spans else ""
            punct = re.match(r"[\"')\]]*([.,;:!?]*)", after).group(1)[:1]
            out.append(replace(w, punct=punct))
        return out

    def speakers(self) -> list[str]:
        return []  # variants are voices: en-us+f3, en-gb+m2, ...

    def check_phonemes(self, phonemes: str) -> None:
        raise ValueError("the espeak-ng engine reads text, not IPA; phoneme edits work with Piper")

    def render(self, words: list[Word], options: SynthesisOptions) -> Rendered:
        import io

        import soundfile as sf

        text = " ".join(w.text + w.punct for w in words)
        pick_speaker(options.speaker, [], f"espeak-ng voice {self.voice}")  # says: pick a voice variant instead
        args = ["--stdout", "-s", str(int(175 * options.rate))]
        if options.pitch is not None:
            args += ["-p", str(options.pitch)]
        audio, sr = sf.read(io.BytesIO(self._run(args, text)), dtype="float32")
        if sr != self.sample_rate:
            self.sample_rate = sr
        return Rendered(audio=np.asarray(audio, dtype=np.float32).reshape(-1), phoneme_samples=None)


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------
def get_engine(engine: str | Engine = "piper", voice: str | None = None) -> Engine:
    """The engine object for `engine` and `voice` (loaded once per process). An engine object
    passes through, so callers (and tests) can bring their own."""
    if not isinstance(engine, str):
        return engine
    if engine == "piper":
        return _piper_engine(voice or "piper-joe")
    if engine == "espeak":
        return EspeakEngine(voice if voice and not voice.startswith("piper") else "en-us")
    if engine == "coqui":
        from core.coqui import get_coqui_engine

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


def stream(text: str, engine: str | Engine = "piper", voice: str = "piper-joe", rate: float = 1.0,
           edits: Mapping[int | str, str] | None = None, noise: float | None = None,
           noise_w: float | None = None, pitch: int | None = None,
           fast_start: bool = False, speaker: str | int | None = None) -> Iterator[Speech]:
    """Speak `text` sentence by sentence: one `Speech` per sentence, as soon as it is ready.

    Each chunk's timings are relative to its own audio; `offset` places it in the whole.
    `edits` replaces phonemes: {word index in the whole text or word text: "IPA"}.
    `fast_start` cuts a long first sentence after about TTS_FIRST_CHUNK_CHARS characters (at a
    comma if there is one): the first audio comes sooner, at the cost of a seam in its melody."""
    start = time.perf_counter()
    options = SynthesisOptions(rate=rate, noise=noise, noise_w=noise_w, pitch=pitch, speaker=speaker)
    eng = get_engine(engine, voice)
    check_text(text, eng.language)
    t0 = time.perf_counter()
    norm = normalize(text)
    t_norm = time.perf_counter() - t0
    sentences = split_sentences(norm.text, first_max_chars=config.TTS_FIRST_CHUNK_CHARS if fast_start else None)
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
               speaker: str | int | None = None) -> Speech:
    """Speak `text`; returns audio (float32 mono, `sample_rate` Hz: 22,050 for the Piper voices)
    with every stage's data. Raises ValueError with the fix for input it cannot speak."""
    return join(list(stream(text, engine, voice, rate, edits, noise, noise_w, pitch, speaker=speaker)))


def to_wav_bytes(speech: Speech) -> bytes:
    """16-bit PCM WAV of the audio."""
    import io
    import wave

    pcm = (np.clip(speech.audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(speech.sample_rate)
        w.writeframes(pcm)
    return buf.getvalue()

