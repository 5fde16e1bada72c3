"""Controls declared once, as data: each front end draws them through one small helper.

A tab's inputs (label, help, limits, default, choices) live beside its core options, usually in
the domain's `view.py`, as a tuple of `Control`. `apps/gradio/controls.py` turns a declaration
into Gradio components and `apps/streamlit/controls.py` into Streamlit widgets, so a limit changed
in `core/config` changes both front ends, and a test can compare each front end's widgets with the
declaration. UI-neutral: no gradio or streamlit import here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Control", "KINDS", "by_name", "defaults"]

# slider: a number with a range; int / number: a typed box; choice: a drop-down;
# radio: a few visible options; check: on/off; text: one line; textarea: several lines.
KINDS = ("slider", "int", "number", "choice", "radio", "check", "text", "textarea")


@dataclass(frozen=True)
class Control:
    """One input of a tab. `name` is the keyword argument the core call takes."""

    name: str
    label: str
    kind: str
    default: Any = None
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple = ()
    lines: int = 1  # textarea height
    fmt: str = ""  # printf-style number format where the default is unreadable (e.g. "%.0e")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"control {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind in ("slider", "int", "number"):
            if self.minimum is None or self.maximum is None:
                raise ValueError(f"control {self.name!r}: a {self.kind} needs minimum and maximum")
            if not self.minimum <= self.default <= self.maximum:
                raise ValueError(f"control {self.name!r}: default {self.default} is outside "
                                 f"{self.minimum}–{self.maximum}")
        if self.kind in ("choice", "radio"):
            if not self.choices:
                raise ValueError(f"control {self.name!r}: a {self.kind} needs choices")
            if self.default not in self.choices:
                raise ValueError(f"control {self.name!r}: default {self.default!r} is not among "
                                 f"{self.choices}")

    @property
    def integer(self) -> bool:
        """True where the value is a whole number (int boxes; sliders with whole limits and step)."""
        if self.kind == "int":
            return True
        return self.kind == "slider" and all(
            isinstance(v, int) and not isinstance(v, bool)
            for v in (self.minimum, self.maximum, self.step or 1, self.default))


def by_name(controls: tuple[Control, ...]) -> dict[str, Control]:
    return {c.name: c for c in controls}


def defaults(controls: tuple[Control, ...]) -> dict[str, Any]:
    """Each control's default, by name: what a core call gets when nobody touched the UI."""
    return {c.name: c.default for c in controls}
