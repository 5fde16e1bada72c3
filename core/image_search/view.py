"""The Voice Image Search page's glue, shared by both front ends: the gallery choice, the results
as thumbnails and table rows, the notes, the answer's parts and the "show the code" snippet.

UI-neutral: plain data and PIL images in and out (no gradio, no streamlit).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from core import config
from core.audio import to_int16
from core.controls import Control
from core.image_search import gallery as gal
from core.image_search.pipeline import DEFAULT_WEIGHTS

INTRO = """Ask aloud or type. Each picture is scored by up to three **channels**, shown separately:
**tags** (an offline ImageNet classifier looks at the pixels; your words are compared with its labels),
**text** (the caption and the file name), and **CLIP** (image embeddings, once its weights are downloaded).
Arithmetic works: `horse + stripes`, or an example image minus some text."""

SCORE_COLUMNS = ["#", "file", "total", "tags", "text", "clip", "top tags", "caption"]
SOURCES = ("Shipped gallery", "My upload")
SOURCES_TITLE = "**Sources** (computed from the search, not written by the model):"
MODEL_TITLE = "**Model's words** (SmolLM2-135M; it can be wrong, check the pictures):"

# --- the tab's inputs, declared once (apps/gradio/image_search.py and apps/streamlit/image_search.py
# draw them); `name` is the argument of `weights`, `search_text` or `rag.ask_steps` it feeds.
DEFAULT_QUERY, DEFAULT_K = "a cat", 6
QUERY = Control("query", "Search or question", "text", default=DEFAULT_QUERY)
QUERY_PLACEHOLDER = "a cat · show me the rocket · horse + stripes · which picture shows an animal?"
IMAGE_SIGNS = ("+ add it", "− subtract it")
EXAMPLE_CONTROLS = (
    Control("image_sign", "Use the example image as", "radio", default=IMAGE_SIGNS[0], choices=IMAGE_SIGNS),
)


def _weight(channel: str, label: str) -> Control:
    return Control(f"w_{channel}", label, "slider", default=DEFAULT_WEIGHTS[channel], minimum=0.0,
                   maximum=config.IMAGE_SEARCH_MAX_WEIGHT, step=0.1)


WEIGHT_CONTROLS = (
    _weight("tags", "tags weight (offline ImageNet classifier)"),
    _weight("text", "text weight (caption + file name)"),
    _weight("clip", "CLIP weight (used when CLIP is downloaded)"),
    Control("k", "results", "slider", default=DEFAULT_K, minimum=1, maximum=config.IMAGE_SEARCH_MAX_K, step=1),
    Control("speak", "speak the answer", "check", default=True),
)
# "My upload" is chosen for the user after indexing (each front end sets the value at run time).
SOURCE = Control("source", "Search in", "radio", default=SOURCES[0], choices=SOURCES)
FOLDER = Control("folder", f"…or a folder on the server (only where the host allows: {gal.ROOTS_ENV})", "text",
                 default="")
# Labels and titles both front ends show beside the declared inputs.
EXAMPLE_TITLE = "Example image and query arithmetic"
EXAMPLE_IMAGE = "Example image (optional)"
WEIGHTS_TITLE = "Channels and weights"
OWN_TITLE = "Your own pictures (a zip or image files; names like IMG_0412.jpg are fine)"
INDEX_BUTTON, INDEX_FOLDER_BUTTON = "Index my pictures", "Index folder"
FILES_LABEL = "Images or a .zip"
PROMPT_TITLE = "The prompt the chat model was given"
SPOKEN_MATCH, SPOKEN_MODEL = "Spoken: best match (from the search)", "Spoken: the model's sentence"
HEATMAP_LABEL = "Grounding heatmap"
SCORES_LABEL, TIMINGS_LABEL = "Per-channel scores", "Step timings"
ASK_WORK = "transcribe → search → speak the sources → generate (models load the first time)"


def weights(w_clip: float, w_tags: float, w_text: float) -> dict[str, float]:
    """Channel weights as core.image_search.pipeline takes them."""
    return {"clip": float(w_clip), "tags": float(w_tags), "text": float(w_text)}


def pick_gallery(source: str, my_gallery: str | None) -> str:
    """The gallery name to search: "" for the shipped one, else this user's upload."""
    if source == SOURCES[1]:
        if not my_gallery:
            raise ValueError("You have not uploaded a gallery yet: use “Your own pictures” below, or pick the "
                             "shipped gallery.")
        return my_gallery
    return ""


