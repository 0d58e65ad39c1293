"""The layout shows the architecture, and imports keep to it: each layer imports only the
layers below it (``core`` ← ``exercises`` ← ``course`` ← ``make``, ``grade`` ← the command
line), so the two pipelines share a core and never lean on each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAYERS = {
    "core": {"core"},
    "exercises": {"core", "exercises"},
    "course": {"core", "exercises", "course"},
    "make": {"core", "exercises", "course", "make"},
    "grade": {"core", "exercises", "course", "grade"},
}
FOLDERS = {
    "core": ROOT / "grader" / "core",
    "exercises": ROOT / "exercises",
    "course": ROOT / "grader" / "course",
    "make": ROOT / "grader" / "make",
    "grade": ROOT / "grader" / "grade",
}


def _imported_layers(path: Path) -> set[str]:
    """The grader subpackages a module imports (at any depth of the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "grader" and len(parts) > 1:
                found.add(parts[1])
            if parts[0] in {"exercises", "templates"}:
                found.add(f"top-level {parts[0]}")  # never: they are grader.exercises/templates
    return found - {"cli", "demo", "starter", "samples", "templates"} | ({"cli"} & found)


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported_layers(path) - LAYERS[layer])
        for path in sorted(FOLDERS[layer].glob("*.py"))
        if _imported_layers(path) - LAYERS[layer]
    }
    assert wrong == {}


def test_nothing_is_left_in_the_flat_package() -> None:
    flat = sorted(p.name for p in (ROOT / "grader").glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "cli.py", "demo.py", "starter.py"]
