"""Exact backpropagation on small fully connected networks.

The engine is written once, generically: every function takes an :class:`Ops`
(how to evaluate activations and how to round what is recorded) and a
:class:`Rules` (the conventions of the computation).  Numbers are anything with
``+ - * /`` against ``Fraction`` — Fractions for keys, intervals of Fractions for
tolerance.  A student's typical mistake is a :class:`Rules` with one convention
changed, so grading replays the *same* code to carry errors forward and to
diagnose them.

Conventions (observations are rows, as in the course):
``H_l = O_{l-1}·W_l + b_l``, ``O_l = f_l(H_l)``, ``O_0 = X``;
loss ``Σ_obs Σ_out c·(y − ŷ)²`` with c = 1 (``mse``) or ½ (``half_mse``), divided by
the batch size when ``reduction == "mean"``; or, for a softmax output,
``P = softmax(H_L)`` row by row with cross-entropy ``−Σ_obs ln p_y`` and ``δ_L = P − onehot(y)``;
``δ_L = ∂L/∂H_L``, ``δ_l = (δ_{l+1}·W_{l+1}ᵀ) ⊙ f′(H_l)``, ``∂L/∂W_l = O_{l-1}ᵀ·δ_l``,
``∂L/∂b_l = Σ_rows δ_l``, and the update ``W ← W − γ·∂L/∂W``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal, Protocol, TypeVar

from grader.core import transcendental
from grader.core.activations import REGISTRY, activation
from grader.core.numbers import round_half_away

# The registry's names (grader.core.activations), as the assignment file's models type them.
ActivationName = Literal["sigmoid", "tanh", "relu", "identity", "hard_sigmoid", "softsign"]
ACTIVATIONS: tuple[str, ...] = tuple(REGISTRY)
LossName = Literal["mse", "half_mse"]
RoundingMode = Literal["exact", "transcendental", "all"]

# In ``exact`` mode σ and tanh (irrational) are kept to this many decimals: as exact as a
# Fraction can be while staying finite.
EXACT_MODE_DECIMALS = 30

Num = Any  # Fraction, or any type with the same arithmetic (see grader.core.intervals)
Matrix = list[list[Any]]
T = TypeVar("T")


@dataclass(frozen=True)
class Rounding:
    """How non-rational and recorded values are rounded (half away from zero)."""

    mode: RoundingMode = "transcendental"
    decimals: int = 4

    @property
    def transcendental_decimals(self) -> int:
        return EXACT_MODE_DECIMALS if self.mode == "exact" else self.decimals


TransposeKind = Literal["left", "right", "both", "swapped", "result"]
TRANSPOSE_KINDS: tuple[TransposeKind, ...] = ("left", "right", "both", "swapped", "result")


@dataclass(frozen=True)
class Rules:
    """The conventions of one computation.  ``Rules()`` is the correct method;
    each non-default value is one typical mistake (see ``grader.grade.mistake_catalogue``)."""

    delta_sign: int = 1  # -1: δ computed with (y − ŷ) instead of (ŷ − y)
    factor_2_error: bool = False  # the 2 of d/dŷ (y−ŷ)² dropped (mse) or added (half_mse)
    derivative: Literal["true", "one", "value"] = "true"  # f′ omitted, or f′ taken as f
    update_sign: int = -1  # +1: gradient ascent
    learning_rate: Fraction | None = None  # a different rate than the given one
    observation: int | None = None  # 0-based observation used instead of the scheduled one
    # every matrix product A·B (as the correct method writes it, see :func:`product`) done
    # with one transpose wrong: Aᵀ·B ("left"), A·Bᵀ ("right"), Aᵀ·Bᵀ ("both"), B·A
    # ("swapped") or (A·B)ᵀ ("result"), wherever that has the right shape
    transpose: TransposeKind | None = None
    omit_term: int | None = None  # chain rule: the i-th path (term of a sum) left out
    normalize: bool = True  # False: exp(z) taken as the probabilities (softmax unnormalized)
    target_class: int | None = None  # 0-based class whose one-hot is used instead of y's
    log_name: str = "ln"  # "log10": the cross-entropy taken with the decimal logarithm
    bias_gradient: bool = True  # False: the biases' gradient left out (taken as 0)


CORRECT = Rules()


class NumberGrowthError(ArithmeticError):
    """Exact values grew past a hand-exercise size (see ``train(max_digits=...)``)."""

    def __init__(self, step: int, digits: int, limit: int) -> None:
        super().__init__(
            f"exact values reach about {digits} digits in step {step} (the limit is {limit}); "
            "use rounding mode 'all' or 'transcendental', fewer steps or smaller numbers"
        )
        self.step, self.digits, self.limit = step, digits, limit


def decimal_digits(x: Fraction) -> int:
    """Digits of the larger of numerator and denominator, from the bit length: cheap, and
    safe for integers far beyond Python's 4300-digit str() limit."""
    return _digits_of(max(abs(x.numerator).bit_length(), x.denominator.bit_length()))


