"""Small pieces every tab uses: turning core errors into messages, the code box."""
from __future__ import annotations

import functools
import inspect
from typing import Callable

import gradio as gr

from core.errors import user_message


def _message(exc: Exception) -> gr.Error:
    return gr.Error(user_message(exc), print_exception=False)


def friendly(fn: Callable) -> Callable:
    """Wrap an event handler: core's ValueError / ModelMissingError become a visible message
    (a toast in the UI, an error for API clients) and the app stays up."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001
                raise _message(exc) from exc
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _message(exc) from exc
    return wrapper


def code_box(value: str = "") -> gr.Code:
    """The "show the code" box: the few lines of Python that reproduce the current view."""
    return gr.Code(value=value, language="python", label="Show the code (runs on its own)",
                   interactive=False, elem_classes=["code-box"])
