"""The LaTeX view of a ``toy_neuron`` variant: what ``templates/{sheet,key}.tex.j2`` print,
and the given data its answer page shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.core.given import GivenData, GivenLine, learning_rate_line
from grader.core.given import num as plain
from grader.core.latex import Tex, num
from grader.exercises.base import Solution
from tests.toy_family.fields import FIELDS
from tests.toy_family.params import RANDOMIZED, ToyParams


def latex_view(p: ToyParams, solution: Solution) -> dict[str, Any]:
    given = {name: num(getattr(p, name)) for name in RANDOMIZED}
    return {"given": given, "answers": {n: Tex(solution.answers[n]) for n in FIELDS}}


def given_data(p: ToyParams, words: Mapping[str, Any], language: str) -> GivenData:
    """The neuron, its weights, the observation and the learning rate (the answer page)."""
    return GivenData(
        [
            GivenLine(words["neuron"], f"ŷ = w·x + b,  w = {plain(p.w)},  b = {plain(p.b)}"),
            GivenLine(words["observation"], f"x = {plain(p.x)},  y = {plain(p.y)}"),
            learning_rate_line(p.learning_rate, language),
        ]
    )