def _max_decimal_digits(values: Sequence[Fraction]) -> int:
    """``max(decimal_digits(v) for v in values)``: the digits grow with the bit length, so
    the largest bit length gives them (one conversion instead of one per value)."""
    return _digits_of(
        max(max(abs(v.numerator).bit_length(), v.denominator.bit_length()) for v in values)
    )


def _digits_of(bits: int) -> int:
    return int(bits * 0.30103) + 1


class Ops(Protocol):
    """How to evaluate what is not plain arithmetic, for one number type."""

    def activate(self, name: str, h: Num) -> Num: ...

    def derivative(self, name: str, h: Num, o: Num) -> Num: ...

    def record(self, x: Num) -> Num: ...

    def const(self, q: Fraction | int) -> Num: ...

    def softmax(self, z: Sequence[Num]) -> list[Num]: ...

    def transcendental(self, name: str, x: Num) -> Num: ...


@dataclass(frozen=True)
class FractionOps:
    """Exact arithmetic with the declared rounding policy."""

    rounding: Rounding = field(default_factory=Rounding)

    def activate(self, name: str, h: Fraction) -> Fraction:
        exact = activation(name).exact
        if exact is None:  # σ, tanh: irrational, rounded as instructed
            return transcendental.rounded(name, h, self.rounding.transcendental_decimals)
        return self.record(exact(h))

    def derivative(self, name: str, h: Fraction, o: Fraction) -> Fraction:
        return activation(name).derivative(h, o)

    def record(self, x: Fraction) -> Fraction:
        if self.rounding.mode == "all":
            return round_half_away(x, self.rounding.decimals)
        return x

    def const(self, q: Fraction | int) -> Fraction:
        return q if type(q) is Fraction else Fraction(q)  # immutable: no copy needed

    def transcendental(self, name: str, x: Fraction) -> Fraction:
        """exp, ln or log₁₀ (see grader.core.transcendental), rounded as σ is."""
        return transcendental.rounded(name, x, self.rounding.transcendental_decimals)

    def softmax(self, z: Sequence[Fraction]) -> list[Fraction]:
        """Each pᵢ from the exact logits, rounded as σ is (Σp may miss 1 in the last digit)."""
        k = self.rounding.transcendental_decimals
        return [
            transcendental.softmax_rounded(transcendental.softmax_differences(z, i), k)
            for i in range(len(z))
        ]


def activation_derivative(ops: Ops, rules: Rules, name: str, h: Num, o: Num) -> Num:
    """f′ under ``rules``: the true derivative, 1 (forgotten), or f itself (σ′ taken as σ)."""
    if rules.derivative == "one":
        return ops.const(1)
    if rules.derivative == "value":
        return o
    return ops.derivative(name, h, o)


def loss_factor(loss: str, rules: Rules) -> Fraction:
    """The constant of d/dŷ of the per-observation loss: 2 for (y−ŷ)², 1 for ½(y−ŷ)²."""
    factor = Fraction(2) if loss == "mse" else Fraction(1)
    if rules.factor_2_error:
        factor = Fraction(1) if loss == "mse" else Fraction(2)
    return factor


# ------------------------------------------------------------ matrix helpers


def matmul(a: Matrix, b: Matrix) -> Matrix:
    if _fractions_only(a) and _fractions_only(b):
        return _matmul_exact(a, b)
    return [[_dot(row, [b[k][j] for k in range(len(b))]) for j in range(len(b[0]))] for row in a]


def _fractions_only(a: Matrix) -> bool:
    # one set of the entries' types: cheaper than a generator per row (asked per product)
    return all(a) and {type(x) for row in a for x in row} == _FRACTION_TYPE


_FRACTION_TYPE = frozenset({Fraction})


def _matmul_exact(a: Matrix, b: Matrix) -> Matrix:
    """``matmul`` of Fractions in integer arithmetic: each entry's sum of products is
    accumulated as one numerator over one denominator and reduced once (Fraction's own
    operators reduce after every product and sum; the variant search multiplies
    thousands of small matrices).  A Fraction's value has one normalized form, so the
    result is the same as the generic path's."""
    cols = [[row[j] for row in b] for j in range(len(b[0]))]
    out = []
    for row in a:
        terms = [(x.numerator, x.denominator) for x in row]
        out_row = []
        for col in cols:
            num, den = 0, 1
            for (xn, xd), y in zip(terms, col, strict=True):
                pn, pd = xn * y.numerator, xd * y.denominator
                num, den = num * pd + pn * den, den * pd
            out_row.append(Fraction(num, den))
        out.append(out_row)
    return out


