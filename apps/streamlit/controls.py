"""Draw `core.controls.Control` declarations as Streamlit widgets (the one Streamlit helper)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.controls import Control


def render(control: Control, key: str, container: Any = st, **options) -> Any:
    """One widget for one declared control; returns its current value. `key` must be unique on
    the page (prefix it with the tab id). `options` pass layout and widget-only options (horizontal,
    height, placeholder, max_chars) and win over the declaration: choices or a maximum known only at
    run time, a format_func."""
    c = control
    kw: dict[str, Any] = dict(label=c.label, help=c.help or None, key=key)
    if c.kind == "slider":
        make, num = container.slider, (int if c.integer else float)
        step = int(c.step or 1) if c.integer else (float(c.step) if c.step else None)
        kw.update(min_value=num(c.minimum), max_value=num(c.maximum), value=num(c.default), step=step)
    elif c.kind == "int":
        make = container.number_input
        kw.update(min_value=int(c.minimum), max_value=int(c.maximum), value=int(c.default), step=int(c.step or 1))
    elif c.kind == "number":
        make = container.number_input
        kw.update(min_value=float(c.minimum), max_value=float(c.maximum), value=float(c.default),
                  step=float(c.step) if c.step else None, format=c.fmt or None)
    elif c.kind in ("choice", "radio"):
        make = container.selectbox if c.kind == "choice" else container.radio
        kw.update(options=list(c.choices), index=list(c.choices).index(c.default))
        if c.kind == "radio":
            kw.update(horizontal=True)
    elif c.kind == "check":
        make = container.checkbox
        kw.update(value=bool(c.default))
    elif c.kind == "textarea":
        make = container.text_area
        kw.update(value=c.default or "", height=max(68, 24 * c.lines))
    else:
        make = container.text_input
        kw.update(value=c.default or "")
    return make(**{**kw, **options})


def render_all(controls: tuple[Control, ...], prefix: str, container: Any = st) -> dict[str, Any]:
    """Every control of a declaration, in order: {name: current value}."""
    return {c.name: render(c, f"{prefix}_{c.name}", container) for c in controls}
