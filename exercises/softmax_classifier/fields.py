"""The answer fields of a ``softmax_classifier`` variant as computations of the engine,
replayed by grading (key, tolerance, carried-forward credit, diagnosis)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any

from grader.core import engine
from grader.core.activations import TRANSCENDENTAL
from grader.core.engine import CORRECT, FractionOps, Ops, Rules, decimal_digits
from grader.core.numbers import MAX_DIGITS
from grader.exercises.base import Computation, MistakeId, label_words, pointer
from grader.exercises.softmax_classifier.params import Matrix, SoftmaxClassifierParams

_pointer = functools.lru_cache(maxsize=1 << 16, typed=True)(pointer)


# ------------------------------------------------------------ answer fields


Shape = tuple[int, int] | int | None


def step_fields(p: SoftmaxClassifierParams) -> dict[str, Shape]:
    """A step's answer fields in the order a student computes them, with their shapes:
    (rows, cols) for a matrix, an int for a vector, None for the scalar loss."""
    return _fields(tuple(p.sizes()))


@functools.lru_cache(maxsize=256)  # asked for every field of every candidate: by sizes
def _fields(s: tuple[int, ...]) -> dict[str, Shape]:
    big_l = len(s) - 1
    fields: dict[str, Shape] = {}
    for l in range(1, big_l):
        fields[f"h{l}"] = s[l]
        fields[f"o{l}"] = s[l]
    fields.update(logits=s[big_l], probabilities=s[big_l], loss=None, delta_out=s[big_l])
    for l in range(big_l - 1, 0, -1):
        fields[f"delta{l}"] = s[l]
    for l in range(1, big_l + 1):
        fields[f"grad_W{l}"] = (s[l - 1], s[l])
        fields[f"grad_b{l}"] = s[l]
    for l in range(1, big_l + 1):
        fields[f"W{l}"] = (s[l - 1], s[l])
        fields[f"b{l}"] = s[l]
    return fields


def _leaf_parts(shape: tuple[int, int] | int | None) -> list[tuple[int, ...]]:
    if shape is None:
        return [()]
    if isinstance(shape, int):
        return [(j,) for j in range(shape)]
    return [(i, j) for i in range(shape[0]) for j in range(shape[1])]


def _layout(shape: tuple[int, int] | int | None, leaf: Any) -> Any:
    if shape is None:
        return leaf(())
    if isinstance(shape, int):
        return [leaf((j,)) for j in range(shape)]
    return [[leaf((i, j)) for j in range(shape[1])] for i in range(shape[0])]


@functools.lru_cache(maxsize=1 << 14)  # the same fields for every student of a build
def _field_ptrs(ex: str, s: int, name: str, shape: Shape) -> tuple[str, ...]:
    return tuple(_pointer("answers", ex, "steps", s, name, *ix) for ix in _leaf_parts(shape))


@dataclass(frozen=True)
class _StepGraph:
    """The answer fields of one SGD step and how each is computed from earlier fields,
    by the engine's own functions on 1-row matrices (so replaying a field under other
    ``Rules`` or over intervals is the engine's behaviour)."""

    p: SoftmaxClassifierParams
    ex: str
    s: int  # 0-based step
    obs: int  # 1-based observation of this step
    w0: tuple[tuple[tuple[Fraction, ...], ...], ...]
    b0: tuple[tuple[Fraction, ...], ...]

    @property
    def layers(self) -> int:
        return len(self.w0)

    def at(self, name: str, *index: int) -> str:
        return _pointer("answers", self.ex, "steps", self.s, name, *index)

    def ptrs(self, name: str) -> tuple[str, ...]:
        return _field_ptrs(self.ex, self.s, name, step_fields(self.p)[name])

    def vec(self, v: Mapping[str, Any], name: str) -> list[Any]:
        return [v[ptr] for ptr in self.ptrs(name)]

    def before(self, name: str) -> tuple[str, ...]:
        """Pointers of a field (W_l, b_l) in the step before (none in step 1: given)."""
        if self.s == 0:
            return ()
        return _StepGraph(self.p, self.ex, self.s - 1, self.obs, self.w0, self.b0).ptrs(name)

    def prev_ptrs(self, layer: int) -> tuple[str, ...]:
        """Pointers of W_layer and b_layer before this step."""
        return (*self.before(f"W{layer}"), *self.before(f"b{layer}"))

    def w(self, v: Mapping[str, Any], ops: Ops, layer: int) -> Matrix:
        if self.s == 0:
            return [[ops.const(x) for x in row] for row in self.w0[layer - 1]]
        rows, cols = len(self.w0[layer - 1]), len(self.w0[layer - 1][0])
        ptr = partial(_pointer, "answers", self.ex, "steps", self.s - 1, f"W{layer}")
        return [[v[ptr(i, j)] for j in range(cols)] for i in range(rows)]

    def b(self, v: Mapping[str, Any], ops: Ops, layer: int) -> list[Any]:
        if self.s == 0:
            return [ops.const(x) for x in self.b0[layer - 1]]
        ptr = partial(_pointer, "answers", self.ex, "steps", self.s - 1, f"b{layer}")
        return [v[ptr(j)] for j in range(len(self.b0[layer - 1]))]

    def observation(self, rules: Rules) -> int:
        """0-based observation of this step (another one under a wrong_observation slip)."""
        return rules.observation if rules.observation is not None else self.obs - 1

    def label(self, rules: Rules) -> int:
        return self.p.labels[self.observation(rules)] - 1

    def o_prev(self, v: Mapping[str, Any], ops: Ops, rules: Rules, layer: int) -> Matrix:
        if layer == 1:
            return [[ops.const(x) for x in self.p.x[self.observation(rules)]]]
        return [self.vec(v, f"o{layer - 1}")]

    def o_prev_ptrs(self, layer: int) -> tuple[str, ...]:
        return () if layer == 1 else self.ptrs(f"o{layer - 1}")

    def out_name(self, kind: str, layer: int) -> str:
        """The field of h (pre-activation) or δ of ``layer``: the output layer's are
        ``logits`` and ``delta_out``."""
        if layer == self.layers:
            return "logits" if kind == "h" else "delta_out"
        return f"{kind}{layer}"

    # ---- compute functions

    def pre_activation(
        self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int
    ) -> list[Any]:
        o_prev = self.o_prev(v, ops, rules, layer)
        w, b = self.w(v, ops, layer), self.b(v, ops, layer)
        return engine.pre_activation(ops, o_prev, w, b, rules)[0]

    def output(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        return engine.activate(ops, self.p.activation, [self.vec(v, f"h{layer}")])[0]

    def probabilities(self, v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        return engine.softmax(ops, rules, [self.vec(v, "logits")])[0]

    def loss(self, v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        return [
            engine.cross_entropy(ops, rules, [self.vec(v, "probabilities")], [self.label(rules)])
        ]

    def delta_out(self, v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        return engine.softmax_delta(
            ops, rules, [self.vec(v, "probabilities")], [self.label(rules)]
        )[0]

    def hidden_delta(
        self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int
    ) -> list[Any]:
        delta = engine.hidden_delta(
            ops,
            rules,
            delta_next=[self.vec(v, self.out_name("delta", layer + 1))],
            w_next=self.w(v, ops, layer + 1),
            h=[self.vec(v, f"h{layer}")],
            o=[self.vec(v, f"o{layer}")],
            activation=self.p.activation,
        )
        return delta[0]

    def weight_grad(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        delta = [self.vec(v, self.out_name("delta", layer))]
        grad = engine.weight_gradient(ops, self.o_prev(v, ops, rules, layer), delta, rules)
        return [g for row in grad for g in row]

    def bias_grad(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        return engine.bias_gradient(ops, [self.vec(v, self.out_name("delta", layer))], rules)

    def new_weights(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        cols = len(self.w0[layer - 1][0])
        flat = self.vec(v, f"grad_W{layer}")
        grad = [flat[i : i + cols] for i in range(0, len(flat), cols)]
        new = engine.update(ops, rules, self.w(v, ops, layer), grad, self.p.learning_rate)
        return [x for row in new for x in row]

    def new_biases(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        grad = self.vec(v, f"grad_b{layer}")
        return engine.bias_update(ops, rules, self.b(v, ops, layer), grad, self.p.learning_rate)

    # ---- the fields, in the order a student computes them

    def computations(self) -> list[Computation]:
        n, big_l = self.s + 1, self.layers
        derivative: tuple[MistakeId, ...] = (
            ("wrong_activation_derivative",)
            if self.p.activation == "identity"
            else ("missing_activation_derivative", "wrong_activation_derivative")
        )
        out: list[Computation] = []
        for l in range(1, big_l + 1):
            name = self.out_name("h", l)
            out.append(
                Computation(
                    f"{'z' if l == big_l else f'h{l}'} of step {n}",
                    self.ptrs(name),
                    (*self.o_prev_ptrs(l), *self.prev_ptrs(l)),
                    partial(self.pre_activation, layer=l),
                    # (engine.product tries a transpose only where its shape fits)
                    ("transposed", "wrong_observation") if l == 1 else ("transposed",),
                    words=label_words("z_of_step", n=n)
                    if l == big_l
                    else label_words("h_of_step", l=l, n=n),
                )
            )
            if l < big_l:
                out.append(
                    Computation(
                        f"o{l} of step {n}",
                        self.ptrs(f"o{l}"),
                        self.ptrs(f"h{l}"),
                        partial(self.output, layer=l),
                        words=label_words("o_of_step", l=l, n=n),
                    )
                )
        out += [
            Computation(
                f"p of step {n}",
                self.ptrs("probabilities"),
                self.ptrs("logits"),
                self.probabilities,
                ("unnormalized_softmax",),
                words=label_words("p_of_step", n=n),
            ),
            Computation(
                f"L of step {n}",
                self.ptrs("loss"),
                self.ptrs("probabilities"),
                self.loss,
                ("log_base_10", "wrong_class", "wrong_observation"),
                words=label_words("loss_of_step", n=n),
            ),
            Computation(
                f"δ of step {n}",
                self.ptrs("delta_out"),
                self.ptrs("probabilities"),
                self.delta_out,
                ("sign_flip", "wrong_class", "wrong_observation"),
                words=label_words("delta_out_of_step", n=n),
            ),
        ]
        for l in range(big_l - 1, 0, -1):
            out.append(
                Computation(
                    f"δ{l} of step {n}",
                    self.ptrs(f"delta{l}"),
                    (
                        *self.ptrs(self.out_name("delta", l + 1)),
                        *self.ptrs(f"h{l}"),
                        *self.ptrs(f"o{l}"),
                        *self.prev_ptrs(l + 1),
                    ),
                    partial(self.hidden_delta, layer=l),
                    (*derivative, "transposed"),
                    words=label_words("delta_of_step", l=l, n=n),
                )
            )
        for l in range(1, big_l + 1):
            delta = self.ptrs(self.out_name("delta", l))
            mistakes: tuple[MistakeId, ...] = ("transposed",)
            if l == 1:
                mistakes += ("wrong_observation",)
            out.append(
                Computation(
                    f"∂L/∂W{l} of step {n}",
                    self.ptrs(f"grad_W{l}"),
                    (*self.o_prev_ptrs(l), *delta),
                    partial(self.weight_grad, layer=l),
                    mistakes,
                    words=label_words("grad_W_of_step", l=l, n=n),
                )
            )
            out.append(
                Computation(
                    f"∂L/∂b{l} of step {n}",
                    self.ptrs(f"grad_b{l}"),
                    delta,
                    partial(self.bias_grad, layer=l),
                    ("missing_bias_gradient",),
                    words=label_words("grad_b_of_step", l=l, n=n),
                )
            )
        for l in range(1, big_l + 1):
            out.append(
                Computation(
                    f"W{l} after step {n}",
                    self.ptrs(f"W{l}"),
                    (*self.ptrs(f"grad_W{l}"), *self.before(f"W{l}")),
                    partial(self.new_weights, layer=l),
                    ("learning_rate", "gradient_ascent"),
                    words=label_words("W_after_step", l=l, n=n),
                )
            )
            out.append(
                Computation(
                    f"b{l} after step {n}",
                    self.ptrs(f"b{l}"),
                    (*self.ptrs(f"grad_b{l}"), *self.before(f"b{l}")),
                    partial(self.new_biases, layer=l),
                    ("learning_rate", "gradient_ascent", "missing_bias_gradient"),
                    words=label_words("b_after_step", l=l, n=n),
                )
            )
        return out


def _computations(p: SoftmaxClassifierParams, ex: str) -> list[Computation]:
    ws, bs = p.initial()
    w0 = tuple(tuple(tuple(r) for r in w) for w in ws)
    b0 = tuple(tuple(b) for b in bs)
    return [
        c for s, obs in enumerate(p.order) for c in _StepGraph(p, ex, s, obs, w0, b0).computations()
    ]


def _ops(p: SoftmaxClassifierParams) -> FractionOps:
    return FractionOps(p.rounding.rule())


_MAX_BITS = int((MAX_DIGITS - 1) / 0.30103)  # below it, no value can pass MAX_DIGITS


def _key_values(p: SoftmaxClassifierParams, computations: list[Computation]) -> dict[str, Any]:
    """The key: every computation run in order on the key's own earlier values (raises
    NumberGrowthError when a value outgrows a hand exercise)."""
    ops = _ops(p)
    values: dict[str, Any] = {}
    for comp in computations:
        outputs = comp.compute({ptr: values[ptr] for ptr in comp.inputs}, ops, CORRECT)
        for ptr, value in zip(comp.outputs, outputs, strict=True):
            values[ptr] = value
        bits = max(max(abs(v.numerator).bit_length(), v.denominator.bit_length()) for v in outputs)
        digits = max(decimal_digits(v) for v in outputs) if bits > _MAX_BITS else 0
        if digits > MAX_DIGITS:
            raise engine.NumberGrowthError(int(comp.label.rsplit(" ", 1)[-1]), digits, MAX_DIGITS)
    return values


def _rounded_leaves(
    p: SoftmaxClassifierParams, ex: str, values: Mapping[str, Fraction]
) -> frozenset[str]:
    """Leaves whose key value was rounded: all of them in mode ``all``; else the
    probabilities, the loss and σ/tanh hidden outputs, unless exact by chance."""
    if p.rounding.mode == "all":
        return frozenset(values)
    rounded = set()
    logits: dict[str, set[Fraction]] = {}  # per step
    for ptr, value in values.items():
        parts = ptr.split("/")
        if parts[5] == "logits":
            logits.setdefault(parts[4], set()).add(value)
    for ptr, value in values.items():
        parts = ptr.split("/")
        name, step = parts[5], parts[4]
        if name == "probabilities":
            if len(logits[step]) > 1 or value != Fraction(1, p.classes):
                rounded.add(ptr)
        elif name == "loss" and value != 0:
            rounded.add(ptr)
        elif name.startswith("o") and p.activation in TRANSCENDENTAL:
            h = values[ptr.replace(f"/{name}/", f"/h{name[1:]}/")]
            if h != 0:
                rounded.add(ptr)
    return frozenset(rounded)