def _dot(u: Sequence[Num], v: Sequence[Num]) -> Num:
    total: Num = u[0] * v[0]
    for x, y in zip(u[1:], v[1:], strict=True):
        total = total + x * y
    return total


def transpose(a: Matrix) -> Matrix:
    return [list(col) for col in zip(*a, strict=True)]


def product(a: Matrix, b: Matrix, rules: Rules = CORRECT) -> Matrix:
    """a·b, or the same product with the transpose ``rules.transpose`` gets wrong.

    ``a`` and ``b`` are the factors as the correct method writes them (Oᵀ, not O), so
    "left" turns Oᵀ·δ into O·δ and "right" turns δ·Wᵀ into δ·W.  A mistake whose result
    would not have the product's shape cannot have been made: the product is then the
    correct one (for a diagnosis, a variation that changes nothing).
    """
    kind = rules.transpose
    if kind is not None:
        rows, cols = len(a), len(b[0])
        if kind == "left":
            a = transpose(a)
        elif kind == "right":
            b = transpose(b)
        elif kind == "both":
            a, b = transpose(a), transpose(b)
        elif kind == "swapped":
            a, b = b, a
        # (A·B)ᵀ has A·B's shape only when that is square
        fits = rows == cols if kind == "result" else (len(a), len(b[0])) == (rows, cols)
        if len(a[0]) == len(b) and fits:
            out = matmul(a, b)
            return transpose(out) if kind == "result" else out
        a, b = _original(a, b, kind)
    return matmul(a, b)


def _original(a: Matrix, b: Matrix, kind: TransposeKind) -> tuple[Matrix, Matrix]:
    """Undo what :func:`product` did to the factors for ``kind``."""
    if kind == "left":
        return transpose(a), b
    if kind == "right":
        return a, transpose(b)
    if kind == "both":
        return transpose(a), transpose(b)
    if kind == "swapped":
        return b, a
    return a, b


def _map(a: Matrix, f: Any) -> Matrix:
    return [[f(x) for x in row] for row in a]


# ------------------------------------------------------------ one layer at a time
# These are the computations answer fields are made of: the batch engine below and
# every exercise's field graph call the same functions.


def pre_activation(
    ops: Ops, o_prev: Matrix, w: Matrix, b: Sequence[Num] | None, rules: Rules = CORRECT
) -> Matrix:
    """H = O_prev·W (+ b broadcast over rows)."""
    h = product(o_prev, w, rules)
    if b is not None:
        h = [[x + bj for x, bj in zip(row, b, strict=True)] for row in h]
    return _map(h, ops.record)


def activate(ops: Ops, name: str, h: Matrix) -> Matrix:
    return _map(h, lambda x: ops.activate(name, x))


def output_delta(
    ops: Ops,
    rules: Rules,
    *,
    o_out: Matrix,
    y: Matrix,
    h_out: Matrix,
    activation: str,
    loss: str,
    batch_divisor: int = 1,
) -> Matrix:
    """δ_L = ∂L/∂H_L = c·(ŷ − y)·f′(H_L) / n."""
    c = loss_factor(loss, rules) * rules.delta_sign / batch_divisor
    return [
        [
            ops.record(c * (o - t) * activation_derivative(ops, rules, activation, h, o))
            for o, t, h in zip(o_row, y_row, h_row, strict=True)
        ]
        for o_row, y_row, h_row in zip(o_out, y, h_out, strict=True)
    ]


def hidden_delta(
    ops: Ops,
    rules: Rules,
    *,
    delta_next: Matrix,
    w_next: Matrix,
    h: Matrix,
    o: Matrix,
    activation: str,
) -> Matrix:
    """δ_l = (δ_{l+1}·W_{l+1}ᵀ) ⊙ f′(H_l)."""
    back = product(delta_next, transpose(w_next), rules)
    return [
        [
            ops.record(g * activation_derivative(ops, rules, activation, hh, oo))
            for g, hh, oo in zip(g_row, h_row, o_row, strict=True)
        ]
        for g_row, h_row, o_row in zip(back, h, o, strict=True)
    ]


def weight_gradient(ops: Ops, o_prev: Matrix, delta: Matrix, rules: Rules = CORRECT) -> Matrix:
    """∂L/∂W = O_prevᵀ·δ."""
    return _map(product(transpose(o_prev), delta, rules), ops.record)


