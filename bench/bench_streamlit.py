"""Streamlit front end, side by side with the Gradio app in one run:

1. cold start to the health endpoint with no model loaded (`streamlit run` vs `python app.py`);
2. script time of a rerun of every page with its models warm: an idle rerun (a widget touched, no new
   action) and a rerun that performs the page's main action, minus the same core call made directly;
3. one core call (GloVe neighbours of a word) three ways: direct, as a Streamlit rerun, as Gradio's
   /neighbors through gradio_client.

    .venv/bin/python -m bench.bench_streamlit [--reruns 15]

Script time is measured inside the rerun (a wrapper runs the page file and records its own time), so
it is what a user waits on the server, without AppTest's own bookkeeping.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from typing import Callable

from bench.bench_app import free_port, start_app
from bench.common import pct, table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOAL_RERUN_MS = 100
GOAL_COLD_S = 10

WRAPPER = """
import runpy, time
import streamlit as st
_start = time.perf_counter()
try:
    runpy.run_path({path!r}, run_name="__main__")
finally:
    st.session_state["_bench_script_s"] = time.perf_counter() - _start
"""


def start_streamlit(port: int) -> tuple[subprocess.Popen, float]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
                             "--server.port", str(port), "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.perf_counter() - start < 120:
        try:
            if urllib.request.urlopen(url, timeout=2).read() == b"ok":
                return proc, time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("streamlit did not answer /_stcore/health within 120 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@dataclass
class Action:
    """A page's main action: `do` fills the widgets and presses the button on an AppTest;
    `core` makes the same core call directly (what the rerun must not add much to)."""

    label: str
    do: Callable
    core: Callable


def _embeddings_do(at):
    at.text_input(key="emb_query").input("frog")
    at.button(key="emb_nn_go").click()


def _embeddings_core():
    from core.embeddings import explorer

    return explorer.neighbours("frog", "word", 10)


ATTENTION_TEXT = "The animal didn't cross the street because it was too tired."


def _attention_do(at):
    at.text_area(key="attn_text").input(ATTENTION_TEXT)
    at.button(key="attn_go").click()


def _attention_core():
    """What the page asks of core for one sentence: the model's attention and saliency, then the
    views core builds from them (summary, head view, saliency, model view with tile targets, rollout)."""
    from core import attention
    from core.attention import view as av, figures as fa
    from core.attention.saliency import saliency

    maps = attention.attention_maps(ATTENTION_TEXT, attention.DEFAULT_MODEL, "")
    sal = saliency(ATTENTION_TEXT, attention.DEFAULT_MODEL, "", integrated=True)
    av.summary(maps, sal, attention.DEFAULT_MODEL)
    _, _, model_fig = av.render_views(maps, sal, 0, av.ALL, -1, True, "lines")
    av.with_tile_targets(model_fig)
    return fa.rollout_heatmap(maps, attention.rollout(maps.weights), True)


TTS_TEXT = "Dr. Smith paid $5.50 on May 3rd. The train left at 7:45. It was late."


def _tts_do(at):
    at.text_area(key="tts_text").input(TTS_TEXT)
    at.button(key="tts_speak").click()


def _tts_core():
    """Core's part of one Speak: the streamed synthesis, then the stage data core derives from it
    (figures, karaoke, tables, wav and json)."""
    from core import tts
    from core.tts import view
    from core.tts.figures import karaoke_html, mel_figure, stage_rows, timeline_figure

    speech = tts.join(list(tts.stream(TTS_TEXT)))
    for build in (timeline_figure, mel_figure, karaoke_html, stage_rows, tts.to_wav_bytes, view.stage_json,
                  view.phoneme_rows):
        build(speech)
    return speech


CHAT_QUESTION = "What is the capital of France?"


def _chat_do(at):
    at.session_state["chat_history"] = []  # the same one-question conversation each time
    at.slider(key="chat_max_tokens").set_value(24)
    at.chat_input(key="chat_msg").set_value(CHAT_QUESTION)


def _chat_core():
    from core.chat.conversation import DEFAULT_SYSTEM_PROMPT, GenerationSettings, reply

    settings = GenerationSettings(max_new_tokens=24, system_prompt=DEFAULT_SYSTEM_PROMPT)
    return reply([{"role": "user", "content": CHAT_QUESTION}], settings=settings)


def _image_search_do(at):
    at.text_input(key="imgsearch_query").input("a cat")
    at.button(key="imgsearch_search").click()


def _image_search_core():
    from core import image_search
    from core.image_search.view import weights

    return image_search.search_text("a cat", 6, "", weights(1.0, 1.0, 0.5))


def _whisper_clip():
    from core import asr

    return asr.librivox_clips()[0][0]


def _whisper_do(at):
    at.selectbox(key="whisper-example").select(_whisper_clip().name)
    at.button(key="whisper-transcribe").click()


def _whisper_core():
    from core import asr

    return asr.transcribe(str(_whisper_clip()), word_timestamps=True)


# Main actions, by page (a page not listed is measured on idle reruns only).
ACTIONS: dict[str, Action] = {
    "embeddings": Action("GloVe neighbours of 'frog'", _embeddings_do, _embeddings_core),
    "attention": Action("MiniLM attention + saliency, 13 words", _attention_do, _attention_core),
    "chat": Action("SmolLM2 reply, 24 tokens, greedy", _chat_do, _chat_core),
    "tts": Action("Piper, 3 sentences, every stage", _tts_do, _tts_core),
    "whisper": Action("transcribe a LibriVox clip", _whisper_do, _whisper_core),
    "image_search": Action("search 'a cat' in the shipped gallery", _image_search_do, _image_search_core),
}


def _script_seconds(at) -> float:
    return float(at.session_state["_bench_script_s"])


def _poke(at) -> None:
    """An interaction that changes nothing on the page: rerun as a widget touch would."""
    at.run()


def page_reruns(tab_id: str, reruns: int) -> dict:
    from streamlit.testing.v1 import AppTest

    from apps.streamlit import page_file

    at = AppTest.from_string(WRAPPER.format(path=page_file(tab_id)), default_timeout=600).run()
    if at.exception:
        return {"error": at.exception[0].value}
    action = ACTIONS.get(tab_id)
    out: dict = {}
    if action:
        # Warm: the first action loads the models (once per process, as on a server).
        action.do(at)
        at.run()
        if at.exception:
            return {"error": at.exception[0].value}
        acted, core = [], []
        for _ in range(reruns):
            action.do(at)
            at.run()
            acted.append(_script_seconds(at))
            t = time.perf_counter()
            action.core()
            core.append(time.perf_counter() - t)
        out.update(action=action.label, acted=acted, core=core)
    idle = []
    for _ in range(reruns):
        _poke(at)
        idle.append(_script_seconds(at))
    out["idle"] = idle
    return out


def gradio_neighbors(calls: int) -> tuple[float, list[float]]:
    from gradio_client import Client

    port = free_port()
    proc, cold = start_app(port)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        client.predict("frog", "word", 10, api_name="/neighbors")  # loads GloVe
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            client.predict("frog", "word", 10, api_name="/neighbors")
            times.append(time.perf_counter() - t)
        return cold, times
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reruns", type=int, default=15)
    parser.add_argument("--pages", default="", help="comma-separated tab ids (default: every page)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from apps.streamlit import present_pages

    port = free_port()
    proc, st_cold = start_streamlit(port)
    stop(proc)
    gr_cold, gr_times = gradio_neighbors(args.reruns)
    print("Cold start to a healthy server, no model loaded:")
    print(table([["Streamlit: streamlit run streamlit_app.py -> /_stcore/health", f"{st_cold:.2f}"],
                 ["Gradio: python app.py -> HTTP 200", f"{gr_cold:.2f}"]], ["front end", "seconds"]))
    print(f"goal (Streamlit): <= {GOAL_COLD_S} s\n")

    pages = [p for p in args.pages.split(",") if p] or present_pages()
    rows, results = [], {}
    for tab_id in pages:
        res = page_reruns(tab_id, args.reruns)
        results[tab_id] = res
        if "error" in res:
            rows.append([tab_id, "error: " + res["error"][:60], "", "", "", ""])
            continue
        idle = f"{pct(res['idle'], 50) * 1000:.1f} / {pct(res['idle'], 95) * 1000:.1f}"
        if "acted" in res:
            extra = [a - c for a, c in zip(res["acted"], res["core"])]
            rows.append([tab_id, idle, res["action"], f"{pct(res['acted'], 50) * 1000:.1f}",
                         f"{pct(res['core'], 50) * 1000:.1f}", f"{pct(extra, 50) * 1000:.1f}"])
        else:
            rows.append([tab_id, idle, "-", "", "", ""])
    print(f"Script time per rerun, models warm, {args.reruns} reruns each (ms):")
    print(table(rows, ["page", "idle rerun p50 / p95", "main action", "action rerun p50",
                       "core call p50", "rerun beyond core p50"]))
    print(f"goal: rerun beyond the core call <= {GOAL_RERUN_MS} ms\n")

    emb = results.get("embeddings", {})
    if "acted" in emb:
        print("The same core call (GloVe neighbours of 'frog', k=10), three ways (ms):")
        print(table([
            ["direct core call (explorer.neighbours)", f"{pct(emb['core'], 50) * 1000:.1f}"],
            ["Streamlit: page rerun with the lookup (server script time)", f"{pct(emb['acted'], 50) * 1000:.1f}"],
            ["Gradio: /neighbors through gradio_client (end to end)", f"{pct(gr_times, 50) * 1000:.1f}"],
        ], ["path", "p50"]))


if __name__ == "__main__":
    main()
