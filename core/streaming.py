"""Live transcription: one `StreamingTranscriber` per browser session.

Life cycle: `insert_audio(chunk)` as the microphone delivers it, `process()` every step (0.5 s),
`finish()` when the speaker stops. Each step decodes a sliding window of recent audio and the
policy decides what is safe to show as final:

- **agreement**: a word is committed once two successive hypotheses agree on it (LocalAgreement-2);
  the rest of the newest hypothesis is the tentative tail, shown greyed and free to change;
- **pause**: when Silero VAD hears the speaker stop (PAUSE_SECONDS of silence after speech), the
  whole hypothesis is committed at once instead of waiting for another decode;
- **silence**: a window with no speech in it is never decoded (no invented words, no compute);
- **trim**: once the window is longer than STREAM_TRIM_SECONDS it is cut at the end of the last
  committed sentence (or, past STREAM_MAX_BUFFER_SECONDS, of the last committed word), so each
  decode costs about the same however long the class talks. Committed words before the window
  are passed to Whisper as a prompt, for context.

Decoding is greedy with no temperature fallback: a fallback re-decodes the window up to five
times and is the slow tail of other streaming systems. `NaiveStream` is the usual demo (re-decode
everything heard so far at every step), kept for comparison in bench/ and the tab.
"""
from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from core import config
from core.asr import DEFAULT_MODEL, DecodeOptions, _check, transcribe
from core.audio import SAMPLE_RATE, rms_db

PAUSE_SECONDS = 0.5  # silence after speech that ends an utterance
VAD_CONTEXT_SECONDS = 0.3  # earlier audio looked at together with each new chunk
PROMPT_CHARS = 200  # committed text handed to Whisper as context
TOKENS_PER_SECOND = 8  # decode budget per second of window (speech needs about half)
STREAM_OPTIONS = DecodeOptions(beam_size=1, fallback=False, vad=False, condition_on_previous_text=False)


@dataclass(frozen=True)
class StreamWord:
    start: float  # seconds since the stream began
    end: float
    text: str  # with Whisper's leading space


@dataclass(frozen=True)
class PolicyEvent:
    at: float  # stream seconds (audio received) when it happened
    kind: str  # commit, pause, skip, trim, finish
    detail: str


@dataclass(frozen=True)
class StreamState:
    """What the UI shows after a step. Times are seconds of audio since the stream began."""

    committed: str  # all final text so far
    tentative: str  # the newest hypothesis beyond it (may still change)
    new_committed: str  # what this step made final
    window: tuple[float, float]  # the audio the last decode saw
    received: float  # audio received so far
    lag: float  # seconds the final text trails the audio received (0 when caught up)
    hypotheses: tuple[tuple[float, str], ...]  # last few (time, hypothesis) pairs, newest last
    events: tuple[PolicyEvent, ...]  # the policy's recent decisions, newest last
    step_compute: float  # seconds this step's decode took (0 when skipped)
    total_compute: float
    level_db: float  # loudness of the newest audio, dBFS
    speech: bool  # VAD heard speech in the newest audio
    decoded: bool  # this step ran Whisper

    def to_dict(self) -> dict:
        return {"committed": self.committed, "tentative": self.tentative, "new_committed": self.new_committed,
                "window": [round(x, 2) for x in self.window], "received": round(self.received, 2),
                "lag": round(self.lag, 2), "step_compute": round(self.step_compute, 3),
                "total_compute": round(self.total_compute, 3), "level_db": round(self.level_db, 1),
                "speech": self.speech, "decoded": self.decoded,
                "hypotheses": [{"at": round(t, 2), "text": h} for t, h in self.hypotheses],
                "events": [{"at": round(e.at, 2), "kind": e.kind, "detail": e.detail} for e in self.events]}


def _key(word: str) -> str:
    """Words compare without case or punctuation: "Dashwood," agrees with "dashwood"."""
    return re.sub(r"[^\w']+", "", word.lower())


