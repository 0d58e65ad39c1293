"""Every exercise family has the same floor plan: a package ``exercises/<family>/`` with the
same modules, each with one job, so a newcomer finds a family's parameters, fields, variant
search, LaTeX view and oracle in the same place in every family (docs/architecture.md)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from grader.exercises import EXERCISE_MODULES, get_exercise
from tests.conftest import ROOT

PLAN = {
    "__init__",  # exports EXERCISE, what the registry imports
    "params",  # the pydantic parameter model, what the variant search draws
    "fields",  # the answer fields as Computations (key, tolerance, carried forward, diagnosis)
    "search",  # draw / screen / niceness
    "view",  # what the LaTeX templates of templates/<family>/ receive
    "oracle",  # the independent check (float64 or sympy) behind `grader check`
    "exercise",  # the Exercise subclass tying these together
}
# A helper used by one family only lives in that family's folder (and nowhere else).
HELPERS = {"chain_rule": {"graph_layout"}, "mlp_matrix": {"formula_text"}}
TOY = ROOT / "tests" / "toy_family"


def family_folders() -> dict[str, Path]:
    """Every registered family's folder, and the test-only family's."""
    return {**{name: ROOT / "exercises" / name for name in EXERCISE_MODULES}, "toy_neuron": TOY}


@pytest.mark.parametrize("family", sorted(family_folders()))
def test_a_family_has_exactly_the_modules_of_the_plan(family: str) -> None:
    folder = family_folders()[family]
    modules = {p.stem for p in folder.glob("*.py")}
    assert modules == PLAN | HELPERS.get(family, set())


@pytest.mark.parametrize("family", sorted(EXERCISE_MODULES))
def test_the_registry_imports_the_family_package_and_its_exercise(family: str) -> None:
    assert EXERCISE_MODULES[family] == f"grader.exercises.{family}"
    exercise = importlib.import_module(f"grader.exercises.{family}.exercise")
    assert get_exercise(family) is exercise.EXERCISE
    assert get_exercise(family).type_name == family


@pytest.mark.parametrize("family", sorted(family_folders()))
def test_the_package_init_only_exports_the_exercise(family: str) -> None:
    tree = ast.parse((family_folders()[family] / "__init__.py").read_text("utf-8"))
    imports = [n for n in tree.body if isinstance(n, ast.ImportFrom)]
    assert [(n.module or "").rsplit(".", 1)[-1] for n in imports] == ["exercise"]
    assert [a.name for n in imports for a in n.names] == ["EXERCISE"]
    others = [n for n in tree.body if not isinstance(n, ast.ImportFrom | ast.Expr | ast.Assign)]
    assert others == []  # no code: what the family does lives in its modules


def test_no_family_module_is_left_at_the_top_of_exercises() -> None:
    assert sorted(p.name for p in (ROOT / "exercises").glob("*.py")) == ["__init__.py", "base.py"]
