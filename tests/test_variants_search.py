"""The variant search's shortcuts (screening drawn values before validation, the
screen's trace reused by solve) choose exactly the variant the plain search chooses."""

from __future__ import annotations

import random
from fractions import Fraction as F
from typing import Any

import pytest
from pydantic import ValidationError

from grader.core import engine
from grader.core.engine import NumberGrowthError
from grader.course.assignment import ExerciseSpec
from grader.course.keys import exact_text, map_leaves
from grader.course.variants import _fixed, make_variant, student_rng
from grader.exercises import get_exercise

PARAMS: list[dict[str, Any]] = [
    {},
    {"hidden": [2, 2], "activation": "relu", "loss": "half_mse"},
    {"hidden": [3], "activation": "sigmoid", "rounding": {"mode": "transcendental", "decimals": 4}},
    {"hidden": [1, 2], "activation": "identity", "loss": "mse"},
    {"hidden": [2], "activation": "softsign"},
    {"activation": "tanh", "rounding": {"mode": "all", "decimals": 3}},
    {"x": [[1, 2], [2, -1]], "activation": "hard_sigmoid"},
]


def plain_search(spec: ExerciseSpec, fixed: dict[str, Any], rng: random.Random) -> Any:
    """The search without shortcuts: sample (validated), screen, solve, is_nice."""
    exercise = get_exercise(spec.type)
    while True:
        try:
            params = exercise.sample(rng, fixed)
            if not exercise.screen(params, fixed):
                continue
            solution = exercise.solve(params, spec.id)
        except (ValidationError, ValueError, NumberGrowthError):
            continue
        if exercise.is_nice(params, solution, fixed):
            return params, solution


@pytest.mark.parametrize("params", PARAMS)
def test_mlp_search_chooses_the_plain_searchs_variant(params: dict[str, Any]) -> None:
    from grader.course.assignment import Assignment

    spec = ExerciseSpec(id="mlp", type="mlp_matrix", points=8, params=params)
    assignment = Assignment(id="hw", title="t", exercises=[spec])
    fixed = _fixed(spec, 0)
    for student in ("s1", "s2", "s3", "s4"):
        variant = make_variant(assignment, 0, student, b"secret")
        params_, solution = plain_search(spec, fixed, student_rng(b"secret", "hw", "mlp", student))
        assert variant.params == params_
        assert map_leaves(variant.solution.answers, exact_text) == map_leaves(
            solution.answers, exact_text
        )


def test_drawn_values_are_what_validation_keeps() -> None:
    exercise = get_exercise("mlp_matrix")
    for params in PARAMS:
        spec = ExerciseSpec(id="mlp", type="mlp_matrix", points=8, params=params)
        fixed = _fixed(spec, 0)
        rng = random.Random(7)
        for _ in range(50):
            values = exercise.draw(rng, fixed)
            drawn = exercise.Params.model_construct(**values)
            try:
                validated = exercise.Params.model_validate(values)
            except ValidationError:
                continue
            assert validated.__dict__ == drawn.__dict__


def test_exact_matmul_is_the_generic_one() -> None:
    rng = random.Random(3)
    pool = [F(v, d) for v in range(-5, 6) for d in (1, 2, 3, 7)]
    for _ in range(300):
        n, k, m = rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 4)
        a = [[rng.choice(pool) for _ in range(k)] for _ in range(n)]
        b = [[rng.choice(pool) for _ in range(m)] for _ in range(k)]
        generic = [[engine._dot(row, [b[i][j] for i in range(k)]) for j in range(m)] for row in a]
        assert engine._matmul_exact(a, b) == generic


def test_a_search_that_finds_nothing_names_the_file_the_line_and_why(tmp_path: Any) -> None:
    """An instructor who fixes values no good instance can have (all-zero inputs: every
    hidden unit is dead) is told which file and line, which stage refused every draw and
    which of their fixed values narrow the search."""
    from grader.core.errors import UserError
    from grader.course.assignment import load_assignment

    path = tmp_path / "course.yaml"
    path.write_text(
        "id: hw-bad\n"
        "exercises:\n"
        "  - id: mlp\n"
        "    type: mlp_matrix\n"
        "    points: 8\n"
        "    params:\n"
        "      hidden: [2, 2]\n"
        "      activation: relu\n"
        "      x: [[0, 0], [0, 0]]\n",
        encoding="utf-8",
    )
    assignment = load_assignment(path)
    with pytest.raises(UserError) as caught:
        make_variant(assignment, 0, "s001", b"a-course-secret-0123456789")
    line = caught.value.line()
    assert line.startswith(f"{path}:6: /exercises/0/params: "), line
    assert "after 5000 tries: every draw: " in line
    assert "fixed here: activation, hidden, x" in line


def test_refusals_are_summarized_most_frequent_first_with_the_first_reason() -> None:
    from grader.course.variants import _Refusals

    refused = _Refusals()
    refused.count("not_nice")
    for _ in range(3):
        refused.count("invalid", "learning_rate: must be positive")
    refused.count("invalid", "a later reason is not repeated")
    summary = refused.summary()
    assert summary.index("4 of 5 draws") < summary.index("1 of 5 draws")
    assert "(first: learning_rate: must be positive)" in summary
    assert "a later reason" not in summary
