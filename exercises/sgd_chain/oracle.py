"""The independent check of an ``sgd_chain`` key: the training replayed in float64."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core.engine import EXACT_MODE_DECIMALS
from grader.core.numbers import NumberError, fmt_frac, parse_number, round_half_away
from grader.exercises.sgd_chain.params import SgdChainParams, _params


def check_independently(params: BaseModel, answers: Any) -> list[str]:
    try:
        return float_oracle_mismatches(_params(params), answers)
    except OverflowError:
        return ["a value is beyond the range of float64: the key cannot be recomputed"]


# ------------------------------------------------------------ float64 oracle


def float_oracle_mismatches(p: SgdChainParams, answers: Any) -> list[str]:
    """Recompute every value of the key in float64, from the key's own earlier values,
    with no code shared with the engine; list each value that disagrees.

    Each value is recomputed locally (from the key's previous weights and this step's
    key values), so a rounded value may differ from the float only by the rounding.
    The pre-activation h, which the key does not hold, is computed exactly from the key's
    rational values (and rounded in mode ``all``, as it is recorded there): a float h
    cannot tell on which side of a relu/hard_sigmoid kink it lies.
    """
    mode = p.rounding.mode
    # in exact mode only σ/tanh are rounded, and to EXACT_MODE_DECIMALS, not to `decimals`
    k = EXACT_MODE_DECIMALS if mode == "exact" else p.rounding.decimals
    problems: list[str] = []
    d = p.depth
    w_prev = [[float(v) for v in row] for row in p.initial_matrix()]
    w_prev_q: list[list[Fraction | None]] = [list(row) for row in p.initial_matrix()]

    def sig(t: float) -> float:
        return 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))

    f = {
        "sigmoid": sig,
        "tanh": math.tanh,
        "relu": lambda t: max(t, 0.0),
        "identity": lambda t: t,
        "hard_sigmoid": lambda t: min(max(t / 4 + 0.5, 0.0), 1.0),
        "softsign": lambda t: t / (1 + abs(t)),
    }[p.activation]

    def fprime(t: Any, o: float) -> float:
        return {
            "sigmoid": o * (1 - o),
            "tanh": 1 - o * o,
            "relu": 1.0 if t > 0 else 0.0,
            "identity": 1.0,
            "hard_sigmoid": 0.25 if -2 < t < 2 else 0.0,
            "softsign": 1 / (1 + abs(t)) ** 2,
        }[p.activation]

    def agree(where: str, key_value: Any, expected: float, rounded: bool) -> None:
        try:
            kv = parse_number(key_value)
        except NumberError:
            problems.append(f"{where}: key value {key_value!r} is not a number")
            return
        slack = 1e-9 * max(1.0, abs(expected))
        if rounded:
            slack += 0.5 * 10.0**-k
            if kv != round_half_away(kv, k):
                problems.append(f"{where}: {fmt_frac(kv)} should be rounded to {k} decimals")
        if abs(float(kv) - expected) > slack:
            problems.append(
                f"{where}: key has {float(kv):.10g}, float64 recomputation gives {expected:.10g}"
            )

    steps = answers.get("steps", []) if isinstance(answers, dict) else []
    if len(steps) != len(p.order):
        return [f"key has {len(steps)} steps, expected {len(p.order)}"]
    factor = 2.0 if p.loss == "mse" else 1.0
    all_mode = mode == "all"
    for s, (step, obs) in enumerate(zip(steps, p.order, strict=True)):
        x, y = (float(v) for v in p.data[obs - 1])
        fw = [_as_float(v) for v in step["forward"]]
        fq = [_as_fraction(v) for v in step["forward"]]
        de = [_as_float(v) for v in step["deltas"]]
        gr = [[_as_float(v) for v in row] for row in step["gradient"]]
        where = f"steps/{s}"
        agree(f"{where}/forward/0", step["forward"][0], x, False)
        hs: list[Fraction | float] = []
        for l in range(d):
            wq, bq, oq = w_prev_q[1][l], w_prev_q[0][l], fq[l]
            h: Fraction | float = math.nan
            if wq is not None and bq is not None and oq is not None:
                h = round_half_away(wq * oq + bq, k) if all_mode else wq * oq + bq
            hs.append(h)
            o = f(float(h))
            transcend = p.activation in ("sigmoid", "tanh") and h != 0
            agree(f"{where}/forward/{l + 1}", step["forward"][l + 1], o, transcend or all_mode)
        for l in range(d - 1, -1, -1):
            if l == d - 1:
                expected = factor * (fw[d] - y) * fprime(hs[l], fw[l + 1])
            else:
                expected = de[l + 1] * w_prev[1][l + 1] * fprime(hs[l], fw[l + 1])
            agree(f"{where}/deltas/{l}", step["deltas"][l], expected, all_mode)
        for l in range(d):
            agree(f"{where}/gradient/0/{l}", step["gradient"][0][l], de[l], all_mode)
            agree(f"{where}/gradient/1/{l}", step["gradient"][1][l], de[l] * fw[l], all_mode)
        new_w = [[_as_float(v) for v in row] for row in step["weights"]]
        lr = float(p.learning_rate)
        for r in range(2):
            for l in range(d):
                agree(
                    f"{where}/weights/{r}/{l}",
                    step["weights"][r][l],
                    w_prev[r][l] - lr * gr[r][l],
                    all_mode,
                )
        w_prev = new_w
        w_prev_q = [[_as_fraction(v) for v in row] for row in step["weights"]]
    return problems


def _as_fraction(text: Any) -> Fraction | None:
    try:
        return parse_number(text)
    except NumberError:
        return None


def _as_float(text: Any) -> float:
    try:
        return float(parse_number(text))
    except NumberError:
        return math.nan
