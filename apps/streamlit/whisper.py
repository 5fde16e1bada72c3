"""Live Whisper page: the microphone streamed over WebRTC into the same `StreamingTranscriber` as
the Gradio tab (committed text, tentative tail, lag, the policy at work), and files or recorded
clips to timestamped text with .txt/.srt/.vtt downloads.

WebRTC runs with no STUN/TURN server (`iceServers: []`): the browser and the server meet on host
candidates only, so it works offline on this machine and on a LAN, and nothing is looked up
outside. The WebRTC component's frontend is served from the installed package, not a CDN.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from apps.streamlit.common import code_box, guard, heading, run_page, show_error, state
from apps.streamlit.controls import render
from core import asr, config
from core.asr import streaming, subtitles
from core.asr import view as whisper_view
from core.registry import available_models

AUDIO_RECEIVER_FRAMES = 1500  # 30 s of 20 ms frames (about 6 MB) queued before WebRTC drops any, for a starved CPU
READY_TEXT = "Live transcript"
# Widget keys as the page (and its tests) always had them, by declared control name.
KEYS = {"model": "whisper-model", "language": "whisper-language", "backend": "whisper-backend",
        "task": "whisper-task", "word_timestamps": "whisper-words", "trim_seconds": "whisper-trim",
        "max_buffer_seconds": "whisper-cap", "pause_seconds": "whisper-pause", "use_vad": "whisper-vad"}
FEED = "whisper_feed"  # this session's MicFeed (st.session_state)
RESULT = "whisper_file_result"  # this session's last file transcript


def settings_bar() -> tuple[str, str, str]:
    controls = (whisper_view.model_control(available_models("asr")), *whisper_view.SETTINGS_CONTROLS[1:])
    model, language, backend = (render(c, KEYS[c.name], column) for c, column in zip(controls, st.columns(3)))
    return model, language, backend


# --- live microphone -----------------------------------------------------------------------------

def policy_knobs() -> dict:
    with st.expander("Policy settings", icon=":material/tune:"):
        columns = st.columns(len(whisper_view.POLICY_CONTROLS))
        return {c.name: render(c, KEYS[c.name], column) for c, column in zip(whisper_view.POLICY_CONTROLS, columns)}


def new_transcriber(settings: tuple, knobs: dict) -> streaming.StreamingTranscriber:
    """A fresh stream for these settings; core raises (with the fix) for a bad language or window.
    Cheap (no model load), so the page builds one on every run to show a bad setting before START."""
    model, language, backend = settings
    return streaming.StreamingTranscriber(model, backend, whisper_view.language_arg(language), **knobs)


def sync_feed(receiver, settings: tuple, knobs: dict) -> whisper_view.MicFeed | None:
    """Start this session's feed when WebRTC is playing (or its settings changed); finish it when
    the stream stops. Returns the session's current feed (None before the first START)."""
    feed: whisper_view.MicFeed | None = st.session_state.get(FEED)
    key = settings + tuple(sorted(knobs.items()))
    transcriber = new_transcriber(settings, knobs)  # raises for a bad setting, streaming or not
    if receiver is not None:
        if feed is None or feed.receiver is not receiver or feed.settings != key:
            if feed is not None:
                feed.stop()
            with st.spinner("Loading the streaming model (first use only)…"):
                asr.preload(settings[0], settings[2], streaming=True)
            feed = whisper_view.MicFeed(receiver, transcriber, key).start()
            st.session_state[FEED] = feed
    elif feed is not None and not feed.stopped:
        feed.stop()  # STOP pressed: decode the rest and commit it
    return feed


def webrtc_server() -> bool:
    """WebRTC needs the Streamlit server's session manager; AppTest and bare runs have none."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and getattr(Runtime.instance(), "_session_mgr", None) is not None


def live_panel(ctx) -> None:
    """Redrawn every 0.5 s while streaming (a fragment): nothing here decodes, it only reads the
    newest state the session's worker threads left."""
    playing = bool(ctx is not None and ctx.state.playing)
    feed: whisper_view.MicFeed | None = st.session_state.get(FEED)
    if feed is not None and playing and feed.receiver is not ctx.audio_receiver:
        feed = None  # a new connection; the next full run starts its feed
    latest = feed.latest() if feed else None
    if feed is not None and (feed.error or feed.runner.error):
        show_error(feed.error or feed.runner.error)
    if feed is not None and feed.lost_message():
        st.warning(feed.lost_message(), icon=":material/wifi_off:")
    if playing and feed is not None:
        st.markdown(f":green-badge[:material/graphic_eq: live] {feed.status()}")
    elif playing:
        st.markdown(":orange-badge[connecting] WebRTC connected; starting the transcriber…")
    elif feed is not None:
        st.markdown(f":gray-badge[stopped] {feed.status().split(':', 1)[-1].strip()} — final text below")
    else:
        st.caption("Press **START** and allow the microphone. Streaming uses WebRTC with no outside server "
                   "(works offline, on this machine or a LAN; a LAN needs https for browsers to allow the microphone).")
    left, right = st.columns([3, 2])
    with left:
        st.subheader(READY_TEXT)
        st.html(whisper_view.render_text(latest, "Press <b>START</b> and speak; words appear here."))
    with right:
        st.markdown("**Lag and level**")
        st.html(whisper_view.render_meters(latest, feed.runner.steps if feed else 0, feed.runner.overruns if feed else 0))
    with st.expander(whisper_view.POLICY_TITLE, expanded=True):
        st.html(whisper_view.render_policy(latest))


