"""TTS Pipeline: text to speech with every stage visible and editable. Roadmap week 8.

Stages: (1) normalization, each rewrite highlighted; (2) phonemes per word, editable;
(3) durations over the waveform, with karaoke playback; (4) the mel-spectrogram; (5) the audio.
Long text is spoken sentence by sentence, so the first sentence plays while the rest is made.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np

from apps.gradio.common import code_box, friendly
from apps.tabs import TABS
from core import tts, tts_xtts
from core.figures_tts import karaoke_html, mel_figure, stage_rows, timeline_figure

TITLE, WEEKS, SUMMARY = TABS["tts"].heading

INTRO = """
### TTS Pipeline · roadmap week 8 (text to speech)
A voice does not read letters. The text is first **normalized** ("$5.50" → "five dollars and fifty
cents"), then turned into **phonemes** (IPA), then a model decides how long each phoneme lasts and
produces sound: **Piper** (VITS) goes from phonemes straight to a waveform; the classic
**two-stage** pipeline (Coqui: Glow-TTS/Tacotron2 + HiFi-GAN) makes a **mel-spectrogram** first and
a vocoder turns it into sound; **espeak-ng** is the old rule-based formant synthesizer; Coqui's
**XTTS v2** (voice `xtts-v2`) clones a voice from a short recording.
Edit a word's phonemes below and speak again to hear the difference.
"""

DEMO_TEXT = "Dr. Smith paid $5.50 on May 3rd."
EXAMPLES = [
    [DEMO_TEXT],
    ["Dr. Smith won 1st place on 3/4/2025 for $5.50"],
    ["Meet me at 10:30 pm on St. Patrick's day. Bring 2 friends, and 50% more snacks!"],
    ["The quick brown fox jumps over the lazy dog. Then it naps. Do you read me?"],
]
VOICES = {
    "piper": ["piper-joe", "piper-lessac"],
    "coqui": ["coqui-glow-tts", "coqui-tacotron2", "xtts-v2"],
    "espeak": ["en-us", "en-gb", "en-us+f3"],
}
ENGINE_NOTES = {
    "piper": ("**Piper** (VITS, ONNX): offline default. Exposes per-phoneme durations (karaoke). "
              "Controls: rate, noise (voice variation), noise_w (timing variation). Type the path of any "
              "Piper `.onnx` voice into *voice* to use it."),
    "espeak": ("**espeak-ng**: rule-based formant synthesis, the classic baseline. Controls: rate, pitch. "
               "It exposes no durations and reads text, so phoneme edits do not apply; its mel is "
               "computed from the audio."),
    "coqui": ("**Coqui two-stage**: acoustic model → mel-spectrogram → HiFi-GAN vocoder → waveform. "
              "Controls: rate (Glow-TTS), noise. Needs a one-time download. Voice `xtts-v2`: voice cloning "
              "from reference audio (XTTS v2, its own download)."),
}
KIND_COLOURS = {"currency": "#f4a261", "date": "#2a9d8f", "time": "#8ab17d", "ordinal": "#e9c46a",
                "number": "#a8dadc", "year": "#90be6d", "percent": "#f9c74f", "abbreviation": "#e76f51",
                "symbol": "#cccccc"}
KARAOKE_CSS = """
.tts-karaoke audio {width: 100%; margin-bottom: 8px}
.kw-line {display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: flex-start}
.kw {display: inline-flex; flex-direction: column; align-items: center; padding: 2px 5px; border-radius: 6px;
     transition: background 60ms}
.kt {font-size: 22px; line-height: 1.4}
.kps {font-size: 14px; color: #666; letter-spacing: 1px}
.kp {padding: 0 1px; border-radius: 3px}
.kw.on {background: #ffd54a; color: #000}
.kp.on {background: #e76f51; color: #fff}
.tts-karaoke-note {color: #666}
"""
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
element.addEventListener('ended', tick, true);
"""
PHONEME_HEADERS = ["#", "word", "phonemes (IPA, edit me)", "punct"]


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


def _int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def api_speak(text: str, engine: str = "piper", voice: str = "piper-joe", rate: float = 1.0):
    """Speak `text`; returns the audio (WAV, 22,050 Hz mono for Piper)."""
    speech = tts.synthesize(text, engine, voice, float(rate))
    return speech.sample_rate, _int16(speech.audio)


# ------------------------------------------------------------------------------------------
# UI handlers
# ------------------------------------------------------------------------------------------
def _code(text: str, engine: str, voice: str, rate: float, edits: dict, language: str | None = None) -> str:
    extra = f", edits={edits!r}" if edits else ""
    if language:
        extra += f", reference=\"my_voice.wav\", language={language!r}"
    return f'''from core.tts import synthesize
import soundfile as sf

speech = synthesize({text!r}, engine={engine!r}, voice={voice!r}, rate={rate}{extra})
print(speech.normalized.text)                      # stage 1: normalized
for w in speech.words:                             # stage 2 and 3: phonemes, durations
    when = f"{{w.start:5.2f}}-{{w.end:5.2f}}s" if w.start is not None else "   (no timing)"
    print(when, f"{{w.text:14}} /{{w.phonemes}}/")
print(speech.stage_seconds)                        # time spent in each stage
sf.write("speech.wav", speech.audio, speech.sample_rate)   # stage 5: the waveform
'''


def _downloads(speech: tts.Speech) -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="nlp-studio-tts-"))
    wav, stages = folder / "speech.wav", folder / "speech-stages.json"
    wav.write_bytes(tts.to_wav_bytes(speech))
    stages.write_text(json.dumps(speech.to_json(), ensure_ascii=False, indent=1))
    return [str(wav), str(stages)]


def _stage_md(speech: tts.Speech) -> str:
    rows = "\n".join(f"| {name} | {ms:,.1f} | {what} |" for name, ms, what in stage_rows(speech))
    return "| stage | ms | what |\n|---|---:|---|\n" + rows


def _phoneme_rows(speech: tts.Speech) -> list[list]:
    return [[i, w.text, w.phonemes, w.punct] for i, w in enumerate(speech.words)]


def _edits_from_table(table, session: dict | None, text: str) -> dict[int, str]:
    if not session or session.get("text") != text:
        raise ValueError("Press Speak first: phoneme edits apply to the text that was last spoken.")
    rows = table.values.tolist() if hasattr(table, "values") else list(table or [])
    before = session["phonemes"]
    if len(rows) != len(before):
        raise ValueError("The phoneme table lost or gained rows; press Speak to rebuild it, then edit "
                         "only the phonemes column.")
    return {i: str(row[2]).strip() for i, (row, old) in enumerate(zip(rows, before)) if str(row[2]).strip() != old}


def _is_xtts(engine: str, voice: str) -> bool:
    return engine == "coqui" and str(voice or "").startswith("xtts")


def _run(text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker, edits, session,
         reference=None, language=None):
    """The streaming handler: yields each sentence's audio as it is ready, then every stage.
    Values follow OUTPUTS' order; gr.skip() leaves an output as it is. `reference` (a file path
    from the upload/recording) and `language` count only for an XTTS voice."""
    noise_arg = noise if engine != "espeak" else None
    noise_w_arg = noise_w if engine == "piper" else None
    pitch_arg = int(pitch) if engine == "espeak" else None
    xtts = _is_xtts(engine, voice)
    reference, language = (reference, language or "en") if xtts else (None, None)
    session = dict(session or {})
    chunks = []
    for chunk in tts.stream(text, engine, voice, float(rate), edits or None, noise_arg, noise_w_arg, pitch_arg,
                            fast_start=bool(fast_start), speaker=speaker or None, reference=reference,
                            language=language):
        chunks.append(chunk)
        yield ((chunk.sample_rate, _int16(chunk.audio)),
               f"Sentence {chunk.sentence + 1} ready: {chunk.offset + chunk.duration:.1f} s of audio so far "
               f"(first audio after {chunks[0].first_audio_seconds:.2f} s)…",
               *[gr.skip()] * (len(OUTPUTS) - 2))
    speech = tts.join(chunks)
    if not edits:
        session.update(text=text, phonemes=[w.phonemes for w in speech.words])
    before = session.get("phonemes", [])
    changed = [f"**{w.text}** /{before[i]}/ → /{w.phonemes}/"
               for i, w in enumerate(speech.words) if w.edited and i < len(before)]
    note = (f"{speech.engine} · {speech.voice} · {speech.duration:.2f} s of audio · first audio after "
            f"{speech.first_audio_seconds:.2f} s")
    if changed:
        note += " · edited: " + ", ".join(changed)
    previous = session.get("take")
    session["take"] = (speech.sample_rate, _int16(speech.audio))
    yield (gr.skip(), note, speech.normalized.highlights(), _phoneme_rows(speech),
           "  ".join(f"/{w.phonemes}{w.punct}/" for w in speech.words), timeline_figure(speech),
           karaoke_html(speech), mel_figure(speech), _stage_md(speech), _downloads(speech),
           _code(text, engine, voice, float(rate), edits or {}, language), session,
           previous if previous is not None else gr.skip())


def speak(text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker, session, reference=None,
          language=None):
    yield from _run(text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker, None, session,
                    reference, language)


def respeak(text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker, table, session, reference=None,
            language=None):
    edits = _edits_from_table(table, session, text)
    if not edits:
        raise ValueError("No phonemes were changed. Edit a cell in the phonemes column, e.g. Smith "
                         "/smˈɪθ/ → /smˈaɪθ/, then press this button.")
    yield from _run(text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker, edits, session,
                    reference, language)


def engine_changed(engine: str):
    note = ENGINE_NOTES[engine]
    if engine == "coqui":
        from core.coqui import how_to_get, is_available

        if not is_available("coqui-glow-tts"):
            note += "\n\n⚠️ " + how_to_get("coqui-glow-tts")
    info = {"piper": "or the path of a Piper .onnx voice", "coqui": "or a folder holding acoustic/ and vocoder/",
            "espeak": "an espeak-ng voice, e.g. en-us, en-gb, fr"}[engine]
    return (gr.update(choices=VOICES[engine], value=VOICES[engine][0], info=info), note,
            gr.update(visible=engine != "espeak"), gr.update(visible=engine == "piper"),
            gr.update(visible=engine == "espeak"))


def voice_speakers(engine: str, voice: str):
    """The speaker picker for a multi-speaker voice, read from the voice's config (no model load)."""
    names: list[str] = []
    try:
        if engine == "piper":
            from core import models
            from core.registry import MODELS

            path = models.resolve(voice).path if voice in MODELS else Path(voice).expanduser()
            cfg = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
            n = int(cfg.get("num_speakers", 1))
            if n > 1:
                by_id = {int(i): str(k) for k, i in cfg.get("speaker_id_map", {}).items()}
                names = [by_id.get(i, str(i)) for i in range(n)]
        elif _is_xtts(engine, voice):
            from core import models

            # XTTS' built-in studio speakers, once it is loaded; none picked, so a reference can be used
            names = models.get(tts_xtts.XTTS_KEY).speakers() if models.is_loaded(tts_xtts.XTTS_KEY) else []
            return gr.update(choices=names, value=None, visible=bool(names),
                             label="Built-in XTTS speaker (instead of reference audio)")
        elif engine == "coqui":
            from core.coqui import _engines

            if voice in _engines:
                names = _engines[voice].speakers()
    except (OSError, ValueError, KeyError, RuntimeError):
        names = []  # a missing or odd voice: Speak will say what is wrong
    return gr.update(choices=names, value=names[0] if names else None, visible=bool(names),
                     label="Speaker (multi-speaker voices)")


def xtts_controls(engine: str, voice: str):
    """Show the reference-audio and language controls for an XTTS voice, with the download
    command while its weights are missing (no model load)."""
    if not _is_xtts(engine, voice):
        return gr.update(visible=False), ""
    note = tts_xtts.NOTE
    if not tts_xtts.is_available():
        note += "\n\n⚠️ " + tts_xtts.HOW_TO_GET
    return gr.update(visible=True), note


# ------------------------------------------------------------------------------------------
# Layout
# ------------------------------------------------------------------------------------------
OUTPUTS = ("live_audio", "status", "norm_view", "phoneme_table", "phoneme_string", "timeline", "karaoke",
           "mel_plot", "stage_table", "files", "code", "session", "last_take")


def build() -> None:
    gr.Markdown(INTRO)
    session = gr.State(None)  # this browser session's last un-edited phonemes and last take
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
                                info="or the path of a Piper .onnx voice")
            engine_note = gr.Markdown(ENGINE_NOTES["piper"])
            rate = gr.Slider(0.5, 2.0, value=1.0, step=0.05, label="Speaking rate (1 = normal)")
            with gr.Row():
                noise = gr.Slider(0.0, 1.5, value=0.667, step=0.01, label="noise (voice variation)")
                noise_w = gr.Slider(0.0, 1.5, value=0.8, step=0.01, label="noise_w (timing variation)")
                pitch = gr.Slider(0, 99, value=50, step=1, label="pitch (espeak)", visible=False)
            speaker = gr.Dropdown([], label="Speaker (multi-speaker voices)", allow_custom_value=True,
                                  visible=False)
            with gr.Group(visible=False, elem_id="tts-clone") as clone_box:
                reference = gr.Audio(sources=["upload", "microphone"], type="filepath",
                                     label="Reference voice to clone: 3 to 30 s of one person speaking",
                                     elem_id="tts-reference")
                language = gr.Dropdown(list(tts_xtts.LANGUAGES), value="en", label="Language (XTTS)",
                                       elem_id="tts-language")
            xtts_note = gr.Markdown("", elem_id="tts-xtts-note")
            fast_start = gr.Checkbox(False, label="Fast start: cut a long first sentence early (first audio "
                                                  "sooner, a seam in its melody)")

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
    code = code_box(_code(DEMO_TEXT, "piper", "piper-joe", 1.0, {}))

    controls = [text, engine, voice, rate, noise, noise_w, pitch, fast_start, speaker]
    outputs = [live_audio, status, norm_view, phoneme_table, phoneme_string, timeline, karaoke, mel_plot,
               stage_table, files, code, session, last_take]
    assert len(outputs) == len(OUTPUTS)
    # UI events get their own names, so "speak" stays free for the public endpoint.
    voice_inputs = [reference, language]  # after session: only an XTTS voice uses them
    go.click(friendly(speak), controls + [session] + voice_inputs, outputs, api_name="tts_ui_speak",
             api_visibility="private", concurrency_limit=2)
    text.submit(friendly(speak), controls + [session] + voice_inputs, outputs, api_name="tts_ui_submit",
                api_visibility="private", concurrency_limit=2)
    again.click(friendly(respeak), controls + [phoneme_table, session] + voice_inputs, outputs,
                api_name="tts_ui_respeak", api_visibility="private", concurrency_limit=2)
    engine.change(engine_changed, engine, [voice, engine_note, noise, noise_w, pitch], api_name="tts_ui_engine",
                  api_visibility="private", queue=False)
    voice.change(voice_speakers, [engine, voice], speaker, api_name="tts_ui_voice", api_visibility="private",
                 concurrency_limit=8)
    voice.change(xtts_controls, [engine, voice], [clone_box, xtts_note], api_name="tts_ui_xtts",
                 api_visibility="private", queue=False)

    # API: /speak (text, engine, voice, rate) -> audio; /phonemize (text) -> normalized + phonemes
    api_audio = gr.Audio(visible=False, type="filepath", format="wav")
    api_button = gr.Button(visible=False)
    api_button.click(friendly(api_speak), [text, engine, voice, rate], api_audio, api_name="speak",
                     concurrency_limit=2)
    gr.api(friendly(api_phonemize), api_name="phonemize", concurrency_limit=4)
