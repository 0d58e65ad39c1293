"""The variant search of ``toy_neuron``: drawing a candidate and what makes it fit to hand out."""

from __future__ import annotations

import random
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from grader.exercises.base import Solution
from tests.toy_family.params import ToyParams


def sample(rng: random.Random, fixed: Mapping[str, Any]) -> ToyParams:
    drawn = {
        "x": rng.randint(-3, 3),
        "y": rng.randint(-3, 3),
        "w": Fraction(rng.randint(-4, 4), 2),
        "b": rng.randint(-2, 2),
        "learning_rate": Fraction(1, rng.choice([2, 4])),
    }
    return ToyParams.model_validate({**drawn, **fixed})


def is_nice(solution: Solution) -> bool:
    return solution.answers["delta"] != "0" and solution.answers["grad_w"] != "0"