def live_section(settings: tuple) -> None:
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    knobs = policy_knobs()
    ctx = None
    if webrtc_server():
        ctx = webrtc_streamer(key="whisper-webrtc", mode=WebRtcMode.SENDONLY,
                              audio_receiver_size=AUDIO_RECEIVER_FRAMES,
                              media_stream_constraints={"audio": True, "video": False},
                              rtc_configuration=whisper_view.rtc_configuration())
    else:
        st.info("The live microphone needs the Streamlit server (`streamlit run streamlit_app.py`): "
                "its audio arrives over a WebRTC connection to this session.")
    playing = bool(ctx is not None and ctx.state.playing)
    receiver = ctx.audio_receiver if playing else None
    if st.columns([1, 5])[0].button("Clear", key="whisper-clear", icon=":material/delete:"):
        feed = st.session_state.pop(FEED, None)
        if feed is not None:
            feed.stop()  # while playing, sync_feed below starts a fresh stream on the same connection
    try:
        sync_feed(receiver, settings, knobs)
    except Exception as exc:  # noqa: BLE001 - a bad setting (language, window) shows its message
        show_error(exc)
    panel = st.fragment(live_panel, run_every=config.STREAM_STEP_SECONDS if playing else None)
    panel(ctx)
    code_box(whisper_view.live_code(*settings[:3]))


# --- files ---------------------------------------------------------------------------------------

def _source(upload, recorded, example: str, folder: str) -> tuple[str | None, str]:
    """The chosen audio as a path core can read (an upload is written into `folder` under its own
    name, so core's messages name it), and a stem for the download files."""
    chosen = upload or recorded
    if chosen is not None:
        name = Path(chosen.name).name or "recording.wav"
        path = Path(folder) / name
        path.write_bytes(chosen.getvalue())
        return str(path), Path(name).stem[:60] or "transcript"
    if example and example != "(none)":
        clips = {p.name: p for p, _ in asr.librivox_clips()}
        return str(clips[example]), Path(example).stem
    return None, "transcript"


def file_section(settings: tuple) -> None:
    model, language, backend = settings
    clips = [p.name for p, _ in asr.librivox_clips()]
    with st.form("whisper-file-form", border=True):
        c1, c2 = st.columns(2)
        upload = c1.file_uploader("Audio file (wav, mp3, flac, ogg, m4a, a video's sound…)", key="whisper-upload")
        recorded = c2.audio_input("Or record a clip", key="whisper-record")
        example = c2.selectbox("Or a LibriVox clip", ["(none)"] + clips, key="whisper-example")
        c3, c4 = st.columns(2)
        task, words = (render(c, KEYS[c.name], column) for c, column in zip(whisper_view.FILE_CONTROLS, (c3, c4)))
        go = st.form_submit_button(whisper_view.TRANSCRIBE, type="primary", key="whisper-transcribe",
                                   icon=":material/subtitles:")
    if go:
        st.session_state.pop(RESULT, None)
        bar = st.progress(0.0, "starting")
        with guard(), tempfile.TemporaryDirectory(prefix="whisper-st-") as folder:
            path, stem = _source(upload, recorded, example, folder)
            try:
                t = whisper_view.transcribe_file(path, model, language, backend, task, words,
                                                 progress=lambda f, msg: bar.progress(min(max(f, 0.0), 1.0), msg))
            finally:
                bar.empty()
            st.session_state[RESULT] = {"transcript": t, "stem": stem,
                                        "code": whisper_view.file_code(model, language, backend, task, bool(words))}
    result = state(RESULT, None)
    if result is None:
        code_box(whisper_view.file_code(model, language, backend, "transcribe", True))
        return
    t: asr.Transcript = result["transcript"]
    st.subheader("Transcript")
    st.text_area("Text", t.text, height=120)
    st.markdown(whisper_view.file_summary(t))
    rows = whisper_view.segment_rows(t)
    st.dataframe([{"start": a, "end": b, "text": c} for a, b, c in rows], hide_index=True, width="stretch",
                 key="whisper-segments", column_config={
                     "start": st.column_config.NumberColumn("start (s)", width="small", format="%.2f"),
                     "end": st.column_config.NumberColumn("end (s)", width="small", format="%.2f"),
                     "text": st.column_config.TextColumn("text", width="large")})
    if t.words:
        st.html(whisper_view.render_words(t))
    cols = st.columns(len(subtitles.FORMATS))
    mimes = {"txt": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt"}
    for col, fmt in zip(cols, subtitles.FORMATS):
        col.download_button(f".{fmt}", subtitles.render(t, fmt), f"{result['stem']}.{fmt}", mimes[fmt],
                            key=f"whisper-download-{fmt}", icon=":material/download:")
    with st.expander("As JSON (what the Gradio app's /transcribe returns)"):
        st.json(t.to_dict(), expanded=False)
    code_box(result["code"])


def main() -> None:
    heading("whisper", whisper_view.INTRO)
    settings = settings_bar()
    live, files = st.tabs([whisper_view.LIVE_TAB, whisper_view.FILE_TAB])
    with live:
        live_section(settings)
    with files:
        file_section(settings)


run_page(main)
