"""Streaming ASR benchmark: our policy vs naive re-transcription vs offline, side by side, in one run.

Every audio kind of core.asr.speech_sets (continuous read speech; the same clips cut at their own gaps
with 0.3-1.5 s pauses; Piper reading commands, numbers and card names with pauses; speech, 10 s
of silence, speech; audio ending mid-word; a 48 kHz microphone rate) is streamed at each step size
with a computation-aware clock: a step starts when its chunk has arrived and the previous step has
finished, and takes all audio that arrived meanwhile; the clock then advances by the real compute
time. So a slow system falls behind exactly as it would live.

Latency of a word = the clock when it becomes final - when it was spoken (its end time).
With --policy-alone, ours also runs with no clock (every chunk exactly one step, decodes taking no
time): its latency is then what the policy itself waits for (agreement, the pause), i.e. what a
machine with instant decodes would show; the rest of the clocked figure is this machine's compute.
"Final" is a commit for our policy; for the naive demo, which never commits, it is the first
update from which that word stays unchanged to the end (generous to the naive demo).
"Repeats" counts the 3-grams a system's text repeats more often than offline Whisper's does (a
phrase committed twice); "offline" is the same model on the whole audio in one go (beam 5).

Wall-clock compute depends on what else runs on the machine; CPU seconds per audio second
(process time, all threads) is the load-independent figure of how much work each system does.

Run from the repo root:  .venv/bin/python -m bench.bench_streaming  [--steps 0.3,0.5,1.0] [--kinds read,phrases]
                                                                    [--policy-alone]
                         .venv/bin/python -m bench.bench_streaming --sessions 2 --kinds read --steps 0.5
                         (that many live speakers at once, in real time, through one model: a worker
                         per core vs one worker)
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from bench.common import table  # noqa: E402
from core import asr  # noqa: E402
from core.asr import streaming  # noqa: E402
from core.asr import speech_sets  # noqa: E402
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


def policy_alone(case, step: float, model: str, backend: str) -> dict:
    """Ours with fixed steps and no clock: latency = audio received when a word was committed -
    its end."""
    stream = streaming.StreamingTranscriber(model, backend)
    lat: list[float] = []
    for chunk in speech_sets.chunked(case, step):
        stream.insert_audio(chunk)
        stream.process()
        lat += [stream._received - w.end for w in stream._committed[len(lat):]]  # noqa: SLF001
    out = stream.finish()
    lat += [stream._received - w.end for w in stream._committed[len(lat):]]  # noqa: SLF001
    lat_a = np.array(lat) if lat else np.array([np.nan])
    return {"text": out.committed, "median": float(np.median(lat_a)), "p90": float(np.percentile(lat_a, 90))}


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


def repeats(text: str, offline: str, n: int = 3) -> int:
    """How many n-grams `text` repeats more often than the offline transcript does."""
    from collections import Counter

    def grams(t: str) -> Counter:
        w = asr.normalize(t).split()
        return Counter(tuple(w[i:i + n]) for i in range(len(w) - n + 1))

    s, o = grams(text), grams(offline)
    return sum(c - max(1, o.get(g, 0)) for g, c in s.items() if c > 1 and c > o.get(g, 0))


def run_case(case, steps: list[float], model: str, backend: str, alone: bool = False) -> list[list]:
    audio = case.at_16k()
    seconds = audio.size / SAMPLE_RATE
    t0 = time.perf_counter()
    offline = asr.transcribe(audio, model, backend).text
    offline_compute = time.perf_counter() - t0
    offline_wer = asr.word_error_rate(case.reference, offline)
    rows = [[case.kind, "-", "offline (whole audio, beam 5)", f"{100 * offline_wer:.1f}", "", "", "", "0",
             f"{offline_compute / seconds:.2f}", ""]]
    systems = {"ours": lambda: streaming.StreamingTranscriber(model, backend),
               "naive": lambda: streaming.NaiveStream(model, backend)}
    for step in steps:
        # The resampled kind goes through the same per-chunk resampling as the front ends.
        fed = audio if case.sample_rate == SAMPLE_RATE else np.concatenate(speech_sets.chunked(case, step))
        for name, make in systems.items():
            r = simulate(make, fed, step)
            rows.append([case.kind, f"{step:g}", name, f"{100 * asr.word_error_rate(case.reference, r['text']):.1f}",
                         f"{r['median']:.2f}", f"{r['p90']:.2f}", f"{r['overruns']}/{r['updates']}",
                         str(repeats(r["text"], offline)), f"{r['compute'] / seconds:.2f}", f"{r['finished_after']:.1f}"])
            if name == "ours":
                print(f"  [{case.kind} @ {step:g} s] ours: {r['text']}", flush=True)
        if alone:
            r = policy_alone(case, step, model, backend)
            rows.append([case.kind, f"{step:g}", "ours, no clock (policy alone)",
                         f"{100 * asr.word_error_rate(case.reference, r['text']):.1f}", f"{r['median']:.2f}",
                         f"{r['p90']:.2f}", "", str(repeats(r["text"], offline)), "", ""])
    print(f"  [{case.kind}] offline: {offline}", flush=True)
    return rows


def live_sessions(case, step: float, n: int, model: str, backend: str) -> dict:
    """`n` speakers streaming `case` at once in real time, each on its own thread with its own
    StreamingTranscriber, through the one shared model (as n browser sessions do). A session's
    audio arrives at the speaker's pace; each step takes all audio that has arrived. Latency of a
    word = wall time when it is committed - when it was spoken."""
    import threading

    audio = case.at_16k()
    out: list[dict] = []
    start = time.perf_counter() + 0.2

    def speaker() -> None:
        s = streaming.StreamingTranscriber(model, backend)
        fed, lat, overruns, steps = 0, [], 0, 0
        while fed < audio.size:
            now = time.perf_counter() - start
            arrived = min(audio.size, int(now * SAMPLE_RATE))
            if arrived - fed < step * SAMPLE_RATE and arrived < audio.size:
                time.sleep(max(0.0, (fed / SAMPLE_RATE + step) - now))
                continue
            s.insert_audio(audio[fed:arrived])
            fed = arrived
            t0 = time.perf_counter()
            s.process()
            steps += 1
            overruns += time.perf_counter() - t0 > step
            lat += [time.perf_counter() - start - w.end for w in s._committed[len(lat):]]  # noqa: SLF001
        final = s.finish()
        done = time.perf_counter() - start
        lat += [done - w.end for w in s._committed[len(lat):]]  # noqa: SLF001
        out.append({"text": final.committed, "lat": lat, "overruns": overruns, "steps": steps,
                    "behind": done - audio.size / SAMPLE_RATE})

    threads = [threading.Thread(target=speaker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = np.array([x for o in out for x in o["lat"]] or [np.nan])
    return {"median": float(np.median(lat)), "p90": float(np.percentile(lat, 90)),
            "overruns": sum(o["overruns"] for o in out), "steps": sum(o["steps"] for o in out),
            "behind": max(o["behind"] for o in out),
            "wer": [asr.word_error_rate(case.reference, o["text"]) for o in out]}


def compare_sessions(args) -> None:
    """--sessions N: N live speakers at once, with the live model's workers as configured and with
    one worker (every decode queues for it), each in a fresh process; printed side by side."""
    import json
    import subprocess

    rows = []
    for label, workers in (("ours (a worker per core)", None), ("one worker (decodes queue)", "1")):
        env = dict(os.environ)
        env.pop("NLP_STUDIO_ASR_WORKERS", None)
        if workers:
            env["NLP_STUDIO_ASR_WORKERS"] = workers
        cmd = [sys.executable, "-m", "bench.bench_streaming", "--sessions", str(args.sessions), "--one-process",
               "--kinds", args.kinds.split(",")[0], "--steps", args.steps.split(",")[0], "--model", args.model,
               "--backend", args.backend]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        r = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append([label, str(r["workers"]), f"{r['median']:.2f}", f"{r['p90']:.2f}", f"{r['overruns']}/{r['steps']}",
                     f"{r['behind']:.1f}", " / ".join(f"{100 * w:.1f}" for w in r["wer"])])
    print(f"{args.sessions} live sessions at once, {args.kinds.split(',')[0]} at {args.steps.split(',')[0]} s steps, "
          f"{os.cpu_count()} CPU threads visible, load average {os.getloadavg()[0]:.1f}")
    print(table(rows, ["live model", "workers", "median s", "p90 s", "overran", "last done after s", "WER % per session"]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="0.3,0.5,1.0", help="step lengths in seconds, comma-separated")
    parser.add_argument("--kinds", default=",".join(speech_sets.KINDS), help="audio kinds (core.asr.speech_sets.KINDS)")
    parser.add_argument("--model", default=asr.DEFAULT_MODEL)
    parser.add_argument("--backend", default="faster-whisper", choices=asr.BACKENDS)
    parser.add_argument("--policy-alone", action="store_true",
                        help="also run ours with no clock: the latency the policy itself adds")
    parser.add_argument("--sessions", type=int, default=0,
                        help="instead: this many live speakers at once (first kind, first step), a worker per "
                             "core vs one worker")
    parser.add_argument("--one-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sessions and not args.one_process:
        compare_sessions(args)
        return
    steps = [float(x) for x in args.steps.split(",")]
    cases = [speech_sets.build(k) for k in args.kinds.split(",")]
    print(f"model {args.model} ({args.backend}); steps {steps}; CPU threads visible: {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f} (wall-clock figures depend on it)")
    for c in cases:
        print(f"  {c.kind}: {c.seconds:.1f} s, {c.note}")
    # Warm both model instances (standard and short-window) and VAD so load time is not counted.
    warm = cases[0].at_16k()[: 3 * SAMPLE_RATE]
    asr.transcribe(warm, args.model, args.backend)
    streaming.transcribe_chunks([warm], args.model, args.backend)
    if args.sessions:  # one configuration, in this process (see compare_sessions)
        import json

        from core import models
        from core.asr import whisper

        r = live_sessions(cases[0], steps[0], args.sessions, args.model, args.backend)
        r["workers"] = models.get(args.model, loader=whisper._WINDOW_LOADER).model.num_workers  # noqa: SLF001
        print(json.dumps(r))
        return
    rows = []
    for case in cases:
        rows += run_case(case, steps, args.model, args.backend, args.policy_alone)
    print()
    print(table(rows, ["audio", "step s", "system", "WER %", "median s", "p90 s", "overran", "repeats",
                       "compute/audio s", "done after s"]))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
