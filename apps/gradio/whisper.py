"""Live Whisper: the microphone transcribed as you speak, with the commit policy on show; and files
to text, with timestamps and .txt/.srt/.vtt downloads."""
from __future__ import annotations

import html
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from apps.gradio.common import code_box, friendly
from apps.tabs import TABS
from core import asr, audio, config, streaming, subtitles
from core.registry import available_models

TITLE, WEEKS, SUMMARY = TABS["whisper"].heading

LANGUAGES = ["auto", "en", "fr", "de", "es", "it", "pt", "nl", "pl", "ru", "zh", "ja", "ko", "ar", "hi", "tr"]
CSS_LIVE = "font-size:1.35rem;line-height:1.6;min-height:6.5em;padding:.8em 1em;border-radius:8px;" \
           "border:1px solid var(--border-color-primary)"


@dataclass
class Live:
    """One browser session's live stream (kept in gr.State, never shared): settings and the
    background stream that decodes while the browser keeps sending audio."""

    settings: tuple
    runner: streaming.BackgroundStream

    @property
    def last(self) -> streaming.StreamState | None:
        return self.runner.latest()


# --- rendering ----------------------------------------------------------------------------------

def render_text(st: streaming.StreamState | None) -> str:
    if st is None or not (st.committed or st.tentative):
        hint = "Press <b>Record</b> and speak; words appear here." if st is None else "Listening..."
        return f"<div style='{CSS_LIVE};opacity:.6'>{hint}</div>"
    committed = html.escape(st.committed)
    tentative = html.escape(st.tentative)
    return (f"<div style='{CSS_LIVE}'><span>{committed}</span> "
            f"<span style='color:#8a8f98;font-style:italic' title='tentative: may still change'>{tentative}</span></div>")


def _bar(label: str, value: str, fraction: float, colour: str) -> str:
    pct = int(max(0.0, min(1.0, fraction)) * 100)
    return (f"<div style='margin:.2em 0'><div style='display:flex;justify-content:space-between;font-size:.9rem'>"
            f"<span>{label}</span><b>{value}</b></div><div style='height:10px;border-radius:5px;"
            f"background:var(--background-fill-secondary);border:1px solid var(--border-color-primary)'>"
            f"<div style='width:{pct}%;height:100%;border-radius:5px;background:{colour}'></div></div></div>")


def render_meters(live: Live | None) -> str:
    st = live.last if live else None
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
              f"s per audio s · {live.runner.overruns} of {live.runner.steps} decodes overran their step</div>")


def render_policy(st: streaming.StreamState | None) -> str:
    if st is None:
        return "<div style='opacity:.7'>The policy panel fills in while you speak.</div>"
    span = max(st.received, 10.0)
    left, right = st.window
    win = (f"<div style='position:relative;height:22px;border-radius:4px;background:var(--background-fill-secondary);"
           f"border:1px solid var(--border-color-primary)'><div style='position:absolute;left:{left / span * 100:.1f}%;"
           f"width:{max(1.0, (right - left) / span * 100):.1f}%;top:0;bottom:0;background:#93c5fd;opacity:.8;"
           "border-radius:4px'></div></div>"
           f"<div style='font-size:.85rem'>Window Whisper decodes: <b>{left:.1f}–{right:.1f} s</b> "
           f"({right - left:.1f} s of the {st.received:.1f} s heard; trimmed past {config.STREAM_TRIM_SECONDS:.0f} s "
           f"at a sentence end, capped at {config.STREAM_MAX_BUFFER_SECONDS:.0f} s)</div>")
    hyps = "".join(f"<li><code>{t:5.1f} s</code> {html.escape(h) or '<i>(nothing)</i>'}</li>"
                   for t, h in reversed(st.hypotheses))
    colours = {"commit": "#16a34a", "pause": "#0891b2", "trim": "#9333ea", "skip": "#6b7280", "finish": "#ea580c"}
    events = "".join(f"<li><code>{e.at:5.1f} s</code> <b style='color:{colours.get(e.kind, '#444')}'>{e.kind}</b> "
                     f"{html.escape(e.detail)}</li>" for e in reversed(st.events))
    return (win + "<div style='display:grid;grid-template-columns:1fr 1fr;gap:1em;margin-top:.6em'>"
            f"<div><b>Last hypotheses</b> (newest first)<ul style='margin:.3em 0'>{hyps}</ul></div>"
            f"<div><b>What got committed and why</b><ul style='margin:.3em 0'>{events or '<li>nothing yet</li>'}</ul>"
            "</div></div>")