def bias_gradient(ops: Ops, delta: Matrix, rules: Rules = CORRECT) -> list[Num]:
    """∂L/∂b = Σ over observations of δ (0 under ``rules.bias_gradient = False``)."""
    if not rules.bias_gradient:
        return [ops.const(0) for _ in delta[0]]
    sums = []
    for j in range(len(delta[0])):
        total: Num = delta[0][j]
        for row in delta[1:]:
            total = total + row[j]
        sums.append(ops.record(total))
    return sums


def update(ops: Ops, rules: Rules, w: Matrix, grad: Matrix, learning_rate: Fraction) -> Matrix:
    """W ← W − γ·∂L/∂W (or whatever ``rules`` say a student did instead)."""
    rate = rules.learning_rate if rules.learning_rate is not None else learning_rate
    step = rules.update_sign * rate  # x + sign·rate·g multiplies (sign·rate) first: once here
    return [
        [ops.record(x + step * g) for x, g in zip(w_row, g_row, strict=True)]
        for w_row, g_row in zip(w, grad, strict=True)
    ]


def softmax(ops: Ops, rules: Rules, z: Matrix) -> Matrix:
    """P = softmax(Z) row by row (each row the logits of one observation); exp(Z) when
    ``rules.normalize`` is off."""
    if not rules.normalize:
        return [[ops.transcendental("exp", x) for x in row] for row in z]
    return [ops.softmax(row) for row in z]


def _target(rules: Rules, label: int) -> int:
    return rules.target_class if rules.target_class is not None else label


def cross_entropy(ops: Ops, rules: Rules, p: Matrix, labels: Sequence[int]) -> Num:
    """L = −Σ_obs ln p_y (0-based labels), from the probabilities as recorded."""
    total: Num = ops.const(0)
    for row, label in zip(p, labels, strict=True):
        total = total - ops.transcendental(rules.log_name, row[_target(rules, label)])
    return ops.record(total)


def softmax_delta(ops: Ops, rules: Rules, p: Matrix, labels: Sequence[int]) -> Matrix:
    """δ_L = ∂L/∂Z = P − onehot(y) for softmax with cross-entropy (0-based labels)."""
    return [
        [
            ops.record(rules.delta_sign * (pj - (1 if j == _target(rules, label) else 0)))
            for j, pj in enumerate(row)
        ]
        for row, label in zip(p, labels, strict=True)
    ]


def bias_update(
    ops: Ops, rules: Rules, b: Sequence[Num], grad: Sequence[Num], learning_rate: Fraction
) -> list[Num]:
    """b ← b − γ·∂L/∂b; b kept as it was when ``rules.bias_gradient`` is off."""
    if not rules.bias_gradient:
        grad = [ops.const(0) for _ in grad]
    return update(ops, rules, [list(b)], [list(grad)], learning_rate)[0]


def loss_value(ops: Ops, loss: str, o_out: Matrix, y: Matrix, batch_divisor: int = 1) -> Num:
    c = Fraction(1) if loss == "mse" else Fraction(1, 2)
    total: Num = ops.const(0)
    for o_row, y_row in zip(o_out, y, strict=True):
        for o, t in zip(o_row, y_row, strict=True):
            total = total + c * (t - o) * (t - o)
    return ops.record(total / batch_divisor)


# ------------------------------------------------------------ whole network


@dataclass(frozen=True)
class Layer:
    """Weights ``w`` (inputs × units), optional biases ``b`` (units), an activation."""

    w: Matrix
    b: list[Num] | None
    activation: str


@dataclass(frozen=True)
class StepTrace:
    """Every value of one (mini-)batch step.  Lists are indexed by layer, 0-based:
    ``o[0]`` is the input X, ``h[l]``/``o[l+1]``/``delta[l]`` belong to layer l+1."""

    observations: tuple[int, ...]
    x: Matrix
    y: Matrix
    h: list[Matrix]
    o: list[Matrix]
    loss: Num
    delta: list[Matrix]
    grad_w: list[Matrix]
    grad_b: list[list[Num] | None]
    layers_before: tuple[Layer, ...]
    layers_after: tuple[Layer, ...]


@dataclass(frozen=True)
class Trace:
    steps: tuple[StepTrace, ...]

    @property
    def final_layers(self) -> tuple[Layer, ...]:
        return self.steps[-1].layers_after


