"""Live Whisper glue shared by both front ends (no UI imports): the live transcript, meters and
policy panel as HTML, the file results as rows and markdown, the "show the code" snippets, and the
WebRTC microphone feed (audio frames in, a `BackgroundStream` out).

The HTML uses CSS variables with fallbacks, so it reads the same under Gradio's theme and in
Streamlit (which does not define Gradio's variables).
"""
from __future__ import annotations

import html
import json
import os
import queue
import threading
import time
from dataclasses import replace
from typing import Any, Callable

import numpy as np

from core import asr, audio, config
from core.asr import streaming
from core.controls import Control

LANGUAGES = ["auto", "en", "fr", "de", "es", "it", "pt", "nl", "pl", "ru", "zh", "ja", "ko", "ar", "hi", "tr"]
INTRO = ("Whisper decodes a short sliding window of your speech every half second. A word turns **final** "
         "when two decodes in a row agree on it (or you pause); the greyed tail may still change. The window "
         "is cut at sentence ends, so the cost stays flat however long you talk.")
NO_AUDIO = "Upload or record some audio first (wav, mp3, flac, ogg, m4a)."
BORDER = "var(--border-color-primary, rgba(128,128,128,.35))"
FILL = "var(--background-fill-secondary, rgba(128,128,128,.12))"
CSS_LIVE = (f"font-size:1.35rem;line-height:1.6;min-height:6.5em;padding:.8em 1em;border-radius:8px;"
            f"border:1px solid {BORDER}")


# --- the tab's inputs, declared once (apps/gradio/whisper.py and apps/streamlit/whisper.py draw them) ---

# The model menu's choices are the models on this machine, known only at run time: the declaration
# holds the label, help and default; `model_control(available_models("asr"))` adds the choices.
MODEL = Control("model", "Model", "choice", default=asr.DEFAULT_MODEL, choices=(asr.DEFAULT_MODEL,),
                help="tiny.en ships offline; others: python -m core.download KEY")
SETTINGS_CONTROLS = (
    MODEL,
    Control("language", "Language", "choice", default="auto", choices=tuple(LANGUAGES),
            help="auto = detect (multilingual models)"),
    Control("backend", "Backend", "radio", default="faster-whisper", choices=tuple(asr.BACKENDS),
            help="faster-whisper (CTranslate2) is the fast one for live use"),
)
FILE_CONTROLS = (
    Control("task", "Task", "radio", default="transcribe", choices=tuple(asr.TASKS),
            help="translate: speech in any language to English text (multilingual models)"),
    Control("word_timestamps", "Word timestamps", "check", default=True),
)
# The commit policy's settings (`StreamingTranscriber` keywords); the Streamlit page shows them,
# the Gradio tab streams with core's defaults.
POLICY_CONTROLS = (
    Control("trim_seconds", "Trim window past (s)", "number", default=float(config.STREAM_TRIM_SECONDS),
            minimum=config.STREAM_MIN_WINDOW_SETTING, maximum=config.STREAM_MAX_TRIM_SETTING, step=0.5,
            help="cut the window at a committed sentence end past this length"),
    Control("max_buffer_seconds", "Window cap (s)", "number", default=float(config.STREAM_MAX_BUFFER_SECONDS),
            minimum=config.STREAM_MIN_WINDOW_SETTING, maximum=config.STREAM_MAX_CAP_SETTING, step=0.5,
            help="past this, cut at the last committed word (Whisper sees 30 s at most)"),
    Control("pause_seconds", "Pause commits after (s)", "number", default=float(streaming.PAUSE_SECONDS),
            minimum=config.STREAM_MIN_PAUSE_SETTING, maximum=config.STREAM_MAX_PAUSE_SETTING, step=0.1,
            help="silence after speech that closes the utterance and commits its remaining words"),
    Control("use_vad", "Silero VAD", "check", default=True, help="skip silent windows; commit at pauses"),
)
LIVE_TAB, FILE_TAB = "Live microphone", "File"
POLICY_TITLE = "The policy at work"
TRANSCRIBE = "Transcribe"
LIBRIVOX_LABEL = "LibriVox clips"


