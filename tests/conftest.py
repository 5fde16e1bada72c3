"""Session-wide fixtures: the app is launched once, models load once, one browser for all tests."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as core/__init__.py sets it for the app (why: there)

import pytest  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    """The whole Gradio app, launched once on a free local port."""
    from app import CSS, MAX_FILE_SIZE, build_app, page_head

    demo = build_app()
    demo.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True,
                css=CSS, head=page_head(), show_error=True, quiet=True,
                max_file_size=MAX_FILE_SIZE)
    yield demo.local_url.rstrip("/") + "/"
    demo.close()


@pytest.fixture(scope="session")
def client(app_url):
    """A gradio_client talking to the launched app, as a script would."""
    from gradio_client import Client

    return Client(app_url, verbose=False)


CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic", "--window-size=1400,1000",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
)


def make_browser(extra_flags: tuple[str, ...] = ()):
    """A headless Debian Chromium driven by Selenium (no browser download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for flag in CHROMIUM_FLAGS + extra_flags:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='nlp-studio-chromium-')}")
    return webdriver.Chrome(service=Service(driver_path), options=opts)


@pytest.fixture(scope="module")
def mic_browser(tmp_path_factory):
    """A Chromium whose fake microphone plays the first LibriVox test clip (then a second of silence)."""
    import subprocess

    from core import asr

    # Chromium loops the file; 48 kHz is what its fake capture device expects most reliably.
    wav = tmp_path_factory.mktemp("mic") / "speech.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(asr.librivox_clips()[0][0]),
                    "-af", "apad=pad_dur=1", "-ar", "48000", "-ac", "1", str(wav)], check=True)
    driver = make_browser((f"--use-file-for-fake-audio-capture={wav}",))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def browser():
    driver = make_browser()
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def screenshot_dir():
    """Screenshots land in out/screenshots (ignored by git) for people to look at."""
    path = os.path.join(os.path.dirname(__file__), "..", "out", "screenshots")
    os.makedirs(path, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def streamlit_url():
    """The Streamlit front end (`streamlit run streamlit_app.py`), started once on a free port."""
    yield from streamlit_server()


def streamlit_server():
    """Start `streamlit run streamlit_app.py` on a free port, yield its URL, stop it afterwards
    (a generator for fixtures of any scope)."""
    import subprocess
    import sys
    import time
    import urllib.request

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    port = _free_port()
    log = tempfile.NamedTemporaryFile(prefix="nlp-studio-streamlit-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(url + "_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; log: {log.name}")
    else:
        proc.kill()
        raise RuntimeError(f"streamlit did not answer /_stcore/health within 120 s; log: {log.name}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


# Background workers the app starts (thread names in core/); one still running while a timing-
# sensitive browser test runs takes the CPU that test needs.
WORKER_THREADS = ("lora-train", "seq-train", "transformer-lab", "dpo-", "chat-generate", "whisper-stream", "whisper-mic")


def machine_report() -> str:
    """What was using the machine when a browser test failed: load, this process's worker threads,
    and the CPU share of this process and its children (the Streamlit server, Chromium)."""
    import threading
    import time

    lines = ["load average (1, 5, 15 min): " + ", ".join(f"{x:.1f}" for x in os.getloadavg()),
             "app worker threads alive in the test process: "
             + (", ".join(t.name for t in threading.enumerate() if t.name.startswith(WORKER_THREADS)) or "none")]
    try:
        import psutil
    except ImportError:
        return "\n".join(lines)
    me = psutil.Process()
    procs = [me] + me.children(recursive=True)
    for p in procs:
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    time.sleep(1.0)
    for p in procs:
        try:
            lines.append(f"pid {p.pid} {' '.join(p.cmdline()[:4])[:90]}: {p.cpu_percent(None):.0f}% CPU, "
                         f"{p.num_threads()} threads")
        except psutil.Error:
            pass
    return "\n".join(lines)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and item.get_closest_marker("browser"):
        report.sections.append(("machine when the browser test failed", machine_report()))
