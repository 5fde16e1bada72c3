"""What every TTS engine takes and gives back, and the word/phoneme matching they share.

An engine (Piper in `core.tts.piper`, espeak-ng in `core.tts.espeak`, Coqui in `core.tts.coqui`)
has two steps: `analyze(sentence) -> [Word]` (grapheme to phoneme, one editable entry per
spoken word) and `render(words, options) -> Rendered` (audio, plus phoneme durations and a
mel-spectrogram where the engine has them). `core.tts.pipeline` runs them as a pipeline; import from
there: every name here is also `core.tts.pipeline.<name>`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

import numpy as np

from core import config

PUNCT = ".,;:!?"


@dataclass(frozen=True)
class Word:
    """One spoken word (or a few words the phonemizer ran together, e.g. "of the" -> ʌvðə).

    `phonemes` is IPA without the trailing punctuation, which is kept in `punct` (it shapes
    the prosody: a comma is a short pause, a question mark a rising end)."""

    text: str
    phonemes: str
    punct: str = ""
    edited: bool = False


@dataclass(frozen=True, eq=False)
class Reference:
    """A voice to clone (XTTS): one person speaking, checked by `core.tts.xtts.load_reference`.

    audio: float32 mono in [-1, 1] at `sample_rate` Hz (22,050: XTTS' conditioning rate).
    key: a fingerprint of the samples, so an engine can reuse the conditioning it computed."""

    audio: np.ndarray
    sample_rate: int
    key: str
    name: str = "reference"

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


@dataclass(frozen=True)
class SynthesisOptions:
    """Controls. `rate` > 1 speaks faster. `noise` / `noise_w` are VITS' sampling noise (voice
    variation, duration variation); None keeps the voice's own. `pitch` is 0-99 (espeak only).
    `speaker` picks a speaker of a multi-speaker voice, by name or number; None: its default.
    `language` (e.g. "en", "de") and `reference` (a voice to clone) are for XTTS."""

    rate: float = 1.0
    noise: float | None = None
    noise_w: float | None = None
    pitch: int | None = None
    speaker: str | int | None = None
    language: str | None = None
    # XTTS's voice to clone: a `Reference`, or anything `xtts.load_reference` takes (a path, bytes,
    # (sample_rate, samples)); `tts.stream` loads and checks it.
    reference: Reference | Any = None

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
WORD_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_STRESS = "ˈˌːˑ"


def text_words(sentence: str) -> list[str]:
    """The words of a sentence as a phonemizer sees them (hyphens and punctuation split)."""
    return WORD_RE.findall(sentence)


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
