"""A public server: adapters per session, user paths inside allowed folders, a session's files
removed when it ends, the queue bounded, the Gradio cache swept."""
from __future__ import annotations

import json
import os
import time

import pytest

from core import session_files
from core.chat import lora
from core.file_roots import check_path


# --- adapters belong to the session that made them ---------------------------------------------

def _fake_adapter(name: str, owner: str) -> None:
    """An adapter folder as save_adapter leaves it (the weights file is a placeholder: the store's
    rules are about files and owners, no model is loaded here)."""
    folder = lora.user_dir() / name
    folder.mkdir(parents=True)
    (folder / lora.WEIGHTS).write_bytes(b"placeholder")
    (folder / lora.CONFIG).write_text(json.dumps({"peft_type": "LORA"}))
    (folder / lora.META).write_text(json.dumps({"name": name, "base_model": "smollm2-135m", "owner": owner}))


@pytest.fixture
def adapter_store(monkeypatch, tmp_path):
    monkeypatch.setenv("NLP_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(lora.SHARE_ENV, raising=False)
    _fake_adapter("alice-pirate", "session-a")
    _fake_adapter("teacher-demo", "")  # made on the server (a script): everyone may use it
    return tmp_path


def names(owner):
    return {a.name for a in lora.list_adapters(owner=owner)}


def test_a_visitor_sees_the_shipped_adapter_the_servers_and_their_own(adapter_store):
    assert names("session-a") == {"pirate-demo", "teacher-demo", "alice-pirate"}
    assert names("session-b") == {"pirate-demo", "teacher-demo"}
    assert "alice-pirate" in names(None)  # the server itself sees everything
    with pytest.raises(ValueError, match="no adapter named 'alice-pirate'"):
        lora.find_adapter("alice-pirate", owner="session-b")


def test_a_second_session_cannot_delete_the_first_sessions_adapter(adapter_store, monkeypatch):
    with pytest.raises(ValueError, match="no adapter named"):
        lora.delete_adapter("alice-pirate", owner="session-b")
    monkeypatch.setenv(lora.SHARE_ENV, "1")  # a teacher shares adapters: seen by all, still not theirs
    assert "alice-pirate" in names("session-b")
    with pytest.raises(ValueError, match="made by someone else"):
        lora.delete_adapter("alice-pirate", owner="session-b")
    with pytest.raises(ValueError, match="made by someone else"):
        lora.delete_adapter("teacher-demo", owner="session-b")
    with pytest.raises(ValueError, match="cannot be deleted"):
        lora.delete_adapter("pirate-demo", owner="session-b")
    assert (lora.user_dir() / "alice-pirate").is_dir()
    lora.delete_adapter("alice-pirate", owner="session-a")
    assert not (lora.user_dir() / "alice-pirate").exists()


def test_adapters_api_lists_per_session(app_url, adapter_store):
    """Two gradio_client sessions against the running app: each sees only its own adapter."""
    from gradio_client import Client

    one, two = Client(app_url, verbose=False), Client(app_url, verbose=False)
    _fake_adapter("one-made-this", one.session_hash)
    seen_one = {r["name"] for r in one.predict(api_name="/adapters")}
    seen_two = {r["name"] for r in two.predict(api_name="/adapters")}
    assert "one-made-this" in seen_one and "one-made-this" not in seen_two
    assert "pirate-demo" in seen_two and "teacher-demo" in seen_two


# --- user-given paths ------------------------------------------------------------------------------

def test_a_path_outside_the_allowed_folders_is_refused(monkeypatch, tmp_path):
    monkeypatch.delenv("NLP_STUDIO_FILE_ROOTS", raising=False)
    with pytest.raises(ValueError, match="outside the folders this server reads from"):
        check_path("/etc/passwd")
    with pytest.raises(ValueError, match="outside"):
        check_path(str(tmp_path / ".." / ".." / "etc" / "voice.onnx"))
    link = tmp_path / "voices" / "sneaky.onnx"
    link.parent.mkdir()
    link.symlink_to("/etc/hostname")
    monkeypatch.setenv("NLP_STUDIO_FILE_ROOTS", str(tmp_path / "voices"))
    assert check_path(tmp_path / "voices" / "mine.onnx") == (tmp_path / "voices" / "mine.onnx").resolve()
    with pytest.raises(ValueError, match="outside"):  # a link out of an allowed folder is followed first
        check_path(link)


def test_a_coqui_voice_folder_outside_the_allowed_folders_is_refused(monkeypatch, tmp_path):
    from core.tts import coqui

    monkeypatch.delenv("NLP_STUDIO_FILE_ROOTS", raising=False)
    (tmp_path / "acoustic").mkdir()
    with pytest.raises(ValueError, match="Coqui voice folder .* is outside the folders"):
        coqui._folders(str(tmp_path))
    monkeypatch.setenv("NLP_STUDIO_FILE_ROOTS", str(tmp_path))
    assert coqui._folders(str(tmp_path)) == (tmp_path.resolve() / "acoustic", tmp_path.resolve() / "vocoder")


def test_speak_refuses_a_voice_path_outside_the_allowed_folders(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="outside the folders"):
        client.predict("Hello.", "piper", "/etc/ssl/certs/voice.onnx", 1.0, api_name="/speak")
    with pytest.raises(AppError, match="outside the folders"):
        client.predict("Hello.", "piper", "/etc/", 1.0, api_name="/speak")


# --- a session's files -----------------------------------------------------------------------------

def test_session_files_go_when_the_session_ends(monkeypatch, tmp_path):
    monkeypatch.setenv("NLP_STUDIO_SESSION_FILES", str(tmp_path))
    mine = session_files.new_folder("abc123", "tts-")
    (mine / "speech.wav").write_bytes(b"RIFF")
    other = session_files.new_folder("other", "tts-")
    assert mine.parent == tmp_path / "abc123"
    assert session_files.end_session("abc123") is True
    assert not (tmp_path / "abc123").exists() and other.exists()
    assert session_files.end_session("../other") is False and other.exists()  # not a session id: nothing goes
    old = tmp_path / "other"
    past = time.time() - 10 * 3600
    os.utime(old, (past, past))
    assert session_files.sweep(max_age_s=6 * 3600) == 1 and not old.exists()


def test_the_app_bounds_its_queue_and_sweeps_its_cache():
    from app import DELETE_CACHE, QUEUE_MAX_SIZE, build_app

    demo = build_app()
    assert demo._queue.max_size == QUEUE_MAX_SIZE > 0
    assert demo.delete_cache == DELETE_CACHE
    # The monitoring summary (a pandas table of the last 10,000 events, rebuilt after each one) is
    # off: the attribute is Gradio's (spelt so); if Gradio renames it, this says to look again.
    assert demo._queue.ANAYLTICS_CACHE_FREQUENCY >= 10**9
    unload = [fn for fn in demo.fns.values() if any(t[1] == "unload" for t in fn.targets)]
    assert unload, "no demo.unload handler: a session's files would never be removed"


@pytest.mark.browser
@pytest.mark.slow
def test_a_browser_sessions_files_are_removed_when_it_leaves(browser, app_url):
    """Speak in the TTS tab (the WAV and stages files are made for this session), then leave the
    page: Gradio's unload event removes the session's folder."""
    from selenium.webdriver.common.by import By

    from tests.browser import click_tab, open_app, wait_for_text

    before = {p.name for p in session_files.root().iterdir()}
    open_app(browser, app_url)
    click_tab(browser, "TTS Pipeline")
    browser.find_element(By.ID, "tts-speak").click()
    wait_for_text(browser, "s of audio · first audio after", timeout=120)
    deadline, made = time.time() + 30, []
    while time.time() < deadline and not made:  # the downloads are written with the last update
        made = [p for p in session_files.root().iterdir() if p.name not in before and any(p.rglob("speech.wav"))]
        time.sleep(0.5)
    assert len(made) == 1, f"expected one new session folder with speech.wav, got {made}"
    browser.get("about:blank")  # the visitor leaves
    deadline = time.time() + 60
    while time.time() < deadline and made[0].exists():
        time.sleep(0.5)
    assert not made[0].exists(), "the session's folder was still there 60 s after the visitor left"


def test_a_new_visitors_session_starts_with_remembered_signatures_and_the_same_config(monkeypatch):
    """A session's start builds every block's config on the event loop (75 ms per visitor with this
    app's blocks, all others waiting). build_app() gives gradio.blocks a signature lookup that
    remembers each class's; the configs a session gets must be exactly gradio's own."""
    import inspect
    import types

    import gradio.blocks
    from gradio.state_holder import SessionState

    from app import build_app
    from apps.gradio import common

    demo = build_app()
    assert gradio.blocks.inspect.signature is common._cached_signature, "build_app() did not install the lookup"
    common._function_signature.cache_clear()
    remembered = SessionState(demo).config_values
    SessionState(demo)  # a second visitor: every class's signature is remembered now
    info = common._function_signature.cache_info()
    assert info.hits >= len(remembered) > 100, info  # the app has hundreds of blocks; each was looked up again

    monkeypatch.setattr(gradio.blocks, "inspect", inspect)  # gradio exactly as shipped
    assert SessionState(demo).config_values == remembered
    # A gradio whose blocks.py no longer imports inspect: the speed-up says so and changes nothing.
    other = types.SimpleNamespace(signature=inspect.signature)
    monkeypatch.setattr(gradio.blocks, "inspect", other)
    assert common.cache_block_signatures() is False and gradio.blocks.inspect is other
