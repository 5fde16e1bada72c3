"""TTS Pipeline: text to speech with every stage visible and editable. Roadmap week 8.

Stages: (1) normalization, each rewrite highlighted; (2) phonemes per word, editable;
(3) durations over the waveform, with karaoke playback; (4) the mel-spectrogram; (5) the audio.
Long text is spoken sentence by sentence, so the first sentence plays while the rest is made.
"""
from __future__ import annotations

import gradio as gr

from apps.gradio.common import code_box, friendly, session_folder
from apps.gradio.controls import render
from apps.tabs import TABS
from core import tts
from core.tts import xtts as tts_xtts, view
from core.audio import to_int16
from core.controls import by_name
from core.tts.figures import karaoke_html, mel_figure, stage_rows, timeline_figure
from core.tts.view import DEMO_TEXT, KARAOKE_CSS, KIND_COLOURS, PHONEME_HEADERS, VOICES
from core.zerogpu import gpu

TITLE, WEEKS, SUMMARY = TABS["tts"].heading

INTRO = "### TTS Pipeline · roadmap week 8 (text to speech)\n" + view.INTRO
EXAMPLES = [[text] for text in view.EXAMPLES]
# Light up the word and the phoneme under the playhead. Listeners sit on the container (capture
# phase: media events do not bubble), so they keep working when a new take replaces the HTML.
KARAOKE_JS = """
const tick = () => {
  const a = element.querySelector('audio');
  if (!a) return;
  const t = a.currentTime;
  element.querySelectorAll('.kw, .kp').forEach(s => s.classList.toggle('on', t >= +s.dataset.s && t < +s.dataset.e));
  if (!a.paused && !a.ended) requestAnimationFrame(tick);
};
element.addEventListener('play', () => requestAnimationFrame(tick), true);
element.addEventListener('seeked', tick, true);
element.addEventListener('timeupdate', tick, true);
element.addEventListener('ended', tick, true);
"""


# ------------------------------------------------------------------------------------------
# API
# ------------------------------------------------------------------------------------------
def api_phonemize(text: str, engine: str = "piper", voice: str = "piper-joe") -> dict:
    """Normalized text and phonemes (IPA), per sentence and word. No audio.
    Returns {normalized, rewrites: [{kind, source, spoken}], sentences: [[{word, phonemes, punct}]]}."""
    norm, sentences = tts.phonemize(text, engine, voice)
    return {
        "normalized": norm.text,
        "rewrites": [{"kind": r.kind, "source": r.source, "spoken": r.spoken} for r in norm.rewrites],
        "sentences": [[{"word": w.text, "phonemes": w.phonemes, "punct": w.punct} for w in s] for s in sentences],
    }


def api_speak(text: str, engine: str = "piper", voice: str = "piper-joe", rate: float = 1.0):
    """Speak `text`; returns the audio (WAV, 22,050 Hz mono for Piper)."""
    speech = tts.synthesize(text, engine, voice, float(rate))
    return speech.sample_rate, to_int16(speech.audio)


# ------------------------------------------------------------------------------------------
# UI handlers
# ------------------------------------------------------------------------------------------
def _downloads(speech: tts.Speech) -> list[str]:
    folder = session_folder("tts-")  # removed when the session ends
    wav, stages = folder / "speech.wav", folder / "speech-stages.json"
    wav.write_bytes(tts.to_wav_bytes(speech))
    stages.write_text(view.stage_json(speech), encoding="utf-8")
    return [str(wav), str(stages)]


def _edits_from_table(table, session: dict | None, text: str) -> dict[int, str]:
    rows = table.values.tolist() if hasattr(table, "values") else list(table or [])
    session = session or {}
    return view.edits_from_rows(rows, session.get("phonemes"), text, session.get("text"))


