"""The TTS page's glue, shared by both front ends: texts, the controls per engine, the tables and
notes built from a `core.tts.pipeline.Speech`, the phoneme-edit check and the "show the code" snippet.

UI-neutral: plain strings, lists and bytes in and out (no gradio, no streamlit).
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from core import tts
from core.tts import xtts as tts_xtts
from core.config import TTS_MAX_RATE, TTS_MIN_RATE
from core.controls import Control

INTRO = """A voice does not read letters. The text is first **normalized** ("$5.50" → "five dollars and
fifty cents"), then turned into **phonemes** (IPA), then a model decides how long each phoneme lasts
and produces sound: **Piper** (VITS) goes from phonemes straight to a waveform; the classic
**two-stage** pipeline (Coqui: Glow-TTS/Tacotron2 + HiFi-GAN) makes a **mel-spectrogram** first and
a vocoder turns it into sound; **espeak-ng** is the old rule-based formant synthesizer; Coqui's
**XTTS v2** (voice `xtts-v2`) clones a voice from a short recording.
Edit a word's phonemes below and speak again to hear the difference."""

DEMO_TEXT = "Dr. Smith paid $5.50 on May 3rd."
EXAMPLES = [
    DEMO_TEXT,
    "Dr. Smith won 1st place on 3/4/2025 for $5.50",
    "Meet me at 10:30 pm on St. Patrick's day. Bring 2 friends, and 50% more snacks!",
    "The quick brown fox jumps over the lazy dog. Then it naps. Do you read me?",
]
ENGINE_LABELS = {"piper": "Piper (offline)", "espeak": "espeak-ng (baseline)", "coqui": "Coqui two-stage"}
VOICES = {
    "piper": ["piper-joe", "piper-lessac"],
    "coqui": ["coqui-glow-tts", "coqui-tacotron2", tts_xtts.XTTS_KEY],
    "espeak": ["en-us", "en-gb", "en-us+f3"],
}
VOICE_HINTS = {"piper": "or the path of a Piper .onnx voice", "coqui": "or a folder holding acoustic/ and vocoder/",
               "espeak": "an espeak-ng voice, e.g. en-us, en-gb, fr"}
ENGINE_NOTES = {
    "piper": ("**Piper** (VITS, ONNX): offline default. Exposes per-phoneme durations (karaoke). "
              "Controls: rate, noise (voice variation), noise_w (timing variation). Type the path of a "
              "Piper `.onnx` voice into *voice* to use it (in the studio's cache, or a folder the host "
              "allows with `NLP_STUDIO_FILE_ROOTS`)."),
    "espeak": ("**espeak-ng**: rule-based formant synthesis, the classic baseline. Controls: rate, pitch. "
               "It exposes no durations and reads text, so phoneme edits do not apply; its mel is "
               "computed from the audio."),
    "coqui": ("**Coqui two-stage**: acoustic model → mel-spectrogram → HiFi-GAN vocoder → waveform. "
              "Controls: rate (Glow-TTS), noise. Needs a one-time download. Voice `xtts-v2`: voice cloning "
              "from reference audio (XTTS v2, its own download)."),
}
# Which sliders an engine listens to.
# The voice settings, declared once for both front ends (the rate's limits come from core/config).
VOICE_CONTROLS = (
    Control("rate", "Speaking rate (1 = normal)", "slider", 1.0, minimum=TTS_MIN_RATE, maximum=TTS_MAX_RATE,
            step=0.05),
    Control("noise", "noise (voice variation)", "slider", 0.667, minimum=0.0, maximum=1.5, step=0.01),
    Control("noise_w", "noise_w (timing variation)", "slider", 0.8, minimum=0.0, maximum=1.5, step=0.01),
    Control("pitch", "pitch (espeak)", "slider", 50, minimum=0, maximum=99, step=1),
)
ENGINE_CONTROLS = {"piper": ("noise", "noise_w"), "coqui": ("noise",), "espeak": ("pitch",)}
KIND_COLOURS = {"currency": "#f4a261", "date": "#2a9d8f", "time": "#8ab17d", "ordinal": "#e9c46a",
                "number": "#a8dadc", "year": "#90be6d", "percent": "#f9c74f", "abbreviation": "#e76f51",
                "symbol": "#cccccc"}
PHONEME_HEADERS = ["#", "word", "phonemes (IPA, edit me)", "punct"]
REFERENCE_LABEL = "Reference voice to clone: 3 to 30 s of one person speaking"
XTTS_SPEAKER_LABEL = "Built-in XTTS speaker (instead of reference audio)"
SPEAKER_LABEL = "Speaker (multi-speaker voices)"
XTTS_TOKENS_NOTE = ("XTTS reads BPE text tokens, not phonemes: the column shows the tokens of each word, "
                    "and phoneme edits do not apply.")
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


def engine_note(engine: str, voice: str | None = None) -> str:
    """What the engine is and which controls it takes; for Coqui, how to get its weights when missing
    (not for an XTTS `voice`: `xtts_note` says how to get XTTS)."""
    if engine not in ENGINE_NOTES:
        raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(VOICES)}")
    note = ENGINE_NOTES[engine]
    if engine == "coqui" and not is_xtts(engine, voice):
        from core.tts.coqui import how_to_get, is_available

        if not is_available("coqui-glow-tts"):
            note += "\n\n⚠️ " + how_to_get("coqui-glow-tts")
    return note


