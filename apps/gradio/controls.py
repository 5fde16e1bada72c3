"""Draw `core.controls.Control` declarations as Gradio components (the one Gradio helper)."""
from __future__ import annotations

import gradio as gr

from core.controls import Control


def render(control: Control, **overrides) -> gr.components.Component:
    """One component for one declared control. `overrides` pass layout options (scale, visible,
    elem_id) and win over the declaration, e.g. choices known only at run time or as (label, value)."""
    c = control
    kw = dict(label=c.label, info=c.help or None, value=c.default)
    if c.kind == "slider":
        make = gr.Slider
        kw.update(minimum=c.minimum, maximum=c.maximum, step=c.step or (1 if c.integer else None))
    elif c.kind in ("int", "number"):
        make = gr.Number
        kw.update(minimum=c.minimum, maximum=c.maximum, step=c.step or 1, precision=0 if c.kind == "int" else None)
    elif c.kind in ("choice", "radio"):
        make = gr.Dropdown if c.kind == "choice" else gr.Radio
        kw.update(choices=list(c.choices))
    elif c.kind == "check":
        make = gr.Checkbox
    else:
        make = gr.Textbox
        kw.update(lines=c.lines if c.kind == "textarea" else 1)
    return make(**{**kw, **overrides})


def render_all(controls: tuple[Control, ...], **overrides) -> dict[str, gr.components.Component]:
    """Every control of a declaration, in order, keyed by name (handlers receive them by name)."""
    return {c.name: render(c, **overrides) for c in controls}
