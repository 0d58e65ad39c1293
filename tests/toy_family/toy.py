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
from grader.core.engine import Ops, Rules
from grader.core.latex import Tex, num
from grader.core.models import ExactNumber
from grader.exercises.base import Computation, Exercise, MistakeContext, Solution, pointer

RANDOMIZED = ("x", "y", "w", "b", "learning_rate")
FIELDS = ("yhat", "delta", "grad_w", "grad_b", "w_new", "b_new")


class ToyParams(BaseModel):
    x: ExactNumber
    y: ExactNumber
    w: ExactNumber
    b: ExactNumber
    learning_rate: ExactNumber


class ToyNeuron(Exercise):
    type_name = "toy_neuron"
    Params = ToyParams
    title = {"en": "One linear neuron", "ru": "Один линейный нейрон"}
    randomized = RANDOMIZED

    def sample(self, rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
        drawn = {
            "x": rng.randint(-3, 3),
            "y": rng.randint(-3, 3),
            "w": Fraction(rng.randint(-4, 4), 2),
            "b": rng.randint(-2, 2),
            "learning_rate": Fraction(1, rng.choice([2, 4])),
        }
        return ToyParams.model_validate({**drawn, **fixed})

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        return solution.answers["delta"] != "0" and solution.answers["grad_w"] != "0"

    def solve(self, params: BaseModel, exercise_id: str, *, formulas: bool = True) -> Solution:
        p = ToyParams.model_validate(params.model_dump())
        at = {name: pointer("answers", exercise_id, name) for name in FIELDS}

        def yhat(v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
            return [ops.const(p.w) * ops.const(p.x) + ops.const(p.b)]

        def delta(v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
            d = engine.output_delta(
                ops, rules, o_out=[[v[at["yhat"]]]], y=[[ops.const(p.y)]],
                h_out=[[v[at["yhat"]]]], activation="identity", loss="half_mse",
            )  # fmt: skip
            return [d[0][0]]

        def grads(v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
            return [v[at["delta"]] * ops.const(p.x), v[at["delta"]]]

        def step(v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
            w = [[ops.const(p.w), ops.const(p.b)]]
            g = [[v[at["grad_w"]], v[at["grad_b"]]]]
            return list(engine.update(ops, rules, w, g, p.learning_rate)[0])

        comps = [
            Computation("ŷ", (at["yhat"],), (), yhat),
            Computation("δ", (at["delta"],), (at["yhat"],), delta, ("sign_flip",)),
            Computation("∂L/∂w, ∂L/∂b", (at["grad_w"], at["grad_b"]), (at["delta"],), grads),
            Computation(
                "w, b after the step",
                (at["w_new"], at["b_new"]),
                (at["grad_w"], at["grad_b"]),
                step,
                # the last: the family's own mistake (tests/toy_family/mistakes.py)
                ("learning_rate", "gradient_ascent", "toy_ascent_without_rate"),
            ),
        ]
        values: dict[str, Any] = {}
        ops = engine.FractionOps()
        for comp in comps:
            for ptr, value in zip(
                comp.outputs, comp.compute(values, ops, engine.CORRECT), strict=True
            ):
                values[ptr] = value
        answers = {name: _text(values[at[name]]) for name in FIELDS}
        return Solution(computations=comps, values=values, answers=answers)

    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        p = ToyParams.model_validate(params.model_dump())
        x, y, w, b, rate = (float(v) for v in (p.x, p.y, p.w, p.b, p.learning_rate))
        yhat = w * x + b
        delta = yhat - y
        expect = {"yhat": yhat, "delta": delta, "grad_w": delta * x, "grad_b": delta,
                  "w_new": w - rate * delta * x, "b_new": b - rate * delta}  # fmt: skip
        return [
            f"{name}: key {answers[name]}, float64 {value}"
            for name, value in expect.items()
            if abs(float(Fraction(answers[name])) - value) > 1e-9
        ]

    def mistake_context(self, params: BaseModel) -> MistakeContext:
        p = ToyParams.model_validate(params.model_dump())
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
        p = ToyParams.model_validate(params.model_dump())
        given = {name: num(getattr(p, name)) for name in RANDOMIZED}
        return {"given": given, "answers": {n: Tex(solution.answers[n]) for n in FIELDS}}


def _text(value: Fraction) -> str:
    return str(value)


EXERCISE = ToyNeuron()
