#!/usr/bin/env bash
# Sets up everything (first run only) and starts the Gradio app on http://127.0.0.1:7860.
# Extra arguments go to app.py (e.g. --host 0.0.0.0 --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python app.py "$@"
