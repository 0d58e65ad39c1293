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
from grader.course.variants import make_variants
from tests.conftest import SAMPLES

SECRET = b"golden-variant-secret-7c41e9"

# grader/samples/course.yaml (backprop-hw1: graph = chain_rule, mlp = mlp_matrix, sgd = sgd_chain)
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


def _course() -> Assignment:
    return Assignment.model_validate(
        yaml.safe_load(Path(SAMPLES / "course.yaml").read_text("utf-8"))
    )


@pytest.mark.parametrize("student", sorted(GOLDEN))
def test_a_fixed_secret_and_ids_give_the_same_variants(student: str) -> None:
    got = {
        v.exercise.id: v.params.model_dump(mode="json")
        for v in make_variants(_course(), student, SECRET, formulas=False)
    }
    assert got == GOLDEN[student]


def test_the_golden_variants_are_personal() -> None:
    assert all(GOLDEN["s001"][ex] != GOLDEN["s042"][ex] for ex in ("graph", "mlp", "sgd"))
