"""NLP Studio pipelines: plain Python, no UI imports, nothing heavy at import time.

Each tab's pipeline lives in its own module here and is shared by every front end
(the Gradio app, the API, the tests, the benchmarks).
"""
