"""The tabs of the studio, in roadmap order: id, title, roadmap weeks and a one-line summary.

UI-neutral: the Gradio tabs (apps/gradio) and the Streamlit pages (apps/streamlit) both read
their headings from here, and the home page of each lists them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tab:
    id: str
    title: str
    weeks: str
    summary: str

    @property
    def heading(self) -> tuple[str, str, str]:
        return self.title, self.weeks, self.summary


TABS: dict[str, Tab] = {tab.id: tab for tab in (
    Tab('home', 'Home', '',
        'This page.'),
    Tab('embeddings', 'Embedding Explorer', '1, 5',
        'Word vectors (GloVe, 400k words) and sentence embeddings (MiniLM): nearest neighbours, '
        'analogies, 2D/3D projections and semantic axes, on your own corpus too.'),
    Tab('attention', 'Attention', '4–5',
        'Every layer and head of an encoder (MiniLM) or a decoder (SmolLM2): head view, model '
        'view, rollout, the scaled dot-product with real numbers, and saliency beside it.'),
    Tab('chat', 'LoRA Chat', '6',
        'Chat with SmolLM2, fine-tune it with LoRA in a few minutes on a CPU while the loss curve'
        ' falls, then compare base and adapted answers token by token.'),
    Tab('tts', 'TTS Pipeline', '8',
        'Text to speech as a pipeline you can see and edit: normalization, phonemes, durations, '
        'mel-spectrogram, waveform; Piper (offline), Coqui two-stage and XTTS voice cloning, '
        'espeak-ng baseline.'),
    Tab('whisper', 'Live Whisper', '9',
        'Speech recognition live from the microphone: committed words vs the tentative tail, the '
        'lag, and the streaming policy at work; files to timestamped text and subtitles.'),
    Tab('image_search', 'Voice Image Search', '9',
        'Cross-modal retrieval and RAG: voice or text → images found by their pixels (ImageNet '
        'tags, captions, CLIP when downloaded) → a cited answer, spoken.'),
    Tab('models_panel', 'Models', 'all',
        'Every model the studio knows: loaded, available offline, or missing and how to get it.'),
)}

HOME_INTRO = """
Real models you can touch, on a GPU or a CPU laptop, with no network once installed.
Every tab calls the same `core/` pipelines the tests and the API use, and every tab shows the
few lines of Python that reproduce what you see.
"""

HOME_MODELS = (
    "Models load the first time a tab needs them (a few seconds), then stay in memory for "
    "every user. The **Models** tab lists each model, where its weights are, and how to get "
    "the ones that are missing."
)


def overview_table() -> str:
    """Markdown table of every tab but home: title, roadmap weeks, what it shows."""
    rows = [f"| **{t.title}** | {t.weeks} | {t.summary} |" for t in TABS.values() if t.id != "home"]
    return "| Tab | Roadmap week | What it shows |\n|---|---|---|\n" + "\n".join(rows)
