"""The variant search of ``mlp_matrix``: drawing a candidate, the screen before solving and
what makes a variant fit to hand out."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core import engine
from grader.core.activations import TRANSCENDENTAL
from grader.exercises.base import REFUSED, Screened, Solution
from grader.exercises.mlp_matrix.fields import _flat, _layers, _ops, _train
from grader.exercises.mlp_matrix.params import Matrix, MlpMatrixParams, _is_matrix, _params


def draw(rng: random.Random, fixed: Mapping[str, Any]) -> dict[str, Any]:
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


def is_nice(params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
    p = _params(params)
    step = solution.trace.steps[0]
    numbers = [v for v in solution.values.values() if isinstance(v, Fraction)]
    return not _unfit(p, fixed, step.h, step.grad_w, numbers)


def screen(params: BaseModel, fixed: Mapping[str, Any]) -> Screened:
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
            return REFUSED
    trace = _train(p, ops)
    step = trace.steps[0]
    if _unfit(p, fixed, step.h, step.grad_w, _answer_numbers(step)):
        return REFUSED
    return Screened(True, trace)  # solve reuses the training


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
