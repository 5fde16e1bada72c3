"""Draw `core.controls.Control` declarations as Gradio components (the one Gradio helper)."""
from __future__ import annotations

import gradio as gr

from core.controls import Control


def render(control: Control, **overrides) -> gr.components.Component:
    """One component for one declared control; `overrides` pass layout options (scale, visible)."""
    c = control
    common = dict(label=c.label, info=c.help or None, value=c.default, **overrides)
    if c.kind == "slider":
        return gr.Slider(minimum=c.minimum, maximum=c.maximum, step=c.step or (1 if c.integer else None),
                         **common)
    if c.kind in ("int", "number"):
        return gr.Number(minimum=c.minimum, maximum=c.maximum, step=c.step or 1,
                         precision=0 if c.kind == "int" else None, **common)
    if c.kind == "choice":
        return gr.Dropdown(choices=list(c.choices), **common)
    if c.kind == "radio":
        return gr.Radio(choices=list(c.choices), **common)
    if c.kind == "check":
        return gr.Checkbox(**common)
    if c.kind == "textarea":
        return gr.Textbox(lines=c.lines, **common)
    return gr.Textbox(lines=1, **common)


def render_all(controls: tuple[Control, ...], **overrides) -> dict[str, gr.components.Component]:
    """Every control of a declaration, in order, keyed by name (handlers receive them by name)."""
    return {c.name: render(c, **overrides) for c in controls}
