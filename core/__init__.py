"""NLP Studio pipelines: plain Python, no UI imports, nothing heavy at import time.

Each domain's pipeline lives in its own package here (embeddings/, attention/, chat/, tts/, asr/,
image_search/, the labs) and is shared by every front end (the Gradio app, the Streamlit pages,
the API, the tests, the benchmarks); shared infrastructure stays flat (registry, models, config).
"""
import os as _os

# OpenMP threads (torch, CTranslate2, faiss) that wait by spinning hold their core while the work
# is shared with anything else: the browser, another visitor's request, the web server. On a busy
# 2-core machine a 6 s Whisper window took 3.5-6.5 s to decode with spinning threads and 0.3-0.5 s
# with sleeping ones, and SmolLM2 made 2.4-3.2 tokens/s instead of 6.7-7.7 (bench figures in
# docs/whisper.md). Set before any OpenMP runtime starts (they read it once); an explicit value wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
