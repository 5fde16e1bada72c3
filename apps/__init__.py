"""The two front ends over core/: `apps.gradio` (one tab module each, assembled by app.py)
and `apps.streamlit` (one page module each, assembled by streamlit_app.py)."""
