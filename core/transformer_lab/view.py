"""What the Transformer Lab shows, for any front end: its controls (declared once), the settings
they make, the status line, the figures for the current run and the show-the-code text.

Both front ends call these with core's plain results (LabStatus, FillIn); they only lay them out.
"""
from __future__ import annotations

import inspect

from core import config
from core.attention import figures as fa
from core.controls import Control
from core.transformer_lab.data import SOURCES
from core.transformer_lab.train import BLANK, LAB_MAX_STEPS, OBJECTIVES, LabSettings, LabStatus

INTRO = (
    "Build a small transformer (1–4 layers, a few hundred thousand parameters), train it here on real text, "
    "one character at a time, and watch it learn. **Causal** (a decoder, like GPT): each position sees only "
    "the characters before it and learns to predict the next one, so it can *write on*. **Masked** (an encoder, "
    "like BERT): 15% of the characters are hidden and every position sees both sides, so it learns to *fill in "
    "blanks*; only the hidden positions count in its loss, so each step teaches it less. The attention maps below "
    "are drawn by the Attention tab's own views: a causal model's maps are exactly zero above the diagonal."
)
OBJECTIVE_HELP = {
    "causal": "next character, looking left only (decoder, GPT-style): samples are generated text",
    "masked": "hidden characters, looking both ways (encoder, BERT-style): samples are fill-in predictions",
}
ALL = "all"

CONTROLS = (
    Control("objective", "Objective and mask", "radio", "causal", choices=OBJECTIVES,
            help="causal: next character, triangular mask · masked: fill in hidden characters, no mask"),
    Control("source", "Text", "choice", "zen", choices=tuple(SOURCES),
            help="shipped with Python itself (PSF License); or paste your own text below"),
    Control("text", "…or paste your own text (overrides the choice above)", "textarea", "", lines=4,
            help="at least 200 characters; the model's vocabulary is the set of characters in it"),
    Control("layers", "Layers", "slider", 2, minimum=1, maximum=4, step=1),
    Control("heads", "Heads per layer", "radio", 4, choices=(1, 2, 4)),
    Control("d_model", "Width (d_model)", "radio", 64, choices=(32, 64, 128)),
    Control("context", "Context (characters)", "slider", 32, minimum=16, maximum=64, step=8),
    Control("steps", "Training steps", "slider", 300, minimum=20, maximum=min(2000, LAB_MAX_STEPS), step=10),
    Control("learning_rate", "Learning rate", "choice", 3e-3, choices=(1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2),
            help="AdamW; 3e-3 learns in a few hundred steps; 1e-5 learns almost nothing (try it: the run says so)"),
)
SAMPLE_CONTROLS = (
    Control("prompt", "Start of the text (causal)", "text", "Beautiful is"),
    Control("n_chars", "Characters to write", "slider", 120, minimum=10, maximum=400, step=10),
    Control("temperature", "Temperature (0 = greedy)", "slider", 0.8, minimum=0.0, maximum=2.0, step=0.1),
    Control("blanks", f"Text with blanks (masked; each {BLANK} is predicted)", "text", "Beautiful is b_tter th_n ugly."),
)
VIEW_CONTROLS = (
    Control("layer", "Layer", "slider", 0, minimum=0, maximum=3, step=1),
    Control("head", "Head", "choice", ALL, choices=(ALL, 0, 1, 2, 3)),
    Control("view", "View", "radio", "heatmap", choices=("heatmap", "head view", "model view")),
)


def settings_from(objective: str = "causal", layers: int = 2, heads: int = 4, d_model: int = 64, context: int = 32,
                  steps: int = 300, learning_rate: float = 3e-3, **_ignored) -> LabSettings:
    """LabSettings from the controls' values (numbers may arrive as floats or strings from a UI)."""
    try:
        return LabSettings(objective=str(objective), layers=int(layers), heads=int(heads), d_model=int(d_model),
                           context=int(context), steps=int(steps), learning_rate=float(learning_rate))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ValueError) and "must" in str(exc):
            raise
        raise ValueError(f"a setting is not a number ({exc}); check layers, heads, width, context, steps") from None


def status_markdown(st: LabStatus, n_params: int | None = None) -> str:
    """One paragraph: where the run is, its speed, the latest loss, and its verdict once it ends."""
    if st.state == "failed":
        return f"**Training failed:** {st.error}"
    size = f" · {n_params:,} parameters" if n_params else ""
    loss = f" · loss {st.losses[-1]:.3f} (uniform guess {st.baseline:.2f})" if st.losses else ""
    head = (f"**{st.objective}** run: step {st.step}/{st.total} · {st.seconds:.1f} s · "
            f"{st.steps_per_s:.1f} steps/s{loss}{size}")
    if not st.finished:
        return head
    mark = "**Learned:**" if st.learned else "**Check:**"  # words, not emoji: not every font has them
    return f"{head}\n\n{mark} {st.verdict}" + (" (cancelled early)" if st.state == "cancelled" else "")


def sample_label(st: LabStatus) -> str:
    return ("Generated from the start of the text (greedy)" if st.objective == "causal"
            else "The probe window with its blanks (█) filled in by the model")


def attention_figure(st: LabStatus | None, layer: int = 0, head=ALL, view: str = "heatmap"):
    """The run's current attention maps through the Attention tab's figures (None before a run)."""
    if st is None or st.maps is None:
        return None
    maps = st.maps
    layer = int(min(max(int(layer), 0), maps.n_layers - 1))
    h = None if head in (None, "", ALL) else int(head)
    if h is not None and h >= maps.n_heads:
        h = None
    if view == "model view":
        return fa.model_view(maps, True, cell=config.MODEL_VIEW_CELL, selected=(layer, h))
    if view == "head view":
        return fa.lines(maps, layer, None if h is None else [h])
    return fa.heatmap(maps, layer, h)


def model_source() -> str:
    """The whole model, read from its module: what the show-the-code box displays."""
    from core.transformer_lab import model

    return inspect.getsource(model)


def train_code(settings: LabSettings, source: str, own_text: bool) -> str:
    """Lines that rerun this training outside the app, then draw its attention."""
    text_arg = "text=open('my_text.txt').read()" if own_text else f"source={source!r}"
    return f"""from core.attention import figures as fa
from core.transformer_lab import LabSettings, train, generate, fill_in

job = train(LabSettings(objective={settings.objective!r}, layers={settings.layers}, heads={settings.heads},
                        d_model={settings.d_model}, context={settings.context}, steps={settings.steps},
                        learning_rate={settings.learning_rate}), {text_arg})
st = job.status()
print(st.verdict, st.losses[-1])
fa.heatmap(st.maps, layer=0, head=None).show()   # the Attention tab's own figure
print({"generate(job, 'Beautiful is', 120)" if settings.causal else "fill_in(job, 'Beautiful is b_tter th_n ugly.')"})
"""