def check_folder(folder: str | None) -> str:
    if not (folder or "").strip():
        raise ValueError("Type a folder path on the server first.")
    return folder.strip()


def gallery_items(g: gal.Gallery, hits) -> list[tuple[Image.Image, str]]:
    """(thumbnail as RGB, "[rank] file · score") per hit."""
    out = []
    for h in hits:
        with Image.open(g.thumb_path(h.row)) as im:
            out.append((im.convert("RGB"), f"[{h.rank}] {h.key} · {h.score:.2f}"))
    return out


def table(hits) -> list[list]:
    """One row per hit in SCORE_COLUMNS' order; "–" for a channel that did not score it."""
    rows = []
    for h in hits:
        s = h.scores
        channels = [round(s[c], 3) if c in s else "–" for c in ("tags", "text", "clip")]
        rows.append([h.rank, h.key, round(h.score, 3), *channels,
                     ", ".join(f"{label} {p:.0%}" for label, p in h.tags[:3]), h.caption])
    return rows


def notes(result_notes: list[str], query: str, approximate: bool) -> str:
    lines = [f"Searched for: **{query}** · index: {'approximate (HNSW)' if approximate else 'exact (flat)'}"]
    lines += [f"Note: {n}" for n in dict.fromkeys(result_notes)]
    return "\n\n".join(lines)


def heatmap_note(key: str, what: str) -> str:
    return f"**{key}**: {what}. Brighter = mattered more."


def index_message(g: gal.Gallery, incremental: bool = True) -> str:
    """What an index run did, with the files it skipped and why (the last 20)."""
    skipped = "\n".join(f"- `{s.key}`: {s.reason}" for s in g.skipped[-20:])
    msg = f"Your gallery has **{len(g)}** images" + (" (only new or changed files were embedded)." if incremental
                                                      else ".")
    return msg + (f"\n\nSkipped:\n{skipped}" if skipped else "")


def snippet(query: str, k: int, gallery: str, w: dict) -> str:
    return (
        "from core import image_search\n\n"
        f"result = image_search.search_text({query!r}, k={k}, gallery={gallery!r},\n"
        f"                                  weights={w!r})\n"
        "for hit in result.hits:\n"
        "    print(hit.rank, hit.key, round(hit.score, 3), hit.scores, hit.tags[:2])\n"
    )


def asked_markdown(question: str) -> str:
    return f"**You asked:** {question}"


def sources_markdown(answer) -> str:
    return f"{SOURCES_TITLE}\n\n{answer.sources_text}"


def model_markdown(answer) -> str:
    return f"{MODEL_TITLE}\n\n> " + (answer.model_text or "(the model is writing...)")


def timing_rows(answer) -> list[list]:
    """[step, seconds] for each step of a rag.Answer, then first audio and total when known."""
    rows = [[step, round(sec, 3)] for step, sec in answer.timings.items()]
    if answer.first_audio_s:
        rows.append(["→ first answer audio ready", round(answer.first_audio_s, 3)])
    if answer.total_s:
        rows.append(["→ total", round(answer.total_s, 3)])
    return rows


def prompt_text(answer) -> str:
    return "\n\n".join(f"--- {m['role']} ---\n{m['content']}" for m in answer.messages)


def pcm(audio: np.ndarray | None, sample_rate: int):
    """(sample_rate, int16 samples), or None when there is no audio."""
    return None if audio is None else (sample_rate, to_int16(audio))
