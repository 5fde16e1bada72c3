"""espeak-ng, the classic rule-based formant synthesizer, as the baseline engine."""
from __future__ import annotations

import re
import subprocess
from dataclasses import replace

import numpy as np

from core.tts.engine import WORD_RE, Rendered, SynthesisOptions, Word, pick_speaker, words_from_phonemes


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
        spans = list(WORD_RE.finditer(sentence))
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
