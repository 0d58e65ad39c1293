"""``toy_neuron``: one SGD step of a single linear neuron ŷ = w·x + b, L = ½(ŷ − y)².

A family written only against :class:`grader.exercises.base.Exercise` (its hooks) and the
engine, with its templates in a folder of its own, to prove that the core asks nothing
else of a family.  Not installed: the tests register it for their own process.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from grader.core import engine
from grader.core.given import GivenData
from grader.exercises.base import Computation, Exercise, MistakeContext, Screened, Solution
from tests.toy_family import oracle, search, view
from tests.toy_family.fields import FIELDS, computations, pointers
from tests.toy_family.params import RANDOMIZED, ToyParams, params_of


class ToyNeuron(Exercise):
    type_name = "toy_neuron"
    Params = ToyParams
    title = {"en": "One linear neuron", "ru": "Один линейный нейрон"}
    randomized = RANDOMIZED

    def sample(self, rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
        return search.sample(rng, fixed)

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        return search.is_nice(solution)

    def solve(
        self,
        params: BaseModel,
        exercise_id: str,
        *,
        formulas: bool = True,
        screened: Screened | None = None,
    ) -> Solution:
        comps = computations(params_of(params), exercise_id)
        values: dict[str, Any] = {}
        ops = engine.FractionOps()
        for comp in comps:
            for ptr, value in zip(
                comp.outputs, comp.compute(values, ops, engine.CORRECT), strict=True
            ):
                values[ptr] = value
        at = pointers(exercise_id)
        answers = {name: _text(values[at[name]]) for name in FIELDS}
        return Solution(computations=comps, values=values, answers=answers)

    def fields(self, params: BaseModel, exercise_id: str) -> list[Computation]:
        return computations(params_of(params), exercise_id)

    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        return oracle.float_oracle_mismatches(params_of(params), answers)

    def mistake_context(self, params: BaseModel) -> MistakeContext:
        p = params_of(params)
        return MistakeContext(learning_rate=p.learning_rate, loss="half_mse", activation="identity")

    def template_answers(self, params: BaseModel) -> Any:
        return dict.fromkeys(FIELDS)

    def json_schema(self, params: BaseModel | None) -> dict[str, Any]:
        number = {"$ref": "#/$defs/number"}
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": dict.fromkeys(FIELDS, number),
        }

    def describe_text(self, params: BaseModel, solution: Solution) -> str:
        return "\n".join(f"{name} = {solution.answers[name]}" for name in FIELDS)

    def template_folder(self) -> Any:
        return Path(__file__).with_name("templates")

    def latex_view(self, params: BaseModel, solution: Solution, language: str) -> dict[str, Any]:
        return view.latex_view(params_of(params), solution)

    def given_data(self, params: BaseModel, language: str) -> GivenData:
        return view.given_data(params_of(params), self.words(language)["given_data"], language)


def _text(value: Fraction) -> str:
    return str(value)


EXERCISE = ToyNeuron()