def engine_options(engine: str, noise: float, noise_w: float, pitch: int) -> dict:
    """The keyword controls `tts.stream` gets for `engine` (the others stay at the voice's own)."""
    used = ENGINE_CONTROLS.get(engine, ())
    return {"noise": float(noise) if "noise" in used else None,
            "noise_w": float(noise_w) if "noise_w" in used else None,
            "pitch": int(pitch) if "pitch" in used else None}


def is_xtts(engine: str, voice: str | None) -> bool:
    """Whether `voice` of `engine` is XTTS (voice cloning: reference audio and a language)."""
    return engine == "coqui" and str(voice or "").startswith("xtts")


def xtts_note(engine: str, voice: str | None) -> str:
    """XTTS' note, with the download command while its weights are missing; empty for other voices
    (no model load)."""
    if not is_xtts(engine, voice):
        return ""
    note = tts_xtts.NOTE
    if not tts_xtts.is_available():
        note += "\n\n⚠️ " + tts_xtts.HOW_TO_GET
    return note


def voice_speakers(engine: str, voice: str) -> list[str]:
    """The speakers of a multi-speaker voice, read from the voice's config (no model load); empty
    for a single-speaker voice or one that cannot be read (Speak then says what is wrong). XTTS'
    built-in studio speakers and a Coqui voice's speakers are listed once the model is loaded."""
    try:
        if engine == "piper":
            from core import models
            from core.file_roots import check_path
            from core.registry import MODELS

            path = models.locate(voice).path if voice in MODELS else check_path(voice, "voice file")
            cfg = json.loads(Path(f"{path}.json").read_text(encoding="utf-8"))
            n = int(cfg.get("num_speakers", 1))
            if n > 1:
                by_id = {int(i): str(k) for k, i in cfg.get("speaker_id_map", {}).items()}
                return [by_id.get(i, str(i)) for i in range(n)]
        elif is_xtts(engine, voice):
            from core import models

            return list(models.get(tts_xtts.XTTS_KEY).speakers()) if models.is_loaded(tts_xtts.XTTS_KEY) else []
        elif engine == "coqui":
            from core.tts.coqui import loaded_speakers

            return loaded_speakers(voice)
    except (OSError, ValueError, KeyError, RuntimeError, ImportError):
        pass
    return []


def phoneme_rows(speech: tts.Speech) -> list[list]:
    """[#, word, phonemes, punct] per word, the editable phoneme table."""
    return [[i, w.text, w.phonemes, w.punct] for i, w in enumerate(speech.words)]