def _outputs(**named) -> tuple:
    """The handler's values in OUTPUTS' order, by name; an output not named stays as it is."""
    unknown = set(named) - set(OUTPUTS)
    if unknown:
        raise KeyError(f"not an output of the TTS tab: {sorted(unknown)}")
    return tuple(named.get(name, gr.skip()) for name in OUTPUTS)


def _run(c: dict, edits: dict[int, str] | None, session: dict | None):
    """The streaming handler: yields each sentence's audio as it is ready, then every stage.
    `c`: the controls by name; `reference` (a file path from the upload/recording) and `language`
    count only for an XTTS voice."""
    options = view.engine_options(c["engine"], c["noise"], c["noise_w"], c["pitch"])
    xtts = view.is_xtts(c["engine"], c["voice"])
    reference, language = (c["reference"], c["language"] or "en") if xtts else (None, None)
    settings = tts.SynthesisOptions(rate=float(c["rate"]), noise=options["noise"], noise_w=options["noise_w"],
                                    pitch=options["pitch"], speaker=c["speaker"] or None, reference=reference,
                                    language=language)
    session = dict(session or {})
    chunks = []
    for chunk in tts.stream(c["text"], c["engine"], c["voice"], settings, edits or None,
                            fast_start=bool(c["fast_start"])):
        chunks.append(chunk)
        yield _outputs(live_audio=(chunk.sample_rate, to_int16(chunk.audio)),
                       status=view.chunk_note(chunk, chunks[0].first_audio_seconds))
    speech = tts.join(chunks)
    if not edits:
        session.update(text=c["text"], phonemes=[w.phonemes for w in speech.words])
    previous = session.get("take")
    session["take"] = (speech.sample_rate, to_int16(speech.audio))
    yield _outputs(status=view.done_note(speech, session.get("phonemes")), norm_view=speech.normalized.highlights(),
                   phoneme_table=view.phoneme_rows(speech), phoneme_string=view.phoneme_line(speech),
                   timeline=timeline_figure(speech), karaoke=karaoke_html(speech), mel_plot=mel_figure(speech),
                   stage_table=view.stage_markdown(stage_rows(speech)), files=_downloads(speech),
                   code=view.code_snippet(c["text"], c["engine"], c["voice"], float(c["rate"]), edits or {}, language),
                   session=session, last_take=previous if previous is not None else gr.skip())


def _controls(text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker, reference, language) -> dict:
    return {"text": text, "engine": engine, "voice": voice, "rate": rate, "noise": noise, "noise_w": noise_w,
            "pitch": pitch, "fast_start": fast_start, "speaker": speaker, "reference": reference,
            "language": language}


@gpu()
def speak(text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker, session, reference=None,
          language=None):
    c = _controls(text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker, reference, language)
    yield from _run(c, None, session)


@gpu()
def respeak(text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker, table, session, reference=None,
            language=None):
    c = _controls(text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker, reference, language)
    yield from _run(c, _edits_from_table(table, session, text), session)


def engine_changed(engine: str):
    return (gr.update(choices=VOICES[engine], value=VOICES[engine][0], info=view.VOICE_HINTS[engine]),
            view.engine_note(engine), gr.update(visible=engine != "espeak"), gr.update(visible=engine == "piper"),
            gr.update(visible=engine == "espeak"))


def voice_speakers(engine: str, voice: str):
    """The speaker picker for a multi-speaker voice (read from its config, no model load); for XTTS
    its built-in studio speakers once it is loaded, none picked so a reference can be used."""
    names = view.voice_speakers(engine, voice)
    if view.is_xtts(engine, voice):
        return gr.update(choices=names, value=None, visible=bool(names), label=view.XTTS_SPEAKER_LABEL)
    return gr.update(choices=names, value=names[0] if names else None, visible=bool(names),
                     label=view.SPEAKER_LABEL)


def xtts_controls(engine: str, voice: str):
    """Show the reference-audio and language controls for an XTTS voice, with the download
    command while its weights are missing (no model load)."""
    return gr.update(visible=view.is_xtts(engine, voice)), view.xtts_note(engine, voice)


