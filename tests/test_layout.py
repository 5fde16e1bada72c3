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


# Tests of one layer live in that layer's folder; only checks spanning the whole code base stay here.
CROSS_CUTTING = {"test_layout.py"}  # and test_controls*.py: declarations drawn by both front ends


def test_tests_mirror_the_layout():
    """tests/core/ for core/, tests/gradio/ for the Gradio app (and hosting it), tests/streamlit/
    for the Streamlit pages: a new test file goes next to its layer's tests."""
    loose = [p.name for p in (ROOT / "tests").glob("test_*.py") if p.name not in CROSS_CUTTING and not p.name.startswith("test_controls")]
    assert not loose, f"move these into tests/core, tests/gradio or tests/streamlit: {loose}"
    misplaced = [str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_streamlit_*.py")
                 if p.parent.name != "streamlit"]
    assert not misplaced, misplaced


def test_core_domains_are_packages_with_a_public_surface():
    """Each core/<domain>/ declares its public surface in __init__.__all__, and everything it lists exists."""
    import importlib

    for init in sorted((ROOT / "core").glob("*/__init__.py")):
        name = f"core.{init.parent.name}"
        tree = ast.parse(init.read_text(encoding="utf-8"))
        declared = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)]
        assert declared, f"{name}/__init__.py declares no __all__"
        module = importlib.import_module(name)
        for public in module.__all__:
            assert hasattr(module, public) or (init.parent / f"{public}.py").exists() \
                or (init.parent / public / "__init__.py").exists(), f"{name}.__all__ lists {public!r}, which does not exist"


def test_every_test_that_opens_chromium_is_marked_browser():
    """`-m "not browser"` must leave out every test that drives Chromium (helpers and quick runs rely on it)."""
    fixtures = {"browser", "mic_browser", "commands_browser"}
    unmarked = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        source = path.read_text(encoding="utf-8")
        if "pytestmark" in source and "mark.browser" in source.split("pytestmark", 1)[1].split("\n", 1)[0]:
            continue
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") \
                    and {a.arg for a in node.args.args} & fixtures \
                    and not any("mark.browser" in ast.unparse(d) for d in node.decorator_list):
                unmarked.append(f"{path.relative_to(ROOT)}::{node.name}")
    assert not unmarked, unmarked
