"""The shape of the code base that keeps it easy to follow (issue #17, docs/ARCHITECTURE.md)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def test_no_module_imports_another_modules_private_names():
    """`from core.x import _name` couples two modules through what one of them called private."""
    crossings = []
    for path in _python_files("core", "apps", "bench"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                    and node.module.split(".")[0] in ("core", "apps", "bench"):
                crossings += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}"
                              for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not crossings, crossings


def test_core_never_imports_a_front_end():
    for path in _python_files("core"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in ("gradio", "streamlit"), f"{path}: {name}"


def test_every_tab_has_both_front_ends():
    from apps.tabs import TABS

    for tab_id in TABS:
        assert (ROOT / "apps" / "gradio" / f"{tab_id}.py").exists(), tab_id
        assert (ROOT / "apps" / "streamlit" / f"{tab_id}.py").exists(), tab_id
