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

import functools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from grader.core import engine
from grader.core.activations import TRANSCENDENTAL
from grader.core.engine import (
    ActivationName,
    FractionOps,
    Layer,
    Ops,
    Rounding,
    Rules,
)
from grader.core.latex import Tex, cut_decimal
from grader.core.memo import BoundedMemo
from grader.core.models import ExactNumber, RoundingSpec, StrictModel
from grader.core.numbers import (
    MAX_DIGITS,
    NumberError,
    fmt_dec,
    fmt_exact_or_dec,
    fmt_frac,
    is_finite_decimal,
    parse_number,
    round_half_away,
    tex_frac,
)
from grader.exercises.base import (
    Computation,
    Exercise,
    MistakeContext,
    MistakeId,
    ScreenedWork,
    Solution,
    pointer,
)
from grader.exercises.formula_text import Factor, Term, yhat_formula

# Answer pointers are built for every field of every candidate variant: memoized (the
# same few hundred strings across a build).
_pointer = functools.lru_cache(maxsize=1 << 16, typed=True)(pointer)

# Sizes and the activation shape the task: they stay at their defaults unless the
# instructor sets them.  The numbers are what varies between students.
RANDOMIZED = ("x", "y", "weights", "learning_rate")

FORMULA_FUNCTION = "f"  # the activation's name in the ŷ formula
MAX_ABS_VALUE = 1000  # given numbers beyond this are not a hand exercise
APPROX_DECIMALS = 7  # decimals shown (cut short, then an ellipsis) of long exact values

Matrix = list[list[Any]]


def _as_row(value: Any) -> Any:
    """A target written as a plain number stands for the 1-element row [number]."""
    return value if isinstance(value, list | tuple) else [value]


Target = Annotated[list[ExactNumber], BeforeValidator(_as_row)]


class MlpMatrixParams(BaseModel):
    model_config = StrictModel
    x: list[list[ExactNumber]] = Field(min_length=1, max_length=4)
    y: list[Target] = Field(min_length=1, max_length=4)
    hidden: list[Annotated[int, Field(ge=1, le=3)]] = Field(
        default_factory=lambda: [2, 2], min_length=1, max_length=3
    )
    weights: Literal["random"] | list[list[list[ExactNumber]]] = "random"
    activation: ActivationName = "relu"
    loss: Literal["mse", "half_mse"] = "half_mse"
    learning_rate: ExactNumber
    rounding: RoundingSpec = RoundingSpec()

    @model_validator(mode="before")
    @classmethod
    def _hidden_from_weights(cls, data: Any) -> Any:
        """Given weights and no ``hidden``, the hidden widths are the weights' column counts."""
        if isinstance(data, dict) and "hidden" not in data:
            ws = data.get("weights")
            if isinstance(ws, list) and len(ws) >= 2 and all(_is_matrix(w) for w in ws):
                return {**data, "hidden": [len(w[0]) for w in ws[:-1]]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> MlpMatrixParams:
        d = len(self.x[0])
        if not 1 <= d <= 3 or any(len(row) != d for row in self.x):
            raise ValueError(
                "x must be a matrix: one row per observation, all rows of 1 to 3 inputs"
            )
        if len(self.y) != len(self.x):
            raise ValueError(
                f"y must hold one target per observation: x has {len(self.x)} rows, "
                f"y has {len(self.y)}"
            )
        if any(len(row) != 1 for row in self.y):
            raise ValueError(
                "y must be a column: one number per observation (the network has one output)"
            )
        if not 0 < self.learning_rate <= MAX_ABS_VALUE:
            raise ValueError(f"learning_rate must be positive and at most {MAX_ABS_VALUE}")
        if self.weights != "random":
            _check_weight_shapes(self.weights, self.sizes())
        given = [*self.x, *self.y, *(self.weights if self.weights != "random" else [])]
        if any(abs(v) > MAX_ABS_VALUE for v in _numbers(given)):
            raise ValueError(f"x, y and weights must lie within ±{MAX_ABS_VALUE}")
        return self

    def sizes(self) -> list[int]:
        """Layer widths [inputs, hidden…, 1]."""
        return [len(self.x[0]), *self.hidden, 1]

    def layer_weights(self) -> list[list[list[Fraction]]]:
        """W_1..W_L; ``"random"`` is only a placeholder until :meth:`MlpMatrix.sample` draws them."""
        if self.weights == "random":
            raise ValueError("weights are 'random': draw a variant (sample) before solving")
        return [[list(row) for row in w] for w in self.weights]


def _is_matrix(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(row, list) and len(row) > 0 for row in value)
    )


def _numbers(rows: Sequence[Any]) -> list[Fraction]:
    out: list[Fraction] = []
    for item in rows:
        if isinstance(item, list):
            out.extend(_numbers(item))
        else:
            out.append(item)
    return out


def _check_weight_shapes(weights: list[list[list[Fraction]]], sizes: list[int]) -> None:
    layers = len(sizes) - 1
    if len(weights) != layers:
        raise ValueError(
            f"weights must be 'random' or {layers} matrices W1..W{layers} "
            f"(inputs {sizes[0]}, hidden {sizes[1:-1]}, 1 output), got {len(weights)}"
        )
    for l, w in enumerate(weights, start=1):
        rows, cols = sizes[l - 1], sizes[l]
        got_cols = {len(r) for r in w}
        if len(w) != rows or got_cols != {cols}:
            shape = f"{len(w)}×{'/'.join(str(c) for c in sorted(got_cols)) or 0}"
            raise ValueError(
                f"weights[{l - 1}] (W{l}) must be {rows}×{cols} "
                f"({'inputs' if l == 1 else f'width of hidden layer {l - 1}'} × "
                f"{'output' if l == layers else f'width of hidden layer {l}'}), got {shape}"
            )


def _params(params: BaseModel | None) -> MlpMatrixParams:
    assert isinstance(params, MlpMatrixParams)
    return params


# ------------------------------------------------------------ answer fields


def field_name(kind: str, layer: int) -> str:
    """The answer field of ``kind`` (h, O, delta, grad_W, W_new) for 1-based ``layer``."""
    return f"W{layer}_new" if kind == "W_new" else f"{kind}{layer}"


