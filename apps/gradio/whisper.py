"""Live Whisper: the microphone transcribed as you speak, with the commit policy on show; and files
to text, with timestamps and .txt/.srt/.vtt downloads."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np

from apps.gradio.common import code_box, friendly, session_folder
from apps.gradio.controls import render, render_all
from apps.tabs import TABS
from core import asr, audio, config
from core.asr import streaming, subtitles
from core.asr import view as whisper_view
from core.asr.view import file_code, live_code, render_policy, render_text, render_words
from core.registry import available_models
from core.zerogpu import gpu

TITLE, WEEKS, SUMMARY = TABS["whisper"].heading


@dataclass
class Live:
    """One browser session's live stream (kept in gr.State, never shared): settings and the
    background stream that decodes while the browser keeps sending audio."""

    settings: tuple
    runner: streaming.BackgroundStream

    @property
    def last(self) -> streaming.StreamState | None:
        return self.runner.latest()


# --- rendering (the HTML and snippets live in core/asr/view.py, shared with the Streamlit page) --------

def render_meters(live: Live | None) -> str:
    if live is None:
        return whisper_view.render_meters(None)
    return whisper_view.render_meters(live.last, live.runner.steps, live.runner.overruns)


# --- handlers -----------------------------------------------------------------------------------

_language = whisper_view.language_arg


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


@gpu()
def run_file(path, model: str, language: str, backend: str, task: str, words: bool, progress=gr.Progress()):
    t = whisper_view.transcribe_file(path, model, language, backend, task, bool(words),
                                     progress=lambda f, msg: progress(f, desc=msg))
    folder = session_folder("whisper-")  # removed when the session ends
    stem = Path(str(path)).stem[:60] or "transcript"
    files = subtitles.write_all(t, folder, stem)
    return (t.text, whisper_view.file_summary(t), whisper_view.segment_rows(t), render_words(t), [str(p) for p in files.values()], t.to_dict(),
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
    gr.Markdown("### Live Whisper\n" + whisper_view.INTRO)
    with gr.Row():
        model = render(whisper_view.model_control(models))
        language, backend = render_all(whisper_view.SETTINGS_CONTROLS[1:]).values()
    with gr.Tab(whisper_view.LIVE_TAB):
        live = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                text = gr.HTML(render_text(None), label="Transcript", elem_id="whisper-live-text")
            with gr.Column(scale=2):
                mic = gr.Audio(sources=["microphone"], streaming=True, type="numpy", label="Microphone",
                               elem_id="whisper-mic")
                meters = gr.HTML(render_meters(None), elem_id="whisper-meters")
                clear = gr.Button("Clear", size="sm")
        with gr.Accordion(whisper_view.POLICY_TITLE, open=True):
            policy = gr.HTML(render_policy(None), elem_id="whisper-policy")
        code = code_box(live_code(asr.DEFAULT_MODEL, "auto", "faster-whisper"))
    with gr.Tab(whisper_view.FILE_TAB):
        with gr.Row():
            with gr.Column(scale=2):
                file_in = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Audio (any format/rate)")
                with gr.Row():
                    task, words = render_all(whisper_view.FILE_CONTROLS).values()
                go = gr.Button(whisper_view.TRANSCRIBE, variant="primary")
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
