"""Image search on the real offline models (EfficientNet-Lite0 tags, MiniLM), through core, the
API and the browser."""
from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from core import image_search as search_mod, models
from core.image_search import gallery as gal
from tests.browser import click_tab, open_app

SKIMAGE = Path(__import__("skimage").__file__).parent / "data"
SKLEARN = Path(__import__("sklearn").__file__).parent / "datasets" / "images"
CATS = range(281, 286)  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(scope="session")
def shipped():
    return search_mod.get_gallery("")


@pytest.fixture(scope="session")
def unnamed_zip(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Real photos, cropped/flipped/resized so they are not the shipped files, with camera names."""
    folder = tmp_path_factory.mktemp("unnamed")
    plan = {"cat": SKIMAGE / "chelsea.png", "coffee": SKIMAGE / "coffee.png", "rocket": SKIMAGE / "rocket.jpg",
            "motorcycle": SKIMAGE / "motorcycle_left.png", "flower": SKLEARN / "flower.jpg",
            "tripod": SKIMAGE / "camera.png"}
    truth, zpath = {}, folder / "phone.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for i, (what, src) in enumerate(plan.items()):
            im = ImageOps.mirror(Image.open(src).convert("RGB"))
            w, h = im.size
            im = im.crop((w // 20, h // 20, w - w // 20, h - h // 20)).resize((int(w * 0.8), int(h * 0.8)))
            name = f"DCIM/IMG_{2031 + i * 7}.jpg"
            path = folder / f"{i}.jpg"
            im.save(path, quality=88)
            z.write(path, name)
            truth[what] = name
    return zpath, truth


def test_cat_photo_is_tagged_as_a_cat():
    from core.image_search.tagger import classify, top_tags

    tagger = models.get("efficientnet-lite0")
    probs = classify(tagger, [Image.open(SKIMAGE / "chelsea.png"), Image.open(SKIMAGE / "coffee.png")])
    assert int(np.argmax(probs[0])) in CATS
    assert probs[0][list(CATS)].sum() > 0.5
    assert "cat" in top_tags(tagger, probs[0], 1)[0].label.lower() or top_tags(tagger, probs[0], 1)[0].label == "tabby"
    assert top_tags(tagger, probs[1], 1)[0].label == "espresso"


def test_a_cat_ranks_the_cat_photo_first(shipped):
    result = search_mod.search_text("a cat", k=5)
    assert result.hits[0].key == "chelsea.png"
    assert set(result.hits[0].scores) >= {"tags", "text"}
    # The tags channel alone (pixels, no caption) also puts it first.
    tags_only = search_mod.search(shipped, search_mod.parse_query("a cat"), 3, {"text": 0, "clip": 0})
    assert tags_only.hits[0].key == "chelsea.png"
    assert any("cat" in label for label, _ in tags_only.hits[0].tags)


def test_unnamed_photos_are_found_by_content(unnamed_zip):
    zpath, truth = unnamed_zip
    g = search_mod.index_upload([zpath], channels=search_mod.offline_channels())
    try:
        assert len(g) == len(truth)
        assert not np.any(g.vectors["text"])  # the names say nothing, there are no captions
        for query, what in [("a cat", "cat"), ("a cup of coffee", "coffee"), ("show me the rocket", "rocket"),
                            ("a motorbike", "motorcycle"), ("a camera tripod", "tripod")]:
            result = search_mod.search_text(query, k=3, gallery=g.name)
            assert result.hits[0].key == truth[what], (query, [(h.key, h.score) for h in result.hits])
            assert result.hits[0].scores["text"] == 0
    finally:
        gal.delete(g.name)


def test_example_image_and_arithmetic_queries(shipped):
    cat = ImageOps.mirror(Image.open(SKIMAGE / "chelsea.png"))
    by_image = search_mod.search(shipped, search_mod.parse_query("", image=cat), 3)
    assert by_image.hits[0].key == "chelsea.png"
    minus = search_mod.search(shipped, search_mod.parse_query("coffee", image=cat, image_sign=-1), 3)
    assert minus.hits[0].key == "coffee.png"
    assert "chelsea.png" not in [h.key for h in minus.hits[:2]]


def test_grad_cam_heatmap_for_a_result(shipped):
    row = shipped.keys.index("chelsea.png")
    image, what = search_mod.heatmap(shipped, row, "a cat")
    assert image.size == (224, 224) and "Grad-CAM" in what and "cat" in what.lower()
    from core.image_search.tagger import gradcam

    heat = gradcam(models.get("efficientnet-lite0"), Image.open(SKIMAGE / "chelsea.png"), 285)
    # scaled so its maximum is 1, in float32: approx's default 1e-6 relative covers the division
    assert heat.shape == (224, 224) and 0 <= heat.min() and heat.max() == pytest.approx(1.0)


def test_clip_missing_is_said_plainly():
    clip, note = search_mod.clip_status()
    if clip is None:  # the usual offline case: the tab says how to get it and carries on
        assert "core.download clip-vit-b-32" in note
        assert any("CLIP is off" in n for n in search_mod.search_text("a cat", k=2).notes)


def test_bad_queries_are_refused_clearly(shipped):
    with pytest.raises(ValueError, match="search for"):
        search_mod.search_text("   ")
    with pytest.raises(ValueError, match="k must be"):
        search_mod.search_text("a cat", k=0)
    with pytest.raises(ValueError, match="unknown gallery"):
        search_mod.search_text("a cat", gallery="../../etc")
    with pytest.raises(ValueError, match="does not exist"):
        search_mod.search_text("a cat", gallery="u0123456789abcdef")


# --- API ---------------------------------------------------------------------------------------

def test_api_search_images(client):
    out = client.predict("a cat", 3, "", api_name="/search_images")
    first = out["items"][0]
    assert first["file"] == "chelsea.png" and first["rank"] == 1
    assert {"tags", "text"} <= set(first["scores"])
    assert any("cat" in t["label"] for t in first["tags"])


def test_api_index_then_search_own_zip(client, unnamed_zip):
    from gradio_client import handle_file

    zpath, truth = unnamed_zip
    out = client.predict(handle_file(str(zpath)), api_name="/index_images")
    try:
        assert out["indexed"] == len(truth) and out["gallery"].startswith("u")
        found = client.predict("a cat", 2, out["gallery"], api_name="/search_images")
        assert found["items"][0]["file"] == truth["cat"]  # the name as it was in the zip
    finally:
        gal.delete(out["gallery"])
    with pytest.raises(Exception, match="unknown gallery"):
        client.predict("a cat", 2, "../secrets", api_name="/search_images")


# --- browser -------------------------------------------------------------------------------------

def _open_tab(browser, app_url, title):
    open_app(browser, app_url)
    click_tab(browser, title)


def _no_error(browser):
    from selenium.webdriver.common.by import By

    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Traceback" not in text
    toasts = [t.text for t in browser.find_elements(By.CSS_SELECTOR, ".toast-body") if t.is_displayed()]
    assert not any("rror" in t for t in toasts), toasts


@pytest.mark.browser
@pytest.mark.slow
def test_browser_search_shows_results(browser, app_url, screenshot_dir):
    from selenium.webdriver.common.by import By

    _open_tab(browser, app_url, "Voice Image Search")
    browser.find_element(By.ID, "imgsearch-search").click()
    deadline = time.time() + 120
    while time.time() < deadline:
        body = browser.find_element(By.TAG_NAME, "body").text
        if "chelsea.png" in body and "Searched for" in body:
            break
        _no_error(browser)
        time.sleep(1)
    else:
        raise AssertionError("no results appeared")
    thumbs = [im for im in browser.find_elements(By.CSS_SELECTOR, "#imgsearch-results img") if im.is_displayed()]
    assert thumbs
    thumbs[0].click()  # the grounding heatmap of the first result
    deadline = time.time() + 60
    while time.time() < deadline and "Grad-CAM" not in browser.find_element(By.TAG_NAME, "body").text:
        _no_error(browser)
        time.sleep(1)
    _no_error(browser)
    browser.save_screenshot(str(Path(screenshot_dir) / "image_search.png"))
    assert "Grad-CAM" in browser.find_element(By.TAG_NAME, "body").text


@pytest.mark.browser
@pytest.mark.slow
def test_browser_ask_gives_a_cited_spoken_answer(browser, app_url, screenshot_dir):
    from selenium.webdriver.common.by import By

    _open_tab(browser, app_url, "Voice Image Search")
    box = browser.find_element(By.CSS_SELECTOR, "#imgsearch-query textarea, #imgsearch-query input")
    box.clear()
    box.send_keys("Which picture shows an animal?")
    browser.find_element(By.ID, "imgsearch-ask").click()
    deadline = time.time() + 180
    while time.time() < deadline:
        body = browser.find_element(By.TAG_NAME, "body").text
        if "Best match [1]" in body and "→ total" in body:  # the final step (model sentence) is done
            break
        _no_error(browser)
        time.sleep(1)
    else:
        raise AssertionError("no answer appeared")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "chelsea.png" in body and "Model's words" in body and "not written by the model" in body
    assert "generate" in body and "first answer audio" in body  # the step timings
    _no_error(browser)
    browser.save_screenshot(str(Path(screenshot_dir) / "image_search_ask.png"))
