"""TTS benchmark: plain Piper vs our instrumented pipeline, same paragraph, same voice, one run.

    .venv/bin/python -m bench.bench_tts [--runs 7] [--no-wer]

Plain Piper: `PiperVoice.synthesize(normalized_text)` (Piper's own API, model without the duration
output), consumed as a stream. Ours: `core.tts.pipeline.stream(raw_text)`: our normalization, per-word G2P,
the duration-patched model and word/phoneme timings. Both load before timing; runs alternate so
both see the same machine load. Real-time factor = compute seconds / audio seconds (lower is
better). Then the TTS -> Whisper tiny.en round trip WER on the test sentences.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PARAGRAPH = ("Dr. Smith paid $5.50 on May 3rd for a cup of coffee. The shop opens at 7:30 am, and it was "
             "already busy. He said it was the best coffee he had tasted in 10 years.")


def plain_piper(voice, text: str) -> tuple[float, float, float]:
    """(first audio s, total s, audio s) for Piper's own streaming synthesize."""
    start = time.perf_counter()
    first, samples, sr = None, 0, voice.config.sample_rate
    for chunk in voice.synthesize(text):
        if first is None:
            first = time.perf_counter() - start
        samples += len(chunk.audio_float_array)
    return first, time.perf_counter() - start, samples / sr


def ours(text: str, fast_start: bool = False) -> tuple[float, float, float]:
    from core import tts

    start = time.perf_counter()
    first, audio_s = None, 0.0
    for chunk in tts.stream(text, fast_start=fast_start):
        if first is None:
            first = time.perf_counter() - start
        audio_s += chunk.duration
    return first, time.perf_counter() - start, audio_s


def round_trip_wer() -> tuple[float, list[tuple[str, str]]]:
    from core import tts
    from core.asr.whisper import transcribe, word_error_rate
    from core.audio import resample
    from core.tts.textnorm import normalize
    from tests.core.test_tts import ROUND_TRIP

    refs, hyps = [], []
    for sentence in ROUND_TRIP:
        s = tts.synthesize(sentence)
        hyps.append(transcribe(resample(s.audio, s.sample_rate, 16000), model="whisper-tiny.en").text)
        refs.append(normalize(sentence).text)
    return word_error_rate(refs, hyps), list(zip(refs, hyps))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-wer", action="store_true", help="skip the Whisper round trip")
    args = parser.parse_args(argv)

    from piper import PiperVoice

    from core import models, tts
    from core.tts.textnorm import normalize

    import json

    import onnxruntime
    from piper.config import PiperConfig

    onnx = models.resolve("piper-joe").path
    plain_voice = PiperVoice.load(onnx)  # Piper as users run it: no duration output, ORT defaults
    # the same unpatched model with our ONNX Runtime settings, to isolate the instrumentation's cost
    tuned_voice = PiperVoice(config=PiperConfig.from_dict(json.loads(Path(f"{onnx}.json").read_text())),
                             session=onnxruntime.InferenceSession(str(onnx), sess_options=tts.onnx_session_options(),
                                                                  providers=["CPUExecutionProvider"]))
    normalized = normalize(PARAGRAPH).text
    tts.synthesize("Warm up.")  # loads our (duration-patched) copy of the voice
    plain_piper(plain_voice, "Warm up.")
    plain_piper(tuned_voice, "Warm up.")
    print(f"paragraph: {PARAGRAPH!r}\nplain Piper reads the normalized text: {normalized!r}")
    print(f"CPU threads visible: {os.cpu_count()}, runs: {args.runs} each, alternating\n")

    results = {"plain Piper (defaults)": [], "plain Piper (our ORT)": [], "ours (instrumented)": [],
               "ours, fast_start": []}
    for _ in range(args.runs):
        results["plain Piper (defaults)"].append(plain_piper(plain_voice, normalized))
        results["plain Piper (our ORT)"].append(plain_piper(tuned_voice, normalized))
        results["ours (instrumented)"].append(ours(PARAGRAPH))
        results["ours, fast_start"].append(ours(PARAGRAPH, fast_start=True))
    threads = tts.config.TTS_THREADS
    print("ORT = ONNX Runtime settings: " + (f"{threads} thread(s) per run, no spin-waiting\n" if threads
                                             else "ONNX Runtime's defaults (NLP_STUDIO_TTS_THREADS=0)\n"))
    print(f"{'':24} {'first audio s':>14} {'total s':>9} {'audio s':>8} {'RTF':>7}   (medians)")
    med = {}
    for name, rows in results.items():
        first = statistics.median(r[0] for r in rows)
        total = statistics.median(r[1] for r in rows)
        audio = statistics.median(r[2] for r in rows)
        med[name] = (first, total, audio)
        print(f"{name:24} {first:14.3f} {total:9.3f} {audio:8.2f} {total / audio:7.3f}")
    d, p, o = med["plain Piper (defaults)"], med["plain Piper (our ORT)"], med["ours (instrumented)"]
    # overhead per second of audio: the runs' audio lengths differ a little (VITS noise)
    overhead = (o[1] / o[2]) / (p[1] / p[2]) - 1
    print(f"\ninstrumentation overhead (RTF ours / RTF plain with the same ORT settings - 1): "
          f"{100 * overhead:+.1f}%   goal <= +10%")
    print(f"ours vs plain Piper as shipped: RTF {o[1] / o[2]:.3f} vs {d[1] / d[2]:.3f}, "
          f"first audio {o[0]:.3f} s vs {d[0]:.3f} s")
    print(f"RTF ours: {o[1] / o[2]:.3f}   goal <= 0.1;   first audio ours: {o[0]:.3f} s, with fast_start "
          f"{med['ours, fast_start'][0]:.3f} s   goal <= 0.5 s")

    t0 = time.perf_counter()
    speech = tts.synthesize(PARAGRAPH)
    from core.tts.figures import karaoke_html, mel_figure, timeline_figure

    t1 = time.perf_counter()
    timeline_figure(speech), mel_figure(speech), karaoke_html(speech)
    print(f"UI figures for the tab (timeline, mel, karaoke), not part of synthesis: "
          f"{time.perf_counter() - t1:.3f} s (synthesis {t1 - t0:.3f} s)")

    if not args.no_wer:
        wer, pairs = round_trip_wer()
        print(f"\nround trip Piper -> Whisper tiny.en (faster-whisper), {len(pairs)} sentences: WER {100 * wer:.1f}%")
        for ref, hyp in pairs:
            print(f"  ref: {ref}\n  hyp: {hyp.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
