"""TTS Pipeline page: text to speech with every stage visible and editable. Roadmap week 8.

Speak (a form, so typing does not rerun the page) streams the text sentence by sentence: each
sentence gets its own player as soon as it is made, the first one autoplays. The finished take is
kept in st.session_state and redrawn from there on every later rerun; only Speak / Speak again
call core.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.streamlit.common import code_box, guard, heading, run_page, state
from apps.streamlit.controls import render
from core import config, tts
from core.tts import xtts as tts_xtts, view
from core.audio import to_int16
from core.controls import by_name
from core.tts.figures import karaoke_html, mel_figure, stage_rows, timeline_figure

RESULT = "tts_result"  # this session's last take: speech, figures, downloads (see _speak)
BASELINE = "tts_baseline"  # the last un-edited take's {text, phonemes}: edits are measured against it
EDITOR = "tts_phonemes"  # the phoneme data_editor's key
LANGUAGE_NAMES = {code: name for name, code in tts_xtts.LANGUAGES}

# Light up the word and the phoneme under the playhead (the karaoke block is its own iframe).
KARAOKE_JS = """<script>
const a = document.querySelector('audio');
const tick = () => {
  const t = a.currentTime;
  document.querySelectorAll('.kw, .kp').forEach(s => s.classList.toggle('on', t >= +s.dataset.s && t < +s.dataset.e));
  if (!a.paused && !a.ended) requestAnimationFrame(tick);
};
if (a) { a.addEventListener('play', () => requestAnimationFrame(tick)); a.addEventListener('seeked', tick);
         a.addEventListener('ended', tick); }