def model_control(models: list[str]) -> Control:
    """The model menu with this machine's models as its choices (the default stays first choice
    when it is missing from the list, so the menu never opens on nothing)."""
    choices = tuple(models) if asr.DEFAULT_MODEL in models else (asr.DEFAULT_MODEL, *models)
    return replace(MODEL, choices=choices)


def language_arg(language: str | None) -> str | None:
    """The language menu's value as core takes it: "auto" (or nothing) means detect."""
    return None if not language or language == "auto" else language


# --- the live panel ------------------------------------------------------------------------------

def render_text(st: streaming.StreamState | None, idle_hint: str = "Press <b>Record</b> and speak; words appear here.") -> str:
    """Committed text in normal type, the tentative tail greyed and italic."""
    if st is None or not (st.committed or st.tentative):
        hint = idle_hint if st is None else "Listening..."
        return f"<div style='{CSS_LIVE};opacity:.6'>{hint}</div>"
    committed = html.escape(st.committed)
    tentative = html.escape(st.tentative)
    return (f"<div style='{CSS_LIVE}'><span>{committed}</span> "
            f"<span style='color:#8a8f98;font-style:italic' title='tentative: may still change'>{tentative}</span></div>")


def _bar(label: str, value: str, fraction: float, colour: str) -> str:
    pct = int(max(0.0, min(1.0, fraction)) * 100)
    return (f"<div style='margin:.2em 0'><div style='display:flex;justify-content:space-between;font-size:.9rem'>"
            f"<span>{label}</span><b>{value}</b></div><div style='height:10px;border-radius:5px;"
            f"background:{FILL};border:1px solid {BORDER}'>"
            f"<div style='width:{pct}%;height:100%;border-radius:5px;background:{colour}'></div></div></div>")


def render_meters(st: streaming.StreamState | None, steps: int = 0, overruns: int = 0) -> str:
    """Lag and level bars, and the compute line (`steps` decodes, `overruns` of them over their step)."""
    if st is None:
        return _bar("Lag behind real time", "—", 0, "#22c55e") + _bar("Audio level", "—", 0, "#3b82f6")
    lag_colour = "#22c55e" if st.lag <= 1.0 else "#f59e0b" if st.lag <= 2.0 else "#ef4444"
    level = (st.level_db + 60) / 60
    speech = "speech" if st.speech else "silence"
    step = config.STREAM_STEP_SECONDS
    return (_bar("Lag behind real time", f"{st.lag:.1f} s", st.lag / 3.0, lag_colour)
            + _bar(f"Audio level ({speech})", f"{st.level_db:.0f} dBFS", level, "#3b82f6")
            + f"<div style='font-size:.85rem;opacity:.8'>heard {st.received:.1f} s · last decode "
              f"{st.step_compute:.2f} s per {step:.1f} s step · compute {st.total_compute / max(st.received, 1e-6):.2f} "
              f"s per audio s · {overruns} of {steps} decodes overran their step</div>")


def render_policy(st: streaming.StreamState | None) -> str:
    """The window Whisper decodes, the last hypotheses and the policy's decisions with reasons."""
    if st is None:
        return "<div style='opacity:.7'>The policy panel fills in while you speak.</div>"
    span = max(st.received, 10.0)
    left, right = st.window
    win = (f"<div style='position:relative;height:22px;border-radius:4px;background:{FILL};"
           f"border:1px solid {BORDER}'><div style='position:absolute;left:{left / span * 100:.1f}%;"
           f"width:{max(1.0, (right - left) / span * 100):.1f}%;top:0;bottom:0;background:#93c5fd;opacity:.8;"
           "border-radius:4px'></div></div>"
           f"<div style='font-size:.85rem'>Window Whisper decodes: <b>{left:.1f}–{right:.1f} s</b> "
           f"({right - left:.1f} s of the {st.received:.1f} s heard; trimmed past {config.STREAM_TRIM_SECONDS:.0f} s "
           f"at a sentence end, capped at {config.STREAM_MAX_BUFFER_SECONDS:.0f} s)</div>")
    hyps = "".join(f"<li><code>{t:5.1f} s</code> {html.escape(h) or '<i>(nothing)</i>'}</li>"
                   for t, h in reversed(st.hypotheses))
    colours = {"commit": "#16a34a", "pause": "#0891b2", "trim": "#9333ea", "skip": "#6b7280", "finish": "#ea580c",
               "catch-up": "#b45309"}
    events = "".join(f"<li><code>{e.at:5.1f} s</code> <b style='color:{colours.get(e.kind, '#444')}'>{e.kind}</b> "
                     f"{html.escape(e.detail)}</li>" for e in reversed(st.events))
    return (win + "<div style='display:grid;grid-template-columns:1fr 1fr;gap:1em;margin-top:.6em'>"
            f"<div><b>Last hypotheses</b> (newest first)<ul style='margin:.3em 0'>{hyps}</ul></div>"
            f"<div><b>What got committed and why</b><ul style='margin:.3em 0'>{events or '<li>nothing yet</li>'}</ul>"
            "</div></div>")