def edits_from_rows(rows: list, baseline: list[str] | None, text: str, baseline_text: str | None) -> dict[int, str]:
    """The phoneme edits in an edited table: {word index: new IPA} for every row whose phonemes
    differ from the last un-edited take's (`baseline`, spoken from `baseline_text`)."""
    if baseline is None or baseline_text != text:
        raise ValueError("Press Speak first: phoneme edits apply to the text that was last spoken.")
    if len(rows) != len(baseline):
        raise ValueError("The phoneme table lost or gained rows; press Speak to rebuild it, then edit "
                         "only the phonemes column.")
    edits = {i: str(row[2]).strip() for i, (row, old) in enumerate(zip(rows, baseline)) if str(row[2]).strip() != old}
    if not edits:
        raise ValueError("No phonemes were changed. Edit a cell in the phonemes column, e.g. Smith "
                         "/smˈɪθ/ → /smˈaɪθ/, then press this button.")
    return edits


def phoneme_line(speech: tts.Speech) -> str:
    """Every word's phonemes, slashed: `/dˈɑːktɚ/  /smˈɪθ/ …`."""
    return "  ".join(f"/{w.phonemes}{w.punct}/" for w in speech.words)


def chunk_note(chunk: tts.Speech, first_audio_seconds: float) -> str:
    """Progress line for one streamed sentence."""
    return (f"Sentence {chunk.sentence + 1} ready: {chunk.offset + chunk.duration:.1f} s of audio so far "
            f"(first audio after {first_audio_seconds:.2f} s)…")


def done_note(speech: tts.Speech, baseline: list[str] | None) -> str:
    """One line about the finished take, naming each edited word: /before/ → /after/."""
    before = baseline or []
    changed = [f"**{w.text}** /{before[i]}/ → /{w.phonemes}/"
               for i, w in enumerate(speech.words) if w.edited and i < len(before)]
    note = (f"{speech.engine} · {speech.voice} · {speech.duration:.2f} s of audio · first audio after "
            f"{speech.first_audio_seconds:.2f} s")
    return note + (" · edited: " + ", ".join(changed) if changed else "")


def stage_markdown(rows: list[list]) -> str:
    """`figures_tts.stage_rows` as a markdown table."""
    body = "\n".join(f"| {name} | {ms:,.1f} | {what} |" for name, ms, what in rows)
    return "| stage | ms | what |\n|---|---:|---|\n" + body


def highlights_html(segments: list[tuple[str, str | None]]) -> str:
    """Normalized text with each rewrite on its kind's colour and the kind as a small tag."""
    parts = []
    for segment, kind in segments:
        text = html.escape(segment)
        if kind is None:
            parts.append(text)
        else:
            colour = KIND_COLOURS.get(kind, "#dddddd")
            parts.append(f"<mark style='background:{colour};color:#000;border-radius:4px;padding:1px 4px'>"
                         f"{text} <sup style='font-size:0.7em;opacity:0.75'>{html.escape(kind)}</sup></mark>")
    return "<div style='font-size:1.15em;line-height:1.9'>" + "".join(parts) + "</div>"


def stage_json(speech: tts.Speech) -> str:
    """The stage data to download (no audio)."""
    return json.dumps(speech.to_json(), ensure_ascii=False, indent=1)


def code_snippet(text: str, engine: str, voice: str, rate: float, edits: dict | None = None,
                 language: str | None = None) -> str:
    """Python that reproduces the current take with core alone (`language`: an XTTS take, cloned
    from a reference file)."""
    extra = f", edits={edits!r}" if edits else ""
    if language:
        extra += f", reference=\"my_voice.wav\", language={language!r}"
    return f'''from core.tts.pipeline import synthesize
import soundfile as sf

speech = synthesize({text!r}, engine={engine!r}, voice={voice!r}, rate={rate}{extra})
print(speech.normalized.text)                      # stage 1: normalized
for w in speech.words:                             # stage 2 and 3: phonemes, durations
    when = f"{{w.start:5.2f}}-{{w.end:5.2f}}s" if w.start is not None else "   (no timing)"
    print(when, f"{{w.text:14}} /{{w.phonemes}}/")
print(speech.stage_seconds)                        # time spent in each stage
sf.write("speech.wav", speech.audio, speech.sample_rate)   # stage 5: the waveform
'''
