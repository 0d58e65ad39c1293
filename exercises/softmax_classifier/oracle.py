"""The independent check of a ``softmax_classifier`` key: the step replayed in float64."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core.numbers import NumberError, parse_number
from grader.exercises.softmax_classifier.params import SoftmaxClassifierParams, _params


def check_independently(params: BaseModel, answers: Any) -> list[str]:
    try:
        return float_oracle_mismatches(_params(params), answers)
    except (KeyError, IndexError, TypeError) as exc:
        return [f"the key's layout is not this variant's: {exc!r}"]


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
