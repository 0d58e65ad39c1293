"""The independent check of an ``mlp_matrix`` key: the pass replayed in float64, the ŷ
formula re-derived with sympy matrices."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core import engine
from grader.core.activations import TRANSCENDENTAL
from grader.core.numbers import NumberError, fmt_frac, parse_number, round_half_away
from grader.exercises.mlp_matrix.fields import answer_shapes
from grader.exercises.mlp_matrix.params import (
    FORMULA_FUNCTION,
    MlpMatrixParams,
    _params,
    formula_variables,
)


def check_independently(params: BaseModel, answers: Any) -> list[str]:
    return float_oracle_mismatches(_params(params), answers)


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