def forward(ops: Ops, layers: Sequence[Layer], x: Matrix) -> tuple[list[Matrix], list[Matrix]]:
    """(H per layer, O per layer with O[0] = X)."""
    hs: list[Matrix] = []
    os: list[Matrix] = [x]
    for layer in layers:
        h = pre_activation(ops, os[-1], layer.w, layer.b)
        hs.append(h)
        os.append(activate(ops, layer.activation, h))
    return hs, os


def backward(
    ops: Ops,
    rules: Rules,
    layers: Sequence[Layer],
    hs: list[Matrix],
    os: list[Matrix],
    y: Matrix,
    loss: str,
    batch_divisor: int,
) -> list[Matrix]:
    """δ per layer, from the output back."""
    n = len(layers)
    deltas: list[Matrix] = [[]] * n
    deltas[n - 1] = output_delta(
        ops,
        rules,
        o_out=os[n],
        y=y,
        h_out=hs[n - 1],
        activation=layers[n - 1].activation,
        loss=loss,
        batch_divisor=batch_divisor,
    )
    for i in range(n - 2, -1, -1):
        deltas[i] = hidden_delta(
            ops,
            rules,
            delta_next=deltas[i + 1],
            w_next=layers[i + 1].w,
            h=hs[i],
            o=os[i + 1],
            activation=layers[i].activation,
        )
    return deltas


def train_step(
    ops: Ops,
    rules: Rules,
    layers: Sequence[Layer],
    x: Matrix,
    y: Matrix,
    *,
    loss: str,
    reduction: Literal["sum", "mean"],
    learning_rate: Fraction,
    observations: tuple[int, ...] = (),
) -> StepTrace:
    """One forward pass, backward pass and update on the batch (x, y)."""
    divisor = len(x) if reduction == "mean" else 1
    hs, os = forward(ops, layers, x)
    deltas = backward(ops, rules, layers, hs, os, y, loss, divisor)
    grad_w = [weight_gradient(ops, os[i], deltas[i], rules) for i in range(len(layers))]
    grad_b = [
        bias_gradient(ops, deltas[i]) if layer.b is not None else None
        for i, layer in enumerate(layers)
    ]
    after = []
    for layer, gw, gb in zip(layers, grad_w, grad_b, strict=True):
        new_w = update(ops, rules, layer.w, gw, learning_rate)
        new_b = (
            update(ops, rules, [layer.b], [gb], learning_rate)[0]
            if layer.b is not None and gb is not None
            else None
        )
        after.append(Layer(new_w, new_b, layer.activation))  # (dataclasses.replace: slower)
    return StepTrace(
        observations=observations,
        x=x,
        y=y,
        h=hs,
        o=os,
        loss=loss_value(ops, loss, os[-1], y, divisor),
        delta=deltas,
        grad_w=grad_w,
        grad_b=grad_b,
        layers_before=tuple(layers),
        layers_after=tuple(after),
    )


def train(
    ops: Ops,
    layers: Sequence[Layer],
    inputs: Matrix,
    targets: Matrix,
    schedule: Sequence[Sequence[int]],
    *,
    learning_rate: Fraction,
    loss: str = "mse",
    reduction: Literal["sum", "mean"] = "sum",
    rules: Rules = CORRECT,
    max_digits: int | None = None,
) -> Trace:
    """Run one step per entry of ``schedule`` (0-based observation indices per step):
    ``[[1], [0]]`` is SGD on observation 2 then 1; ``[[0, 1]] * k`` is k steps of full-batch GD.

    With ``max_digits``, stop with :class:`NumberGrowthError` as soon as a recorded value
    has more digits: exact arithmetic can grow without bound, and a key nobody can read
    (or that takes hours) helps no one."""
    steps = []
    current = tuple(layers)
    for batch in schedule:
        used = tuple(rules.observation if rules.observation is not None else i for i in batch)
        step = train_step(
            ops,
            rules,
            current,
            [list(inputs[i]) for i in used],
            [list(targets[i]) for i in used],
            loss=loss,
            reduction=reduction,
            learning_rate=learning_rate,
            observations=used,
        )
        steps.append(step)
        current = step.layers_after
        if max_digits is not None:
            digits = _max_decimal_digits(_step_values(step))
            if digits > max_digits:
                raise NumberGrowthError(len(steps), digits, max_digits)
    return Trace(tuple(steps))


def _step_values(step: StepTrace) -> list[Fraction]:
    values: list[Any] = [step.loss]
    for matrices in (step.h, step.o, step.delta, step.grad_w):
        values += [v for m in matrices for row in m for v in row]
    values += [v for g in step.grad_b if g is not None for v in g]
    for layer in step.layers_after:
        values += [v for row in layer.w for v in row] + list(layer.b or [])
    return [v for v in values if isinstance(v, Fraction)]
