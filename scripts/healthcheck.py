"""Container health check: exit 0 when the studio on this machine answers, 1 otherwise.

Works for either front end on the same port: Streamlit answers GET /_stcore/health with "ok",
Gradio answers GET /config with its JSON. Only the standard library: it runs in the HEALTHCHECK.
"""
from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request


def healthy(port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> bool:
    for path, ok in (("/_stcore/health", lambda body: body.strip() == b"ok"),
                     ("/config", lambda body: body.lstrip().startswith(b"{"))):
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=timeout) as resp:
                if resp.status == 200 and ok(resp.read(65536)):
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            continue
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    return 0 if healthy(args.port, args.host) else 1


if __name__ == "__main__":
    sys.exit(main())
