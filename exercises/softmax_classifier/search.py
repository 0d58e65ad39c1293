"""The variant search of ``softmax_classifier``: drawing a candidate and what makes a variant
fit to hand out."""

from __future__ import annotations

import random
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core.activations import TRANSCENDENTAL
from grader.core.engine import decimal_digits
from grader.exercises.base import Solution
from grader.exercises.softmax_classifier.params import Matrix, SoftmaxClassifierParams, _params

MIN_PROBABILITY = Fraction(1, 20)  # nice variants: no class is all but ruled out
MIN_SPREAD = Fraction(1, 10)  # … and the probabilities are not (nearly) all equal
MAX_ANSWER = 50  # nice variants: no answer beyond ±50
MIN_HIDDEN_DELTA = Fraction(1, 100)  # … and every hidden unit learns something


def sample(rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
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
    values.update(x=x, labels=labels, learning_rate=fixed.get("learning_rate") or rng.choice(RATES))
    if fixed.get("init", "random") == "random":
        if "weights" not in fixed:
            values["weights"] = [
                [[rng.choice(W_VALUES) for _ in range(sizes[l + 1])] for _ in range(sizes[l])]
                for l in range(len(sizes) - 1)
            ]
        if "biases" not in fixed:
            values["biases"] = [[rng.choice(B_VALUES) for _ in range(s)] for s in sizes[1:]]
    return SoftmaxClassifierParams.model_validate(values)


def screen(params: BaseModel, fixed: Mapping[str, Any]) -> bool:
    """Before solving, reject what :func:`is_nice` would reject anyway and can be seen from
    the drawn values alone (nine relu candidates in ten die in step 1's first layer).

    Only rejections is_nice makes too: exact h₁ ≤ 0 stays ≤ 0 when rounded, so it is a dead
    unit there as well.
    """
    p = _params(params)
    drawn_weights = p.init == "random" and not ("weights" in fixed and "biases" in fixed)
    if not drawn_weights and not any(name not in fixed for name in ("x", "labels")):
        return True  # nothing drawn: is_nice accepts whatever the instructor fixed
    if "weights" not in fixed and p.weights is not None and _degenerate(p.weights, p.biases):
        return False
    if "x" not in fixed and _repeated_or_empty_rows(p.x):
        return False
    if drawn_weights and p.hidden and p.activation == "relu":
        weights, biases = p.initial()
        row = p.x[p.order[0] - 1]
        h1 = [
            sum((v * w[j] for v, w in zip(row, weights[0], strict=True)), biases[0][j])
            for j in range(p.hidden[0])
        ]
        if any(v <= 0 for v in h1):
            return False  # a dead unit in step 1 (is_nice's first relu check)
    return True


def is_nice(params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
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
    if "x" not in fixed and _repeated_or_empty_rows(p.x):
        return False
    numbers = [v for v in solution.values.values() if isinstance(v, Fraction)]
    if any(abs(v) > MAX_ANSWER for v in numbers):
        return False
    # σ′ = o(1 − o) of rounded outputs doubles the decimals in every layer and step: as
    # in sgd_chain, only values free of it are held to a short length
    long_anyway = p.rounding.mode == "exact" or (p.hidden and p.activation in TRANSCENDENTAL)
    return bool(long_anyway) or all(decimal_digits(v) <= 14 for v in numbers)


def _repeated_or_empty_rows(x: Matrix) -> bool:
    """A repeated or all-zero observation teaches nothing new."""
    return len({tuple(r) for r in x}) < len(x) or any(not any(r) for r in x)


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
