"""The Embedding Explorer's Streamlit page, driven headless with AppTest on the real offline models:
each action shows what the direct core call gives, and bad inputs show core's own message."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest

from core.embeddings import corpus as corpus_mod, view as ev, explorer
from tests.streamlit_pages import errors, run_page, text_of


def core_message(fn, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def table(at, i: int) -> list[list]:
    return at.dataframe[i].value.values.tolist()


@pytest.fixture(scope="module")
def page():
    """One page session for the whole module (the models load once), like one user clicking around."""
    return run_page("embeddings")


def test_opens_with_the_word_neighbours_of_frog(page):
    assert not errors(page)
    assert "Nearest neighbours in the original space" in [s.value for s in page.subheader]
    assert "Ranked by cosine similarity in the original space" in text_of(page)
    want = [[r["rank"], r["text"], r["score"]] for r in explorer.as_rows(explorer.neighbours("frog", "word", 10))]
    assert table(page, 0) == want
    assert "unit @ q" in page.code[0].value  # the show-the-code box for this view


def test_sentence_neighbours_match_core(page):
    q = "Will it be sunny tomorrow?"
    page.radio(key="emb_kind").set_value("sentence")
    page.text_input(key="emb_query").input(q)
    page.slider(key="emb_k").set_value(5)
    page.button(key="emb_nn_go").click().run()
    assert not page.exception and not errors(page)
    want = ev.neighbours_view(q, "sentence", 5).rows
    got = table(page, 0)
    assert [r[1] for r in got] == [r[1] for r in want]
    assert np.allclose([r[2] for r in got], [r[2] for r in want], atol=1e-3)  # shown rounded to 3 decimals


def test_example_pill_fills_and_runs_the_form(page):
    page.button_group(key="emb_nn_try").set_value("python").run()
    assert page.text_input(key="emb_query").value == "python" and page.radio(key="emb_kind").value == "word"
    assert [r[1] for r in table(page, 0)] == [r[1] for r in ev.neighbours_view("python", "word", 5).rows]


def test_analogy_matches_core_and_finds_queen(page):
    page.button(key="emb_an_go").click().run()
    assert not errors(page)
    want = ev.analogy_view("king", "man", "woman", 5).rows
    got = table(page, 1)
    assert got == want and "queen" in [r[1] for r in got]


def test_projection_of_typed_words_matches_core(page):
    page.radio(key="emb_source").set_value("typed words").run()
    page.text_area(key="emb_words").input("apple banana cherry car truck bus dog cat horse")
    page.button(key="emb_pr_go").click().run()
    assert not errors(page)
    shown = page.session_state["emb_pr"]
    direct = ev.projection_result("typed words", words="apple banana cherry car truck bus dog cat horse")
    assert shown.view.points.texts == direct.view.points.texts
    # PCA axes have no fixed sign (the SVD may flip one), and fp32 rounding differs by thread
    assert np.allclose(np.abs(shown.view.projection.coords), np.abs(direct.view.projection.coords), atol=1e-4)
    assert "**9 points** · PCA" in text_of(page)


def test_tsne_in_3d_with_kmeans_colours_matches_core(page):
    page.radio(key="emb_source").set_value("word set")
    page.radio(key="emb_colour").set_value("k-means clusters").run()
    page.selectbox(key="emb_word_set").set_value("Countries and capitals")
    page.radio(key="emb_method").set_value("t-SNE")
    page.radio(key="emb_dims").set_value(3)
    page.slider(key="emb_clusters").set_value(2)
    page.button(key="emb_pr_go").click().run()
    assert not errors(page)
    shown = page.session_state["emb_pr"]
    direct = ev.projection_result("word set", word_set="Countries and capitals", method="t-SNE", dims=3,
                                  colour="k-means clusters", clusters=2)
    assert shown.view.projection.coords.shape == (20, 3) and shown.figure.data[0].type == "scatter3d"
    # the same seed in the same process; t-SNE's many iterations can grow last-bit differences a little
    assert np.allclose(shown.view.projection.coords, direct.view.projection.coords, atol=1e-3)
    assert shown.view.labels == direct.view.labels and len(set(shown.view.labels)) == 2
    assert "neighbourhoods do" in text_of(page)  # the t-SNE caveat


def test_clicked_point_maps_back_to_its_word(page):
    """A click arrives as (curve_number, point_index); it names the same point the figure drew there."""
    result = ev.projection_result("word set", word_set="Countries and capitals")
    fig = result.figure
    for curve, trace in enumerate(fig.data):
        for i, hover in enumerate(trace.hovertext):
            assert ev.point_text(result.view, curve, i) == hover
    assert ev.point_text(result.view, len(fig.data), 0) is None


def test_axes_match_core_and_warn_on_unknown_words(page):
    page.text_area(key="emb_ax_words").input("king queen zzqxv nurse")
    page.button(key="emb_ax_go").click().run()
    assert not errors(page)
    want = ev.axes_view("man, he, his", "woman, she, her", "bad, awful", "good, great", "king queen zzqxv nurse")
    frames = [d.value for d in page.dataframe]
    assert any(list(f.columns) == ["word", "x", "y"] and f.values.tolist() == want.rows for f in frames)
    assert any("zzqxv" in w.value for w in page.warning)


def test_pasted_corpus_feeds_sentence_neighbours(page):
    lines = "The cat chased the mouse.\nStocks fell sharply today.\nA kitten played with yarn.\nThe bank raised rates."
    page.text_area(key="emb_pasted").input(lines)
    page.button(key="emb_co_go").click().run()
    assert not errors(page)
    assert "Embedded **4 lines** from the pasted text" in text_of(page)
    page.radio(key="emb_kind").set_value("sentence")
    page.text_input(key="emb_query").input("a small cat")
    page.slider(key="emb_k").set_value(4)
    page.button(key="emb_nn_go").click().run()
    got = table(page, 0)
    assert sorted(r[1] for r in got) == sorted(lines.splitlines())
    want = ev.neighbours_view("a small cat", "sentence", 4, page.session_state["emb_corpus"].index).rows
    assert [r[1] for r in got] == [r[1] for r in want]


def test_uploaded_csv_corpus_with_labels(page):
    data = b"text,label\nI love this phone,tech\nThe match ended in a draw,sport\nNew laptop arrived,tech\n"
    page.file_uploader(key="emb_upload").set_value(("mine.csv", data, "text/csv"))
    page.button(key="emb_co_go").click().run()
    assert not errors(page)
    assert "Embedded **3 lines** from mine.csv with 2 labels" in text_of(page)
    page.radio(key="emb_source").set_value("my corpus").run()
    page.button(key="emb_pr_go").click().run()
    assert not errors(page)
    assert page.session_state["emb_pr"].view.points.texts == ["I love this phone", "The match ended in a draw",
                                                             "New laptop arrived"]


@pytest.mark.parametrize("action, expected", [
    ("empty word", lambda: core_message(explorer.neighbours, "", "word", 10)),
    ("unknown analogy word", lambda: core_message(explorer.analogy, "king", "zzqxvw", "woman", 5)),
    ("empty corpus", lambda: core_message(corpus_mod.from_text, "   ")),
    ("binary upload", lambda: core_message(ev.corpus_from_upload, "x.txt", b"\x00\x01binary")),
    ("one pole only", lambda: core_message(ev.axes_view, "man", "woman", "bad", "", "king queen")),
])
def test_bad_inputs_show_core_message_then_the_page_still_works(action, expected):
    at = run_page("embeddings")
    if action == "empty word":
        at.text_input(key="emb_query").input("")
        at.button(key="emb_nn_go").click().run()
    elif action == "unknown analogy word":
        at.text_input(key="emb_b").input("zzqxvw")
        at.button(key="emb_an_go").click().run()
    elif action == "empty corpus":
        at.text_area(key="emb_pasted").input("   ")
        at.button(key="emb_co_go").click().run()
    elif action == "binary upload":
        at.file_uploader(key="emb_upload").set_value(("x.txt", b"\x00\x01binary", "text/plain"))
        at.button(key="emb_co_go").click().run()
    else:
        at.text_input(key="emb_xa").input("man")
        at.text_input(key="emb_xb").input("woman")
        at.text_input(key="emb_ya").input("bad")
        at.text_input(key="emb_yb").input("")
        at.text_area(key="emb_ax_words").input("king queen")
        at.button(key="emb_ax_go").click().run()
    assert not at.exception
    assert errors(at) == [expected()]
    # the page keeps working: a good query right after
    at.text_input(key="emb_query").input("river")
    at.radio(key="emb_kind").set_value("word")
    at.button(key="emb_nn_go").click().run()
    assert not at.exception and not errors(at)
    assert table(at, 0)[0][1] == explorer.neighbours("river", "word", 10)[0].text


def test_my_corpus_without_one_says_what_to_do():
    at = run_page("embeddings")
    at.radio(key="emb_source").set_value("my corpus").run()
    at.button(key="emb_pr_go").click().run()
    assert errors(at) == [core_message(explorer.points_for, "my corpus")]


def test_rerun_without_action_does_not_recompute(page):
    before = page.session_state["emb_nn"]
    page.run()
    assert page.session_state["emb_nn"] is before


# --- in the browser: a real click on a projected point ------------------------------------------

POINT_JS = """
const gd = [...document.querySelectorAll('.js-plotly-plot')].filter(g => g.offsetParent !== null
           && g._fullData.length && g._fullData[0].type === 'scattergl')[0];
