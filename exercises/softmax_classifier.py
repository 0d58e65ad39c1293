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

import functools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from grader.core import engine
from grader.core.activations import TRANSCENDENTAL
from grader.core.engine import (
    CORRECT,
    ActivationName,
    FractionOps,
    Ops,
    Rounding,
    Rules,
    decimal_digits,
)
from grader.core.models import ExactNumber, RoundingSpec, StrictModel
from grader.core.numbers import (
    MAX_DIGITS,
    NumberError,
    fmt_dec,
    fmt_exact_or_dec,
    fmt_frac,
    parse_number,
)
from grader.exercises.base import (
    Computation,
    Exercise,
    MistakeContext,
    MistakeId,
    Solution,
    pointer,
)

_pointer = functools.lru_cache(maxsize=1 << 16, typed=True)(pointer)

# The numbers vary between students; sizes, activation and schedule stay as set.
RANDOMIZED = ("x", "labels", "weights", "biases", "learning_rate")
MAX_ABS_VALUE = 100  # given numbers beyond this are not a hand exercise
MIN_PROBABILITY = Fraction(1, 20)  # nice variants: no class is all but ruled out
MIN_SPREAD = Fraction(1, 10)  # … and the probabilities are not (nearly) all equal
MAX_ANSWER = 50  # nice variants: no answer beyond ±50
MIN_HIDDEN_DELTA = Fraction(1, 100)  # … and every hidden unit learns something

Matrix = list[list[Any]]
Width = Annotated[int, Field(ge=1, le=4)]


class SoftmaxClassifierParams(BaseModel):
    model_config = StrictModel
    x: list[list[ExactNumber]] = Field(min_length=1, max_length=6)
    labels: list[int] = Field(min_length=1, max_length=6)  # 1-based class of each row of x
    classes: int = Field(default=3, ge=2, le=5)
    hidden: list[Width] = Field(default_factory=list, max_length=2)
    activation: ActivationName = "relu"
    # per layer, W_l (inputs × units) and b_l (units); when absent they are drawn per
    # student (init "random") or start at zero (init "zeros")
    weights: list[list[list[ExactNumber]]] | None = None
    biases: list[list[ExactNumber]] | None = None
    init: Literal["random", "zeros"] = "random"
    learning_rate: ExactNumber
    order: list[int] = Field(default_factory=lambda: [1], min_length=1, max_length=6)
    rounding: RoundingSpec = RoundingSpec()

    @model_validator(mode="after")
    def _consistent(self) -> SoftmaxClassifierParams:
        d = len(self.x[0])
        if not 1 <= d <= 4 or any(len(row) != d for row in self.x):
            raise ValueError("x must be a matrix: one row per observation, all of 1 to 4 inputs")
        if len(self.labels) != len(self.x):
            raise ValueError(
                f"labels must give one class per observation: x has {len(self.x)} rows, "
                f"labels has {len(self.labels)}"
            )
        for i, c in enumerate(self.labels):
            if not 1 <= c <= self.classes:
                raise ValueError(f"labels[{i}] = {c} is not a class number 1..{self.classes}")
        for i, k in enumerate(self.order):
            if not 1 <= k <= len(self.x):
                raise ValueError(f"order[{i}] = {k} is not an observation number 1..{len(self.x)}")
        if not 0 < self.learning_rate <= MAX_ABS_VALUE:
            raise ValueError(f"learning_rate must be positive and at most {MAX_ABS_VALUE}")
        sizes = self.sizes()
        if self.weights is not None:
            _check_shapes(
                "weights", self.weights, [(sizes[l], sizes[l + 1]) for l in range(len(sizes) - 1)]
            )
        if self.biases is not None:
            _check_shapes("biases", [[b] for b in self.biases], [(1, s) for s in sizes[1:]])
        given = [v for row in self.x for v in row]
        given += [v for w in self.weights or [] for row in w for v in row]
        given += [v for b in self.biases or [] for v in b]
        if any(abs(v) > MAX_ABS_VALUE for v in given):
            raise ValueError(f"x, weights and biases must lie within ±{MAX_ABS_VALUE}")
        return self

    def sizes(self) -> list[int]:
        """Layer widths [inputs, hidden…, classes]."""
        return [len(self.x[0]), *self.hidden, self.classes]

    def initial(self) -> tuple[list[Matrix], list[list[Fraction]]]:
        """(W_1..W_L, b_1..b_L) before the first step."""
        sizes = self.sizes()
        if (self.weights is None or self.biases is None) and self.init == "random":
            raise ValueError("weights or biases are random: draw a variant (sample) first")
        ws = self.weights or [
            [[Fraction(0)] * sizes[l + 1] for _ in range(sizes[l])] for l in range(len(sizes) - 1)
        ]
        bs = self.biases or [[Fraction(0)] * s for s in sizes[1:]]
        return [[list(r) for r in w] for w in ws], [list(b) for b in bs]