def live_code(model: str, language: str, backend: str) -> str:
    lang = None if language == "auto" else language
    return f'''from core.audio import load_audio
from core.streaming import StreamingTranscriber

audio = load_audio("speech.wav")  # float32 mono 16 kHz
stream = StreamingTranscriber(model={model!r}, backend={backend!r}, language={lang!r})
for i in range(0, len(audio), 8000):  # 0.5 s chunks, as the microphone sends them
    stream.insert_audio(audio[i:i + 8000])
    state = stream.process()
    print(f"{{state.committed}} [{{state.tentative}}]  lag {{state.lag:.1f}} s")
print(stream.finish().committed)'''


def file_code(model: str, language: str, backend: str, task: str, words: bool) -> str:
    lang = None if language == "auto" else language
    return f'''from core.asr import transcribe
from core.subtitles import to_srt

t = transcribe("speech.mp3", model={model!r}, backend={backend!r}, language={lang!r},
               task={task!r}, word_timestamps={words!r})
print(t.text)
for s in t.segments:
    print(f"{{s.start:6.2f}} {{s.end:6.2f}} {{s.text}}")
open("speech.srt", "w").write(to_srt(t))'''


def render_words(t: asr.Transcript) -> str:
    if not t.words:
        return ""
    spans = "".join(f"<span title='{w.start:.2f}–{w.end:.2f} s, p={w.probability:.2f}' style='border-bottom:2px solid "
                    f"rgba(59,130,246,{0.25 + 0.75 * w.probability:.2f});margin-right:.25em'>{html.escape(w.word.strip())}"
                    "</span>" for w in t.words[:3000])
    return f"<div style='line-height:1.9'>{spans}</div><div style='font-size:.8rem;opacity:.7'>Hover a word for its " \
           "time; the underline is darker where Whisper was surer.</div>"


# --- handlers -----------------------------------------------------------------------------------

def _language(language: str | None) -> str | None:
    return None if not language or language == "auto" else language


def on_chunk(chunk, live: Live | None, model: str, language: str, backend: str):
    """A microphone chunk: queue it for the session's background stream and show the newest state.
    Returns at once, so the browser never waits and no audio is dropped."""
    if chunk is None:
        return live, gr.skip(), gr.skip(), gr.skip()
    settings = (model, _language(language), backend)
    if live is None or live.settings != settings or live.runner._stop.is_set():  # noqa: SLF001
        if live is not None:
            live.runner.stop()
        live = Live(settings, streaming.BackgroundStream(streaming.StreamingTranscriber(model, backend,
                                                                                        _language(language))))
    sr, samples = chunk
    live.runner.feed(audio.from_array(samples, sr))
    st = live.last
    return live, render_text(st), render_meters(live), render_policy(st)


def warm_up(model: str, backend: str) -> None:
    """Record pressed: load the streaming model now, while the first chunks are still arriving."""
    asr.preload(model, backend, streaming=True)


def on_stop(live: Live | None):
    if live is None:
        return live, gr.skip(), gr.skip(), gr.skip()
    st = live.runner.stop()
    return live, render_text(st), render_meters(live), render_policy(st)


def on_clear(live: Live | None):
    if live is not None:
        live.runner.stop()
    return None, render_text(None), render_meters(None), render_policy(None)


def run_file(path, model: str, language: str, backend: str, task: str, words: bool, progress=gr.Progress()):
    if not path:
        raise ValueError("Upload or record some audio first (wav, mp3, flac, ogg, m4a).")
    t = asr.transcribe(path, model, backend, _language(language), task, bool(words),
                       progress=lambda f, msg: progress(f, desc=msg))
    folder = Path(tempfile.mkdtemp(prefix="whisper-"))
    stem = Path(str(path)).stem[:60] or "transcript"
    files = subtitles.write_all(t, folder, stem)
    rows = [[round(s.start, 2), round(s.end, 2), s.text.strip()] for s in t.segments]
    note = "" if t.text else "No speech found (silence or noise): nothing to transcribe."
    summary = (f"{t.seconds:.1f} s of audio · language **{t.language}** · {t.backend} · decoded in "
               f"{t.compute_seconds:.1f} s (RTF {t.compute_seconds / max(t.seconds, 1e-6):.2f}) {note}")
    return (t.text, summary, rows, render_words(t), [str(p) for p in files.values()], t.to_dict(),
            file_code(model, language, backend, task, bool(words)))