def live_code(model: str, language: str, backend: str) -> str:
    lang = language_arg(language)
    return f'''from core.audio import load_audio
from core.asr.streaming import StreamingTranscriber

audio = load_audio("speech.wav")  # float32 mono 16 kHz
stream = StreamingTranscriber(model={model!r}, backend={backend!r}, language={lang!r})
for i in range(0, len(audio), 8000):  # 0.5 s chunks, as the microphone sends them
    stream.insert_audio(audio[i:i + 8000])
    state = stream.process()
    print(f"{{state.committed}} [{{state.tentative}}]  lag {{state.lag:.1f}} s")
print(stream.finish().committed)'''


# --- files ---------------------------------------------------------------------------------------

def file_code(model: str, language: str, backend: str, task: str, words: bool) -> str:
    lang = language_arg(language)
    return f'''from core.asr.whisper import transcribe
from core.asr.subtitles import to_srt

t = transcribe("speech.mp3", model={model!r}, backend={backend!r}, language={lang!r},
               task={task!r}, word_timestamps={words!r})
print(t.text)
for s in t.segments:
    print(f"{{s.start:6.2f}} {{s.end:6.2f}} {{s.text}}")
open("speech.srt", "w").write(to_srt(t))'''


def transcribe_file(source: Any, model: str, language: str | None, backend: str, task: str, words: bool,
                    progress: Callable[[float, str], None] | None = None) -> asr.Transcript:
    """The File view's action: `source` is a path or bytes (None or empty: the NO_AUDIO message)."""
    if source is None or (isinstance(source, (str, bytes, bytearray)) and not source):
        raise ValueError(NO_AUDIO)
    return asr.transcribe(source, model, backend, language_arg(language), task, bool(words), progress=progress)


def segment_rows(t: asr.Transcript) -> list[list]:
    """[start, end, text] per segment, seconds rounded to 0.01."""
    return [[round(s.start, 2), round(s.end, 2), s.text.strip()] for s in t.segments]


def file_summary(t: asr.Transcript) -> str:
    note = "" if t.text else "No speech found (silence or noise): nothing to transcribe."
    return (f"{t.seconds:.1f} s of audio · language **{t.language}** · {t.backend} · decoded in "
            f"{t.compute_seconds:.1f} s (RTF {t.compute_seconds / max(t.seconds, 1e-6):.2f}) {note}")


def render_words(t: asr.Transcript) -> str:
    if not t.words:
        return ""
    spans = "".join(f"<span title='{w.start:.2f}–{w.end:.2f} s, p={w.probability:.2f}' style='border-bottom:2px solid "
                    f"rgba(59,130,246,{0.25 + 0.75 * w.probability:.2f});margin-right:.25em'>{html.escape(w.word.strip())}"
                    "</span>" for w in t.words[:3000])
    return f"<div style='line-height:1.9'>{spans}</div><div style='font-size:.8rem;opacity:.7'>Hover a word for its " \
           "time; the underline is darker where Whisper was surer.</div>"


# --- the WebRTC microphone -----------------------------------------------------------------------

# No STUN/TURN server: browser and server meet on host candidates only, which works on this machine
# and on a LAN with no internet. (Left unset, streamlit-webrtc would fill in Google's STUN server, or
# ask Cloudflare/Twilio/Hugging Face for TURN credentials when their keys or HF_TOKEN are set.)
RTC_CONFIGURATION: dict = {"iceServers": []}