def answer_shapes(p: MlpMatrixParams) -> dict[str, tuple[int, int] | None]:
    """Every answer field in the order a student computes it, with its matrix shape
    (None for the formula and the scalar loss)."""
    n, s = len(p.x), p.sizes()
    big_l = len(s) - 1
    shapes: dict[str, tuple[int, int] | None] = {"yhat_formula": None}
    for l in range(1, big_l + 1):
        shapes[field_name("h", l)] = (n, s[l])
        shapes[field_name("O", l)] = (n, s[l])
    shapes["loss"] = None
    for l in range(big_l, 0, -1):
        shapes[field_name("delta", l)] = (n, s[l])
        shapes[field_name("grad_W", l)] = (s[l - 1], s[l])
    for l in range(1, big_l + 1):
        shapes[field_name("W_new", l)] = (s[l - 1], s[l])
    return shapes


@functools.lru_cache(maxsize=1 << 12)  # the same fields for every student of a build
def _matrix_ptrs(ex: str, name: str, shape: tuple[int, int]) -> tuple[str, ...]:
    rows, cols = shape
    return tuple(_pointer("answers", ex, name, i, j) for i in range(rows) for j in range(cols))


def _flat(m: Matrix) -> list[Any]:
    return [x for row in m for x in row]


@dataclass(frozen=True)
class _SymbolicOps:
    """The engine's number type for the ŷ formula: sympy expressions, the activation
    kept as the undefined function ``f`` (the student writes f, not relu)."""

    f: Any

    def activate(self, name: str, h: Any) -> Any:
        return self.f(h)

    def derivative(self, name: str, h: Any, o: Any) -> Any:
        raise NotImplementedError("the ŷ formula needs no derivative")

    def softmax(self, z: Any) -> Any:
        raise NotImplementedError("the ŷ formula has no softmax")

    def transcendental(self, name: str, x: Any) -> Any:
        raise NotImplementedError("the ŷ formula has no exp or log")

    def record(self, x: Any) -> Any:
        return x

    def const(self, q: Fraction | int) -> Any:
        import sympy

        q = Fraction(q)
        return sympy.Rational(q.numerator, q.denominator)


