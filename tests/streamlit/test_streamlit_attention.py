"""The Attention page on Streamlit, driven headless with AppTest on the real offline models: the page
shows what the direct core calls give, its view controls only redraw, bad inputs show core's message."""
from __future__ import annotations

import numpy as np
import pytest

from core import attention, config
from core.attention import view as av, figures as fa
from core.attention.scaled_dot_product import head_math
from tests.streamlit_pages import errors, run_page, text_of

TEXT = av.EXAMPLES[0][0]


def core_message(fn, *args, **kwargs) -> str:
    with pytest.raises(ValueError) as info:
        fn(*args, **kwargs)
    return str(info.value)


@pytest.fixture(scope="module")
def page():
    """One session for the module (the model loads once), with the default sentence on MiniLM shown."""
    at = run_page("attention")
    assert "Show attention" in text_of(at) and not errors(at)
    at.button(key="attn_go").click().run()
    assert not at.exception and not errors(at)
    return at


def test_show_attention_matches_core(page):
    result = page.session_state["attn_result"]
    direct = attention.attention_maps(TEXT, "minilm")
    assert result["maps"].tokens == direct.tokens
    assert result["maps"].weights.shape == (6, 12, len(direct.tokens), len(direct.tokens))
    assert np.allclose(result["maps"].weights, direct.weights, atol=1e-5)  # page thread vs this one: fp32 rounding
    assert av.summary(result["maps"], result["sal"], "minilm") in text_of(page)
    assert "Tokens as the tokenizer split them" in [s.value for s in page.subheader]
    assert "didn" in text_of(page)  # the token strip


def test_layer_and_head_redraw_without_running_the_model(page):
    before = page.session_state["attn_result"]
    page.slider(key="attn_layer").set_value(3)
    page.selectbox(key="attn_head").set_value("5")
    page.selectbox(key="attn_focus").set_value(4)
    page.run()
    assert not errors(page)
    assert page.session_state["attn_result"] is before  # no new model run
    choice, (head_fig, _, model_fig) = page.session_state["attn_figs"]
    assert choice[1:] == (3, "5", 4, True, "lines")
    assert "layer 3, head 5" in head_fig.layout.title.text
    frame = model_fig.layout.shapes[0]  # the red frame sits on layer 3, head 5
    tile = model_fig.layout.meta["tile"]
    assert av.tile_at(model_fig.layout.meta, (frame.x0 + frame.x1) / 2, (frame.y0 + frame.y1) / 2) == (3, 5)
    assert frame.x0 == 5 * tile - 1
    assert "fa.lines(maps, layer=3, heads=[5], focus=4" in page.code[0].value
    page.run()
    assert page.session_state["attn_figs"][1][0] is head_fig  # a plain rerun redraws from the cache


def test_tile_geometry_maps_every_tile_centre_back(page):
    maps = page.session_state["attn_result"]["maps"]
    fig = fa.model_view(maps, True, cell=config.MODEL_VIEW_CELL)
    meta = fig.layout.meta
    xs, ys = fig.layout.xaxis.tickvals, fig.layout.yaxis.tickvals  # tile centres, as drawn
    for layer, y in enumerate(ys):
        for head, x in enumerate(xs):
            assert av.tile_at(meta, x, y) == (layer, head)
    assert av.tile_at(meta, -3, 0) is None and av.tile_at(meta, 0, meta["tile"] * maps.n_layers + 1) is None


def test_scaled_dot_product_numbers_match_core(page):
    page.slider(key="attn_layer").set_value(2)
    page.selectbox(key="attn_head").set_value("7")
    page.selectbox(key="attn_focus").set_value(-1)
    page.button(key="attn_math_go").click().run()
    assert not errors(page)
    maps = page.session_state["attn_result"]["maps"]
    hm = head_math(TEXT, "minilm", 2, 7, len(maps.tokens) - 1)
    table = page.dataframe[0].value
    assert list(table["token"]) == list(hm.tokens)
    assert np.allclose(table["softmax"].to_numpy(float), np.round(hm.weights, 4), atol=1e-4)
    assert np.isclose(table["softmax"].sum(), 1.0, atol=1e-3)


def test_export_gives_an_offline_html_download(page):
    page.selectbox(key="attn_which").set_value("rollout")
    page.button(key="attn_export_go").click().run()
    assert not errors(page)
    which, fig = page.session_state["attn_export"]
    assert which == "rollout" and "rollout" in fig.layout.title.text.lower()
    assert len(page.get("download_button")) == 1
    html = av.html_text(fig)
    inlined = "<html>" in html[:100] and "Plotly.newPlot" in html and 'src="https://cdn.plot.ly' not in html
    assert inlined and len(html) > 1_000_000  # plotly.js itself is in the file: it opens offline