def rtc_configuration() -> dict:
    """The WebRTC configuration: RTC_CONFIGURATION, unless NLP_STUDIO_ICE_SERVERS holds a JSON list of
    ICE servers for a deployment whose browsers can't reach the server directly (a hosted Space
    behind NAT needs a TURN server, e.g. `[{"urls": "turn:turn.example.org:3478", "username": "u",
    "credential": "p"}]`)."""
    raw = os.environ.get("NLP_STUDIO_ICE_SERVERS", "").strip()
    if not raw:
        return RTC_CONFIGURATION
    try:
        servers = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"NLP_STUDIO_ICE_SERVERS is not valid JSON ({exc.msg}); give a list such as "
                         '[{"urls": "turn:host:3478", "username": "u", "credential": "p"}], or unset it '
                         "to use no STUN/TURN server at all.") from None
    if not isinstance(servers, list) or not all(isinstance(x, dict) and "urls" in x for x in servers):
        raise ValueError('NLP_STUDIO_ICE_SERVERS must be a JSON list of {"urls": ...} objects.')
    return {"iceServers": servers}


def frame_samples(frame: Any) -> tuple[np.ndarray, int, int]:
    """One PyAV `AudioFrame` (what WebRTC delivers: usually 20 ms of 48 kHz stereo s16, packed) to
    its samples as [n, channels] (int16 or float), its sample rate and its channel count."""
    channels = len(frame.layout.channels)
    a = frame.to_ndarray()
    if frame.format.is_planar:  # [channels, n]
        a = a.reshape(channels, -1).T
    else:  # packed: [1, n * channels], interleaved
        a = a.reshape(-1, channels)
    return a, int(frame.sample_rate), channels


# A jump in the frames' timestamps longer than this is audio lost on the way (packets dropped by the
# network, or by a server too busy to read its socket): two 20 ms frames of slack for jitter.
LOST_AUDIO_MIN_SECONDS = 0.04
LOST_AUDIO_FILL_SECONDS = 10.0  # a longer jump is a restarted clock, not a gap to fill


class FrameBatcher:
    """Collects WebRTC audio frames and hands on float32 mono 16 kHz chunks of about `step` seconds
    (resampled per chunk with core.audio, as the Gradio tab's 0.5 s microphone chunks are).

    Audio lost in transit shows as a jump in the frames' timestamps (`pts`): it is counted in
    `lost_seconds` (the page says so: words spoken then cannot be transcribed) and replaced by as
    much silence, so stream times stay the speaker's times and the policy sees a pause there
    rather than two phrases glued together."""

    def __init__(self, step_seconds: float | None = None) -> None:
        self.step = step_seconds or config.STREAM_STEP_SECONDS
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._rate: int | None = None
        self._next_time: float | None = None  # where the next frame should start, by the sender's clock
        self.frames = 0
        self.seconds = 0.0  # audio received, at the source rate
        self.lost_seconds = 0.0  # audio that never arrived (filled with silence)
        self.gaps = 0
        self.source = ""  # e.g. "48000 Hz, 2 channels, s16"

    def _lost(self, frame: Any, n: int, rate: int) -> float:
        """Seconds missing before this frame, judged by its timestamp (0 when it has none)."""
        if frame.pts is None:
            return 0.0
        base = frame.time_base if frame.time_base is not None else 1 / rate
        start = float(frame.pts * base)
        expected, self._next_time = self._next_time, start + n / rate
        if expected is None:
            return 0.0
        gap = start - expected
        return gap if LOST_AUDIO_MIN_SECONDS < gap <= LOST_AUDIO_FILL_SECONDS else 0.0

    def add(self, frames: list) -> list[np.ndarray]:
        """Frames in; the chunks now complete out (may be empty)."""
        out: list[np.ndarray] = []
        for frame in frames:
            samples, rate, channels = frame_samples(frame)
            if self._rate is not None and rate != self._rate:
                out += self.flush()  # the browser changed rate: resample what it sent before
                self._next_time = None
            self._rate = rate
            lost = self._lost(frame, samples.shape[0], rate)
            if lost:
                self.lost_seconds += lost
                self.gaps += 1
                self._pending.append(np.zeros((int(round(lost * rate)), channels), samples.dtype))
                self._pending_n += self._pending[-1].shape[0]
            self.source = f"{rate} Hz, {channels} channel{'s' if channels > 1 else ''}, {frame.format.name}"
            self._pending.append(samples)
            self._pending_n += samples.shape[0]
            self.frames += 1
            self.seconds += samples.shape[0] / rate
            if self._pending_n >= self.step * rate:
                out += self.flush()
        return out

    def flush(self) -> list[np.ndarray]:
        if not self._pending:
            return []
        block = np.concatenate(self._pending, axis=0)
        self._pending, self._pending_n = [], 0
        return [audio.from_array(block, int(self._rate))]


