#!/usr/bin/env bash
# Sets up everything (first run only) and starts the Streamlit front end on http://127.0.0.1:8501.
# Extra arguments go to `streamlit run` (e.g. --server.address 0.0.0.0 --server.port 8080).
# Settings: .streamlit/config.toml (no usage statistics, 127.0.0.1, no file watcher).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_DISABLE_TELEMETRY=1
exec .venv/bin/python -m streamlit run streamlit_app.py "$@"
