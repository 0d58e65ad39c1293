"""``mlp_matrix``: forward and backward pass of a small network in matrix form.

Observations are the rows of X (n×d).  Without biases, ``H_l = O_{l−1}·W_l``,
``O_l = f(H_l)``, ``O_0 = X`` and ``ŷ = O_L`` (one output).  The loss is
``L = c·Σ_i (y_i − ŷ_i)²`` (c = ½ by default), summed over the batch.  Backward:
``δ_L = ∂L/∂H_L``, ``∂L/∂W_l = O_{l−1}ᵀ·δ_l``, ``δ_l = (δ_{l+1}·W_{l+1}ᵀ) ⊙ f′(H_l)``,
then one step ``W_l ← W_l − γ·∂L/∂W_l``.

The student gives the formula of ŷ for one observation (nested ``f(...)`` of
``x1, x2, …`` with the weights substituted), every matrix of the forward and
backward pass, the loss and the updated weights.  Answer fields (L layers):
``yhat_formula``, ``h1``, ``O1``, …, ``hL``, ``OL``, ``loss``, ``deltaL``, ``grad_WL``,
…, ``delta1``, ``grad_W1``, ``W1_new``, …, ``WL_new``; every matrix entry is a leaf.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core import engine
from grader.core.activations import TRANSCENDENTAL
from grader.core.engine import Rounding
from grader.core.given import GivenData
from grader.core.numbers import fmt_dec, fmt_exact_or_dec, fmt_frac, is_finite_decimal
from grader.exercises.base import Computation, Exercise, MistakeContext, Screened, Solution
from grader.exercises.mlp_matrix.fields import (
    _field_kind,
    _flat,
    _graph,
    _matrix_ptrs,
    _ops,
    _rounded_leaves,
    _train,
    answer_shapes,
    field_name,
    yhat,
)
from grader.exercises.mlp_matrix.oracle import check_independently
from grader.exercises.mlp_matrix.params import (
    RANDOMIZED,
    Matrix,
    MlpMatrixParams,
    _params,
    formula_variables,
)
from grader.exercises.mlp_matrix.search import draw, is_nice, screen
from grader.exercises.mlp_matrix.view import APPROX_DECIMALS, _latex_view, given_data

# ------------------------------------------------------------ the exercise


class MlpMatrix(Exercise):
    type_name = "mlp_matrix"
    Params = MlpMatrixParams
    title = {
        "en": "Forward and backward pass in matrix form",
        "ru": "Прямой и обратный проход в матричной форме",
    }
    randomized = RANDOMIZED

    # ------------------------------------------------------------ what grading asks

    def rounding(self, params: BaseModel) -> Rounding:
        p = _params(params)
        return p.rounding.rule()

    def mistake_context(self, params: BaseModel) -> MistakeContext:
        p = _params(params)  # observations are rows of X, not a data list: no swap to try
        return MistakeContext(learning_rate=p.learning_rate, loss=p.loss, activation=p.activation)

    def formula_variables(self, params: BaseModel) -> tuple[str, ...]:
        return formula_variables(_params(params))

    def fields(self, params: BaseModel, exercise_id: str) -> list[Computation]:
        return _graph(_params(params), exercise_id).computations()

    # ------------------------------------------------------------ solving

    def solve(
        self,
        params: BaseModel,
        exercise_id: str,
        *,
        formulas: bool = True,
        screened: Screened | None = None,
    ) -> Solution:
        p = _params(params)
        ops = _ops(p)
        graph = _graph(p, exercise_id)
        trace = screened.work if screened and screened.work is not None else _train(p, ops)
        step = trace.steps[0]
        matrices: dict[str, Matrix] = {}
        for l in range(1, graph.layers + 1):
            matrices[field_name("h", l)] = step.h[l - 1]
            matrices[field_name("O", l)] = step.o[l]
            matrices[field_name("delta", l)] = step.delta[l - 1]
            matrices[field_name("grad_W", l)] = step.grad_w[l - 1]
            matrices[field_name("W_new", l)] = step.layers_after[l - 1].w
        answers: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for name in graph.shapes:
            if name == "yhat_formula":
                answers[name] = yhat(p).text
                if formulas:  # sympy's expression, for grading
                    values[graph.at(name)] = graph.formula({}, ops, engine.CORRECT)[0]
            elif name == "loss":
                answers[name] = step.loss
                values[graph.at(name)] = step.loss
            else:
                answers[name] = [list(row) for row in matrices[name]]
                values.update(
                    zip(
                        _matrix_ptrs(exercise_id, name, graph.shape(name)),
                        _flat(matrices[name]),
                        strict=True,
                    )
                )
        return Solution(
            computations=graph.computations(),
            values=values,
            answers=answers,
            rounded=_rounded_leaves(p, graph, values),
            decimals=p.rounding.decimals,
            trace=trace,
        )

    # ------------------------------------------------------------ variants

    def sample(self, rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
        return MlpMatrixParams.model_validate(self.draw(rng, fixed))

    def draw(self, rng: random.Random, fixed: Mapping[str, Any]) -> dict[str, Any]:
        return draw(rng, fixed)

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        return is_nice(params, solution, fixed)

    def screen(self, params: BaseModel, fixed: Mapping[str, Any]) -> Screened:
        return screen(params, fixed)

    # ------------------------------------------------------------ formats

    def template_answers(self, params: BaseModel) -> Any:
        out: dict[str, Any] = {}
        for name, shape in answer_shapes(_params(params)).items():
            out[name] = None if shape is None else [[None] * shape[1] for _ in range(shape[0])]
        return out

    def json_schema(self, params: BaseModel | None) -> dict[str, Any]:
        scalars: dict[str, Any] = {
            "yhat_formula": {
                "$ref": "#/$defs/formula",
                "description": "ŷ of one observation in x1, x2, … and f, e.g. f(2*f(x1 - x2))",
            },
            "loss": {"$ref": "#/$defs/number", "description": "the loss L of the batch"},
        }
        schema: dict[str, Any] = {"type": "object", "additionalProperties": False}
        if params is None:  # the layer count is the student's own: name the fields by pattern
            generic = _matrix_schema(None, None)
            schema["properties"] = scalars
            schema["patternProperties"] = {
                "^(h|O|delta|grad_W)[1-9]$": generic,
                "^W[1-9]_new$": generic,
            }
            return schema
        schema["properties"] = {
            name: scalars[name]
            if shape is None
            else _matrix_schema(*shape) | {"description": _FIELD_DESCRIPTIONS[_field_kind(name)]}
            for name, shape in answer_shapes(_params(params)).items()
        }
        return schema

    def describe_text(self, params: BaseModel, solution: Solution) -> str:
        p = _params(params)
        lines = [
            f"network {' → '.join(str(s) for s in p.sizes())} (no biases), activation "
            f"{p.activation}, loss {p.loss} (sum over the batch), learning rate "
            f"{fmt_frac(p.learning_rate)}, rounding {p.rounding.mode} ({p.rounding.decimals} decimals)",
            _matrix_text("X", p.x),
            _matrix_text("y", p.y),
        ]
        lines += [_matrix_text(f"W{l}", w) for l, w in enumerate(p.layer_weights(), start=1)]
        lines.append("")
        decimal = p.rounding.mode == "all" or p.activation in TRANSCENDENTAL
        for name, value in solution.answers.items():
            if name == "yhat_formula":
                lines.append(f"yhat (one observation) = {value}")
            elif name == "loss":
                lines.append(f"loss = {_num_text(value, decimal)}")
            else:
                lines.append(_matrix_text(name, value, decimal))
        return "\n".join(lines)

    def latex_view(self, params: BaseModel, solution: Solution, language: str) -> dict[str, Any]:
        """Ready-made LaTeX pieces for the sheet and key partials (our own math only)."""
        return _latex_view(_params(params), solution)

    def given_data(self, params: BaseModel, language: str) -> GivenData:
        return given_data(_params(params), self.words(language)["given_data"], language)

    # ------------------------------------------------------------ independent check

    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        return check_independently(params, answers)


# ------------------------------------------------------------ text and schema helpers

_FIELD_DESCRIPTIONS = {
    "h": "pre-activations h = O_prev·W (one row per observation)",
    "O": "outputs O = f(h) (one row per observation)",
    "delta": "δ = ∂L/∂h (one row per observation)",
    "grad_W": "∂L/∂W = O_prevᵀ·δ (shape of W)",
    "W_new": "W − γ·∂L/∂W (shape of W)",
}


def _matrix_schema(rows: int | None, cols: int | None) -> dict[str, Any]:
    row: dict[str, Any] = {"type": "array", "items": {"$ref": "#/$defs/number"}}
    if cols is not None:
        row.update(minItems=cols, maxItems=cols)
    out: dict[str, Any] = {"type": "array", "items": row}
    if rows is not None:
        out.update(minItems=rows, maxItems=rows)
    return out


def _plain(v: Fraction, decimal: bool) -> str:
    """An exact value as text: a terminating decimal where that is the natural form."""
    if v.denominator != 1 and is_finite_decimal(v) and (decimal or v.denominator % 10 == 0):
        return fmt_exact_or_dec(v, 30)
    return fmt_frac(v)


def _num_text(v: Fraction, decimal: bool) -> str:
    exact = _plain(v, decimal)
    if v.denominator == 1 or is_finite_decimal(v) and "/" not in exact:
        return exact
    approx = fmt_exact_or_dec(v, APPROX_DECIMALS)
    return approx if len(exact) > 24 else f"{exact} ({approx})"


def _matrix_text(name: str, m: Sequence[Sequence[Fraction]], decimal: bool = False) -> str:
    exact = "[" + "; ".join(" ".join(_plain(v, decimal) for v in row) for row in m) + "]"
    if all(is_finite_decimal(v) for row in m for v in row) and len(exact) <= 120:
        return f"{name} = {exact}"
    approx = "[" + "; ".join(" ".join(fmt_dec(v, APPROX_DECIMALS) for v in row) for row in m) + "]"
    if len(exact) > 120:
        return f"{name} ≈ {approx}"
    return f"{name} = {exact}\n{' ' * len(name)} ≈ {approx}"


EXERCISE = MlpMatrix()
