"""Streaming ASR benchmark: our policy vs naive re-transcription, side by side, in one run.

The five LibriVox clips are joined (0.5 s of silence after each, 27.2 s) and streamed in 0.5 s
chunks with a computation-aware clock: a step starts when its chunk has arrived and the previous
step has finished, and takes all audio that arrived meanwhile; the clock then advances by the
real compute time. So a slow system falls behind exactly as it would live.

Latency of a word = the clock when it becomes final - when it was spoken (its end time).
"Final" is a commit for our policy; for the naive demo, which never commits, it is the first
update from which that word stays unchanged to the end (generous to the naive demo).

Wall-clock compute depends on what else runs on the machine; CPU seconds per audio second
(process time, all threads) is the load-independent figure of how much work each system does.

Run from the repo root:  .venv/bin/python -m bench.bench_streaming  [--step 0.5] [--repeat 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from core import asr, streaming  # noqa: E402
from core.audio import SAMPLE_RATE  # noqa: E402


def simulate(make, audio: np.ndarray, step: float) -> dict:
    """Run one streaming system against the clock; returns its figures."""
    system = make()
    n, fed, clock = audio.size, 0, 0.0
    updates, overruns, compute, cpu0 = 0, 0, 0.0, time.process_time()
    finals: list[tuple[float, float, str]] = []  # (became final at, word end, word)
    history: list[tuple[float, list]] = []  # naive: (clock, words) after each update
    while fed < n:
        clock = max(clock, fed / SAMPLE_RATE + step)
        end = min(n, int(np.floor(clock / step + 1e-9) * step * SAMPLE_RATE))
        if end <= fed:
            end = min(n, fed + int(step * SAMPLE_RATE))
        system.insert_audio(audio[fed:end])
        fed = end
        t0 = time.perf_counter()
        out = system.process()
        c = time.perf_counter() - t0
        clock += c
        compute += c
        updates += 1
        overruns += c > step
        _collect(system, out, clock, finals, history, before=len(finals))
    t0 = time.perf_counter()
    out = system.finish()
    c = time.perf_counter() - t0
    clock += c
    compute += c
    _collect(system, out, clock, finals, history, before=len(finals))
    if isinstance(system, streaming.NaiveStream):
        finals = _naive_finals(history)
        text = system.text
    else:
        text = out.committed
    lat = np.array([t - e for t, e, _ in finals]) if finals else np.array([np.nan])
    return {"text": text, "cpu": time.process_time() - cpu0, "median": float(np.median(lat)), "p90": float(np.percentile(lat, 90)),
            "max": float(np.max(lat)), "updates": updates, "overruns": overruns, "compute": compute,
            "finished_after": clock - n / SAMPLE_RATE}


def _collect(system, out, clock, finals, history, before) -> None:
    if isinstance(system, streaming.NaiveStream):
        history.append((clock, list(out)))
        return
    # Our stream: the words committed in this step are the newest ones in the committed list.
    committed = system._committed  # noqa: SLF001 - the benchmark reads the stream's word times
    for w in committed[len(finals):]:
        finals.append((clock, w.end, w.text))


def _naive_finals(history: list[tuple[float, list]]) -> list[tuple[float, float, str]]:
    final_words = history[-1][1]
    out = []
    for i, w in enumerate(final_words):
        key = streaming._key(w.text)  # noqa: SLF001
        since = history[-1][0]
        for clock, words in reversed(history):
            if i < len(words) and streaming._key(words[i].text) == key:  # noqa: SLF001
                since = clock
            else:
                break
        out.append((since, w.end, w.text))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=float, default=0.5, help="chunk / step length in seconds")
    parser.add_argument("--model", default=asr.DEFAULT_MODEL)
    args = parser.parse_args(argv)
    audio, ref = asr.librivox_joined()
    seconds = audio.size / SAMPLE_RATE
    print(f"audio: 5 LibriVox clips joined, {seconds:.1f} s; step {args.step} s; model {args.model}; "
          f"CPU threads visible: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    # Warm both model instances (standard and short-window) so load time is not counted.
    asr.transcribe(audio[: 3 * SAMPLE_RATE], args.model)
    streaming.transcribe_chunks([audio[: SAMPLE_RATE * 2]], args.model)
    t0 = time.perf_counter()
    offline = [asr.transcribe(p, args.model).text for p, _ in asr.librivox_clips()]
    offline_compute = time.perf_counter() - t0
    offline_wer = asr.word_error_rate(ref, " ".join(offline))
    systems = {
        "ours (agreement + pause + trim, VAD)": lambda: streaming.StreamingTranscriber(args.model),
        "naive (re-decode whole buffer)": lambda: streaming.NaiveStream(args.model),
    }
    rows = {}
    for name, make in systems.items():
        r = simulate(make, audio, args.step)
        r["wer"] = asr.word_error_rate(ref, r["text"])
        rows[name] = r
    header = f"{'system':40s} {'median s':>9s} {'p90 s':>7s} {'max s':>7s} {'WER %':>6s} {'compute/audio s':>16s} " \
             f"{'CPU s/audio s':>13s} {'overran':>9s} {'done after':>10s}"
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        print(f"{name:40s} {r['median']:9.2f} {r['p90']:7.2f} {r['max']:7.2f} {100 * r['wer']:6.1f} "
              f"{r['compute'] / seconds:16.2f} {r['cpu'] / seconds:13.2f} {r['overruns']:>4d}/{r['updates']:<4d} {r['finished_after']:9.1f}s")
    print(f"{'offline (per clip, beam 5)':40s} {'':9s} {'':7s} {'':7s} {100 * offline_wer:6.1f} "
          f"{offline_compute / seconds:16.2f}")
    for name, r in rows.items():
        print(f"\n{name}:\n  {r['text']}")


if __name__ == "__main__":
    main()
