"""Offline ASR benchmark: both backends on the same LibriVox clips, side by side.

Same weights (Whisper tiny.en from its package; converted once for openai-whisper), same
decoding (beam 5 with temperature fallback, as transcribe() does for files), each clip decoded
separately. Figures: WER after Whisper's English normalizer, real-time factor (wall seconds of
compute per second of audio; below 1 is faster than real time) and CPU seconds per audio second.

Run from the repo root:  .venv/bin/python -m bench.bench_asr  [--repeat 2]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core import asr  # noqa: E402
from core.audio import load_audio  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=asr.DEFAULT_MODEL)
    parser.add_argument("--repeat", type=int, default=1, help="passes per backend; the fastest counts")
    args = parser.parse_args(argv)
    clips = asr.librivox_clips()
    if not clips:
        raise SystemExit("install Debian's pocketsphinx-testdata for the LibriVox clips")
    audios = [load_audio(p) for p, _ in clips]
    seconds = sum(a.size for a in audios) / 16000
    refs = [r for _, r in clips]
    print(f"{len(clips)} LibriVox clips, {seconds:.1f} s of speech; model {args.model}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'backend':16s} {'load s':>7s} {'WER %':>6s} {'RTF':>6s} {'CPU s/audio s':>14s}")
    texts = {}
    for backend in asr.BACKENDS:
        t0 = time.perf_counter()
        asr.transcribe(audios[1][:16000], args.model, backend)  # load (and convert) once
        load = time.perf_counter() - t0
        best, cpu = float("inf"), 0.0
        for _ in range(max(1, args.repeat)):
            w0, c0 = time.perf_counter(), time.process_time()
            out = [asr.transcribe(a, args.model, backend).text for a in audios]
            wall, c = time.perf_counter() - w0, time.process_time() - c0
            if wall < best:
                best, cpu = wall, c
        texts[backend] = out
        wer = asr.word_error_rate(refs, out)
        print(f"{backend:16s} {load:7.1f} {100 * wer:6.1f} {best / seconds:6.2f} {cpu / seconds:14.2f}")
    for backend, out in texts.items():
        print(f"\n{backend}:")
        for ref, hyp in zip(refs, out):
            print(f"  {asr.word_error_rate(ref, hyp) * 100:5.1f}%  {hyp}")


if __name__ == "__main__":
    main()