def test_decoder_next_token_and_causal_mask():
    at = run_page("attention")
    at.text_area(key="attn_text").input("The capital of France is")
    at.selectbox(key="attn_model").set_value("smollm2-135m")
    at.checkbox(key="attn_ig").set_value(False)
    at.button(key="attn_go").click().run()
    assert not at.exception and not errors(at)
    maps = at.session_state["attn_result"]["maps"]
    direct = attention.attention_maps("The capital of France is", "smollm2-135m")
    assert maps.kind == "decoder" and np.allclose(maps.weights, direct.weights, atol=1e-5)  # fp32 rounding only
    assert np.abs(np.triu(maps.weights[0, 0], 1)).max() == 0
    assert "Paris" in "".join(t for t, _ in maps.next_tokens[:5])
    assert "decoder: causal" in text_of(at)


@pytest.mark.parametrize("case", ["empty", "too long", "export the math"])
def test_bad_inputs_show_core_message_then_the_page_still_works(page, case):
    if case == "empty":
        page.text_area(key="attn_text").input("   ")
        page.button(key="attn_go").click().run()
        expected = core_message(attention.attention_maps, "   ", "minilm")
    elif case == "too long":
        long = "word " * (config.MAX_ATTENTION_CHARS // 5 + 1)
        page.text_area(key="attn_text").input(long)
        page.button(key="attn_go").click().run()
        expected = core_message(attention.attention_maps, long, "minilm")
    else:
        page.selectbox(key="attn_which").set_value("scaled dot-product")
        page.button(key="attn_export_go").click().run()
        maps = page.session_state["attn_result"]["maps"]
        expected = core_message(av.export_figure, maps, None, "scaled dot-product", 0, "all", None, True, "lines")
    assert not page.exception
    assert errors(page) == [expected]
    # the page keeps working: a short sentence right after
    page.text_area(key="attn_text").input("ok")
    page.checkbox(key="attn_ig").set_value(False)
    page.button(key="attn_go").click().run()
    assert not page.exception and not errors(page)
    assert page.session_state["attn_result"]["maps"].tokens == ("[CLS]", "ok", "[SEP]")


def test_tile_targets_cover_every_tile_with_its_own_layer_and_head(page):
    """Streamlit reports clicks only on selectable points: the invisible markers over each tile carry
    (layer, head), and each sits inside the tile it names."""
    maps = page.session_state["attn_result"]["maps"]
    fig = av.with_tile_targets(fa.model_view(maps, True, cell=config.MODEL_VIEW_CELL))
    meta, targets = fig.layout.meta, fig.data[-1]
    assert fig.data[0].hoverinfo == "skip" and targets.type == "scatter"
    seen = set()
    for x, y, ids in zip(targets.x, targets.y, targets.customdata):
        assert av.tile_at(meta, x, y) == tuple(ids)
        seen.add(tuple(ids))
    assert seen == {(l, h) for l in range(maps.n_layers) for h in range(maps.n_heads)}


# --- in the browser: a real click on a model-view tile ------------------------------------------

TILE_JS = """
const gd = [...document.querySelectorAll('.js-plotly-plot')].filter(g => g.offsetParent !== null
           && g._fullLayout.meta && g._fullLayout.meta.tile)[0];
if (!gd) return null;
gd.scrollIntoView();
const m = gd._fullLayout.meta, xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
const x = arguments[1] * m.tile + m.tile / 3, y = arguments[0] * m.tile + m.tile / 3;
return {x: r.left + xa._offset + xa.l2p(x), y: r.top + ya._offset + ya.l2p(y)};
"""
HEAD_TITLE_JS = """
const titles = [...document.querySelectorAll('.js-plotly-plot')].map(g => g._fullLayout && g._fullLayout.title
               ? String(g._fullLayout.title.text || '') : '');
return titles.find(t => t.includes('Head view')) || null;  // Streamlit wraps titles in <b>
"""


@pytest.mark.browser
def test_clicking_a_model_view_tile_opens_that_layer_and_head(streamlit_url, browser, screenshot_dir):
    import os
    import time

    from selenium.webdriver.common.by import By

    from tests.browser import click_at, st_open_page

    st_open_page(browser, streamlit_url, "attention", expect="Show attention")
    next(b for b in browser.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Show attention").click()
    deadline = time.time() + 180
    while time.time() < deadline and not browser.execute_script(TILE_JS, 2, 4):
        time.sleep(0.5)
    time.sleep(1)
    pos = browser.execute_script(TILE_JS, 2, 4)
    assert pos, "no model view drawn"
    click_at(browser, pos["x"], pos["y"])
    deadline, title = time.time() + 60, None
    while time.time() < deadline:
        title = browser.execute_script(HEAD_TITLE_JS)
        if title and "layer 2, head 4" in title:
            break
        time.sleep(0.5)
    browser.save_screenshot(os.path.join(screenshot_dir, "streamlit-attention-tile.png"))
    assert title and "layer 2, head 4" in title, title
