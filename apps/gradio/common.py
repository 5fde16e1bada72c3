"""Small pieces every tab uses: turning core errors into messages, the code box."""
from __future__ import annotations

import functools
import inspect
import types
from pathlib import Path
from typing import Callable

import gradio as gr

from core import session_files
from core.errors import user_message
from core.models import download_progress


def _message(exc: Exception) -> gr.Error:
    return gr.Error(user_message(exc), print_exception=False)


def _announce_download(fraction: float, message: str) -> None:
    """A model download (NLP_STUDIO_ALLOW_DOWNLOAD=1) during a handler: a toast at the start, at
    each quarter and at the end, so the visitor knows why the first call is slow."""
    gr.Info(f"{message} ({fraction:.0%})" if 0 < fraction < 1 else message, duration=8)


def _quarters():
    last = [-1]

    def report(fraction: float, message: str) -> None:
        step = int(fraction * 4)
        if step != last[0]:
            last[0] = step
            _announce_download(fraction, message)
    return report


def friendly(fn: Callable) -> Callable:
    """Wrap an event handler: core's ValueError / ModelMissingError become a visible message
    (a toast in the UI, an error for API clients) and the app stays up."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            report, steps = _quarters(), None
            try:
                steps = fn(*args, **kwargs)
                while True:  # the progress hook is set per step: each step may run in another context
                    with download_progress(report):
                        try:
                            item = next(steps)
                        except StopIteration:
                            return
                    yield item
            except gr.Error:
                raise
            except Exception as exc:  # noqa: BLE001
                raise _message(exc) from exc
            finally:
                if steps is not None:
                    steps.close()  # a cancelled event (Stop) stops the handler too
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with download_progress(_quarters()):
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


def session_folder(prefix: str) -> Path:
    """A fresh folder for files made for the visitor of the current event; it goes when their
    session ends (app.py registers `end_session` on `demo.unload`)."""
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)
    return session_files.new_folder(getattr(request, "session_hash", None), prefix)


def end_session(request: gr.Request) -> None:
    """`demo.unload` handler: the visitor left (tab closed or reloaded); remove their files."""
    session_files.end_session(getattr(request, "session_hash", None))
    session_files.sweep()


def cache_block_signatures() -> bool:
    """Make a visitor's session cheaper to start. Gradio builds every block's config when a session
    begins (SessionState, for deep links), and each block's `get_config` asks `inspect.signature`
    of its class's `__init__`: with this app's ~870 blocks that is 75 ms on the server's event loop
    per new visitor, during which no other visitor's call moves (60 students opening the page stall
    everyone for 4-5 s). A class's signature does not change while the app runs, so gradio.blocks
    is given a signature function that remembers it: same configs, about half the time.
    Returns False (and changes nothing) if gradio.blocks no longer looks the signature up that way."""
    import gradio.blocks as blocks

    current = getattr(blocks, "inspect", None)
    if getattr(current, "signature", None) is _cached_signature:
        return True
    if current is not inspect:  # a gradio that no longer does `import inspect` in blocks.py
        return False
    proxy = types.ModuleType("inspect", "inspect, with signature() remembered per callable (see cache_block_signatures)")
    proxy.__dict__.update({k: v for k, v in vars(inspect).items() if not k.startswith("__")})
    proxy.signature = _cached_signature
    blocks.inspect = proxy
    return True


def _cached_signature(fn, *args, **kwargs):
    """inspect.signature, remembered for plain functions (a class's `__init__`: fixed while the app
    runs); anything else (a bound method, a partial, a callable object) is looked up as before."""
    if args or kwargs or not isinstance(fn, types.FunctionType):
        return inspect.signature(fn, *args, **kwargs)
    return _function_signature(fn)


@functools.lru_cache(maxsize=4096)
def _function_signature(fn: types.FunctionType) -> inspect.Signature:
    return inspect.signature(fn)
