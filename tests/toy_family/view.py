"""The LaTeX view of a ``toy_neuron`` variant: what ``templates/{sheet,key}.tex.j2`` print."""

from __future__ import annotations

from typing import Any

from grader.core.latex import Tex, num
from grader.exercises.base import Solution
from tests.toy_family.fields import FIELDS
from tests.toy_family.params import RANDOMIZED, ToyParams


def latex_view(p: ToyParams, solution: Solution) -> dict[str, Any]:
    given = {name: num(getattr(p, name)) for name in RANDOMIZED}
    return {"given": given, "answers": {n: Tex(solution.answers[n]) for n in FIELDS}}
