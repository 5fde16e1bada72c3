#!/usr/bin/env bash
# Sets up everything (first run only) and starts the Gradio app on http://127.0.0.1:7860.
# Extra arguments go to app.py (e.g. --host 0.0.0.0 --port 8080). With --host 0.0.0.0 (a classroom)
# it prints the address students open, and a QR code of it.
# `start.sh --check`: the readiness check before a class (python -m core.doctor): loads every
# offline model, runs one real action per tab, prints timings and what is missing; exit 1 if a tab
# would fail. Nothing is served.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_DISABLE_TELEMETRY=1 GRADIO_ANALYTICS_ENABLED=False
if [[ "${1:-}" == "--check" ]]; then
  shift
  exec .venv/bin/python -m core.doctor "$@"
fi
exec .venv/bin/python app.py "$@"
