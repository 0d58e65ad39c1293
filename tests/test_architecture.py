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
        for path in sorted(FOLDERS[layer].rglob("*.py"))  # a family's package too
        if _imported_layers(path) - LAYERS[layer]
    }
    assert wrong == {}


def test_nothing_is_left_in_the_flat_package() -> None:
    flat = sorted(p.name for p in (ROOT / "grader").glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "cli.py", "demo.py", "starter.py"]


# ---------------------------------------------------------------- inside a family

# Within a family's package (tests/test_floor_plan.py), what each module may import of its
# siblings: parameters first, then the fields, then what reads them; only ``exercise`` ties
# everything together, and nothing imports it (or anything above itself) back.
BELOW = {
    "params": set(),
    "fields": {"params"},
    "search": {"params", "fields"},
    "oracle": {"params", "fields"},
    "view": {"params", "fields"},
    "exercise": {"params", "fields", "search", "oracle", "view"},
    "__init__": {"exercise"},
}
FAMILY_HELPERS = {"chain_rule": {"graph_layout"}, "mlp_matrix": {"formula_text"}}


def _families() -> dict[str, tuple[Path, str]]:
    """Each family's folder and the import name of its package (the toy family's too)."""
    found = {
        p.name: (p, f"grader.exercises.{p.name}")
        for p in sorted((ROOT / "exercises").iterdir())
        if (p / "__init__.py").is_file()
    }
    return {**found, "toy_neuron": (ROOT / "tests" / "toy_family", "tests.toy_family")}


def _imported_modules(path: Path) -> set[str]:
    """Every module name a file imports, at any depth (lazy imports in functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def _siblings(path: Path, package: str) -> set[str]:
    return {
        name[len(package) + 1 :].split(".")[0]
        for name in _imported_modules(path)
        if name.startswith(package + ".")
    }


@pytest.mark.parametrize("family", sorted(_families()))
def test_inside_a_family_nothing_imports_upward(family: str) -> None:
    folder, package = _families()[family]
    helpers = FAMILY_HELPERS.get(family, set())
    wrong = {}
    for path in sorted(folder.glob("*.py")):
        allowed = BELOW.get(path.stem, set()) | (helpers if path.stem != "params" else set())
        if path.stem in helpers:
            allowed = set()  # a helper knows nothing of the family it serves
        if _siblings(path, package) - allowed:
            wrong[path.name] = sorted(_siblings(path, package) - allowed)
    assert wrong == {}


def test_a_family_is_reached_from_outside_only_through_the_registry() -> None:
    """The core, the pipelines and the other families never import a family's modules:
    they ask ``grader.exercises.get_exercise`` (tests may look inside)."""
    families = {package for _, package in _families().values()}
    wrong = {}
    for path in sorted([*(ROOT / "grader").rglob("*.py"), *(ROOT / "exercises").rglob("*.py")]):
        own = {p for p in families if path.is_relative_to(ROOT / "exercises" / p.rsplit(".")[-1])}
        reached = {
            name
            for name in _imported_modules(path)
            for package in families - own
            if name == package or name.startswith(package + ".")
        }
        if reached:
            wrong[str(path.relative_to(ROOT))] = sorted(reached)
    assert wrong == {}
