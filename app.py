"""NLP Studio: assembles one tab per module in apps/gradio/ and launches. Also the Spaces entry point."""
from __future__ import annotations

import os

# Quiet by default: no usage statistics, no telemetry. Set before gradio is imported.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# After every event Gradio's queue rebuilds a pandas table of its last 10,000 events for a monitoring
# dashboard this app does not turn on: 6 ms of held GIL per call with 700 events behind it, 12 ms at
# 10,000 (an hour of a class), on the thread pool the handlers share. py-spy under 60 simulated
# students: 13 % of the server's GIL-holding samples. Recompute it only every 10^9 events.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**9))

import argparse  # noqa: E402

import gradio as gr  # noqa: E402

from apps.gradio import tab_modules  # noqa: E402
from apps.gradio.common import cache_block_signatures, end_session  # noqa: E402
from apps.replica import app_kwargs as replica_app_kwargs  # noqa: E402
from core.config import env_int  # noqa: E402
from core.device import shared_server_threads  # noqa: E402

# Events that only read cached models (a kNN lookup) take this many users at once;
# events that hold a model lock set their own, lower limit.
DEFAULT_CONCURRENCY = env_int("NLP_STUDIO_CONCURRENCY", 4)
# Gradio stores an upload before any tab can look at it: refuse giant files at the door.
# 200 MB fits a 30-minute WAV and a photo zip; each tab has its own, tighter checks.
MAX_FILE_SIZE = f"{env_int('NLP_STUDIO_MAX_FILE_SIZE_MB', 200)}mb"
# A public server: at most this many events wait in the queue; the next visitor is told the studio
# is busy and to retry in a moment, instead of waiting minutes behind a crowd.
QUEUE_MAX_SIZE = env_int("NLP_STUDIO_QUEUE_MAX_SIZE", 64)
# Gradio's own copies of uploads and outputs: every hour, delete those older than a day.
DELETE_CACHE = (env_int("NLP_STUDIO_CACHE_SWEEP_S", 3600), env_int("NLP_STUDIO_CACHE_MAX_AGE_S", 86400))

CSS = """
.gradio-container {max-width: 1400px !important}
.nlp-hidden {display: none !important}
.code-box textarea, .code-box pre {font-size: 13px}
html.presenter .gradio-container {zoom: 1.3; max-width: none !important}
"""

# Presenter mode for a projector: /?presenter=1 scales text, controls and figures by 1.3.
PRESENTER_HEAD = """<script>
if (new URLSearchParams(window.location.search).get("presenter") === "1") {
  document.documentElement.classList.add("presenter");
}
</script>"""


def page_head() -> str:
    """Extra <head> content that tabs need (a module may define HEAD, e.g. a small script)."""
    return "\n".join([PRESENTER_HEAD] + [getattr(m, "HEAD", "") for m in tab_modules()])


def tab_ids() -> list[str]:
    return [module.__name__.split(".")[-1] for module in tab_modules()]


def open_linked_tab(request: gr.Request):
    """Deep links: /?tab=attention opens that tab (any tab id of apps.tabs.TABS); else no change."""
    wanted = (request.query_params.get("tab") or "").strip() if request else ""
    return gr.Tabs(selected=wanted) if wanted in tab_ids() else gr.skip()


def build_app() -> gr.Blocks:
    cache_block_signatures()  # a new visitor's session starts in half the time (see there)
    with gr.Blocks(title="NLP Studio", delete_cache=DELETE_CACHE) as demo:
        with gr.Tabs(overflow_behavior="wrap") as tabs:  # every tab in view on a projector, none behind a menu
            for module in tab_modules():
                with gr.Tab(module.TITLE, id=module.__name__.split(".")[-1]):
                    module.build()
        demo.load(open_linked_tab, None, tabs, api_visibility="private", queue=False)
        demo.unload(end_session)  # the visitor's files (downloads, exports) go when they leave
    demo.queue(default_concurrency_limit=DEFAULT_CONCURRENCY, max_size=QUEUE_MAX_SIZE)
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="NLP Studio (Gradio)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to bind (default 127.0.0.1; 0.0.0.0 to serve a classroom LAN)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--share", action="store_true", help="open a public gradio.live link (needs internet)")
    args = parser.parse_args(argv)
    if args.host != "127.0.0.1":
        from core.lan import banner

        print(banner(args.host, args.port), flush=True)
    threads_note = shared_server_threads(args.host)  # before any model loads
    if threads_note:
        print(threads_note, flush=True)
    build_app().launch(server_name=args.host, server_port=args.port, share=args.share,
                       css=CSS, head=page_head(), show_error=True, max_file_size=MAX_FILE_SIZE,
                       app_kwargs=replica_app_kwargs())  # NLP_STUDIO_REPLICA: x-studio-replica header


if __name__ == "__main__":
    main()
