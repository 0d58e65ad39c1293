"""``sgd_chain``: SGD steps by hand on a chain of single neurons (the worksheet's main exercise).

Network x → neuron 1 → … → neuron D with h_l = w_l·o_{l−1} + b_l, o_l = f(h_l), o_0 = x.
W is a 2×D matrix: column l is layer l, row 0 the biases, row 1 the weights.
Per step the student gives forward [x, o_1..o_D], deltas [δ_1..δ_D] (δ_l = ∂loss/∂h_l),
the gradient (layout of W) and the updated W.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core.engine import Rounding
from grader.core.given import GivenData
from grader.core.numbers import fmt_dec, fmt_frac
from grader.exercises.base import Computation, Exercise, MistakeContext, Screened, Solution
from grader.exercises.sgd_chain.fields import (
    _computations,
    _pointer,
    _rounded_leaves,
    _step_answers,
    _train,
)
from grader.exercises.sgd_chain.oracle import check_independently
from grader.exercises.sgd_chain.params import RANDOMIZED, SgdChainParams, _params
from grader.exercises.sgd_chain.search import is_nice, sample, screen


class SgdChain(Exercise):
    type_name = "sgd_chain"
    Params = SgdChainParams
    title = {"en": "SGD on a chain of neurons", "ru": "SGD для цепочки нейронов"}
    randomized = RANDOMIZED

    # ------------------------------------------------------------ what grading asks

    def rounding(self, params: BaseModel) -> Rounding:
        p = _params(params)
        return p.rounding.rule()

    def mistake_context(self, params: BaseModel) -> MistakeContext:
        p = _params(params)
        return MistakeContext(
            learning_rate=p.learning_rate,
            observations=tuple(tuple(row) for row in p.data),
            loss=p.loss,
            activation=p.activation,
        )

    # ------------------------------------------------------------ solving

    def fields(self, params: BaseModel, exercise_id: str) -> list[Computation]:
        return _computations(_params(params), exercise_id)

    def solve(
        self,
        params: BaseModel,
        exercise_id: str,
        *,
        formulas: bool = True,
        screened: Screened | None = None,
    ) -> Solution:
        # (no formula leaves: ``formulas`` changes nothing)
        p = _params(params)
        trace = screened.work if screened and screened.work is not None else _train(p)
        steps_answers = []
        values: dict[str, Any] = {}
        for s, st in enumerate(trace.steps):
            steps_answers.append(_step_answers(st, p.depth))
            base = ("answers", exercise_id, "steps", s)
            for name in ("forward", "deltas"):
                for i, v in enumerate(steps_answers[-1][name]):
                    values[_pointer(*base, name, i)] = v
            for name in ("gradient", "weights"):
                for r in range(2):
                    for c in range(p.depth):
                        values[_pointer(*base, name, r, c)] = steps_answers[-1][name][r][c]
        computations = _computations(p, exercise_id)
        return Solution(
            computations=computations,
            values=values,
            answers={"steps": steps_answers},
            rounded=_rounded_leaves(p, exercise_id, values),
            decimals=p.rounding.decimals,
            trace=trace,
        )

    # ------------------------------------------------------------ variants

    def sample(self, rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
        return sample(rng, fixed)

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        return is_nice(params, solution, fixed)

    def screen(self, params: BaseModel, fixed: Mapping[str, Any]) -> Screened:
        return screen(params, fixed)

    # ------------------------------------------------------------ formats

    def template_answers(self, params: BaseModel) -> Any:
        p = _params(params)
        d = p.depth
        return {
            "steps": [
                {
                    "forward": [None] * (d + 1),
                    "deltas": [None] * d,
                    "gradient": [[None] * d, [None] * d],
                    "weights": [[None] * d, [None] * d],
                }
                for _ in p.order
            ]
        }

    def json_schema(self, params: BaseModel | None) -> dict[str, Any]:
        number = {"$ref": "#/$defs/number"}
        depth = _params(params).depth if params is not None else None
        steps = len(_params(params).order) if params is not None else None

        def vec(n: int | None) -> dict[str, Any]:
            out: dict[str, Any] = {"type": "array", "items": number}
            if n is not None:
                out.update(minItems=n, maxItems=n)
            return out

        def mat(n: int | None) -> dict[str, Any]:
            return {"type": "array", "items": vec(n), "minItems": 2, "maxItems": 2}

        step = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "forward": vec(depth + 1 if depth else None) | {"description": "[x, o1, ..., oD]"},
                "deltas": vec(depth) | {"description": "[δ1, ..., δD], δl = ∂loss/∂hl"},
                "gradient": mat(depth) | {"description": "[[∂/∂b1..], [∂/∂w1..]]"},
                "weights": mat(depth) | {"description": "W after the step: [[b1..], [w1..]]"},
            },
        }
        steps_schema: dict[str, Any] = {"type": "array", "items": step}
        if steps is not None:
            steps_schema.update(minItems=steps, maxItems=steps)
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {"steps": steps_schema},
            "required": ["steps"],
        }

    def describe_text(self, params: BaseModel, solution: Solution) -> str:
        p = _params(params)
        lines = [
            f"network: {p.depth} neurons, activation {p.activation}, loss {p.loss}, "
            f"learning rate {fmt_frac(p.learning_rate)}, rounding {p.rounding.mode} ({p.rounding.decimals} decimals)",
            "data: "
            + ", ".join(
                f"obs {i + 1} = ({fmt_frac(x)}, {fmt_frac(y)})" for i, (x, y) in enumerate(p.data)
            ),
            "W0 = " + _matrix_text(p.initial_matrix()),
        ]
        for s, step in enumerate(solution.answers["steps"]):
            lines.append(f"\nstep {s + 1} (observation {p.order[s]})")
            for name in ("forward", "deltas"):
                lines.append(f"  {name:9s} " + "  ".join(_num_text(v) for v in step[name]))
            for name in ("gradient", "weights"):
                for r, label in enumerate(("b", "w")):
                    head = f"  {name:9s}" if r == 0 else " " * 11
                    lines.append(
                        f"{head} {label}: " + "  ".join(_num_text(v) for v in step[name][r])
                    )
        return "\n".join(lines)

    # ------------------------------------------------------------ documents

    def latex_view(self, params: BaseModel, solution: Solution, language: str) -> dict[str, Any]:
        """The math the sheet and key partials print (see grader.exercises.sgd_chain.view)."""
        from grader.exercises.sgd_chain.view import latex_view

        return latex_view(_params(params), solution, language)

    def given_data(self, params: BaseModel, language: str) -> GivenData:
        from grader.exercises.sgd_chain.view import given_data

        return given_data(_params(params), self.words(language)["given_data"], language)

    # ------------------------------------------------------------ independent check

    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        return check_independently(params, answers)


def _num_text(v: Fraction) -> str:
    exact = fmt_frac(v)
    if v.denominator == 1:
        return exact
    return (
        f"{exact} (≈{fmt_dec(v, 7)})"
        if len(exact) > 12
        else f"{exact} ({fmt_dec(v, 7).rstrip('0')})"
    )


def _matrix_text(m: list[list[Fraction]]) -> str:
    return "[" + "; ".join(" ".join(fmt_frac(v) for v in row) for row in m) + "]"


EXERCISE = SgdChain()
