"""The answer-field graph (used for carried-forward credit and diagnosis) must reproduce
the batch engine's key exactly, for every activation, loss, rounding mode and depth."""

from __future__ import annotations

import random

import pytest

from grader.core.engine import CORRECT, FractionOps, Rounding
from grader.core.models import RoundingSpec
from grader.exercises.sgd_chain import EXERCISE


@pytest.mark.parametrize(
    "activation", ["sigmoid", "tanh", "relu", "identity", "hard_sigmoid", "softsign"]
)
@pytest.mark.parametrize("mode", ["exact", "transcendental", "all"])
def test_graph_reproduces_engine(activation, mode):
    rng = random.Random(f"{activation}-{mode}")
    for depth in (2, 3, 4):
        fixed = {
            "activation": activation,
            "depth": depth,
            "loss": rng.choice(["mse", "half_mse"]),
            "rounding": RoundingSpec(mode=mode, decimals=rng.choice([2, 3, 4, 5])),
        }
        params = EXERCISE.sample(rng, fixed)
        solution = EXERCISE.solve(params, "sgd")
        ops = FractionOps(Rounding(params.rounding.mode, params.rounding.decimals))
        assert len(solution.leaves()) == len(solution.values)
        for comp in solution.computations:
            got = comp.compute({k: solution.values[k] for k in comp.inputs}, ops, CORRECT)
            assert list(got) == [solution.values[p] for p in comp.outputs], comp.label