class MicFeed:
    """One session's live microphone: a thread pulls frames off a WebRTC audio receiver (anything
    with `get_frames(timeout=...)` raising `queue.Empty`), batches and resamples them, and feeds
    a `BackgroundStream` that decodes on its own thread. The page only reads `latest()`.

    The thread ends on `stop()`, or after `idle_seconds` with no frames (a closed tab)."""

    def __init__(self, receiver: Any, transcriber: streaming.StreamingTranscriber, settings: tuple = (),
                 idle_seconds: float = 30.0) -> None:
        self.receiver = receiver
        self.settings = settings
        self.runner = streaming.BackgroundStream(transcriber, idle_seconds=idle_seconds)
        self.batcher = FrameBatcher()
        self.idle_seconds = idle_seconds
        self.last_frame_at: float | None = None
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._final: streaming.StreamState | None = None
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="whisper-mic", daemon=True)

    def start(self) -> "MicFeed":
        self._started = time.monotonic()
        self._thread.start()
        return self

    def push(self, frames: list) -> None:
        """Frames in (from the receiver, or a test): batched, resampled and queued for decoding."""
        with self._lock:
            if frames:
                self.last_frame_at = time.monotonic()
            for chunk in self.batcher.add(frames):
                self.runner.feed(chunk)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frames = self.receiver.get_frames(timeout=0.5)
            except queue.Empty:  # no frame for 0.5 s: the track ended, or the browser is silent
                frames = []
                if time.monotonic() - (self.last_frame_at or self._started) > self.idle_seconds:
                    return
            except Exception as exc:  # noqa: BLE001 - shown by the page, the session stays up
                self.error = exc
                return
            try:
                self.push(frames)
            except Exception as exc:  # noqa: BLE001 - shown by the page, the session stays up
                self.error = exc
                return

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def receiving(self) -> bool:
        """Frames arrived within the last second."""
        return self.last_frame_at is not None and time.monotonic() - self.last_frame_at < 1.0

    @property
    def stopped(self) -> bool:
        """`stop()` has run: the final state is in."""
        return self._final is not None

    def latest(self) -> streaming.StreamState | None:
        return self._final or self.runner.latest()

    def stop(self) -> streaming.StreamState | None:
        """Stop pulling frames, decode what is left and commit it. Safe to call twice."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        with self._lock:
            if self._final is not None:
                return self._final
            if self.runner.error is None:
                for chunk in self.batcher.flush():
                    self.runner.feed(chunk)
            self._final = self.runner.stop()
        return self._final

    def status(self) -> str:
        """One line for the "receiving audio" indicator."""
        if self.batcher.frames == 0:
            return "Connected; waiting for audio from the microphone…"
        state = "Receiving audio" if self.receiving else "No audio arriving"
        line = (f"{state}: {self.batcher.seconds:.1f} s from the microphone ({self.batcher.frames} frames, "
                f"{self.batcher.source} → 16000 Hz mono)")
        return line + (f"; {self.lost_message()}" if self.batcher.lost_seconds else "")

    def lost_message(self) -> str:
        """What the page says when audio went missing on the way (empty when none did)."""
        b = self.batcher
        if not b.lost_seconds:
            return ""
        return (f"{b.lost_seconds:.1f} s of audio never arrived ({b.gaps} gap{'s' if b.gaps != 1 else ''}, "
                "heard as silence): the network dropped packets or this server is too busy to read them. "
                "Words spoken then are missing; a wired connection or a less loaded server helps")
