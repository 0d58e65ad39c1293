"""The answer fields of an ``mlp_matrix`` variant as computations of the engine (the ŷ
formula, the forward and backward pass, the step), replayed by grading (key, tolerance,
carried-forward credit, diagnosis)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any

from grader.core import engine
from grader.core.activations import TRANSCENDENTAL
from grader.core.engine import FractionOps, Layer, Ops, Rules
from grader.core.numbers import MAX_DIGITS
from grader.exercises.base import Computation, MistakeId, label_words, pointer
from grader.exercises.mlp_matrix.formula_text import Factor, yhat_formula
from grader.exercises.mlp_matrix.params import (
    FORMULA_FUNCTION,
    Matrix,
    MlpMatrixParams,
    formula_variables,
)

# Answer pointers are built for every field of every candidate variant: memoized (the
# same few hundred strings across a build).
_pointer = functools.lru_cache(maxsize=1 << 16, typed=True)(pointer)


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
                words=label_words("yhat_formula"),
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
                    words=label_words("h", l=l, prev=prev),
                )
            )
            out.append(
                Computation(
                    f"O{l} = f(h{l})",
                    self.ptrs("O", l),
                    self.ptrs("h", l),
                    partial(self.output, layer=l),
                    words=label_words("O", l=l),
                )
            )
        out.append(
            Computation(
                "loss L",
                (self.at("loss"),),
                self.ptrs("O", big_l),
                self.loss,
                words=label_words("loss"),
            )
        )
        for l in range(big_l, 0, -1):
            if l == big_l:
                out.append(
                    Computation(
                        f"δ{l} = ∂L/∂h{l}",
                        self.ptrs("delta", l),
                        (*self.ptrs("O", l), *self.ptrs("h", l)),
                        self.output_delta,
                        ("sign_flip", "missing_factor_2", *self.derivative_mistakes()),
                        words=label_words("delta_out", l=l),
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
                        words=label_words("delta_hidden", l=l, next=l + 1),
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
                    words=label_words("grad_W", l=l, prev=prev),
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
                    words=label_words("W_new", l=l),
                )
            )
        return out


def yhat(p: MlpMatrixParams) -> Factor:
    """The ŷ formula as sheets and keys print it (no sympy: see grader.exercises.mlp_matrix.formula_text)."""
    return yhat_formula(formula_variables(p), p.layer_weights(), FORMULA_FUNCTION)


def _graph(p: MlpMatrixParams, ex: str) -> _Graph:
    weights = tuple(tuple(tuple(row) for row in w) for w in p.layer_weights())
    return _Graph(p, ex, weights, answer_shapes(p))


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


def _field_kind(name: str) -> str:
    """``grad_W3`` → ``grad_W``, ``W3_new`` → ``W_new`` (the inverse of :func:`field_name`)."""
    return "W_new" if name.endswith("_new") else name.rstrip("0123456789")