# ------------------------------------------------------------------------------------------
# Layout
# ------------------------------------------------------------------------------------------
OUTPUTS = ("live_audio", "status", "norm_view", "phoneme_table", "phoneme_string", "timeline", "karaoke",
           "mel_plot", "stage_table", "files", "code", "session", "last_take")


def input_panel() -> dict:
    """The text, the buttons and the voice controls (declared in core.tts.view.VOICE_CONTROLS)."""
    with gr.Row():
        with gr.Column(scale=3):
            text = gr.Textbox(DEMO_TEXT, label="Text to speak", lines=3, max_lines=12,
                              placeholder="Type anything: numbers, dates, $ amounts, Dr./St. …")
            gr.Examples(EXAMPLES, [text], label="Try")
            with gr.Row():
                go = gr.Button("Speak", variant="primary", elem_id="tts-speak")
                again = gr.Button("Speak again with my phoneme edits", elem_id="tts-respeak")
            status = gr.Markdown("", elem_id="tts-status")
        with gr.Column(scale=2):
            engine = gr.Radio(list(VOICES), value="piper", label="Engine")
            voice = gr.Dropdown(VOICES["piper"], value="piper-joe", label="Voice", allow_custom_value=True,
                                info=view.VOICE_HINTS["piper"])
            engine_note = gr.Markdown(view.engine_note("piper"))
            voice_controls = by_name(view.VOICE_CONTROLS)
            rate = render(voice_controls["rate"])
            with gr.Row():
                noise = render(voice_controls["noise"])
                noise_w = render(voice_controls["noise_w"])
                pitch = render(voice_controls["pitch"], visible=False)
            speaker = gr.Dropdown([], label=view.SPEAKER_LABEL, allow_custom_value=True,
                                  visible=False)
            with gr.Group(visible=False, elem_id="tts-clone") as clone_box:
                reference = gr.Audio(sources=["upload", "microphone"], type="filepath",
                                     label=view.REFERENCE_LABEL,
                                     elem_id="tts-reference")
                language = gr.Dropdown(list(tts_xtts.LANGUAGES), value="en", label="Language (XTTS)",
                                       elem_id="tts-language")
            xtts_note = gr.Markdown("", elem_id="tts-xtts-note")
            fast_start = gr.Checkbox(False, label="Fast start: cut a long first sentence early (first audio "
                                                  "sooner, a seam in its melody)")
    return {"text": text, "go": go, "again": again, "status": status, "engine": engine, "voice": voice,
            "engine_note": engine_note, "rate": rate, "noise": noise, "noise_w": noise_w, "pitch": pitch,
            "speaker": speaker, "clone_box": clone_box, "reference": reference, "language": language,
            "xtts_note": xtts_note, "fast_start": fast_start}


