"""The classroom server: its LAN address and QR code, the readiness check, deep links to a tab,
presenter mode."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import doctor, lan

ROOT = Path(__file__).resolve().parents[2]


# --- the address students open ---------------------------------------------------------------------

def _matrix_from_text(text: str) -> list[list[bool]]:
    """Read the half-block drawing back into modules (True = dark)."""
    top = {"█": False, " ": True, "▄": True, "▀": False}
    bottom = {"█": False, " ": True, "▄": False, "▀": True}
    rows = []
    for line in text.splitlines():
        rows.append([top[c] for c in line])
        rows.append([bottom[c] for c in line])
    return rows


def test_qr_drawing_is_the_qr_code_of_the_url():
    import segno

    url = "http://192.168.1.20:7860/"
    want = [[bool(v) for v in row] for row in segno.make(url, error="m").matrix_iter(scale=1, border=2)]
    got = _matrix_from_text(lan.qr_lines(url))
    assert got[:len(want)] == want
    assert all(not any(row) for row in got[len(want):])  # only a light padding row may follow


def test_student_url_depends_on_the_bind_address(monkeypatch):
    monkeypatch.setattr(lan, "lan_address", lambda: "192.168.1.20")
    assert lan.student_url("0.0.0.0", 7860) == "http://192.168.1.20:7860/"
    assert lan.student_url("127.0.0.1", 7860) is None
    assert "--host 0.0.0.0" in lan.banner("127.0.0.1", 7860)
    monkeypatch.setattr(lan, "lan_address", lambda: None)
    assert "students cannot reach" in lan.banner("0.0.0.0", 7860)


@pytest.mark.slow
def test_server_on_all_interfaces_prints_the_lan_url_and_a_qr_code(tmp_path):
    """`app.py --host 0.0.0.0` (what `scripts/start.sh --host 0.0.0.0` runs) prints the URL first."""
    from tests.conftest import _free_port

    port = _free_port()
    log = tmp_path / "app.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--host", "0.0.0.0", "--port", str(port)], cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.time() + 120
        while time.time() < deadline and "Running on" not in log.read_text():
            assert proc.poll() is None, log.read_text()[-2000:]
            time.sleep(0.5)
        text = log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    addr = lan.lan_address()
    if addr is None:
        assert "students cannot reach" in text
    else:
        assert f"Students open: http://{addr}:{port}/" in text
        assert sum(line.count("▄") + line.count("▀") for line in text.splitlines()) > 50  # the QR code
    assert "Serving others: 1 torch and 1 ONNX thread(s) per request" in text


_THREADS_PROBE = """
import sys
from core import config
from core.device import shared_server_threads
print(repr(shared_server_threads(sys.argv[1])))
from core.device import get_device
from core.tts.piper import onnx_session_options
import torch
get_device()  # the first model load applies NLP_STUDIO_TORCH_THREADS
print(torch.get_num_threads(), onnx_session_options().intra_op_num_threads, config.TTS_THREADS)
"""


@pytest.mark.parametrize("host, env, expected", [
    ("0.0.0.0", {}, "1 1 1"),  # a classroom server: one torch and one ONNX thread per request
    ("127.0.0.1", {}, None),  # one local user: the libraries' own defaults, nothing changed
    ("0.0.0.0", {"NLP_STUDIO_TORCH_THREADS": "2", "NLP_STUDIO_TTS_THREADS": "2"}, "2 2 2"),  # the teacher's choice wins
])
def test_a_server_others_reach_runs_one_thread_per_request(host, env, expected):
    """Checked in a fresh interpreter, through what the models read (torch's thread count after the
    first model load, the ONNX session options of a voice): a setting nothing reads would pass a
    test of the environment alone."""
    clean = {k: v for k, v in os.environ.items() if k not in ("NLP_STUDIO_TORCH_THREADS", "NLP_STUDIO_TTS_THREADS",
                                                             "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", _THREADS_PROBE, host], cwd=ROOT, env={**clean, **env},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    note, threads = out.stdout.strip().splitlines()[-2:]
    if expected is None:
        assert note == "''"
        assert threads.split()[1:] == ["0", "0"]  # ONNX Runtime's own threading (torch's default varies by CPU)
    else:
        assert "Serving others" in note and threads == expected


_STREAMLIT_PROBE = """
import os, sys
import streamlit.config
streamlit.config.set_option("server.address", sys.argv[1])
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("streamlit_app.py", default_timeout=120).run()
assert not at.exception, at.exception
from core import config
print(os.environ.get("NLP_STUDIO_TORCH_THREADS"), config.TTS_THREADS)
"""


@pytest.mark.parametrize("address, expected", [("0.0.0.0", "1 1"), ("127.0.0.1", "None 0")])
def test_the_streamlit_front_end_sets_the_same_threads_for_its_address(address, expected):
    clean = {k: v for k, v in os.environ.items() if k not in ("NLP_STUDIO_TORCH_THREADS", "NLP_STUDIO_TTS_THREADS")}
    out = subprocess.run([sys.executable, "-c", _STREAMLIT_PROBE, address], cwd=ROOT, env=clean,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == expected
    assert ("Serving others" in out.stdout) == (expected != "None 0")


# --- readiness check -----------------------------------------------------------------------------

def test_readiness_check_passes_for_light_tabs(capsys):
    assert doctor.main(["--tabs", "embeddings", "tts", "models_panel"]) == 0
    out = capsys.readouterr().out
    assert "READY" in out and "frog → " in out and "s of audio" in out


@pytest.mark.slow
def test_readiness_check_passes_here_for_every_tab(capsys):
    """Loads every offline model and runs one action per tab (minutes on a busy 2-core machine)."""
    assert doctor.main([]) == 0
    out = capsys.readouterr().out
    assert "READY: every tab answered" in out
    assert "optional, not here" in out  # hub models are listed with how to get them, not failed
    assert "no readiness check" not in out  # every tab runs a real action
    for proof in ("Lee articles", "held-out perplexity", "beam 3 ", "loss ", "log p(chosen)"):
        assert proof in out, proof


def test_every_tab_has_a_readiness_action():
    from apps.tabs import TABS

    assert set(TABS) - {"home"} <= set(doctor.ACTIONS), set(TABS) - {"home"} - set(doctor.ACTIONS)


def test_readiness_check_fails_clearly_when_a_model_is_missing(tmp_path):
    env = {**os.environ, "NLP_STUDIO_MODEL_PIPER_JOE": str(tmp_path / "gone" / "voice.onnx")}
    run = subprocess.run([sys.executable, "-m", "core.doctor", "--tabs", "tts", "models_panel"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "NOT READY: 1 check(s) failed: tts" in run.stdout
    assert f"NLP_STUDIO_MODEL_PIPER_JOE={tmp_path / 'gone' / 'voice.onnx'} does not exist" in run.stdout


def test_unknown_tab_is_refused():
    import re

    from apps.tabs import TABS

    with pytest.raises(ValueError, match=re.escape(f"unknown tab 'nope'; tabs: {', '.join(TABS)}")):
        doctor.check_tabs(["nope"])


# --- deep links and presenter mode -------------------------------------------------------------------

def _selected_tab(driver) -> str:
    """The visible top-level tab marked selected (read in one script: the tabs re-render as it loads)."""
    chosen = driver.execute_script(
        "return [...document.querySelectorAll(\"button[role='tab'][aria-selected='true']\")]"
        ".filter(b => b.offsetParent !== null).map(b => b.textContent.trim());")
    return chosen[0] if chosen else ""


def _wait_selected(driver, title: str, timeout: float = 90) -> None:
    deadline = time.time() + timeout  # the load event runs after the page renders; slow on a busy machine
    while time.time() < deadline and _selected_tab(driver) != title:
        time.sleep(0.5)
    assert _selected_tab(driver) == title, f"{title!r} not selected; selected: {_selected_tab(driver)!r}"


@pytest.mark.browser
@pytest.mark.slow
def test_gradio_deep_link_opens_its_tab_and_presenter_mode_scales(browser, app_url, screenshot_dir):
    from tests.browser import open_app

    open_app(browser, app_url + "?tab=attention")
    _wait_selected(browser, "Attention")
    open_app(browser, app_url + "?tab=no-such-tab")  # an unknown id leaves the first tab open
    time.sleep(3)
    assert _selected_tab(browser) == "Home"
    open_app(browser, app_url + "?tab=tts&presenter=1")
    _wait_selected(browser, "TTS Pipeline")
    zoom = browser.execute_script("return getComputedStyle(document.querySelector('.gradio-container')).zoom")
    assert abs(float(zoom) - 1.3) < 1e-6  # exact CSS value, no arithmetic
    time.sleep(1)
    browser.save_screenshot(os.path.join(screenshot_dir, "presenter-tts.png"))


@pytest.mark.browser
@pytest.mark.slow
def test_streamlit_deep_link_opens_its_page(browser, streamlit_url, screenshot_dir):
    from selenium.webdriver.common.by import By

    from tests.browser import st_open_page

    st_open_page(browser, streamlit_url, "?tab=attention", expect="Attention")
    deadline = time.time() + 60
    while time.time() < deadline and not browser.current_url.rstrip("/").endswith("/attention"):
        time.sleep(0.5)
    assert browser.current_url.split("?")[0].rstrip("/").endswith("/attention")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Attention")
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-deep-link.png"))
    st_open_page(browser, streamlit_url, "?tab=tts&presenter=1", expect="TTS Pipeline")
    deadline = time.time() + 60
    while time.time() < deadline and not browser.current_url.split("?")[0].rstrip("/").endswith("/tts"):
        time.sleep(0.5)
    time.sleep(1)
    zoom = browser.execute_script(
        "return getComputedStyle(document.querySelector(\"[data-testid='stMainBlockContainer']\")).zoom")
    assert abs(float(zoom) - 1.3) < 1e-6  # exact CSS value, no arithmetic


def test_start_script_runs_the_check_or_the_server_after_setup(tmp_path):
    """scripts/start.sh with its setup step and Python stubbed out: what it would run."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / "scripts" / "start.sh").write_text((ROOT / "scripts" / "start.sh").read_text())
    (tmp_path / "scripts" / "setup.sh").write_text("echo setup-ran\n")
    stub = tmp_path / ".venv" / "bin" / "python"
    stub.write_text('#!/bin/bash\necho "python $*"\n')
    stub.chmod(0o755)

    def run(*args):
        return subprocess.run(["bash", str(tmp_path / "scripts" / "start.sh"), *args], capture_output=True,
                              text=True, timeout=60, check=True).stdout.splitlines()

    assert run("--check", "--tabs", "tts") == ["setup-ran", "python -m core.doctor --tabs tts"]
    assert run("--host", "0.0.0.0") == ["setup-ran", "python app.py --host 0.0.0.0"]


def test_setup_refuses_a_python_older_than_311_with_what_to_do(tmp_path):
    """scripts/setup.sh on a machine whose python3 is too old: a clear message and exit 1, before
    any venv or pip (a stub python that says it is 3.9)."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "setup.sh").write_text((ROOT / "scripts" / "setup.sh").read_text())
    old = tmp_path / "python3.9"
    old.write_text('#!/bin/bash\n[[ "$1" == "--version" ]] && { echo "Python 3.9.2"; exit 0; }\n'
                   '[[ "$1" == "-c" ]] && exit 1\necho "venv must not be reached: $*" >&2; exit 3\n')
    old.chmod(0o755)
    # The system packages the script checks first are installed on any machine that runs this suite.
    done = subprocess.run(["bash", str(tmp_path / "scripts" / "setup.sh")], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHON=str(old)))
    assert done.returncode == 1, done.stderr
    assert "needs Python 3.11 or newer" in done.stderr and "Python 3.9.2" in done.stderr
    assert "PYTHON=" in done.stderr and not (tmp_path / ".venv").exists()