@dataclass(frozen=True)
class _Graph:
    """The answer fields and how each is computed from earlier fields.

    Every compute method has the :data:`grader.exercises.base.ComputeFn` signature and calls
    the same engine functions as the batch engine, on matrices of the ops' number type,
    so replaying a field on a student's values, under other ``Rules`` or on intervals
    is the engine's own behaviour.
    """

    p: MlpMatrixParams
    ex: str
    weights: tuple[tuple[tuple[Fraction, ...], ...], ...]
    shapes: Mapping[str, tuple[int, int] | None]  # answer_shapes(p), computed once

    @property
    def layers(self) -> int:
        return len(self.weights)

    def shape(self, name: str) -> tuple[int, int]:
        shape = self.shapes[name]
        assert shape is not None
        return shape

    def at(self, *parts: str | int) -> str:
        return _pointer("answers", self.ex, *parts)

    def ptrs(self, kind: str, layer: int) -> tuple[str, ...]:
        """The entry pointers of a matrix field, row-major."""
        name = field_name(kind, layer)
        return _matrix_ptrs(self.ex, name, self.shape(name))

    def read(self, v: Mapping[str, Any], kind: str, layer: int) -> Matrix:
        name = field_name(kind, layer)
        rows, cols = self.shape(name)
        return [[v[self.at(name, i, j)] for j in range(cols)] for i in range(rows)]

    def w(self, ops: Ops, layer: int) -> Matrix:
        return [[ops.const(x) for x in row] for row in self.weights[layer - 1]]

    def y(self, ops: Ops) -> Matrix:
        return [[ops.const(t) for t in row] for row in self.p.y]

    def o_prev(self, v: Mapping[str, Any], ops: Ops, layer: int) -> Matrix:
        """O_{layer−1}: the given X for the first layer, else the earlier answer."""
        if layer == 1:
            return [[ops.const(x) for x in row] for row in self.p.x]
        return self.read(v, "O", layer - 1)

    def o_prev_ptrs(self, layer: int) -> tuple[str, ...]:
        return () if layer == 1 else self.ptrs("O", layer - 1)

    # ---- compute functions

    def formula(self, v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        """ŷ of one observation (x1, x2, …) as a sympy expression in the undefined f."""
        import sympy

        sym = _SymbolicOps(sympy.Function(FORMULA_FUNCTION))
        xs = [[sympy.Symbol(name) for name in formula_variables(self.p)]]
        layers = [
            Layer(w=self.w(sym, l), b=None, activation="f") for l in range(1, self.layers + 1)
        ]
        _, os = engine.forward(sym, layers, xs)
        return [os[-1][0][0]]

    def pre_activation(
        self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int
    ) -> list[Any]:
        return _flat(
            engine.pre_activation(ops, self.o_prev(v, ops, layer), self.w(ops, layer), None, rules)
        )

    def output(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        return _flat(engine.activate(ops, self.p.activation, self.read(v, "h", layer)))

    def loss(self, v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        return [engine.loss_value(ops, self.p.loss, self.read(v, "O", self.layers), self.y(ops))]

    def output_delta(self, v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        delta = engine.output_delta(
            ops,
            rules,
            o_out=self.read(v, "O", self.layers),
            y=self.y(ops),
            h_out=self.read(v, "h", self.layers),
            activation=self.p.activation,
            loss=self.p.loss,
        )
        return _flat(delta)

    def hidden_delta(
        self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int
    ) -> list[Any]:
        delta = engine.hidden_delta(
            ops,
            rules,
            delta_next=self.read(v, "delta", layer + 1),
            w_next=self.w(ops, layer + 1),
            h=self.read(v, "h", layer),
            o=self.read(v, "O", layer),
            activation=self.p.activation,
        )
        return _flat(delta)

    def gradient(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        o_prev, delta = self.o_prev(v, ops, layer), self.read(v, "delta", layer)
        return _flat(engine.weight_gradient(ops, o_prev, delta, rules))

    def new_weights(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        grad = self.read(v, "grad_W", layer)
        return _flat(engine.update(ops, rules, self.w(ops, layer), grad, self.p.learning_rate))

    # ---- the fields, in the order a student computes them

    def derivative_mistakes(self) -> tuple[MistakeId, ...]:
        # f′ = 1 for the identity: forgetting it changes nothing, so it cannot show
        if self.p.activation == "identity":
            return ("wrong_activation_derivative",)
        return ("missing_activation_derivative", "wrong_activation_derivative")

    def computations(self) -> list[Computation]:
        big_l = self.layers
        out = [
            Computation(
                "formula of ŷ",
                (self.at("yhat_formula"),),
                (),
                self.formula,
                kind="formula",
                quantity=("output",),
            )
        ]
        for l in range(1, big_l + 1):
            prev = "X" if l == 1 else f"O{l - 1}"
            out.append(
                Computation(
                    f"h{l} = {prev}·W{l}",
                    self.ptrs("h", l),
                    self.o_prev_ptrs(l),
                    partial(self.pre_activation, layer=l),
                    ("transposed",),
                )
            )
            out.append(
                Computation(
                    f"O{l} = f(h{l})",
                    self.ptrs("O", l),
                    self.ptrs("h", l),
                    partial(self.output, layer=l),
                )
            )
        out.append(Computation("loss L", (self.at("loss"),), self.ptrs("O", big_l), self.loss))
        for l in range(big_l, 0, -1):
            if l == big_l:
                out.append(
                    Computation(
                        f"δ{l} = ∂L/∂h{l}",
                        self.ptrs("delta", l),
                        (*self.ptrs("O", l), *self.ptrs("h", l)),
                        self.output_delta,
                        ("sign_flip", "missing_factor_2", *self.derivative_mistakes()),
                    )
                )
            else:
                out.append(
                    Computation(
                        f"δ{l} = (δ{l + 1}·W{l + 1}ᵀ) ⊙ f′(h{l})",
                        self.ptrs("delta", l),
                        (*self.ptrs("delta", l + 1), *self.ptrs("h", l), *self.ptrs("O", l)),
                        partial(self.hidden_delta, layer=l),
                        (*self.derivative_mistakes(), "transposed"),
                    )
                )
            prev = "X" if l == 1 else f"O{l - 1}"
            out.append(
                Computation(
                    f"∂L/∂W{l} = {prev}ᵀ·δ{l}",
                    self.ptrs("grad_W", l),
                    (*self.o_prev_ptrs(l), *self.ptrs("delta", l)),
                    partial(self.gradient, layer=l),
                    ("transposed",),
                )
            )
        for l in range(1, big_l + 1):
            out.append(
                Computation(
                    f"W{l} after the step",
                    self.ptrs("W_new", l),
                    self.ptrs("grad_W", l),
                    partial(self.new_weights, layer=l),
                    ("learning_rate", "gradient_ascent"),
                )
            )
        return out


def yhat(p: MlpMatrixParams) -> Factor:
    """The ŷ formula as sheets and keys print it (no sympy: see grader.exercises.formula_text)."""
    return yhat_formula(formula_variables(p), p.layer_weights(), FORMULA_FUNCTION)


_MEMO_LIMIT = 100_000  # LaTeX pieces of subexpressions kept (a few MB); the memo restarts beyond


def formula_variables(p: MlpMatrixParams) -> tuple[str, ...]:
    """The variable names of the ŷ formula: ``x1``, ``x2``, … (one per input)."""
    return tuple(f"x{j + 1}" for j in range(len(p.x[0])))


def _graph(p: MlpMatrixParams, ex: str) -> _Graph:
    weights = tuple(tuple(tuple(row) for row in w) for w in p.layer_weights())
    return _Graph(p, ex, weights, answer_shapes(p))


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

    # ------------------------------------------------------------ solving

    def solve(self, params: BaseModel, exercise_id: str, *, formulas: bool = True) -> Solution:
        p = _params(params)
        ops = _ops(p)
        graph = _graph(p, exercise_id)
        trace = _SCREENED.take(_train_key(p)) or _train(p, ops)
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
        """The parameter values of one candidate, drawn but not validated (:meth:`sample`
        validates them; the variant search screens them first, see ``grader.course.variants``)."""
        hidden = _fixed_hidden(fixed)
        activation = fixed.get("activation", "relu")
        weights_fixed = isinstance(fixed.get("weights"), list)
        if "x" in fixed:
            d, n = len(fixed["x"][0]), len(fixed["x"])
        else:
            d = len(fixed["weights"][0]) if weights_fixed else 2
            n = len(fixed["y"]) if "y" in fixed else 2
        sizes = [d, *hidden, 1]
        x_values, w_values = (
            (INTEGERS, NONZERO_INTEGERS) if activation in _FRACTION_HEAVY else (X_VALUES, W_VALUES)
        )
        x = fixed.get("x") or [[rng.choice(x_values) for _ in range(d)] for _ in range(n)]
        targets = _TARGETS[activation]
        y = fixed.get("y") or [[rng.choice(targets)] for _ in range(n)]
        weights = (
            fixed["weights"]
            if weights_fixed
            else [
                [[rng.choice(w_values) for _ in range(sizes[l])] for _ in range(sizes[l - 1])]
                for l in range(1, len(sizes))
            ]
        )
        rate = fixed.get("learning_rate") or rng.choice(RATES)
        values = dict(fixed)
        values.update(
            x=x, y=y, hidden=hidden, weights=weights, activation=activation, learning_rate=rate
        )
        return values

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        p = _params(params)
        step = solution.trace.steps[0]
        numbers = [v for v in solution.values.values() if isinstance(v, Fraction)]
        return not _unfit(p, fixed, step.h, step.grad_w, numbers)

    def screen(self, params: BaseModel, fixed: Mapping[str, Any]) -> bool:
        """The variant search's cheap first look: False only where :meth:`is_nice` would
        reject the solved variant (or :meth:`solve` would raise), so the search skips the
        ŷ formula (sympy) and the answer fields of the nine candidates in ten it drops.

        The forward pass alone rejects most candidates (a dead relu unit, a saturated
        σ), often in its first layer (every rule is about single values or single layers,
        so a part of the answers can only be rejected early, never accepted early); the
        rest are trained and judged by the same rules as :meth:`is_nice`, on the trace's
        matrices, which are exactly the numeric answer fields.
        """
        p = _params(params)
        ops = _ops(p)
        o: Matrix = [list(row) for row in p.x]
        for layer in _layers(p):  # engine.forward, one layer at a time, judged as it goes
            h = engine.pre_activation(ops, o, layer.w, layer.b)
            o = engine.activate(ops, layer.activation, h)
            if _unfit(p, fixed, [h], None, [*_flat(h), *_flat(o)]):
                return False
        trace = _train(p, ops)
        step = trace.steps[0]
        if _unfit(p, fixed, step.h, step.grad_w, _answer_numbers(step)):
            return False
        _SCREENED.keep(_train_key(p), trace)  # solve's next call needs it
        return True

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

    # ------------------------------------------------------------ independent check

    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        return float_oracle_mismatches(_params(params), answers)


# ------------------------------------------------------------ variant search

X_VALUES = tuple(Fraction(v) for v in (-2, -1, 0, 1, 2)) + (Fraction(-1, 2), Fraction(1, 2))
# no zero weights: a zero drops a path from the ŷ formula and leaves f(0) terms behind
W_VALUES = tuple(Fraction(v, 2) for v in range(-4, 5) if v)  # −2, −3/2, …, 3/2, 2
INTEGERS = tuple(Fraction(v) for v in range(-2, 3))
NONZERO_INTEGERS = tuple(v for v in INTEGERS if v)
# hard_sigmoid (slope 1/4) and softsign (1/(1+|h|)) add a denominator in every layer:
# they get integer inputs and weights, and one more digit of denominator is allowed.
_FRACTION_HEAVY = frozenset({"hard_sigmoid", "softsign"})
RATES = (Fraction(1, 10), Fraction(1, 4), Fraction(1, 2), Fraction(1))
_TARGETS: dict[str, tuple[Fraction, ...]] = {
    "relu": (Fraction(0), Fraction(1, 2), Fraction(1), Fraction(2)),
    "identity": (Fraction(-1), Fraction(0), Fraction(1), Fraction(2)),
    "sigmoid": (Fraction(0), Fraction(1, 2), Fraction(1)),
    "hard_sigmoid": (Fraction(0), Fraction(1, 2), Fraction(1)),
    "tanh": (Fraction(-1), Fraction(0), Fraction(1, 2), Fraction(1)),
    "softsign": (Fraction(-1), Fraction(0), Fraction(1, 2), Fraction(1)),
}


def _ops(p: MlpMatrixParams) -> FractionOps:
    return FractionOps(p.rounding.rule())


def _layers(p: MlpMatrixParams) -> list[Layer]:
    return [Layer(w=w, b=None, activation=p.activation) for w in p.layer_weights()]


def _train(p: MlpMatrixParams, ops: FractionOps) -> engine.Trace:
    """The key's one full-batch step (raises NumberGrowthError past MAX_DIGITS)."""
    return engine.train(
        ops,
        _layers(p),
        [list(row) for row in p.x],
        [list(row) for row in p.y],
        [list(range(len(p.x)))],
        learning_rate=p.learning_rate,
        loss=p.loss,
        reduction="sum",
        max_digits=MAX_DIGITS,
    )


_SCREENED = ScreenedWork()  # the training of the candidate the screen accepted last


def _train_key(p: MlpMatrixParams) -> tuple[Any, ...]:
    """Everything :func:`_train` depends on, as a value (the screen may have seen the
    candidate before validation: another object with the same values)."""
    return (
        _nested_tuple(p.x),
        _nested_tuple(p.y),
        _nested_tuple(p.layer_weights()),
        p.learning_rate,
        p.loss,
        p.activation,
        p.rounding.mode,
        p.rounding.decimals,
    )


def _nested_tuple(rows: Any) -> Any:
    return tuple(_nested_tuple(r) for r in rows) if isinstance(rows, list | tuple) else rows


def _answer_numbers(step: engine.StepTrace) -> list[Any]:
    """Every numeric answer of a step: h, O, the loss, δ, ∂L/∂W and the new W (what
    :meth:`MlpMatrix.solve` puts in ``values``, in another order)."""
    matrices = [*step.h, *step.o[1:], *step.delta, *step.grad_w]
    matrices += [layer.w for layer in step.layers_after]
    numbers = [v for m in matrices for v in _flat(m)]
    numbers.append(step.loss)
    return [v for v in numbers if isinstance(v, Fraction)]


def _unfit(
    p: MlpMatrixParams,
    fixed: Mapping[str, Any],
    hs: Sequence[Matrix],
    grads: Sequence[Matrix] | None,
    numbers: Sequence[Fraction],
) -> bool:
    """Whether a variant is no good for a student: :meth:`MlpMatrix.is_nice`'s rules, on
    the pre-activations, the weight gradients (None: not known yet, not checked) and
    numbers among the answers (every one of them, for the final verdict)."""
    # (|v| > c as |numerator| > c·denominator: integer comparisons, for thousands of candidates)
    if p.activation in TRANSCENDENTAL and any(
        abs(v.numerator) > 4 * v.denominator for h in hs for v in _flat(h)
    ):
        return True  # saturated σ/tanh: the gradient all but vanishes
    # what the instructor fixed stays as given, even when it is degenerate
    if not isinstance(fixed.get("weights"), list):
        if grads is not None and any(all(g == 0 for g in _flat(grad)) for grad in grads):
            return True
        if p.activation == "relu" and any(_dead_unit(h) for h in hs):
            return True  # a dead unit (let alone layer): its weights learn nothing
    if any(abs(v.numerator) > 100 * v.denominator for v in numbers):
        return True
    exact = p.activation not in TRANSCENDENTAL and p.rounding.mode != "all"
    limit = 10_000 if p.activation in _FRACTION_HEAVY else 1000
    return exact and any(v.denominator >= limit for v in numbers)


def _dead_unit(h: Matrix) -> bool:
    """Some relu unit is off (h ≤ 0) for every observation."""
    return any(all(v.numerator <= 0 for v in col) for col in zip(*h, strict=True))


def _fixed_hidden(fixed: Mapping[str, Any]) -> list[int]:
    if "hidden" in fixed:
        return list(fixed["hidden"])
    ws = fixed.get("weights")
    if isinstance(ws, list) and len(ws) >= 2 and all(_is_matrix(w) for w in ws):
        return [len(w[0]) for w in ws[:-1]]
    return [2, 2]


def _rounded_leaves(p: MlpMatrixParams, graph: _Graph, values: Mapping[str, Any]) -> frozenset[str]:
    """Leaves whose key value was rounded: every number in mode ``all``; otherwise the
    σ/tanh outputs of a non-zero h (σ(0) = 1/2 and tanh(0) = 0 are exact)."""
    numeric = {ptr for ptr, v in values.items() if isinstance(v, Fraction)}
    if p.rounding.mode == "all":
        return frozenset(numeric)
    if p.activation not in TRANSCENDENTAL:
        return frozenset()
    rounded = set()
    for l in range(1, graph.layers + 1):
        for o_ptr, h_ptr in zip(graph.ptrs("O", l), graph.ptrs("h", l), strict=True):
            if values[h_ptr] != 0:
                rounded.add(o_ptr)
    return frozenset(rounded)


# ------------------------------------------------------------ text and schema helpers

_FIELD_DESCRIPTIONS = {
    "h": "pre-activations h = O_prev·W (one row per observation)",
    "O": "outputs O = f(h) (one row per observation)",
    "delta": "δ = ∂L/∂h (one row per observation)",
    "grad_W": "∂L/∂W = O_prevᵀ·δ (shape of W)",
    "W_new": "W − γ·∂L/∂W (shape of W)",
}


def _field_kind(name: str) -> str:
    """``grad_W3`` → ``grad_W``, ``W3_new`` → ``W_new`` (the inverse of :func:`field_name`)."""
    return "W_new" if name.endswith("_new") else name.rstrip("0123456789")


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


# ------------------------------------------------------------ LaTeX pieces

_ACTIVATION_TEX = {
    "relu": (r"f(t) = \max(0, t)", r"f'(t) = \begin{cases} 1, & t > 0,\\ 0, & t \le 0 \end{cases}"),
    "identity": (r"f(t) = t", r"f'(t) = 1"),
    "sigmoid": (r"f(t) = \sigma(t) = \frac{1}{1 + e^{-t}}", r"f'(t) = f(t)\,\bigl(1 - f(t)\bigr)"),
    "tanh": (r"f(t) = \tanh t", r"f'(t) = 1 - f(t)^2"),
    "hard_sigmoid": (
        r"f(t) = \min\bigl(\max(\tfrac{t}{4} + \tfrac{1}{2},\, 0),\, 1\bigr)",
        r"f'(t) = \begin{cases} \frac{1}{4}, & |t| < 2,\\ 0, & |t| \ge 2 \end{cases}",
    ),
    "softsign": (r"f(t) = \frac{t}{1 + |t|}", r"f'(t) = \frac{1}{(1 + |t|)^2}"),
}
LINE_WIDTH = 64  # rough characters of display math that fit one line of an A4 page
_PARENS = (("(", ")"), (r"\bigl(", r"\bigr)"), (r"\Bigl(", r"\Bigr)"), (r"\biggl(", r"\biggr)"))


@dataclass(frozen=True)
class _Piece:
    """A bit of display math with a rough printed width (in characters).  A line may
    start at a ``breakable`` piece; breaks at a smaller ``depth`` are preferred."""

    tex: str
    width: float
    breakable: bool = False
    depth: int = 0


def _pack(pieces: Sequence[_Piece], width: float = LINE_WIDTH) -> list[str]:
    """Split where needed, shallowest breaks first, then fill lines greedily."""
    runs = [list(pieces)]
    for level in sorted({p.depth for p in pieces if p.breakable}):
        split: list[list[_Piece]] = []
        for run in runs:
            if sum(p.width for p in run) <= width:
                split.append(run)
                continue
            for i, piece in enumerate(run):
                if i == 0 or (piece.breakable and piece.depth == level):
                    split.append([])
                split[-1].append(piece)
        runs = split
    lines: list[list[_Piece]] = []
    used = 0.0
    for run in runs:
        run_width = sum(p.width for p in run)
        if lines and used + run_width <= width:
            lines[-1] += run
            used += run_width
        else:
            lines.append(list(run))
            used = run_width
    return [" ".join(p.tex for p in line if p.tex) for line in lines]


def _bmatrix(rows: Sequence[Sequence[str]]) -> str:
    body = r" \\ ".join(" & ".join(row) for row in rows)
    matrix = rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"
    if any("frac" in e for row in rows for e in row):
        # stacked fractions need more room between the rows than digits do
        return rf"{{\renewcommand*{{\arraystretch}}{{1.35}}{matrix}}}"
    return matrix


def _given_matrix(m: Sequence[Sequence[Fraction]]) -> str:
    return _bmatrix([[tex_frac(x) for x in row] for row in m])


@dataclass(frozen=True)
class _KeyFormat:
    """How the key shows numbers.  ``decimal``: terminating values print as decimals
    (every value is a rounded decimal, or computed from rounded σ/tanh values);
    otherwise fractions, the way a student computes rational keys by hand."""

    decimal: bool

    def cells(self, m: Sequence[Sequence[Fraction]]) -> list[list[_Cell]]:
        decimal = self.decimal
        return [[_cell(x.numerator, x.denominator, decimal) for x in row] for row in m]

    def width(self, m: Sequence[Sequence[Fraction]]) -> float:
        return _width(self.cells(m))

    def result(self, m: Sequence[Sequence[Fraction]], *, rounded: bool = False) -> list[_Piece]:
        """``= exact`` (then ``= decimals…`` when some entry does not terminate), or only
        ``= decimals…`` when the exact value is too long to read; ``≈`` instead of the
        first ``=`` when the values were ``rounded`` by the rounding rule (its only meaning)."""
        cells = self.cells(m)
        exact = _exact_tex(cells)
        if exact is None:
            return [_approx_piece(cells)]
        relation = r"\approx" if rounded else "="
        pieces = [_Piece(f"{relation} {exact}", 2 + _width(cells), True)]
        if not all(c.finite for row in cells for c in row):
            pieces.append(_approx_piece(cells))
        return pieces

    def operand(self, m: Sequence[Sequence[Fraction]]) -> tuple[str, float, bool]:
        """A matrix inside a product: (LaTeX, width, shown in decimals only)."""
        cells = self.cells(m)
        exact = _exact_tex(cells)
        if exact is None:
            return _approx_tex(cells), _width(cells, approx=True), True
        return exact, _width(cells), False

    def product(self, *factors: tuple[Sequence[Sequence[Fraction]], str]) -> _Piece:
        """``= A ⊙ B`` (an operand too long to show exactly in decimals cut short with an
        ellipsis); each factor is (matrix, the operator written after it)."""
        texts, width = [], 2.0
        for m, op in factors:
            text, w, _ = self.operand(m)
            texts.append(f"{text} {op}".strip())
            width += w + len(op) / 4
        return _Piece("= " + " ".join(texts), width, True)

    def scalar(self, x: Fraction, *, rounded: bool = False) -> list[_Piece]:
        cell = _cell(x.numerator, x.denominator, self.decimal)
        approx = _Piece(f"= {cell.approx}", APPROX_DECIMALS + 4, True)
        if cell.entry is None:
            return [approx]
        relation = r"\approx" if rounded else "="
        pieces = [_Piece(f"{relation} {cell.entry}", cell.width + 2, True)]
        return pieces if cell.finite else [*pieces, approx]


class _Cell(NamedTuple):
    """How the key shows one value (see :func:`_cell`)."""

    entry: str | None  # the exact value, None when no exact form is short enough to read
    width: int  # the entry's rough printed width (the decimal's when there is no entry)
    approx: str  # the value to APPROX_DECIMALS decimals, cut short (then an ellipsis)
    finite: bool  # a terminating decimal


# A key shows each value several times (a matrix, then inside products) and widths are
# asked per column: memoized across a build (the values of a class repeat too), by
# numerator and denominator (hashing a Fraction costs more than the lookup saves).
@functools.lru_cache(maxsize=1 << 14)
def _cell(numerator: int, denominator: int, decimal: bool) -> _Cell:
    x = Fraction(numerator, denominator)
    entry = _entry(x, decimal)
    if entry is None:
        width = APPROX_DECIMALS + 3
    elif "frac" not in entry:
        width = len(entry)
    else:
        width = max(len(str(abs(numerator))), len(str(denominator))) + (numerator < 0)
    return _Cell(entry, width, cut_decimal(x, APPROX_DECIMALS), is_finite_decimal(x))


def _entry(x: Fraction, decimal: bool) -> str | None:
    if x.denominator == 1:
        return str(x.numerator)
    if is_finite_decimal(x) and (decimal or x.denominator % 10 == 0):
        text = fmt_exact_or_dec(x, 12)
        if not text.startswith("≈") and len(text) <= 14:
            return text
    return tex_frac(x) if len(fmt_frac(x)) <= 11 else None


def _width(cells: Sequence[Sequence[_Cell]], approx: bool = False) -> int:
    """A matrix's rough printed width: its columns' widest entries (or decimals)."""
    if approx:
        return 2 + sum(2 + APPROX_DECIMALS + 5 for _ in cells[0])
    return 2 + sum(2 + max(c.width for c in col) for col in zip(*cells, strict=True))


def _exact_tex(cells: Sequence[Sequence[_Cell]]) -> str | None:
    """The matrix of exact entries, None when some entry has none."""
    entries = [[c.entry for c in row] for row in cells]
    if any(e is None for row in entries for e in row):
        return None
    return _bmatrix([[e or "" for e in row] for row in entries])


def _approx_tex(cells: Sequence[Sequence[_Cell]]) -> str:
    return _bmatrix([[c.approx for c in row] for row in cells])


def _approx_piece(cells: Sequence[Sequence[_Cell]]) -> _Piece:
    return _Piece(f"= {_approx_tex(cells)}", 2 + _width(cells, approx=True), True)


def _align_item(lhs: str, pieces: Sequence[_Piece]) -> str:
    """One ``align*`` item: ``lhs &= …`` and continuation lines ``&= …``, packed to the width."""
    lines = _pack([_Piece("", 4), *pieces])
    return r" \\ ".join(
        (rf"{lhs} &{line}" if i == 0 else f"&{line}") for i, line in enumerate(lines)
    )


def _transpose(m: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [list(col) for col in zip(*m, strict=True)]


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---- the ŷ formula, printed by hand so that a long one breaks across lines


def _formula_pieces(factor: Factor, depth: int = 0) -> list[_Piece]:
    """``f(…)`` with parentheses growing with the nesting, its argument's terms between."""
    # memoized (by the text, which tells factors apart): the formulas of a class share
    # many inner f(…)
    key = (factor.text, depth)
    pieces = _PIECES.get(key)
    if pieces is None:
        left, right = _PARENS[min(factor.height, len(_PARENS) - 1)]
        inner = _sum_pieces(factor.terms, depth + 1)
        pieces = _PIECES.keep(key, (_Piece(FORMULA_FUNCTION + left, 2), *inner, _Piece(right, 1)))
    return list(pieces)


_PIECES: BoundedMemo[tuple[str, int], tuple[_Piece, ...]] = BoundedMemo(_MEMO_LIMIT)


def _sum_pieces(terms: Sequence[Term], depth: int) -> list[_Piece]:
    """The terms of a sum, each with its sign (the first only when negative), or 0."""
    if not terms:
        return [_Piece("0", 1)]
    out: list[_Piece] = []
    for i, term in enumerate(terms):
        if i > 0:
            out.append(_Piece("-" if term.coeff < 0 else "+", 2, breakable=True, depth=depth))
        elif term.coeff < 0:
            out.append(_Piece("-", 1))
        out += _term_pieces(abs(term.coeff), term.factor, depth)
    return out


def _term_pieces(q: Fraction, factor: Factor, depth: int) -> list[_Piece]:
    """``q·factor`` for a positive rational: ``\\tfrac{3}{2}\\, f(…)``, ``x_{1}``."""
    head = []
    if q != 1:
        number = (
            str(q.numerator)
            if q.denominator == 1
            else rf"\tfrac{{{q.numerator}}}{{{q.denominator}}}"
        )
        head = [_Piece(number + r"\,", len(str(q.numerator)) + 1)]
    if factor.height >= 0:  # f(…)
        return head + _formula_pieces(factor, depth)
    return [*head, _Piece(f"x_{{{factor.text[1:]}}}", 2)]


def _formula_body(formula: Factor) -> str:
    r"""``\hat y &= f\bigl(… \\ &\quad + …\bigr)``: the formula broken where it is too wide."""
    lines = _pack(_formula_pieces(formula))
    return r" \\ ".join(
        (rf"\hat y &= {line}" if i == 0 else rf"&\quad {line}") for i, line in enumerate(lines)
    )


# ---- the whole view


def _latex_view(p: MlpMatrixParams, solution: Solution) -> dict[str, Any]:
    sizes, n = p.sizes(), len(p.x)
    big_l = len(sizes) - 1
    ws = p.layer_weights()
    activation, derivative = _ACTIVATION_TEX[p.activation]
    half = r"\frac{1}{2} " if p.loss == "half_mse" else ""
    forward = []
    for l in range(1, big_l + 1):
        forward += [rf"h_{l} = {_o(l - 1)} W_{l}", rf"O_{l} = f(h_{l})"]
    forward.append(rf"\hat y = O_{big_l}")
    backward = [
        rf"{_delta_formula(p, l, big_l, lhs=True)}, \qquad {_grad(l)} = {_o(l - 1)}^\top \delta_{l}"
        for l in range(big_l, 0, -1)
    ]
    rounding = "all" if p.rounding.mode == "all" else None
    if rounding is None and p.activation in TRANSCENDENTAL:
        rounding = p.rounding.mode
    return {
        "network": Tex(r" \to ".join(str(s) for s in sizes)),
        "layers": big_l,
        "n": n,
        "activation": Tex(activation),
        "derivative": Tex(derivative),
        "loss": Tex(rf"L = {half}\sum_{{i=1}}^{{{n}}} (y_i - \hat y_i)^2"),
        "X": Tex(_given_matrix(p.x)),
        "y": Tex(_given_matrix(p.y)),
        "weights_lines": [
            Tex(r", \qquad ".join(rf"W_{l} = {_given_matrix(ws[l - 1])}" for l in chunk))
            for chunk in _chunks(list(range(1, big_l + 1)), 3)
        ],
        "gamma": Tex(tex_frac(p.learning_rate)),
        "variables": Tex(", ".join(f"x_{{{j + 1}}}" for j in range(sizes[0]))),
        "formula_example": Tex(
            rf"{FORMULA_FUNCTION}\bigl(2\,{FORMULA_FUNCTION}(x_1 - x_2) + \dots\bigr)"
        ),
        "forward_steps": Tex(",\n".join(f"    ${s}$" for s in forward)),
        "backward_lines": Tex(r" \\ ".join(backward)),
        "update_step": Tex(
            rf"W_l \leftarrow W_l - \gamma\,\frac{{\partial L}}{{\partial W_l}}, \quad l = 1, \dots, {big_l}"
        ),
        "fields": _fields_tex(tuple(answer_shapes(p))),
        "rounding": rounding,
        "formula_lines": Tex(_formula_body(yhat(p))),
        **_key_view(p, solution),
    }


def _delta_formula(p: MlpMatrixParams, l: int, big_l: int, *, lhs: bool) -> str:
    two = "" if p.loss == "half_mse" else r"2\,"
    if l == big_l:
        rhs = rf"{two}(O_{l} - y) \odot f'(h_{l})"
        return rf"\delta_{l} = \frac{{\partial L}}{{\partial h_{l}}} = {rhs}" if lhs else rhs
    rhs = rf"(\delta_{l + 1} W_{l + 1}^\top) \odot f'(h_{l})"
    return rf"\delta_{l} = {rhs}" if lhs else rhs


@functools.lru_cache(maxsize=64)
def _fields_tex(names: tuple[str, ...]) -> Tex:
    """What each answer field is, one per line: ``\\texttt{h1}~{is}~$h_1$;`` (the sheet
    puts its word for "is" in place of ``{is}``)."""
    return Tex(";\n".join(rf"{_tt_name(n)}~{{is}}~${_field_symbol(n)}$" for n in names) + ".")


def _tt_name(name: str) -> str:
    """An answer field name in typewriter type (names are ours: letters, digits, _)."""
    return r"\texttt{" + name.replace("_", r"\_") + "}"


def _o(layer: int) -> str:
    return "X" if layer == 0 else f"O_{layer}"


def _grad(layer: int | str) -> str:
    return rf"\frac{{\partial L}}{{\partial W_{layer}}}"


def _field_symbol(name: str) -> str:
    """The course's symbol for an answer field: ``grad_W2`` → ∂L/∂W₂."""
    if name == "yhat_formula":
        return r"\hat y"
    if name == "loss":
        return "L"
    kind = _field_kind(name)
    l = name.removesuffix("_new")[len(kind.removesuffix("_new")) :]
    return {
        "h": f"h_{l}",
        "O": f"O_{l}",
        "delta": rf"\delta_{l}",
        "grad_W": _grad(l),
        "W_new": rf"W_{l}^{{\mathrm{{new}}}}",
    }[kind]


def _key_view(p: MlpMatrixParams, solution: Solution) -> dict[str, Any]:
    """The key, step by step: one ``align*`` body per section, with the intermediate
    products a student writes down (δ·Wᵀ, f′(h), Oᵀ·δ) before each result."""
    step = solution.trace.steps[0]
    ops = FractionOps(p.rounding.rule())
    big_l = len(step.h)
    ws = p.layer_weights()
    half = r"\frac{1}{2} " if p.loss == "half_mse" else ""
    factor = 1 if p.loss == "half_mse" else 2
    fmt = _KeyFormat(decimal=p.rounding.mode == "all" or p.activation in TRANSCENDENTAL)
    # ≈ marks what was rounded: every value in mode all; otherwise σ/tanh of a non-zero h
    # (to the rule's decimals, or to 30 in mode exact: an irrational value)
    everything = p.rounding.mode == "all"
    rounds_f = p.activation in TRANSCENDENTAL

    def fprime(l: int) -> list[list[Fraction]]:
        return [
            [
                engine.activation_derivative(ops, engine.CORRECT, p.activation, h, o)
                for h, o in zip(h_row, o_row, strict=True)
            ]
            for h_row, o_row in zip(step.h[l - 1], step.o[l], strict=True)
        ]

    def formula(tex: str) -> _Piece:
        return _Piece(f"= {tex}", 12, True)

    forward = []
    for l in range(1, big_l + 1):
        forward.append(
            _align_item(
                f"h_{l}",
                [formula(f"{_o(l - 1)} W_{l}"), *fmt.result(step.h[l - 1], rounded=everything)],
            )
        )
        f_rounded = everything or (rounds_f and any(h != 0 for row in step.h[l - 1] for h in row))
        forward.append(
            _align_item(f"O_{l}", [formula(f"f(h_{l})"), *fmt.result(step.o[l], rounded=f_rounded)])
        )
    loss = _align_item(
        "L",
        [
            formula(rf"{half}\sum_{{i}} (y_i - \hat y_i)^2"),
            *fmt.scalar(step.loss, rounded=everything),
        ],
    )
    backward = []
    for l in range(big_l, 0, -1):
        if l == big_l:
            first = [
                [factor * (o - t) for o, t in zip(o_row, y_row, strict=True)]
                for o_row, y_row in zip(step.o[l], step.y, strict=True)
            ]
        else:
            first = engine.matmul(step.delta[l], engine.transpose(ws[l]))
        backward.append(
            _align_item(
                rf"\delta_{l}",
                [
                    formula(_delta_formula(p, l, big_l, lhs=False)),
                    fmt.product((first, r"\odot"), (fprime(l), "")),
                    *fmt.result(step.delta[l - 1], rounded=everything),
                ],
            )
        )
        backward.append(
            _align_item(
                _grad(l),
                [
                    formula(rf"{_o(l - 1)}^\top \delta_{l}"),
                    fmt.product((_transpose(step.o[l - 1]), ""), (step.delta[l - 1], "")),
                    *fmt.result(step.grad_w[l - 1], rounded=everything),
                ],
            )
        )
    update = [
        _align_item(
            rf"W_{l}^{{\mathrm{{new}}}}",
            [
                formula(rf"W_{l} - \gamma\,{_grad(l)}"),
                _Piece(
                    rf"= {_given_matrix(ws[l - 1])} - {tex_frac(p.learning_rate)} {fmt.operand(step.grad_w[l - 1])[0]}",
                    2 * fmt.width(ws[l - 1]) + 6,
                    True,
                ),
                *fmt.result(step.layers_after[l - 1].w, rounded=everything),
            ],
        )
        for l in range(1, big_l + 1)
    ]
    gap = r" \\[1ex] "
    return {
        "key_forward": Tex(gap.join(forward)),
        "key_loss": Tex(loss),
        "key_backward": Tex(gap.join(backward)),
        "key_update": Tex(gap.join(update)),
        "key_cut": any(r"\ldots" in text for text in (*forward, loss, *backward, *update)),
        "key_approx": everything or rounds_f,
    }


# ------------------------------------------------------------ float64 oracle


def _float_activation(name: str) -> Any:
    def sigmoid(t: float) -> float:
        return 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))

    return {
        "sigmoid": sigmoid,
        "tanh": math.tanh,
        "relu": lambda t: max(t, 0.0),
        "identity": lambda t: t,
        "hard_sigmoid": lambda t: min(max(t / 4 + 0.5, 0.0), 1.0),
        "softsign": lambda t: t / (1 + abs(t)),
    }[name]


def _float_derivative(name: str, t: float, o: float) -> float:
    """f′ by the course's hand rules: from the output for σ and tanh, relu′(0) = 0."""
    if name == "sigmoid":
        return o * (1 - o)
    if name == "tanh":
        return 1 - o * o
    if name == "relu":
        return 1.0 if t > 0 else 0.0
    if name == "identity":
        return 1.0
    if name == "hard_sigmoid":
        return 0.25 if -2 < t < 2 else 0.0
    return 1 / (1 + abs(t)) ** 2  # softsign


def formula_text(p: MlpMatrixParams) -> str:
    """ŷ's formula re-derived with sympy matrices (no engine): the key's text must match."""
    import sympy

    f = sympy.Function(FORMULA_FUNCTION)
    a = sympy.Matrix([[sympy.Symbol(v) for v in formula_variables(p)]])
    for w in p.layer_weights():
        a = (
            a
            * sympy.Matrix([[sympy.Rational(x.numerator, x.denominator) for x in row] for row in w])
        ).applyfunc(f)
    return str(a[0, 0])


def float_oracle_mismatches(p: MlpMatrixParams, answers: Any) -> list[str]:
    """Recompute every matrix of the key in float64 with numpy, each from the key's own
    earlier matrices (so a rounded value may differ only by its rounding), sharing no
    code with the engine; list every disagreement."""
    import numpy as np

    if not isinstance(answers, dict):
        return ["key answers are not an object"]
    problems: list[str] = []
    got = {
        name: _read_key_matrix(answers.get(name), name, shape, problems)
        for name, shape in answer_shapes(p).items()
        if name != "yhat_formula"
    }
    if problems:
        return problems  # the recomputation needs every key value
    k = p.rounding.decimals
    all_mode = p.rounding.mode == "all"
    # σ/tanh are kept to 30 decimals in exact mode, to k otherwise
    k_act = engine.EXACT_MODE_DECIMALS if p.rounding.mode == "exact" else k

    def agree(name: str, expected: Any, rounded: Any, decimals: int = k) -> None:
        exp = np.atleast_2d(np.asarray(expected, dtype=float))
        mask = np.broadcast_to(np.asarray(rounded, dtype=bool), exp.shape)
        key = got[name]
        for (i, j), e in np.ndenumerate(exp):
            where = name if name == "loss" else f"{name}/{i}/{j}"
            kv = key[i][j]
            slack = 1e-9 * max(1.0, abs(e))
            if mask[i, j]:
                slack += 0.5 * 10.0**-decimals
                if kv != round_half_away(kv, decimals):
                    problems.append(
                        f"{where}: {fmt_frac(kv)} should be rounded to {decimals} decimals"
                    )
            if not abs(float(kv) - e) <= slack:
                problems.append(
                    f"{where}: key has {float(kv):.10g}, float64 recomputation gives {e:.10g}"
                )

    def f64(name: str) -> Any:
        return np.array([[float(v) for v in row] for row in got[name]])

    act = np.vectorize(_float_activation(p.activation), otypes=[float])
    fprime = np.vectorize(lambda t, o: _float_derivative(p.activation, t, o), otypes=[float])
    x = np.array([[float(v) for v in row] for row in p.x])
    y = np.array([[float(v) for v in row] for row in p.y])
    ws = [np.array([[float(v) for v in row] for row in w]) for w in p.layer_weights()]
    big_l = len(ws)
    outs, hs = [x], [x]  # hs[0] is a placeholder so hs[l] is layer l's h
    for l in range(1, big_l + 1):
        agree(f"h{l}", outs[l - 1] @ ws[l - 1], all_mode)
        hs.append(f64(f"h{l}"))
        transcend = (hs[l] != 0) & (p.activation in TRANSCENDENTAL)
        agree(f"O{l}", act(hs[l]), transcend | all_mode, k_act)
        outs.append(f64(f"O{l}"))
    c = 0.5 if p.loss == "half_mse" else 1.0
    agree("loss", c * np.sum((y - outs[big_l]) ** 2), all_mode)
    delta = 2 * c * (outs[big_l] - y) * fprime(hs[big_l], outs[big_l])
    for l in range(big_l, 0, -1):
        if l < big_l:
            delta = (f64(f"delta{l + 1}") @ ws[l].T) * fprime(hs[l], outs[l])
        agree(f"delta{l}", delta, all_mode)
        agree(f"grad_W{l}", outs[l - 1].T @ f64(f"delta{l}"), all_mode)
    rate = float(p.learning_rate)
    for l in range(1, big_l + 1):
        agree(f"W{l}_new", ws[l - 1] - rate * f64(f"grad_W{l}"), all_mode)
    expected_formula = formula_text(p)
    if answers.get("yhat_formula") != expected_formula:
        problems.append(
            f"yhat_formula: key has {answers.get('yhat_formula')!r}, re-derived {expected_formula!r}"
        )
    return problems


def _read_key_matrix(
    value: Any, name: str, shape: tuple[int, int] | None, problems: list[str]
) -> list[list[Fraction]]:
    """A key field as exact numbers (the loss as a 1×1 matrix); problems are appended."""
    rows = [[value]] if shape is None else value
    want = (1, 1) if shape is None else shape
    if not (
        isinstance(rows, list)
        and len(rows) == want[0]
        and all(isinstance(r, list) and len(r) == want[1] for r in rows)
    ):
        problems.append(f"{name}: key value is not a {want[0]}×{want[1]} matrix")
        return []
    out = []
    for i, row in enumerate(rows):
        out_row = []
        for j, text in enumerate(row):
            try:
                out_row.append(parse_number(text))
            except NumberError:
                where = name if shape is None else f"{name}/{i}/{j}"
                problems.append(f"{where}: key value {text!r} is not a number")
                out_row.append(Fraction(0))
        out.append(out_row)
    return out


EXERCISE = MlpMatrix()
