"""``softmax_classifier``: SGD by hand on a softmax classifier with cross-entropy loss.

Layers l = 1..L (L − 1 hidden ones, then the output with K units).  For the step's
observation (a row x, its class y): ``h_l = o_{l−1}·W_l + b_l``, ``o_l = f(h_l)``,
``o_0 = x``; the logits ``z = o_{L−1}·W_L + b_L``; ``p = softmax(z)``, each pᵢ from the
exact logits rounded as instructed; the loss ``−ln p_y``; ``δ_out = p − onehot(y)``;
``δ_l = (δ_{l+1}·W_{l+1}ᵀ) ⊙ f′(h_l)``; ``∂L/∂W_l = o_{l−1}ᵀ·δ_l``, ``∂L/∂b_l = δ_l``; then
``W ← W − γ·∂L/∂W``, ``b ← b − γ·∂L/∂b``.  One observation per step, as in ``sgd_chain``.

Per step the answer holds ``h1``, ``o1``, … (hidden layers), ``logits``, ``probabilities``,
``loss``, ``delta_out``, ``delta1``, … (hidden), ``grad_W1``, ``grad_b1``, …, and the
updated ``W1``, ``b1``, … .  Every field is a computation of the engine (see
:class:`_StepGraph`), so tolerance, carried-forward credit and diagnosis come for free.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core.engine import Rounding
from grader.core.given import GivenData
from grader.core.numbers import fmt_dec, fmt_exact_or_dec, fmt_frac
from grader.exercises.base import Computation, Exercise, MistakeContext, Screened, Solution
from grader.exercises.softmax_classifier.fields import (
    _computations,
    _key_values,
    _layout,
    _pointer,
    _rounded_leaves,
    step_fields,
)
from grader.exercises.softmax_classifier.oracle import check_independently
from grader.exercises.softmax_classifier.params import RANDOMIZED, SoftmaxClassifierParams, _params
from grader.exercises.softmax_classifier.search import is_nice, sample, screen

# ------------------------------------------------------------ the family


class SoftmaxClassifier(Exercise):
    type_name = "softmax_classifier"
    Params = SoftmaxClassifierParams
    title = {
        "en": "A softmax classifier: cross-entropy and SGD",
        "ru": "Softmax-классификатор: перекрёстная энтропия и SGD",
    }
    randomized = RANDOMIZED

    def rounding(self, params: BaseModel) -> Rounding:
        p = _params(params)
        return p.rounding.rule()

    def mistake_context(self, params: BaseModel) -> MistakeContext:
        p = _params(params)
        return MistakeContext(
            learning_rate=p.learning_rate,
            observations=tuple((*row, Fraction(c)) for row, c in zip(p.x, p.labels, strict=True)),
            loss="cross_entropy",
            activation=p.activation,
            classes=p.classes,
        )

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
        p = _params(params)
        computations = _computations(p, exercise_id)
        values = _key_values(p, computations)
        fields = step_fields(p)
        steps = []
        for s in range(len(p.order)):
            steps.append(
                {
                    name: _layout(
                        shape,
                        lambda ix, s=s, name=name: values[
                            _pointer("answers", exercise_id, "steps", s, name, *ix)
                        ],
                    )
                    for name, shape in fields.items()
                }
            )
        return Solution(
            computations=computations,
            values=values,
            answers={"steps": steps},
            rounded=_rounded_leaves(p, exercise_id, values),
            decimals=p.rounding.decimals,
        )

    # ------------------------------------------------------------ variants

    def sample(self, rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
        return sample(rng, fixed)

    def screen(self, params: BaseModel, fixed: Mapping[str, Any]) -> Screened:
        return Screened(screen(params, fixed))  # nothing computed for solve to reuse

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        return is_nice(params, solution, fixed)

    # ------------------------------------------------------------ formats

    def template_answers(self, params: BaseModel) -> Any:
        p = _params(params)
        fields = step_fields(p)
        return {
            "steps": [
                {name: _layout(shape, lambda ix: None) for name, shape in fields.items()}
                for _ in p.order
            ]
        }

    def json_schema(self, params: BaseModel | None) -> dict[str, Any]:
        number = {"$ref": "#/$defs/number"}

        def vector(n: int | None) -> dict[str, Any]:
            out: dict[str, Any] = {"type": "array", "items": number}
            return out | ({"minItems": n, "maxItems": n} if n is not None else {})

        def matrix(shape: tuple[int, int] | None) -> dict[str, Any]:
            out = {"type": "array", "items": vector(shape[1] if shape else None)}
            return out | ({"minItems": shape[0], "maxItems": shape[0]} if shape else {})

        step: dict[str, Any] = {"type": "object", "additionalProperties": False}
        if params is None:  # the layer count is the student's own: fields by pattern
            step["properties"] = {
                "logits": vector(None) | {"description": _DESCRIPTIONS["logits"]},
                "probabilities": vector(None) | {"description": _DESCRIPTIONS["probabilities"]},
                "loss": number | {"description": _DESCRIPTIONS["loss"]},
                "delta_out": vector(None) | {"description": _DESCRIPTIONS["delta_out"]},
            }
            step["patternProperties"] = {
                "^(h|o|delta|grad_b|b)[1-9]$": vector(None),
                "^(grad_W|W)[1-9]$": matrix(None),
            }
            steps: dict[str, Any] = {"type": "array", "items": step}
        else:
            p = _params(params)
            props: dict[str, Any] = {}
            for name, shape in step_fields(p).items():
                kind = name.rstrip("0123456789")
                schema = (
                    number
                    if shape is None
                    else vector(shape)
                    if isinstance(shape, int)
                    else matrix(shape)
                )
                props[name] = schema | {"description": _DESCRIPTIONS[kind]}
            step["properties"] = props
            step["required"] = list(props)
            steps = {
                "type": "array",
                "items": step,
                "minItems": len(p.order),
                "maxItems": len(p.order),
            }
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {"steps": steps},
            "required": ["steps"],
        }

    def describe_text(self, params: BaseModel, solution: Solution) -> str:
        p = _params(params)
        ws, bs = p.initial()
        lines = [
            f"softmax classifier {' → '.join(str(s) for s in p.sizes())}"
            + (f", hidden activation {p.activation}" if p.hidden else "")
            + f", cross-entropy loss, learning rate {fmt_frac(p.learning_rate)}, "
            f"rounding {p.rounding.mode} ({p.rounding.decimals} decimals)",
            *(
                f"observation {i + 1}: x = [{' '.join(fmt_frac(v) for v in row)}], class {c}"
                for i, (row, c) in enumerate(zip(p.x, p.labels, strict=True))
            ),
        ]
        for l, (w, b) in enumerate(zip(ws, bs, strict=True), start=1):
            lines.append(f"W{l} = {_text(w)}   b{l} = {_text(b)}")
        for s, step in enumerate(solution.answers["steps"]):
            lines.append(
                f"\nstep {s + 1} (observation {p.order[s]}, class {p.labels[p.order[s] - 1]})"
            )
            for name, value in step.items():
                lines.append(f"  {name:13s} {_text(value)}")
        return "\n".join(lines)

    def latex_view(self, params: BaseModel, solution: Solution, language: str) -> dict[str, Any]:
        from grader.exercises.softmax_classifier.view import latex_view

        return latex_view(_params(params), solution, language)

    def given_data(self, params: BaseModel, language: str) -> GivenData:
        from grader.exercises.softmax_classifier.view import given_data

        return given_data(_params(params), self.words(language)["given_data"], language)

    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        return check_independently(params, answers)


_DESCRIPTIONS = {
    "h": "hidden pre-activations h = o_prev·W + b",
    "o": "hidden outputs o = f(h)",
    "logits": "logits z = o_prev·W + b of the output layer",
    "probabilities": "p = softmax(z), each rounded as instructed",
    "loss": "cross-entropy −ln p_y of the step's observation",
    "delta_out": "δ = ∂L/∂z = p − onehot(y)",
    "delta": "δ = (δ_next·W_nextᵀ) ⊙ f′(h) of a hidden layer",
    "grad_W": "∂L/∂W = o_prevᵀ·δ (shape of W)",
    "grad_b": "∂L/∂b = δ",
    "W": "W − γ·∂L/∂W after the step",
    "b": "b − γ·∂L/∂b after the step",
}


def _text(value: Any) -> str:
    """A key value for the terminal: the exact decimal when short, else fraction ≈ decimal."""
    if isinstance(value, list):
        sep = "; " if value and isinstance(value[0], list) else " "
        return "[" + sep.join(_text(v) for v in value) + "]"
    shown = fmt_exact_or_dec(value, 12)
    if not shown.startswith("≈"):
        return shown
    exact = fmt_frac(value)
    return f"≈{fmt_dec(value, 7)}" if len(exact) > 14 else f"{exact}≈{fmt_dec(value, 7)}"


EXERCISE = SoftmaxClassifier()
