"""The tabs of the studio, in roadmap order (week 1 first): id, title, roadmap weeks, a one-line summary, icon.

The one table of tabs. UI-neutral: the Gradio tab list (apps/gradio, module `apps.gradio.<id>`)
and the Streamlit pages (apps/streamlit, file `apps/streamlit/<id>.py`) are both derived from it,
and the home page of each lists it. A new tab is one row here plus one module per front end.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tab:
    id: str
    title: str
    weeks: str
    summary: str
    icon: str = ":material/tab:"  # Streamlit's sidebar decoration (a Material Symbols name)

    @property
    def heading(self) -> tuple[str, str, str]:
        return self.title, self.weeks, self.summary


TABS: dict[str, Tab] = {tab.id: tab for tab in (
    Tab('home', 'Home', '',
        'This page.',
        icon=':material/home:'),
    Tab('text_lab', 'Text Lab', '1',
        'One sentence through cleaning, tokenization, stop words, stemming and lemmatization (edit '
        'any stage); one-hot, Bag-of-Words and TF-IDF over a real corpus; sentiment three ways.',
        icon=':material/text_fields:'),
    Tab('embeddings', 'Embedding Explorer', '1, 5',
        'Word vectors (GloVe, 400k words) and sentence embeddings (MiniLM): nearest neighbours, '
        'analogies, 2D/3D projections and semantic axes, on your own corpus too.',
        icon=':material/scatter_plot:'),
    Tab('sequence_lab', 'Sequence Lab', '2–3',
        'RNN, LSTM and GRU trained live on Shakespeare, one character at a time: loss curves, hidden '
        'states and gates step by step, gradients vanishing back in time; an n-gram model with add-k and '
        'Kneser–Ney on text you edit.',
        icon=':material/timeline:'),
    Tab('decoding_lab', 'Decoding Lab', '3, 6',
        'Greedy, beam search and sampling side by side on SmolLM2\'s real logits: the beam tree with '
        'cumulative log-probabilities, the next-token distribution at each step, temperature, top-k, top-p.',
        icon=':material/account_tree:'),
    Tab('attention', 'Attention', '4–5',
        'Every layer and head of an encoder (MiniLM) or a decoder (SmolLM2): head view, model '
        'view, rollout, the scaled dot-product with real numbers, and saliency beside it.',
        icon=':material/grid_view:'),
    Tab('tokenizer_lab', 'Tokenizer Lab', '5',
        'Train BPE, WordPiece and Unigram tokenizers on real text, replay their merges one by one, and '
        'compare SmolLM2, MiniLM and Whisper tokenizers side by side (bytes per token, scripts, emoji).',
        icon=':material/token:'),
    Tab('transformer_lab', 'Transformer Lab', '5',
        'Build a 1–4 layer transformer on one page of PyTorch and train it live on a CPU: causal '
        'next-character vs masked fill-in, its attention maps while it learns, samples, its code.',
        icon=':material/model_training:'),
    Tab('chat', 'LoRA Chat', '6',
        'Chat with SmolLM2, fine-tune it with LoRA in a few minutes on a CPU while the loss curve'
        ' falls, then compare base and adapted answers token by token.',
        icon=':material/chat:'),
    Tab('evaluation_lab', 'Evaluation Lab', '6',
        'BLEU with and without smoothing, chrF, ROUGE, WER with its alignment, and perplexity with '
        'per-token surprisal, on your text and on the studio\'s own outputs.',
        icon=':material/fact_check:'),
    Tab('preference_lab', 'Preference Lab', '7',
        'DPO with LoRA on SmolLM2 from pairs you edit: the loss, each pair\'s chosen and rejected '
        'rewards and margins, replies before and after, and a reward that can be gamed.',
        icon=':material/thumbs_up_down:'),
    Tab('tts', 'TTS Pipeline', '8',
        'Text to speech as a pipeline you can see and edit: normalization, phonemes, durations, '
        'mel-spectrogram, waveform; Piper (offline), Coqui two-stage and XTTS voice cloning, '
        'espeak-ng baseline.',
        icon=':material/record_voice_over:'),
    Tab('whisper', 'Live Whisper', '9',
        'Speech recognition live from the microphone: committed words vs the tentative tail, the '
        'lag, and the streaming policy at work; files to timestamped text and subtitles.',
        icon=':material/mic:'),
    Tab('image_search', 'Voice Image Search', '9',
        'Cross-modal retrieval and RAG: voice or text → images found by their pixels (ImageNet '
        'tags, captions, CLIP when downloaded) → a cited answer, spoken.',
        icon=':material/image_search:'),
    Tab('models_panel', 'Models', 'all',
        'Every model the studio knows: loaded, available offline, or missing and how to get it.',
        icon=':material/memory:'),
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
