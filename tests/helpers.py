"""Helpers shared by several test files."""

from __future__ import annotations

import random
from collections.abc import Callable

from exercises import get_exercise
from grader.assignment import ExerciseSpec
from grader.variants import Variant

# The worksheet's canonical sgd_chain instance (from the spec), as an assignment writes it.
CANONICAL_SGD = {
    "data": [[5, 0], [1, 1]],
    "order": [2, 1],
    "learning_rate": 5,
    "init": "zeros",
    "activation": "sigmoid",
    "loss": "mse",
    "rounding": {"mode": "transcendental", "decimals": 4},
}


def nice_variants(
    exercise_type: str, fixed_for: Callable[[random.Random, int], dict], n: int, seed: int
) -> list[Variant]:
    """Up to ``n`` nice random variants; a bounded search per draw, so slow corners of the
    parameter space are skipped rather than waited for."""
    exercise = get_exercise(exercise_type)
    spec = ExerciseSpec(id="ex", type=exercise_type, points=10)
    rng = random.Random(seed)
    out: list[Variant] = []
    for i in range(3 * n):
        fixed = fixed_for(rng, i)
        for _ in range(150):
            try:
                params = exercise.sample(rng, fixed)
                solution = exercise.solve(params, "ex")
            except (ValueError, ArithmeticError):
                continue
            if exercise.is_nice(params, solution, fixed):
                out.append(Variant(spec, params, solution))
                break
        if len(out) == n:
            break
    return out
