"""The metrics applied to the studio's own outputs: each source produces a (hypothesis, reference)
pair from a real model run, which `metrics.evaluate` then scores.

- chat: SmolLM2's greedy reply to a prompt against a reference answer the user writes;
- tts-asr: Piper speaks a text, Whisper transcribes the audio back; the text is the reference
  (a round trip measures intelligibility);
- stream: a LibriVox clip transcribed by the live streaming policy (0.5 s chunks) against the
  offline transcription of the same clip (what streaming costs).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

SOURCES = ("chat", "tts-asr", "stream")
SOURCE_TITLES = {
    "chat": "a chat reply vs a reference answer",
    "tts-asr": "TTS → ASR round trip (Piper speaks, Whisper listens)",
    "stream": "streamed transcript vs the offline one (a LibriVox clip)",
}
CHAT_EXAMPLE = ("What is the capital of France? Answer in one sentence.", "Paris is the capital city of France.")
TTS_EXAMPLE = "The quick brown fox jumps over the lazy dog near the riverbank."
STREAM_CHUNK_SECONDS = 0.5


@dataclass(frozen=True)
class StudioPair:
    source: str
    hypothesis: str
    reference: str
    note: str  # what was run, and how long it took
    normalizer: str = "whisper"


def chat_pair(prompt: str, reference: str, max_new_tokens: int = 64) -> StudioPair:
    from core.chat.conversation import GenerationSettings, reply

    if not prompt.strip() or not reference.strip():
        raise ValueError("give both a prompt and a reference answer")
    start = time.perf_counter()
    hyp = reply([{"role": "user", "content": prompt}], settings=GenerationSettings(max_new_tokens=max_new_tokens))
    if not hyp.strip():
        raise ValueError("SmolLM2 gave an empty reply to this prompt; try another prompt")
    return StudioPair("chat", hyp, reference,
                      f"SmolLM2-135M, greedy, {time.perf_counter() - start:.1f} s", "basic")


def tts_asr_pair(text: str) -> StudioPair:
    from core import asr, tts

    if not text.strip():
        raise ValueError("the text to speak is empty; type a sentence")
    start = time.perf_counter()
    speech = tts.synthesize(text)
    mid = time.perf_counter()
    heard = asr.transcribe((speech.sample_rate, speech.audio)).text
    end = time.perf_counter()
    return StudioPair("tts-asr", heard, text,
                      f"Piper en_US-joe {speech.duration:.1f} s of audio in {mid - start:.1f} s; "
                      f"Whisper tiny.en in {end - mid:.1f} s")


def stream_pair(clip: int = 0) -> StudioPair:
    from core import asr
    from core.audio import load_audio
    from core.asr.streaming import transcribe_chunks

    clips = asr.librivox_clips()
    if not clips:
        raise ValueError("the LibriVox clips are missing; install Debian's pocketsphinx-testdata")
    if not 0 <= clip < len(clips):
        raise ValueError(f"clip must be 0 to {len(clips) - 1}")
    path, _ = clips[clip]
    audio = load_audio(path)
    start = time.perf_counter()
    offline = asr.transcribe(audio).text
    mid = time.perf_counter()
    step = int(asr.SAMPLE_RATE * STREAM_CHUNK_SECONDS)
    streamed = transcribe_chunks([audio[i:i + step] for i in range(0, len(audio), step)]).committed
    end = time.perf_counter()
    return StudioPair("stream", streamed, offline,
                      f"{path.name} ({len(audio) / asr.SAMPLE_RATE:.1f} s): offline in {mid - start:.1f} s, "
                      f"streamed in {STREAM_CHUNK_SECONDS} s chunks in {end - mid:.1f} s")


def studio_pair(source: str, prompt: str = "", reference: str = "", text: str = "", clip: int = 0) -> StudioPair:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    if source == "chat":
        return chat_pair(prompt, reference)
    if source == "tts-asr":
        return tts_asr_pair(text)
    return stream_pair(int(clip))
