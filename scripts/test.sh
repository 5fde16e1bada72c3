#!/usr/bin/env bash
# Sets up everything the tests need (first run only) and runs the whole suite offline.
# Extra arguments go to pytest (e.g. -k embeddings).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python -m pytest "$@"