if (!gd) return null;
const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect(), t = gd._fullData[0];
return {x: r.left + xa._offset + xa.l2p(t.x[0]), y: r.top + ya._offset + ya.l2p(t.y[0]), text: t.hovertext[0]};
"""


@pytest.mark.browser
def test_clicking_a_projected_point_shows_its_neighbours(streamlit_url, browser, screenshot_dir):
    from selenium.webdriver.common.by import By

    from tests.browser import click_at, st_open_page, wait_for_text

    st_open_page(browser, streamlit_url, "embeddings", expect="Ranked by cosine similarity in the original space")
    next(t for t in browser.find_elements(By.CSS_SELECTOR, "[role='tab']") if "Projection" in t.text).click()
    next(b for b in browser.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Project").click()
    wait_for_text(browser, "points · PCA")
    browser.execute_script("window.scrollTo(0, 0)")
    point = None
    for _ in range(20):
        point = browser.execute_script(POINT_JS)
        if point:
            break
        time.sleep(0.5)
    assert point, "no projection drawn"
    click_at(browser, point["x"], point["y"])
    wait_for_text(browser, f"Clicked: “{point['text']}”")
    best = explorer.neighbours(point["text"], "word", 10)[0].text
    wait_for_text(browser, best)
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-embeddings-click.png"))
