"""The Streamlit front end as a whole: navigation, home, models page, the server, every page in Chromium."""
from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from apps.streamlit import PAGES, page_file, present_pages
from apps.tabs import TABS
from core import models
from tests.streamlit_pages import run_page, text_of

ROOT = Path(__file__).resolve().parents[2]
# Text that shows once each page has rendered its main content.
PAGE_READY = {
    "home": "What it shows",
    "embeddings": "Ranked by cosine similarity in the original space",
    "attention": "press Show attention",
    "chat": "Conversation",
    "tts": "each stage appears here with its time",
    "whisper": "Live transcript",
    "image_search": "for a spoken answer with its sources",
    "text_lab": "Porter vs Snowball",
    "tokenizer_lab": "Press Train and replay",
    "evaluation_lab": "Corpus scores",
    "sequence_lab": "Press Train to start",
    "decoding_lab": "Set a prompt and press",
    "models_panel": "Device for new loads",
    "transformer_lab": "a 2-layer model learns",
    "preference_lab": "Optimising a reward can be gamed",
}


def test_every_tab_has_a_page_in_gradio_order():
    from apps.gradio import TAB_MODULES

    assert list(PAGES) == [name.split(".")[-1] for name in TAB_MODULES]


def test_home_lists_every_page():
    text = text_of(run_page("home"))
    for tab in TABS.values():
        if tab.id != "home":
            assert tab.title in text


def test_models_page_lists_the_registry():
    at = run_page("models_panel")
    table = at.dataframe[0].value
    assert list(table["model"]) == [row.key for row in models.status()]
    assert "available offline" in text_of(at)


def test_models_page_shows_a_loaded_model():
    """Once a model is loaded its load time is a number beside the others' empty cells."""
    models.load("glove-6b-50d")
    at = run_page("models_panel")
    table = at.dataframe[0].value
    row = table[table["model"] == "glove-6b-50d"].iloc[0]
    assert "loaded" in row["state"] and row["load s"] >= 0
    assert table[table["state"].str.contains("missing")]["load s"].isna().all()


def test_navigation_runs_the_home_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception
    assert "Roadmap week" in text_of(at)
    at.switch_page(page_file("models_panel")).run()
    assert not at.exception and len(at.dataframe) == 1


def test_quiet_and_local_config():
    import tomllib

    with open(ROOT / ".streamlit" / "config.toml", "rb") as f:
        config = tomllib.load(f)
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["address"] == "127.0.0.1"
    assert config["client"]["showErrorDetails"] == "none"


def test_server_answers_health(streamlit_url):
    assert urllib.request.urlopen(streamlit_url + "_stcore/health", timeout=10).read() == b"ok"


@pytest.mark.browser
def test_every_page_opens_in_chromium(streamlit_url, browser, screenshot_dir):
    from tests.browser import st_open_page

    for tab_id in present_pages():
        path = "" if tab_id == "home" else tab_id
        st_open_page(browser, streamlit_url, path, expect=PAGE_READY[tab_id])
        browser.save_screenshot(os.path.join(screenshot_dir, f"streamlit-{tab_id}.png"))