def stage_panels() -> dict:
    """Every stage of the pipeline, in order: audio, normalized text, phonemes, durations, karaoke, mel."""
    live_audio = gr.Audio(label="5 · Audio, streamed sentence by sentence", streaming=True, autoplay=True,
                          interactive=False, elem_id="tts-live")
    with gr.Row():
        with gr.Column():
            norm_view = gr.HighlightedText(label="1 · Normalized text (each rewrite highlighted)",
                                           color_map=KIND_COLOURS, show_legend=True, combine_adjacent=False,
                                           elem_id="tts-norm")
            phoneme_string = gr.Markdown()
        with gr.Column():
            phoneme_table = gr.Dataframe(headers=PHONEME_HEADERS, datatype=["number", "str", "str", "str"],
                                         label="2 · Phonemes per word (IPA): edit the phonemes column, then "
                                               "'Speak again with my phoneme edits'",
                                         interactive=True, static_columns=[0, 1, 3], wrap=True,
                                         elem_id="tts-phonemes", max_height=320)
    timeline = gr.Plot(label="3 · Durations: which phoneme and word sounds when", elem_id="tts-timeline")
    with gr.Row():
        with gr.Column(scale=3):
            karaoke = gr.HTML("<p class='tts-karaoke-note'>Press Speak: the words light up here as they "
                              "are spoken.</p>", label="Karaoke", css_template=KARAOKE_CSS,
                              js_on_load=KARAOKE_JS, elem_id="tts-karaoke", min_height=60)
        with gr.Column(scale=2):
            last_take = gr.Audio(label="Previous take (compare after an edit)", interactive=False,
                                 elem_id="tts-last")
    mel_plot = gr.Plot(label="4 · Mel-spectrogram", elem_id="tts-mel")
    with gr.Row():
        stage_table = gr.Markdown(label="Time per stage")
        files = gr.File(label="Download: audio (wav) and stage data (json)", file_count="multiple",
                        interactive=False)
    code = code_box(view.code_snippet(DEMO_TEXT, "piper", "piper-joe", 1.0))
    return {"live_audio": live_audio, "norm_view": norm_view, "phoneme_string": phoneme_string,
            "phoneme_table": phoneme_table, "timeline": timeline, "karaoke": karaoke, "last_take": last_take,
            "mel_plot": mel_plot, "stage_table": stage_table, "files": files, "code": code}


def build() -> None:
    gr.Markdown(INTRO)
    c = {"session": gr.State(None)}  # this browser session's last un-edited phonemes and last take
    c.update(input_panel())
    c.update(stage_panels())
    controls = [c[n] for n in ("text", "engine", "voice", "rate", "noise", "noise_w", "pitch", "fast_start",
                               "speaker")]
    outputs = [c[n] for n in OUTPUTS]
    voice_inputs = [c["reference"], c["language"]]  # after session: only an XTTS voice uses them
    # UI events get their own names, so "speak" stays free for the public endpoint.
    c["go"].click(friendly(speak), controls + [c["session"]] + voice_inputs, outputs, api_name="tts_ui_speak",
                  api_visibility="private", concurrency_limit=2)
    c["text"].submit(friendly(speak), controls + [c["session"]] + voice_inputs, outputs, api_name="tts_ui_submit",
                     api_visibility="private", concurrency_limit=2)
    c["again"].click(friendly(respeak), controls + [c["phoneme_table"], c["session"]] + voice_inputs, outputs,
                     api_name="tts_ui_respeak", api_visibility="private", concurrency_limit=2)
    c["engine"].change(engine_changed, c["engine"], [c[n] for n in ("voice", "engine_note", "noise", "noise_w", "pitch")],
                       api_name="tts_ui_engine", api_visibility="private", queue=False)
    c["voice"].change(voice_speakers, [c["engine"], c["voice"]], c["speaker"], api_name="tts_ui_voice",
                      api_visibility="private", concurrency_limit=8)
    c["voice"].change(xtts_controls, [c["engine"], c["voice"]], [c["clone_box"], c["xtts_note"]],
                      api_name="tts_ui_xtts", api_visibility="private", queue=False)
    text, engine, voice, rate = (c[n] for n in ("text", "engine", "voice", "rate"))

    # API: /speak (text, engine, voice, rate) -> audio; /phonemize (text) -> normalized + phonemes
    api_audio = gr.Audio(visible=False, type="filepath", format="wav")
    api_button = gr.Button(visible=False)
    # 4 at once: a sentence is ~0.2 s of ONNX work, and on a busy server the queue hands out the next
    # event late; with 2, 60 simulated students' /speak waited p50 4.1 s, with 4 2.5 s (bench_classroom).
    api_button.click(friendly(api_speak), [text, engine, voice, rate], api_audio, api_name="speak",
                     concurrency_limit=4)
    gr.api(friendly(api_phonemize), api_name="phonemize", concurrency_limit=4)