def _looks_looped(text: str) -> bool:
    """Whisper's own test for a degenerate decode: text that compresses too well repeats itself."""
    import zlib

    raw = text.strip().encode("utf-8")
    return len(raw) > 24 and len(raw) / len(zlib.compress(raw)) > 2.4


def _cut_loop(words: list[StreamWord]) -> list[StreamWord]:
    """Keep one copy of an n-gram (n <= 4) that repeats three times in a row, and drop the rest."""
    keys = [_key(w.text) for w in words]
    for i in range(len(keys)):
        for n in range(1, 5):
            if i + 3 * n <= len(keys) and keys[i:i + n] == keys[i + n:i + 2 * n] == keys[i + 2 * n:i + 3 * n]:
                return words[:i + n]
    return words


def _speech_spans(audio: np.ndarray) -> list[tuple[float, float]]:
    """Silero VAD speech spans in seconds, tuned for short live chunks (not for whole files)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if audio.size < SAMPLE_RATE // 10:
        return []
    opts = VadOptions(threshold=0.5, min_speech_duration_ms=100, min_silence_duration_ms=200, speech_pad_ms=100)
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE)
            for s in get_speech_timestamps(audio, opts, sampling_rate=SAMPLE_RATE)]


class StreamingTranscriber:
    """Streaming ASR over `core.asr.transcribe`, one per user session (not thread-safe itself;
    many instances share one loaded model). Audio: float32 mono 16 kHz."""

    def __init__(self, model: str = DEFAULT_MODEL, backend: str = "faster-whisper", language: str | None = None,
                 trim_seconds: float | None = None, max_buffer_seconds: float | None = None,
                 pause_seconds: float = PAUSE_SECONDS, use_vad: bool = True, keep_events: int = 12) -> None:
        self.language = _check(model, backend, language, "transcribe")
        self.model, self.backend = model, backend
        self.trim_seconds = trim_seconds or config.STREAM_TRIM_SECONDS
        self.max_buffer_seconds = max(max_buffer_seconds or config.STREAM_MAX_BUFFER_SECONDS, self.trim_seconds)
        if self.max_buffer_seconds > 28:
            raise ValueError("the streaming window must stay under Whisper's 30-second input; "
                             "set NLP_STUDIO_STREAM_MAX_BUFFER_SECONDS to 28 or less")
        self.pause_seconds, self.use_vad = pause_seconds, use_vad
        self._buffer = np.zeros(0, np.float32)
        self._offset = 0.0  # stream time of _buffer[0]
        self._received = 0.0
        self._decoded_until = 0.0
        self._committed: list[StreamWord] = []
        self._tentative: list[StreamWord] = []
        self._last_speech_end = -1.0  # stream time VAD last heard speech end
        self._speech_in_window = False
        self._hypotheses: deque[tuple[float, str]] = deque(maxlen=4)
        self._events: deque[PolicyEvent] = deque(maxlen=keep_events)
        self._total_compute = 0.0
        self._last_level = -100.0
        self._last_speech = False
        self._finished = False

    # --- life cycle ------------------------------------------------------------------------

    def insert_audio(self, chunk: np.ndarray) -> None:
        """Append float32 mono 16 kHz samples [n]."""
        if self._finished:
            raise ValueError("this stream has finished; press Clear (or start a new stream) to record again")
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if self._received + chunk.size / SAMPLE_RATE > config.STREAM_MAX_SESSION_SECONDS:
            raise ValueError(f"a live stream is limited to {config.STREAM_MAX_SESSION_SECONDS // 60} minutes "
                             "(NLP_STUDIO_STREAM_MAX_SESSION_SECONDS); press Clear to start a new one")
        self._buffer = np.concatenate([self._buffer, chunk])
        self._received += chunk.size / SAMPLE_RATE
        self._last_level = rms_db(chunk[-SAMPLE_RATE // 2:])

    def process(self) -> StreamState:
        """One step: look for speech in the new audio, decode the window, apply the policy."""
        if self._received - self._decoded_until < 0.05:
            return self._state("", 0.0, decoded=False)
        new_from = self._decoded_until
        self._decoded_until = self._received
        paused = False
        if self.use_vad:
            start = max(self._offset, new_from - VAD_CONTEXT_SECONDS)
            region = self._slice(start, self._received)
            spans = _speech_spans(region)
            self._last_speech = bool(spans)
            if spans:
                self._last_speech_end = max(self._last_speech_end, start + spans[-1][1])
                self._speech_in_window = True
            if not self._speech_in_window:
                return self._skip()
            paused = self._received - self._last_speech_end >= self.pause_seconds
        else:
            self._last_speech = True
        t0 = time.perf_counter()
        words = self._decode()
        compute = time.perf_counter() - t0
        self._total_compute += compute
        self._hypotheses.append((self._received, "".join(w.text for w in words).strip()))
        if paused:
            new = words
            reason = f"pause: {self._received - self._last_speech_end:.1f} s of silence ended the utterance"
        else:
            agreed = 0
            for a, b in zip(self._tentative, words):
                if _key(a.text) != _key(b.text):
                    break
                agreed += 1
            new = words[:agreed]
            reason = "agreement: the last two hypotheses start with the same words"
        self._committed.extend(new)
        self._tentative = words[len(new):]
        if new:
            self._event("pause" if paused else "commit", f"{reason} -> \"{''.join(w.text for w in new).strip()}\"")
        self._trim(paused)
        return self._state("".join(w.text for w in new), compute, decoded=True)

    def finish(self) -> StreamState:
        """The speaker stopped: decode what is left and commit all of it."""
        words: list[StreamWord] = []
        compute = 0.0
        if self._speech_in_window or not self.use_vad:
            t0 = time.perf_counter()
            words = self._decode()
            compute = time.perf_counter() - t0
            self._total_compute += compute
        self._committed.extend(words)
        self._tentative = []
        self._decoded_until = self._received
        self._finished = True
        self._event("finish", f"end of stream: committed the last {len(words)} word(s)")
        return self._state("".join(w.text for w in words), compute, decoded=bool(words))

    # --- policy pieces -----------------------------------------------------------------------

    def _slice(self, start: float, end: float) -> np.ndarray:
        a = int(round((start - self._offset) * SAMPLE_RATE))
        b = int(round((end - self._offset) * SAMPLE_RATE))
        return self._buffer[max(a, 0):max(b, 0)]

    def _skip(self) -> StreamState:
        # Keep a little audio so a word starting right at the chunk boundary isn't cut.
        keep = VAD_CONTEXT_SECONDS
        if self._received - self._offset > keep:
            self._cut(self._received - keep)
        self._event("skip", "silence: no speech in the window, nothing decoded", dedupe=True)
        return self._state("", 0.0, decoded=False)

    def _decode(self) -> list[StreamWord]:
        if self._received - self._offset > self.max_buffer_seconds + 0.5:
            # Only after a long stall (a slow machine): the window must fit the model's input.
            self._cut(self._received - self.max_buffer_seconds)
            self._event("trim", "window over its maximum before decoding: dropped the oldest audio")
        committed_end = self._committed[-1].end if self._committed else 0.0
        prompt_words = [w.text for w in self._committed if w.end <= self._offset + 0.01]
        prompt = "".join(prompt_words)[-PROMPT_CHARS:].strip() or None
        seconds = self._buffer.size / SAMPLE_RATE
        # Speech runs at about 3-4 tokens a second: a cap stops a greedy repetition loop early.
        cap = {"max_new_tokens": int(TOKENS_PER_SECOND * seconds) + 10} if self.backend == "faster-whisper" else {}
        opts = DecodeOptions(beam_size=STREAM_OPTIONS.beam_size, fallback=False, vad=False,
                             condition_on_previous_text=False, initial_prompt=prompt,
                             short_window=self.backend == "faster-whisper", extra=cap)
        result = transcribe(self._buffer, self.model, self.backend, self.language, word_timestamps=True,
                            options=opts)
        if _looks_looped(result.text):
            self._event("skip", "hypothesis repeats itself (a decoding loop): ignored, waiting for more audio")
            return list(self._tentative)
        # Bare punctuation "words" and anything timed past the audio are decoding artefacts.
        words = _cut_loop([StreamWord(self._offset + w.start, self._offset + w.end, w.word) for w in result.words
                           if w.start < seconds and _key(w.word)])
        # Words that end before the last committed word are already on screen.
        words = [w for w in words if w.end > committed_end + 0.05]
        # Whisper may repeat the committed tail at the window's start: drop an n-gram overlap.
        tail = [_key(w.text) for w in self._committed[-5:]]
        for n in range(min(5, len(tail), len(words)), 0, -1):
            if tail[-n:] == [_key(w.text) for w in words[:n]]:
                words = words[n:]
                break
        return words

    def _trim(self, paused: bool) -> None:
        length = self._received - self._offset
        committed_in_window = [w for w in self._committed if w.end > self._offset]
        if paused and not self._tentative:
            # Everything heard is committed (or was not words): restart the window after the speech.
            ends = [w.end for w in committed_in_window] + [self._last_speech_end]
            cut, why = max(ends), "utterance committed at a pause"
        elif length > self.trim_seconds and committed_in_window:
            ends = [w.end for w in committed_in_window if w.text.rstrip().endswith((".", "?", "!"))]
            if ends:
                cut, why = ends[-1], "window passed the trim length; cut at the last committed sentence end"
            elif length > self.max_buffer_seconds:
                cut, why = committed_in_window[-1].end, "window at its maximum; cut at the last committed word"
            else:
                return
        elif length > self.max_buffer_seconds:
            # Nothing committed for a whole window (mumbling, music): drop the oldest audio.
            cut, why = self._received - self.trim_seconds, "window at its maximum with nothing committed"
        else:
            return
        before = length
        self._cut(cut)
        self._event("trim", f"{why}: window {before:.1f} s -> {self._received - self._offset:.1f} s")

    def _cut(self, at: float) -> None:
        at = min(max(at, self._offset), self._received)
        drop = int(round((at - self._offset) * SAMPLE_RATE))
        self._buffer = self._buffer[drop:]
        self._offset += drop / SAMPLE_RATE
        self._speech_in_window = self._last_speech_end > self._offset
        self._tentative = [w for w in self._tentative if w.end > self._offset]

    def _event(self, kind: str, detail: str, dedupe: bool = False) -> None:
        if dedupe and self._events and self._events[-1].kind == kind:
            self._events.pop()  # one "skip" line for a run of silent steps
        self._events.append(PolicyEvent(self._received, kind, detail))

    def _state(self, new: str, compute: float, decoded: bool) -> StreamState:
        committed = "".join(w.text for w in self._committed).strip()
        tentative = "".join(w.text for w in self._tentative).strip()
        if self._tentative:
            lag = self._received - (self._committed[-1].end if self._committed else self._tentative[0].start)
        else:
            lag = 0.0
        return StreamState(committed, tentative, new.strip(), (self._offset, self._received), self._received,
                           max(0.0, lag) + compute, tuple(self._hypotheses), tuple(self._events), compute,
                           self._total_compute, self._last_level, self._last_speech, decoded)


class NaiveStream:
    """The usual demo: at every step, re-decode everything heard so far and show it all.
    Same decode settings as `StreamingTranscriber`, so only the policy differs. Its cost grows
    with the recording, and past 30 s Whisper would see only the first 30 s."""

    def __init__(self, model: str = DEFAULT_MODEL, backend: str = "faster-whisper", language: str | None = None):
        self.language = _check(model, backend, language, "transcribe")
        self.model, self.backend = model, backend
        self._audio = np.zeros(0, np.float32)
        self.text = ""
        self.words: list[StreamWord] = []

    def insert_audio(self, chunk: np.ndarray) -> None:
        self._audio = np.concatenate([self._audio, np.asarray(chunk, np.float32).reshape(-1)])

    def process(self) -> list[StreamWord]:
        result = transcribe(self._audio, self.model, self.backend, self.language, word_timestamps=True,
                            options=DecodeOptions(beam_size=1, fallback=False, vad=False,
                                                  condition_on_previous_text=False))
        self.words = [StreamWord(w.start, w.end, w.word) for w in result.words]
        self.text = result.text
        return self.words

    finish = process


def transcribe_chunks(chunks: list[np.ndarray], model: str = DEFAULT_MODEL, backend: str = "faster-whisper",
                      language: str | None = None) -> StreamState:
    """Feed chunks (float32 mono 16 kHz each) through a fresh stream, one step per chunk, then
    finish: the non-streaming twin of the live microphone, for API clients and tests."""
    if len(chunks) > config.STREAM_MAX_CHUNKS:
        raise ValueError(f"at most {config.STREAM_MAX_CHUNKS} chunks per call (NLP_STUDIO_STREAM_MAX_CHUNKS)")
    stream = StreamingTranscriber(model, backend, language)
    for chunk in chunks:
        stream.insert_audio(chunk)
        stream.process()
    return stream.finish()


class BackgroundStream:
    """Runs a `StreamingTranscriber` on its own thread, so whoever delivers audio never waits.

    A browser sends its next microphone chunk only when the previous call returns; if that call
    decodes, audio recorded meanwhile can be lost. Here `feed()` only queues samples (microseconds)
    and a worker thread decodes whatever has arrived, one step at a time, as fast as the CPU allows.
    `latest()` is the newest state; `stop()` decodes the rest and returns the final state. The
    worker exits on its own after `idle_seconds` without audio (a closed browser tab).
    """

    def __init__(self, transcriber: StreamingTranscriber, step_seconds: float | None = None,
                 idle_seconds: float = 30.0) -> None:
        import threading

        self.transcriber = transcriber
        self.step = step_seconds or config.STREAM_STEP_SECONDS
        self.idle_seconds = idle_seconds
        self._inbox: list[np.ndarray] = []
        self._inbox_lock = threading.Lock()
        self._work_lock = threading.Lock()  # the transcriber is used by one thread at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest: StreamState | None = None
        self._last_fed = time.monotonic()
        self.error: Exception | None = None
        self.steps = 0
        self.overruns = 0

    def feed(self, samples: np.ndarray) -> None:
        """Queue float32 mono 16 kHz samples; starts the worker on first use."""
        import threading

        if self.error is not None:
            raise self.error
        if self._stop.is_set():
            raise ValueError("this stream has stopped; press Clear (or record again) to start a new one")
        with self._inbox_lock:
            self._inbox.append(np.asarray(samples, np.float32).reshape(-1))
            self._last_fed = time.monotonic()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="whisper-stream", daemon=True)
                self._thread.start()
        self._wake.set()

    def latest(self) -> StreamState | None:
        return self._latest

    def _drain(self) -> bool:
        with self._inbox_lock:
            chunks, self._inbox = self._inbox, []
        for c in chunks:
            self.transcriber.insert_audio(c)
        return bool(chunks)

    def _run(self) -> None:
        next_step = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(timeout=self.step)
            self._wake.clear()
            now = time.monotonic()
            if now - self._last_fed > self.idle_seconds:
                return  # nobody is sending audio any more
            if now < next_step:
                time.sleep(next_step - now)  # at most one decode per step
            try:
                with self._work_lock:
                    if self._stop.is_set():
                        return
                    got = self._drain()
                    if not got and self._latest is not None:
                        continue
                    state = self.transcriber.process()
            except Exception as exc:  # noqa: BLE001 - handed to the caller on its next feed()
                self.error = exc
                return
            if state.decoded:
                self.steps += 1
                self.overruns += state.step_compute > self.step
            self._latest = state
            next_step = time.monotonic() + (0.0 if state.step_compute > self.step else
                                            self.step - state.step_compute)

    def stop(self) -> StreamState:
        """Stop the worker, decode what is left and commit it. Safe to call twice."""
        self._stop.set()
        self._wake.set()
        with self._work_lock:
            if self.transcriber._finished:  # noqa: SLF001
                return self._latest or self.transcriber._state("", 0.0, decoded=False)  # noqa: SLF001
            self._drain()
            self._latest = self.transcriber.finish()
        return self._latest
