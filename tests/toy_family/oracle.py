"""The independent check of a ``toy_neuron`` key: the step recomputed in float64, sharing no
code with the engine."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from tests.toy_family.params import ToyParams


def float_oracle_mismatches(p: ToyParams, answers: Any) -> list[str]:
    x, y, w, b, rate = (float(v) for v in (p.x, p.y, p.w, p.b, p.learning_rate))
    yhat = w * x + b
    delta = yhat - y
    expect = {"yhat": yhat, "delta": delta, "grad_w": delta * x, "grad_b": delta,
              "w_new": w - rate * delta * x, "b_new": b - rate * delta}  # fmt: skip
    return [
        f"{name}: key {answers[name]}, float64 {value}"
        for name, value in expect.items()
        if abs(float(Fraction(answers[name])) - value) > 1e-9
    ]