def _check_shapes(
    name: str, given: Sequence[Sequence[Sequence[Any]]], shapes: list[tuple[int, int]]
) -> None:
    if len(given) != len(shapes):
        raise ValueError(
            f"{name} must hold {len(shapes)} layers (the hidden layers, then the output), got {len(given)}"
        )
    for l, (m, (rows, cols)) in enumerate(zip(given, shapes, strict=True)):
        if len(m) != rows or any(len(r) != cols for r in m):
            what = (
                f"a vector of {cols} (one bias per unit)"
                if name == "biases"
                else f"a {rows}×{cols} matrix (inputs × units)"
            )
            raise ValueError(f"{name}[{l}] (layer {l + 1}) must be {what}")


def _params(params: BaseModel | None) -> SoftmaxClassifierParams:
    assert isinstance(params, SoftmaxClassifierParams)
    return params


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
                )
            )
            if l < big_l:
                out.append(
                    Computation(
                        f"o{l} of step {n}",
                        self.ptrs(f"o{l}"),
                        self.ptrs(f"h{l}"),
                        partial(self.output, layer=l),
                    )
                )
        out += [
            Computation(
                f"p of step {n}",
                self.ptrs("probabilities"),
                self.ptrs("logits"),
                self.probabilities,
                ("unnormalized_softmax",),
            ),
            Computation(
                f"L of step {n}",
                self.ptrs("loss"),
                self.ptrs("probabilities"),
                self.loss,
                ("log_base_10", "wrong_class", "wrong_observation"),
            ),
            Computation(
                f"δ of step {n}",
                self.ptrs("delta_out"),
                self.ptrs("probabilities"),
                self.delta_out,
                ("sign_flip", "wrong_class", "wrong_observation"),
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
                )
            )
            out.append(
                Computation(
                    f"∂L/∂b{l} of step {n}",
                    self.ptrs(f"grad_b{l}"),
                    delta,
                    partial(self.bias_grad, layer=l),
                    ("missing_bias_gradient",),
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
                )
            )
            out.append(
                Computation(
                    f"b{l} after step {n}",
                    self.ptrs(f"b{l}"),
                    (*self.ptrs(f"grad_b{l}"), *self.before(f"b{l}")),
                    partial(self.new_biases, layer=l),
                    ("learning_rate", "gradient_ascent", "missing_bias_gradient"),
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

    def solve(self, params: BaseModel, exercise_id: str, *, formulas: bool = True) -> Solution:
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
        classes = fixed.get("classes", 3)
        hidden = list(fixed.get("hidden", []))
        n = len(fixed["x"]) if "x" in fixed else len(fixed["labels"]) if "labels" in fixed else 2
        if "x" in fixed:
            d = len(fixed["x"][0])
        elif "weights" in fixed:
            d = len(fixed["weights"][0])
        else:
            d = 2
        sizes = [d, *hidden, classes]
        x = fixed.get("x") or [[rng.choice(X_VALUES) for _ in range(d)] for _ in range(n)]
        labels = fixed.get("labels") or (
            rng.sample(range(1, classes + 1), n)
            if n <= classes
            else [rng.randint(1, classes) for _ in range(n)]
        )
        values: dict[str, Any] = dict(fixed)
        values.update(
            x=x, labels=labels, learning_rate=fixed.get("learning_rate") or rng.choice(RATES)
        )
        if fixed.get("init", "random") == "random":
            if "weights" not in fixed:
                values["weights"] = [
                    [[rng.choice(W_VALUES) for _ in range(sizes[l + 1])] for _ in range(sizes[l])]
                    for l in range(len(sizes) - 1)
                ]
            if "biases" not in fixed:
                values["biases"] = [[rng.choice(B_VALUES) for _ in range(s)] for s in sizes[1:]]
        return SoftmaxClassifierParams.model_validate(values)

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        p = _params(params)
        # what the instructor fixed stays as given, even when it is degenerate (zero weights
        # give equal probabilities and dead units: their call)
        drawn_weights = p.init == "random" and not ("weights" in fixed and "biases" in fixed)
        if not drawn_weights and not any(name not in fixed for name in ("x", "labels")):
            return True
        for step in solution.answers["steps"] if drawn_weights else ():
            probs = step["probabilities"]
            if min(probs) < MIN_PROBABILITY or max(probs) - min(probs) < MIN_SPREAD:
                return False
            for l in range(1, len(p.hidden) + 1):
                h = step[f"h{l}"]
                if p.activation == "relu" and any(v <= 0 for v in h):
                    return False  # a dead unit learns nothing this step
                if p.activation in TRANSCENDENTAL and any(abs(v) > 3 for v in h):
                    return False  # saturated
                if any(abs(v) < MIN_HIDDEN_DELTA for v in step[f"delta{l}"]):
                    # δ·Wᵀ sums p − onehot(y) (which adds up to 0) when a row of W is
                    # constant: a hidden unit then learns (almost) nothing
                    return False
        if "weights" not in fixed and p.weights is not None and _degenerate(p.weights, p.biases):
            return False
        if "x" not in fixed and (
            len({tuple(r) for r in p.x}) < len(p.x) or any(not any(r) for r in p.x)
        ):
            return False  # a repeated or all-zero observation teaches nothing new
        numbers = [v for v in solution.values.values() if isinstance(v, Fraction)]
        if any(abs(v) > MAX_ANSWER for v in numbers):
            return False
        # σ′ = o(1 − o) of rounded outputs doubles the decimals in every layer and step: as
        # in sgd_chain, only values free of it are held to a short length
        long_anyway = p.rounding.mode == "exact" or (p.hidden and p.activation in TRANSCENDENTAL)
        return bool(long_anyway) or all(decimal_digits(v) <= 14 for v in numbers)

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
        from grader.exercises.softmax_classifier_view import latex_view

        return latex_view(_params(params), solution, language)

    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        try:
            return float_oracle_mismatches(_params(params), answers)
        except (KeyError, IndexError, TypeError) as exc:
            return [f"the key's layout is not this variant's: {exc!r}"]


def _degenerate(weights: list[Matrix], biases: list[list[Fraction]] | None) -> bool:
    """A unit whose incoming weights are all zero ignores its inputs, and two hidden units
    with the same weights and bias stay twins forever: neither is an exercise worth doing."""
    for l, w in enumerate(weights):
        columns = list(zip(*w, strict=True))
        if any(not any(col) for col in columns):
            return True
        if l < len(weights) - 1:
            units = [(col, biases[l][j] if biases else 0) for j, col in enumerate(columns)]
            if len(set(units)) < len(units):
                return True
    return False


X_VALUES = tuple(Fraction(v) for v in (-2, -1, 0, 1, 2))
W_VALUES = tuple(Fraction(v, 2) for v in range(-2, 3))  # −1, −1/2, 0, 1/2, 1
B_VALUES = (Fraction(-1, 2), Fraction(0), Fraction(1, 2))
RATES = (Fraction(1, 10), Fraction(1, 4), Fraction(1, 2), Fraction(1))

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


# ------------------------------------------------------------ float64 oracle


def float_oracle_mismatches(p: SoftmaxClassifierParams, answers: Any) -> list[str]:
    """Recompute every value of the key in float64 with numpy, from the key's own earlier
    values, sharing no code with the engine; list each value that disagrees.

    Each value is recomputed locally (from this step's key values and the key's weights
    before it), so a rounded value may differ from the float only by its rounding.
    """
    import numpy as np

    decimals = 30 if p.rounding.mode == "exact" else p.rounding.decimals
    all_mode = p.rounding.mode == "all"
    problems: list[str] = []
    f, fprime = _float_activation(p.activation)

    def arr(value: Any) -> Any:
        return np.array(_floats(value), dtype=np.float64)

    def agree(where: str, key: Any, expected: Any, rounded: bool) -> None:
        got = arr(key)
        slack = 1e-9 * np.maximum(1.0, np.abs(expected))
        if rounded or all_mode:
            slack = slack + 0.5 * 10.0**-decimals
        bad = ~(np.abs(got - expected) <= slack)  # NaN (an unreadable key value) is bad too
        for index in zip(*np.nonzero(np.atleast_1d(bad)), strict=True):
            at = "/".join(str(i) for i in index)
            problems.append(
                f"{where}{'/' + at if at else ''}: key has {np.atleast_1d(got)[index]:.10g}, "
                f"float64 gives {np.atleast_1d(expected)[index]:.10g}"
            )

    steps = answers.get("steps", []) if isinstance(answers, dict) else []
    if len(steps) != len(p.order):
        return [f"key has {len(steps)} steps, expected {len(p.order)}"]
    ws0, bs0 = p.initial()
    ws, bs = [arr(w) for w in ws0], [arr(b) for b in bs0]
    big_l, rate = len(ws), float(p.learning_rate)
    for s, (step, obs) in enumerate(zip(steps, p.order, strict=True)):
        at = f"steps/{s}"
        x, y = arr(p.x[obs - 1]), p.labels[obs - 1] - 1
        outs = [x] + [arr(step[f"o{l}"]) for l in range(1, big_l)]
        for l in range(1, big_l):
            agree(f"{at}/h{l}", step[f"h{l}"], outs[l - 1] @ ws[l - 1] + bs[l - 1], False)
            h = _exact_values(step[f"h{l}"])
            irrational = p.activation in ("sigmoid", "tanh")
            agree(f"{at}/o{l}", step[f"o{l}"], f(arr(step[f"h{l}"])), irrational and any(h))
        agree(f"{at}/logits", step["logits"], outs[-1] @ ws[-1] + bs[-1], False)
        z = arr(step["logits"])
        e = np.exp(z - z.max())
        agree(f"{at}/probabilities", step["probabilities"], e / e.sum(), True)
        probs = arr(step["probabilities"])
        agree(f"{at}/loss", step["loss"], np.array(-math.log(probs[y])), True)
        agree(f"{at}/delta_out", step["delta_out"], probs - np.eye(p.classes)[y], False)
        deltas = {big_l: arr(step["delta_out"])}
        for l in range(big_l - 1, 0, -1):
            deltas[l] = arr(step[f"delta{l}"])
            slope = fprime(_exact_values(step[f"h{l}"]), arr(step[f"o{l}"]))
            agree(f"{at}/delta{l}", step[f"delta{l}"], (deltas[l + 1] @ ws[l].T) * slope, False)
        for l in range(1, big_l + 1):
            agree(f"{at}/grad_W{l}", step[f"grad_W{l}"], np.outer(outs[l - 1], deltas[l]), False)
            agree(f"{at}/grad_b{l}", step[f"grad_b{l}"], deltas[l], False)
            agree(f"{at}/W{l}", step[f"W{l}"], ws[l - 1] - rate * arr(step[f"grad_W{l}"]), False)
            agree(f"{at}/b{l}", step[f"b{l}"], bs[l - 1] - rate * arr(step[f"grad_b{l}"]), False)
        ws = [arr(step[f"W{l}"]) for l in range(1, big_l + 1)]
        bs = [arr(step[f"b{l}"]) for l in range(1, big_l + 1)]
    return problems


def _float_activation(name: str) -> tuple[Any, Any]:
    """(f, f′) in float64; f′ takes the exact h (a float h cannot tell on which side of a
    relu or hard-sigmoid kink it lies) and the key's o."""
    import numpy as np

    def sign_mask(h: list[Fraction], test: Any) -> Any:
        return np.array([1.0 if test(v) else 0.0 for v in h])

    table = {
        "relu": (lambda t: np.maximum(t, 0.0), lambda h, o: sign_mask(h, lambda v: v > 0)),
        "identity": (lambda t: t, lambda h, o: np.ones(len(h))),
        "sigmoid": (lambda t: 1 / (1 + np.exp(-t)), lambda h, o: o * (1 - o)),
        "tanh": (np.tanh, lambda h, o: 1 - o * o),
        "hard_sigmoid": (
            lambda t: np.clip(t / 4 + 0.5, 0.0, 1.0),
            lambda h, o: 0.25 * sign_mask(h, lambda v: -2 < v < 2),
        ),
        "softsign": (
            lambda t: t / (1 + np.abs(t)),
            lambda h, o: np.array([1 / (1 + abs(float(v))) ** 2 for v in h]),
        ),
    }
    return table[name]


def _exact_values(value: Any) -> list[Fraction]:
    out = []
    for v in value:
        try:
            out.append(parse_number(v))
        except NumberError:
            out.append(Fraction(0))
    return out


def _floats(value: Any) -> Any:
    if isinstance(value, list):
        return [_floats(v) for v in value]
    try:
        return float(parse_number(value))
    except (NumberError, TypeError):
        return math.nan


EXERCISE = SoftmaxClassifier()
