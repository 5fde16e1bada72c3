"""The "show the code" boxes: every import line a snippet shows still imports.

The snippets are templates in core/ (each tab's view); they name core modules by path, so a module
that moves leaves a snippet that no longer runs. This reads every string in core/ and apps/ that
holds Python import lines of this repository and runs each of them in a fresh namespace (cheap:
nothing heavy loads at import). The whole-snippet runs are in the tabs' own tests (e.g. the
analogy snippet in tests/core/test_embeddings.py).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _texts(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.JoinedStr):  # an f-string template: its fixed parts
            yield "".join(v.value for v in node.values if isinstance(v, ast.Constant))


def snippet_imports() -> list[tuple[str, str]]:
    """(where, import line) for every line `from core... import ...` / `import core...` in a string."""
    found = []
    for folder in ("core", "apps"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for text in _texts(ast.parse(path.read_text(encoding="utf-8"))):
                for line in text.splitlines():
                    line = line.strip()
                    if not line.startswith(("from core", "import core")):
                        continue
                    try:
                        parsed = ast.parse(line)
                    except SyntaxError:  # a template's placeholder cut the line
                        continue
                    if len(parsed.body) == 1 and isinstance(parsed.body[0], (ast.Import, ast.ImportFrom)):
                        found.append((str(path.relative_to(ROOT)), line))
    return found


def test_every_snippet_import_line_imports():
    lines = snippet_imports()
    assert len(lines) >= 20, lines  # the tabs' snippets: a scan that finds none is broken, not clean
    broken = []
    for where, line in lines:
        try:
            exec(compile(line, where, "exec"), {})  # noqa: S102 - our own snippet lines
        except ImportError as exc:
            broken.append(f"{where}: {line}  ({exc})")
    assert not broken, "\n".join(broken)


def _run_snippet(code: str, folder: Path) -> str:
    """Run a snippet on its own, as a user pastes it: a fresh interpreter in an empty folder, with
    the repository importable, offline; plotly's .show() prints a line instead of opening a browser
    (one harness line before the snippet, which runs as shown)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    harness = "import plotly.io as _pio\n_pio.show = lambda fig, *a, **k: print('shown:', fig.layout.title.text)\n"
    done = subprocess.run([sys.executable, "-c", harness + code], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_tts_whisper_and_attention_snippets_run_on_their_own(tmp_path):
    """Three tabs' whole snippets, run as a user would: TTS writes speech.wav, Whisper transcribes
    it back (the file snippet reads speech.mp3: any format ffmpeg reads, so the WAV under that name),
    and the attention snippet draws its five figures."""
    import shutil

    import soundfile as sf

    from core import asr
    from core.asr import view as asr_view
    from core.attention import view as attention_view
    from core.tts import view as tts_view

    _run_snippet(tts_view.code_snippet("Turn left at the red door.", "piper", "piper-joe", 1.0), tmp_path)
    audio, rate = sf.read(tmp_path / "speech.wav")
    assert rate == 22050 and len(audio) > rate  # over a second of speech
    shutil.copy(tmp_path / "speech.wav", tmp_path / "speech.mp3")
    out = _run_snippet(asr_view.file_code(asr.DEFAULT_MODEL, "auto", "faster-whisper", "transcribe", True), tmp_path)
    assert "red door" in out.lower(), out
    assert (tmp_path / "speech.srt").read_text().startswith("1\n")
    out = _run_snippet(attention_view.code("The cat sat.", "", "minilm", 0, None, None, True, "lines"), tmp_path)
    assert "(6, 12," in out  # MiniLM-L6: weights [6 layers, 12 heads, T, T]
    assert out.count("shown:") == 4, out  # head view, model view, rollout, saliency
