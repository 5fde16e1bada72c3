"""Draw `core.controls.Control` declarations as Streamlit widgets (the one Streamlit helper)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from core.controls import Control


def render(control: Control, key: str, container: Any = st, **options) -> Any:
    """One widget for one declared control; returns its current value. `key` must be unique on
    the page (prefix it with the tab id); `options` pass widget-only settings (placeholder,
    max_chars)."""
    c = control
    help_ = c.help or None
    options["key"] = key
    if c.kind == "slider":
        if c.integer:
            return container.slider(c.label, int(c.minimum), int(c.maximum), int(c.default),
                                    step=int(c.step or 1), help=help_, **options)
        return container.slider(c.label, float(c.minimum), float(c.maximum), float(c.default),
                                step=float(c.step) if c.step else None, help=help_, **options)
    if c.kind == "int":
        return container.number_input(c.label, int(c.minimum), int(c.maximum), int(c.default),
                                      step=int(c.step or 1), help=help_, **options)
    if c.kind == "number":
        return container.number_input(c.label, float(c.minimum), float(c.maximum), float(c.default),
                                      step=float(c.step) if c.step else None, format=c.fmt or None,
                                      help=help_, **options)
    if c.kind == "choice":
        return container.selectbox(c.label, list(c.choices), index=list(c.choices).index(c.default),
                                   help=help_, **options)
    if c.kind == "radio":
        return container.radio(c.label, list(c.choices), index=list(c.choices).index(c.default),
                               horizontal=True, help=help_, **options)
    if c.kind == "check":
        return container.checkbox(c.label, value=bool(c.default), help=help_, **options)
    if c.kind == "textarea":
        return container.text_area(c.label, value=c.default or "", height=max(68, 24 * c.lines),
                                   help=help_, **options)
    return container.text_input(c.label, value=c.default or "", help=help_, **options)


def render_all(controls: tuple[Control, ...], prefix: str, container: Any = st) -> dict[str, Any]:
    """Every control of a declaration, in order: {name: current value}."""
    return {c.name: render(c, f"{prefix}_{c.name}", container) for c in controls}
