"""The mapping from (secret, assignment, exercise, student) to a variant, pinned.

A course's keys are re-derived from the secret whenever it grades or checks: if this mapping
changed silently (a draw added, an order changed, a niceness rule tightened), every built
course would stop checking and every submission would be graded against another variant.
A deliberate change of the variant search must come with a new version (and these values
kept for the old one), never by editing these literals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.course.assignment import Assignment
from grader.course.variants import VARIANT_SEARCH_VERSION, make_variants
from tests.conftest import SAMPLES

SECRET = b"golden-variant-secret-7c41e9"

# grader/samples/course.yaml (backprop-hw1: graph = chain_rule, mlp = mlp_matrix, sgd = sgd_chain)
# Version 1 of the variant search (builds made before version 2 are checked with it).
GOLDEN: dict[str, dict[str, Any]] = {
    "s001": {
        "graph": {
            "variables": ["x", "y"],
            "nodes": [
                {"name": "a", "op": "add", "args": ["y", "x"], "const": None},
                {"name": "b", "op": "add", "args": ["a", "y"], "const": None},
                {"name": "c", "op": "sub", "args": ["b", "y"], "const": None},
                {"name": "d", "op": "neg", "args": ["x"], "const": None},
                {"name": "f", "op": "mul", "args": ["c", "d"], "const": None},
            ],
            "point": {"x": "3", "y": "3/2"},
        },
        "mlp": {
            "x": [["-2", "2"], ["1/2", "-1/2"]],
            "y": [["0"], ["1"]],
            "hidden": [2, 2],
            "weights": [
                [["1/2", "-1/2"], ["2", "-1"]],
                [["-1", "-2"], ["1", "2"]],
                [["-3/2"], ["2"]],
            ],
            "activation": "relu",
            "loss": "half_mse",
            "learning_rate": "1/10",
            "rounding": {"mode": "transcendental", "decimals": 4},
        },
        "sgd": {
            "data": [["1/2", "0"], ["3", "0"]],
            "order": [2, 1],
            "learning_rate": "4",
            "depth": 3,
            "init": "zeros",
            "activation": "sigmoid",
            "loss": "mse",
            "rounding": {"mode": "transcendental", "decimals": 4},
        },
    },
    "s042": {
        "graph": {
            "variables": ["x", "y"],
            "nodes": [
                {"name": "a", "op": "mul", "args": ["x", "y"], "const": None},
                {"name": "b", "op": "sub", "args": ["a", "x"], "const": None},
                {"name": "c", "op": "add", "args": ["b", "y"], "const": None},
                {"name": "d", "op": "sub", "args": ["c", "y"], "const": None},
                {"name": "e", "op": "neg", "args": ["x"], "const": None},
                {"name": "g", "op": "add", "args": ["x", "e"], "const": None},
                {"name": "f", "op": "sub", "args": ["d", "g"], "const": None},
            ],
            "point": {"x": "-2", "y": "-3"},
        },
        "mlp": {
            "x": [["-2", "-2"], ["-1", "-1/2"]],
            "y": [["1"], ["0"]],
            "hidden": [2, 2],
            "weights": [
                [["-3/2", "-1"], ["-2", "-2"]],
                [["-1/2", "2"], ["3/2", "-3/2"]],
                [["1/2"], ["1/2"]],
            ],
            "activation": "relu",
            "loss": "half_mse",
            "learning_rate": "1/2",
            "rounding": {"mode": "transcendental", "decimals": 4},
        },
        "sgd": {
            "data": [["-1/2", "1/2"], ["2", "1"]],
            "order": [2, 1],
            "learning_rate": "10",
            "depth": 3,
            "init": "zeros",
            "activation": "sigmoid",
            "loss": "mse",
            "rounding": {"mode": "transcendental", "decimals": 4},
        },
    },
}


# Version 2 draws the same candidates and skips the chain-rule graphs that do not read like a
# textbook: its graphs differ, the other families' variants are version 1's.
GOLDEN_V2_GRAPH: dict[str, dict[str, Any]] = {
    "s001": {
        "variables": ["x", "y"],
        "nodes": [
            {"name": "a", "op": "mul", "args": ["x", "y"], "const": None},
            {"name": "b", "op": "neg", "args": ["x"], "const": None},
            {"name": "c", "op": "sub", "args": ["a", "b"], "const": None},
            {"name": "d", "op": "sub", "args": ["c", "y"], "const": None},
            {"name": "e", "op": "add", "args": ["y", "b"], "const": None},
            {"name": "g", "op": "scale", "args": ["e"], "const": "3"},
            {"name": "f", "op": "sub", "args": ["d", "g"], "const": None},
        ],
        "point": {"x": "-1/2", "y": "-2"},
    },
    "s042": {
        "variables": ["x", "y"],
        "nodes": [
            {"name": "a", "op": "mul", "args": ["y", "x"], "const": None},
            {"name": "b", "op": "sub", "args": ["a", "y"], "const": None},
            {"name": "c", "op": "mul", "args": ["b", "y"], "const": None},
            {"name": "d", "op": "mul", "args": ["c", "x"], "const": None},
            {"name": "f", "op": "sub", "args": ["d", "a"], "const": None},
        ],
        "point": {"x": "2", "y": "2"},
    },
}


def _course() -> Assignment:
    return Assignment.model_validate(
        yaml.safe_load(Path(SAMPLES / "course.yaml").read_text("utf-8"))
    )


@pytest.mark.parametrize("student", sorted(GOLDEN))
def test_a_fixed_secret_and_ids_give_the_same_variants(student: str) -> None:
    got = {
        v.exercise.id: v.params.model_dump(mode="json")
        for v in make_variants(_course(), student, SECRET, formulas=False, version=1)
    }
    assert got == GOLDEN[student]


@pytest.mark.parametrize("student", sorted(GOLDEN_V2_GRAPH))
def test_version_2_gives_its_own_pinned_variants(student: str) -> None:
    assert VARIANT_SEARCH_VERSION == 2  # a version 3 gets golden values of its own
    got = {
        v.exercise.id: v.params.model_dump(mode="json")
        for v in make_variants(_course(), student, SECRET, formulas=False, version=2)
    }
    assert got == {**GOLDEN[student], "graph": GOLDEN_V2_GRAPH[student]}


def test_the_golden_variants_are_personal() -> None:
    assert all(GOLDEN["s001"][ex] != GOLDEN["s042"][ex] for ex in ("graph", "mlp", "sgd"))