def api_transcribe_chunks(chunks: list[list[float]], sample_rate: int = 16000, model: str = asr.DEFAULT_MODEL,
                          language: str = "auto", backend: str = "faster-whisper") -> dict:
    """Non-streaming twin of the live microphone: a list of audio chunks (float samples, mono, any
    rate) go through one fresh stream, one step per chunk; returns the final state (committed text,
    hypotheses, the policy's events, compute)."""
    if not isinstance(chunks, list) or not chunks:
        raise ValueError("chunks must be a non-empty list of lists of float samples")
    arrays = [audio.from_array(np.asarray(c, np.float32), int(sample_rate)) for c in chunks]
    return streaming.transcribe_chunks(arrays, model, backend, _language(language)).to_dict()


# --- layout -------------------------------------------------------------------------------------

def build() -> None:
    models = available_models("asr")
    gr.Markdown("### Live Whisper\nWhisper decodes a short sliding window of your speech every half second. A word "
                "turns **final** when two decodes in a row agree on it (or you pause); the greyed tail may still "
                "change. The window is cut at sentence ends, so the cost stays flat however long you talk.")
    with gr.Row():
        model = gr.Dropdown(models, value=asr.DEFAULT_MODEL, label="Model",
                            info="tiny.en ships offline; others: python -m core.download KEY")
        language = gr.Dropdown(LANGUAGES, value="auto", label="Language", info="auto = detect (multilingual models)")
        backend = gr.Radio(list(asr.BACKENDS), value="faster-whisper", label="Backend",
                           info="faster-whisper (CTranslate2) is the fast one for live use")
    with gr.Tab("Live microphone"):
        live = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                text = gr.HTML(render_text(None), label="Transcript", elem_id="whisper-live-text")
            with gr.Column(scale=2):
                mic = gr.Audio(sources=["microphone"], streaming=True, type="numpy", label="Microphone",
                               elem_id="whisper-mic")
                meters = gr.HTML(render_meters(None), elem_id="whisper-meters")
                clear = gr.Button("Clear", size="sm")
        with gr.Accordion("The policy at work", open=True):
            policy = gr.HTML(render_policy(None), elem_id="whisper-policy")
        code = code_box(live_code(asr.DEFAULT_MODEL, "auto", "faster-whisper"))
    with gr.Tab("File"):
        with gr.Row():
            with gr.Column(scale=2):
                file_in = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Audio (any format/rate)")
                with gr.Row():
                    task = gr.Radio(list(asr.TASKS), value="transcribe", label="Task",
                                    info="translate: speech in any language to English text (multilingual models)")
                    words = gr.Checkbox(True, label="Word timestamps")
                go = gr.Button("Transcribe", variant="primary")
                clips = asr.librivox_clips()
                if clips:
                    gr.Examples([[str(p)] for p, _ in clips[:3]], inputs=[file_in], label="LibriVox clips")
            with gr.Column(scale=3):
                out_text = gr.Textbox(label="Text", lines=4, elem_id="whisper-file-text")
                summary = gr.Markdown()
                seg_table = gr.Dataframe(headers=["start", "end", "text"], interactive=False, wrap=True,
                                         column_widths=["10%", "10%", "80%"], label="Segments (seconds)")
                words_html = gr.HTML()
                downloads = gr.File(label="Downloads (.txt, .srt, .vtt)", file_count="multiple")
                with gr.Accordion("As JSON (what /transcribe returns)", open=False):
                    as_json = gr.JSON()
        file_code_box = code_box(file_code(asr.DEFAULT_MODEL, "auto", "faster-whisper", "transcribe", True))

    mic.stream(friendly(on_chunk), [mic, live, model, language, backend], [live, text, meters, policy],
               stream_every=config.STREAM_STEP_SECONDS, time_limit=config.STREAM_MAX_SESSION_SECONDS,
               concurrency_limit=4, api_visibility="private", show_progress="hidden")
    mic.start_recording(friendly(warm_up), [model, backend], None, api_visibility="private", show_progress="hidden")
    mic.stop_recording(friendly(on_stop), [live], [live, text, meters, policy], api_visibility="private")
    clear.click(on_clear, [live], [live, text, meters, policy], api_visibility="private")
    for comp in (model, language, backend):
        comp.change(live_code, [model, language, backend], code, api_visibility="private")
    go.click(friendly(run_file), [file_in, model, language, backend, task, words],
             [out_text, summary, seg_table, words_html, downloads, as_json, file_code_box],
             api_name="transcribe", concurrency_limit=2)
    gr.api(friendly(api_transcribe_chunks), api_name="transcribe_chunks", concurrency_limit=2)