</script>"""


def _use_example() -> None:
    if st.session_state.get("tts_example"):
        st.session_state["tts_text"] = st.session_state["tts_example"]


def _controls() -> dict:
    """Engine and voice (outside the form: they change the other controls), then the form."""
    ss = st.session_state
    left, side = st.columns([3, 2], gap="large")
    with side:
        engine = st.radio("Engine", list(view.VOICES), key="tts_engine", horizontal=True,
                          format_func=lambda e: view.ENGINE_LABELS[e])
        voice = st.selectbox("Voice", view.VOICES[engine], key=f"tts_voice_{engine}", accept_new_options=True,
                             help=view.VOICE_HINTS[engine].capitalize())
        xtts = view.is_xtts(engine, voice)
        with guard():
            st.markdown(view.engine_note(engine, voice))
        if xtts:
            st.markdown(view.xtts_note(engine, voice))
        speakers = view.voice_speakers(engine, voice or "")
    with left:
        st.selectbox("Try an example", view.EXAMPLES, index=None, key="tts_example", on_change=_use_example,
                     placeholder="Pick an example text…")
        with st.form("tts_form", border=False):
            st.text_area("Text to speak", view.DEMO_TEXT, key="tts_text", height=110,
                         max_chars=config.TTS_MAX_CHARS,
                         placeholder="Type anything: numbers, dates, $ amounts, Dr./St. …")
            used = view.ENGINE_CONTROLS[engine]
            voice_controls = by_name(view.VOICE_CONTROLS)
            render(voice_controls["rate"], "tts_rate")
            c1, c2 = st.columns(2)
            for name, column in (("noise", c1), ("noise_w", c2), ("pitch", c1)):
                if name in used:
                    render(voice_controls[name], f"tts_{name}", column)
            if xtts:
                _xtts_controls(speakers)
            elif speakers:
                st.selectbox(view.SPEAKER_LABEL, speakers, key="tts_speaker")
            st.checkbox("Fast start: cut a long first sentence early (first audio sooner, a seam in its melody)",
                        key="tts_fast_start")
            speak = st.form_submit_button("Speak", type="primary", key="tts_speak", icon=":material/record_voice_over:")
    return {"engine": engine, "voice": voice or "", "speak": speak,
            "text": ss.get("tts_text", view.DEMO_TEXT), "rate": float(ss.get("tts_rate", 1.0)),
            **view.engine_options(engine, ss.get("tts_noise", 0.667), ss.get("tts_noise_w", 0.8),
                                  ss.get("tts_pitch", 50)),
            "speaker": ss.get("tts_xtts_speaker" if xtts else "tts_speaker") if speakers else None,
            "fast_start": bool(ss.get("tts_fast_start", False)),
            "reference": _reference() if xtts else None, "language": ss.get("tts_language", "en") if xtts else None}


def _xtts_controls(speakers: list[str]) -> None:
    """Voice cloning (XTTS v2): a reference recorded or uploaded, the language, and the built-in
    studio speakers once the model is loaded (none picked, so the reference is used)."""
    with st.container(border=True):
        st.markdown(f"**{view.REFERENCE_LABEL}**")
        record, upload = st.columns(2)
        record.audio_input("Record it", key="tts_ref_record", sample_rate=None)
        upload.file_uploader("or upload it", type=["wav", "mp3", "flac", "ogg", "m4a", "webm"],
                             key="tts_ref_upload")
        st.caption("A recording is used when there is one, else the upload.")
        st.selectbox("Language (XTTS)", list(LANGUAGE_NAMES), key="tts_language",
                     format_func=lambda code: f"{LANGUAGE_NAMES[code]} ({code})")
        if speakers:
            st.selectbox(view.XTTS_SPEAKER_LABEL, speakers, index=None, key="tts_xtts_speaker",
                         placeholder="none: clone the reference")


def _reference():
    """The reference to clone as (bytes, file name), or None when none is given (core then says
    what to do)."""
    file = st.session_state.get("tts_ref_record") or st.session_state.get("tts_ref_upload")
    return (file.getvalue(), file.name) if file is not None else None


def _speak(c: dict, edits: dict[int, str] | None) -> None:
    """Stream the text: a player per sentence as it is made, then store the whole take."""
    chunks: list[tts.Speech] = []
    reference = tts_xtts.load_reference(*c["reference"]) if c["reference"] else None
    with st.status("Speaking, sentence by sentence…", expanded=True) as status:
        st.caption("Each sentence plays as soon as it is ready; the first one starts on its own. "
                   "The full take with every stage follows below.")
        options = tts.SynthesisOptions(rate=c["rate"], noise=c["noise"], noise_w=c["noise_w"], pitch=c["pitch"],
                                   speaker=c["speaker"], reference=reference, language=c["language"])
        for chunk in tts.stream(c["text"], c["engine"], c["voice"], options, edits, fast_start=c["fast_start"]):
            chunks.append(chunk)
            st.write(view.chunk_note(chunk, chunks[0].first_audio_seconds))
            st.audio(to_int16(chunk.audio), sample_rate=chunk.sample_rate, autoplay=len(chunks) == 1)
        # stays open: collapsing it could stop a sentence that is still playing
        status.update(label=f"Spoke {len(chunks)} sentence{'s' * (len(chunks) != 1)}", state="complete",
                      expanded=True)
    speech = tts.join(chunks)
    if not edits:
        st.session_state[BASELINE] = {"text": c["text"], "phonemes": [w.phonemes for w in speech.words]}
    baseline = st.session_state.get(BASELINE, {}).get("phonemes")
    previous = st.session_state.get(RESULT)
    st.session_state[RESULT] = {
        "speech": speech, "note": view.done_note(speech, baseline),
        "rows": view.phoneme_rows(speech), "timeline": timeline_figure(speech), "mel": mel_figure(speech),
        "karaoke": karaoke_html(speech), "stages": stage_rows(speech),
        "wav": tts.to_wav_bytes(speech), "json": view.stage_json(speech),
        "code": view.code_snippet(c["text"], c["engine"], c["voice"], c["rate"], edits or {}, c["language"]),
        "previous": previous["speech"] if previous else None,
    }
    st.session_state.pop(EDITOR, None)  # a new take: the table starts from its phonemes


def _edits(c: dict) -> dict[int, str]:
    result, base = st.session_state.get(RESULT), st.session_state.get(BASELINE) or {}
    if result is None:
        raise ValueError("Press Speak first: phoneme edits apply to the text that was last spoken.")
    rows = [list(r) for r in result["rows"]]
    for i, change in (st.session_state.get(EDITOR) or {}).get("edited_rows", {}).items():
        for column, value in change.items():
            if column == view.PHONEME_HEADERS[2]:
                rows[int(i)][2] = value
    return view.edits_from_rows(rows, base.get("phonemes"), c["text"], base.get("text"))


def _show(result: dict) -> None:
    speech: tts.Speech = result["speech"]
    st.success(result["note"], icon=":material/graphic_eq:")
    now, before = st.columns([3, 2])
    with now:
        st.markdown("**5 · Audio** (the whole take)")
        st.audio(result["wav"], format="audio/wav")
    with before:
        st.markdown("**Previous take** (compare after an edit)")
        if result["previous"] is not None:
            st.audio(to_int16(result["previous"].audio), sample_rate=result["previous"].sample_rate)
        else:
            st.caption("Speak again to compare two takes.")

    norm, phon = st.columns(2, gap="large")
    with norm:
        st.subheader("1 · Normalized text", anchor=False)
        st.html(view.highlights_html(speech.normalized.highlights()))
        kinds = sorted({r.kind for r in speech.normalized.rewrites})
        st.caption("Rewrites: " + (", ".join(kinds) if kinds else "none (the text was already speakable)"))
        st.markdown(view.phoneme_line(speech))
    with phon:
        st.subheader("2 · Phonemes per word", anchor=False)
        st.caption(view.XTTS_TOKENS_NOTE if speech.engine == tts_xtts.XttsEngine.name
                   else "Edit the phonemes column, then *Speak again with my phoneme edits*.")
        table = pd.DataFrame(result["rows"], columns=view.PHONEME_HEADERS)
        st.data_editor(table, key=EDITOR, hide_index=True, width="stretch", num_rows="fixed",
                       disabled=[h for h in view.PHONEME_HEADERS if h != view.PHONEME_HEADERS[2]],
                       height=min(38 + 35 * len(table), 320))
        st.button("Speak again with my phoneme edits", key="tts_respeak", icon=":material/edit:")

    st.subheader("3 · Durations: which phoneme and word sounds when", anchor=False)
    st.plotly_chart(result["timeline"], key="tts_timeline", width="stretch")
    st.markdown("**Karaoke**: press play, the words light up as they are spoken.")
    if speech.has_durations:
        st.iframe(f"<style>{view.KARAOKE_CSS} body{{font-family:sans-serif}}</style>{result['karaoke']}"
                  f"{KARAOKE_JS}", height=230)
    else:
        st.html(result["karaoke"])
    st.subheader("4 · Mel-spectrogram", anchor=False)
    st.plotly_chart(result["mel"], key="tts_mel", width="stretch")

    times, files = st.columns([3, 2], gap="large")
    with times:
        st.markdown("**Time per stage**")
        st.markdown(view.stage_markdown(result["stages"]))
    with files:
        st.markdown("**Download**")
        st.download_button("Audio (wav)", result["wav"], "speech.wav", "audio/wav", key="tts_dl_wav",
                           icon=":material/download:")
        st.download_button("Stage data (json)", result["json"], "speech-stages.json", "application/json",
                           key="tts_dl_json", icon=":material/data_object:")


def main() -> None:
    heading("tts", view.INTRO)
    c = _controls()
    if c["speak"]:
        with guard():
            _speak(c, None)
    if st.session_state.get("tts_respeak"):  # the button is drawn further down, with the table
        with guard():
            _speak(c, _edits(c))
    result = state(RESULT, None)
    if result is None:
        st.info("Press **Speak**: each stage appears here with its time.", icon=":material/info:")
        code_box(view.code_snippet(view.DEMO_TEXT, "piper", "piper-joe", 1.0))
        return
    _show(result)
    code_box(result["code"])


run_page(main)
