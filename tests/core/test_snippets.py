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
