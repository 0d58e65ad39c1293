"""mlp_matrix: hand-computed keys, float64 and sympy oracles written here (never the
code's own earlier output), the answer-field graph, the independent check, parameter
validation, variants, formats and the LaTeX partials."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import sympy
from pydantic import TypeAdapter, ValidationError

from grader.core.engine import CORRECT, FractionOps, Rounding, Rules
from grader.core.models import RoundingSpec
from grader.course.keys import exact_text, map_leaves
from grader.course.variants import student_rng
from grader.exercises.mlp_matrix import EXERCISE
from grader.exercises.mlp_matrix.params import RANDOMIZED, MlpMatrixParams
from grader.make.rendering import render, words
from tests.helpers import assert_partials_compile

EX = "mlp"
ACTIVATIONS = ["relu", "identity", "sigmoid", "tanh", "hard_sigmoid", "softsign"]
MODES = ["exact", "transcendental", "all"]
HIDDEN = [[2, 2], [3], [1, 3, 2], [2, 3]]

# ------------------------------------------------------------ hand-computed instances

# relu, L = ½·Σ(y − ŷ)², γ = 1/2, worked by hand:
#   h1 = X·W1 = [[1+2, −1+4], [2−1, −2−2]] = [[3, 3], [1, −4]]     O1 = [[3, 3], [1, 0]]
#   h2 = O1·W2 = [[3−3, 0+3], [1−0, 0+0]] = [[0, 3], [1, 0]]        O2 = [[0, 3], [1, 0]]
#   h3 = O2·W3 = [[0+3], [2+0]] = [[3], [2]]                         O3 = [[3], [2]]
#   L = ½((2−3)² + (1−2)²) = 1
#   δ3 = (O3 − y) ⊙ relu′(h3) = [[1], [1]]               ∂L/∂W3 = O2ᵀδ3 = [[0+1], [3+0]]
#   δ3·W3ᵀ = [[2, 1], [2, 1]], relu′(h2) = [[0, 1], [1, 0]] (relu′(0) = 0) → δ2 = [[0, 1], [2, 0]]
#   ∂L/∂W2 = O1ᵀδ2 = [[3·0+1·2, 3·1+1·0], [3·0+0·2, 3·1+0·0]] = [[2, 3], [0, 3]]
#   δ2·W2ᵀ = [[0, 1], [2, −2]], relu′(h1) = [[1, 1], [1, 0]] → δ1 = [[0, 1], [2, 0]]
#   ∂L/∂W1 = Xᵀδ1 = [[0+4, 1+0], [0−2, 2−0]] = [[4, 1], [−2, 2]]
#   W_new = W − ½·∂L/∂W
HAND = dict(
    x=[[1, 2], [2, -1]],
    y=[[2], [1]],
    weights=[[[1, -1], [1, 2]], [[1, 0], [-1, 1]], [[2], [1]]],
    learning_rate="1/2",
)
HAND_KEY = {
    "h1": [[3, 3], [1, -4]],
    "O1": [[3, 3], [1, 0]],
    "h2": [[0, 3], [1, 0]],
    "O2": [[0, 3], [1, 0]],
    "h3": [[3], [2]],
    "O3": [[3], [2]],
    "loss": 1,
    "delta3": [[1], [1]],
    "grad_W3": [[1], [3]],
    "delta2": [[0, 1], [2, 0]],
    "grad_W2": [[2, 3], [0, 3]],
    "delta1": [[0, 1], [2, 0]],
    "grad_W1": [[4, 1], [-2, 2]],
    "W1_new": [[-1, F(-3, 2)], [2, 1]],
    "W2_new": [[0, F(-3, 2)], [-1, F(-1, 2)]],
    "W3_new": [[F(3, 2)], [F(-1, 2)]],
}

# identity, L = Σ(y − ŷ)² (mse: factor 2 in δ), one observation, γ = 1/4:
#   h1 = [1·1 − 1·0, 1·2 − 1·1] = [1, 1] = O1;  h2 = [1+2, −1+1] = [3, 0] = O2;  h3 = 3 = O3
#   L = (0 − 3)² = 9;  δ3 = 2·(3 − 0) = 6;  ∂L/∂W3 = O2ᵀδ3 = [[18], [0]]
#   δ2 = δ3·W3ᵀ = [6, 6];  ∂L/∂W2 = O1ᵀδ2 = [[6, 6], [6, 6]]
#   δ1 = δ2·W2ᵀ = [6·1 + 6·(−1), 6·2 + 6·1] = [0, 18];  ∂L/∂W1 = Xᵀδ1 = [[0, 18], [0, −18]]
IDENTITY = dict(
    x=[[1, -1]],
    y=[0],
    weights=[[[1, 2], [0, 1]], [[1, -1], [2, 1]], [[1], [1]]],
    activation="identity",
    loss="mse",
    learning_rate="1/4",
)
IDENTITY_KEY = {
    "h1": [[1, 1]],
    "O1": [[1, 1]],
    "h2": [[3, 0]],
    "O2": [[3, 0]],
    "h3": [[3]],
    "O3": [[3]],
    "loss": 9,
    "delta3": [[6]],
    "grad_W3": [[18], [0]],
    "delta2": [[6, 6]],
    "grad_W2": [[6, 6], [6, 6]],
    "delta1": [[0, 18]],
    "grad_W1": [[0, 18], [0, -18]],
    "W1_new": [[1, F(-5, 2)], [0, F(11, 2)]],
    "W2_new": [[F(-1, 2), F(-5, 2)], [F(1, 2), F(-1, 2)]],
    "W3_new": [[F(-7, 2)], [1]],
}


def params(**values: Any) -> MlpMatrixParams:
    return MlpMatrixParams.model_validate(values)


def as_fractions(value: Any) -> Any:
    return map_leaves(value, F)


def key_json(solution: Any) -> Any:
    """The key as ``grader solve --format json`` writes it (exact text leaves)."""
    return map_leaves(solution.answers, exact_text)


def test_hand_computed_relu_key():
    solution = EXERCISE.solve(params(**HAND), EX)
    numbers = {k: v for k, v in solution.answers.items() if k != "yhat_formula"}
    assert numbers == as_fractions(HAND_KEY)
    assert list(solution.answers) == ["yhat_formula", *HAND_KEY]  # the order a student works in
    assert solution.rounded == frozenset()


def test_hand_computed_formula():
    f = sympy.Function("f")
    x1, x2 = sympy.symbols("x1 x2")
    a, b = f(x1 + x2), f(-x1 + 2 * x2)  # the two units of layer 1
    expected = f(2 * f(a - b) + f(b))  # W2 = [[1, 0], [−1, 1]], W3 = [[2], [1]]
    solution = EXERCISE.solve(params(**HAND), EX)
    assert solution.values[f"/answers/{EX}/yhat_formula"] == expected
    assert solution.answers["yhat_formula"] == str(expected)
    assert "f(x1 + x2)" in solution.answers["yhat_formula"]


def test_hand_computed_identity_mse_key():
    solution = EXERCISE.solve(params(**IDENTITY), EX)
    numbers = {k: v for k, v in solution.answers.items() if k != "yhat_formula"}
    assert numbers == as_fractions(IDENTITY_KEY)
    # the identity formula keeps f: the student writes the network, not its simplification
    f, x1, x2 = sympy.Function("f"), *sympy.symbols("x1 x2")
    expected = f(f(f(x1) + 2 * f(2 * x1 + x2)) + f(-f(x1) + f(2 * x1 + x2)))
    assert solution.values[f"/answers/{EX}/yhat_formula"] == expected


def test_key_json_leaves_are_exact_text():
    key = key_json(EXERCISE.solve(params(**HAND), EX))
    assert key["W1_new"] == [["-1", "-3/2"], ["2", "1"]]
    assert key["loss"] == "1"
    assert key["yhat_formula"].startswith("f(")


# ------------------------------------------------------------ float64 oracle (numpy)

_NP_ACT = {
    "relu": lambda h: np.maximum(h, 0.0),
    "identity": lambda h: h,
    "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)),
    "tanh": np.tanh,
    "hard_sigmoid": lambda h: np.clip(h / 4 + 0.5, 0.0, 1.0),
    "softsign": lambda h: h / (1.0 + np.abs(h)),
}


def _np_derivative(name: str, h: np.ndarray, o: np.ndarray) -> np.ndarray:
    """f′ by the course's conventions: σ′ = o(1 − o), tanh′ = 1 − o², relu′(0) = 0."""
    return {
        "relu": lambda: (h > 0).astype(float),
        "identity": lambda: np.ones_like(h),
        "sigmoid": lambda: o * (1 - o),
        "tanh": lambda: 1 - o * o,
        "hard_sigmoid": lambda: np.where(np.abs(h) < 2, 0.25, 0.0),
        "softsign": lambda: 1 / (1 + np.abs(h)) ** 2,
    }[name]()


def np_backprop(p: MlpMatrixParams, given: dict[str, np.ndarray] | None = None) -> dict:
    """One full-batch step in float64.  With ``given`` (the key's matrices), every matrix
    is computed from the key's own earlier matrices: where the key rounds, a value may
    then differ from this only by its own rounding."""

    def use(name: str, value: np.ndarray) -> np.ndarray:
        return given[name] if given is not None else value

    ws = [np.array(w, dtype=float) for w in p.weights]
    x, y = np.array(p.x, dtype=float), np.array(p.y, dtype=float)
    c = 1.0 if p.loss == "mse" else 0.5
    out: dict[str, Any] = {}
    hs, os = [], [x]
    for l, w in enumerate(ws, start=1):
        out[f"h{l}"] = os[-1] @ w
        hs.append(use(f"h{l}", out[f"h{l}"]))
        out[f"O{l}"] = _NP_ACT[p.activation](hs[-1])
        os.append(use(f"O{l}", out[f"O{l}"]))
    big_l = len(ws)
    out["loss"] = np.array([[c * np.sum((y - os[-1]) ** 2)]])
    delta = 2 * c * (os[-1] - y) * _np_derivative(p.activation, hs[-1], os[-1])
    for l in range(big_l, 0, -1):
        if l < big_l:
            delta = (use(f"delta{l + 1}", delta) @ ws[l].T) * _np_derivative(
                p.activation, hs[l - 1], os[l]
            )
        out[f"delta{l}"] = delta
        out[f"grad_W{l}"] = os[l - 1].T @ use(f"delta{l}", delta)
    for l in range(1, big_l + 1):
        out[f"W{l}_new"] = ws[l - 1] - float(p.learning_rate) * use(f"grad_W{l}", out[f"grad_W{l}"])
    return out


def key_arrays(solution: Any) -> dict[str, np.ndarray]:
    return {
        name: np.array([[float(value)]] if name == "loss" else value, dtype=float)
        for name, value in solution.answers.items()
        if name != "yhat_formula"
    }


def sampled_variants(activation: str, mode: str, count: int = 4) -> list[MlpMatrixParams]:
    """Variants of many shapes: fixed inputs X of 1–4 rows and 1–3 columns, the rest drawn."""
    rng = random.Random(f"{activation}/{mode}")
    out = []
    for i in range(count):
        n, d = rng.randint(1, 4), rng.randint(1, 3)
        fixed = {
            "activation": activation,
            "rounding": RoundingSpec(mode=mode, decimals=rng.choice([2, 3, 4])),
            "loss": rng.choice(["mse", "half_mse"]),
            "hidden": HIDDEN[i % len(HIDDEN)],
            "x": [
                [F(rng.choice([-2, -1, 1, 2]), rng.choice([1, 2])) for _ in range(d)]
                for _ in range(n)
            ],
        }
        out.append(EXERCISE.sample(rng, fixed))
    return out


def rounded_mask(p: MlpMatrixParams, name: str, key: dict[str, np.ndarray]) -> np.ndarray:
    """Which entries the rules say are rounded: all in mode ``all``; σ/tanh of h ≠ 0 otherwise."""
    shape = key[name].shape
    if p.rounding.mode == "all":
        return np.ones(shape, dtype=bool)
    if name.startswith("O") and p.activation in ("sigmoid", "tanh"):
        return key["h" + name[1:]] != 0
    return np.zeros(shape, dtype=bool)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("mode", MODES)
def test_key_agrees_with_float64_oracle(activation, mode):
    for p in sampled_variants(activation, mode):
        solution = EXERCISE.solve(p, EX)
        key = key_arrays(solution)
        rounds = mode == "all" or (mode == "transcendental" and activation in ("sigmoid", "tanh"))
        if not rounds:  # no rounding anywhere (σ in exact mode: 30 decimals): one global pass
            expected = np_backprop(p)
            for name, value in expected.items():
                np.testing.assert_allclose(key[name], value, rtol=1e-9, atol=1e-9, err_msg=name)
            continue
        expected = np_backprop(p, given=key)
        k = p.rounding.decimals
        for name, value in expected.items():
            mask = rounded_mask(p, name, key)
            slack = 1e-9 * np.maximum(1.0, np.abs(value)) + np.where(mask, 0.5 * 10.0**-k, 0.0)
            assert np.all(np.abs(key[name] - value) <= slack), (name, key[name], value)
            exact = np.array(
                solution.answers[name] if name != "loss" else [[solution.answers[name]]]
            )
            for v, m in zip(exact.ravel(), mask.ravel(), strict=True):
                if m:  # a rounded value has at most k decimals
                    assert (v * 10**k).denominator == 1, (name, v)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_rounded_leaves_are_the_rounded_values(activation):
    for mode in MODES:
        for p in sampled_variants(activation, mode, count=2):
            solution = EXERCISE.solve(p, EX)
            key = key_arrays(solution)
            expected = {
                f"/answers/{EX}/{name}" + ("" if name == "loss" else f"/{i}/{j}")
                for name in key
                for (i, j), m in np.ndenumerate(rounded_mask(p, name, key))
                if m
            }
            assert solution.rounded == frozenset(expected)


# ------------------------------------------------------------ sympy oracle


def _rational(q: F) -> sympy.Rational:
    return sympy.Rational(q.numerator, q.denominator)


def sympy_loss_and_gradients(p: MlpMatrixParams) -> tuple[sympy.Rational, list[list[list[Any]]]]:
    """L and ∂L/∂W_l by differentiating the symbolic loss in every weight.

    relu is piecewise linear: around the given weights each unit is t ↦ t or t ↦ 0
    (relu′(0) = 0 by the course's convention), read off sympy's own exact forward pass.
    """
    weights = [[[_rational(v) for v in row] for row in w] for w in p.weights]
    symbols = [
        sympy.Matrix(len(w), len(w[0]), lambda i, j, l=l: sympy.Symbol(f"w{l}_{i}_{j}"))
        for l, w in enumerate(weights)
    ]
    at = {
        m[i, j]: weights[l][i][j]
        for l, m in enumerate(symbols)
        for i in range(m.rows)
        for j in range(m.cols)
    }
    a = sympy.Matrix([[_rational(v) for v in row] for row in p.x])
    for m in symbols:
        h = a * m
        if p.activation == "relu":
            mask = h.xreplace(at).applyfunc(lambda t: 1 if t > 0 else 0)
            h = h.multiply_elementwise(mask)
        a = h
    c = sympy.Rational(1) if p.loss == "mse" else sympy.Rational(1, 2)
    y = sympy.Matrix([[_rational(v) for v in row] for row in p.y])
    loss = c * sum(e**2 for e in (y - a))
    grads = [
        [[sympy.diff(loss, m[i, j]).xreplace(at) for j in range(m.cols)] for i in range(m.rows)]
        for m in symbols
    ]
    return loss.xreplace(at), grads


def _to_fraction(r: Any) -> F:
    r = sympy.Rational(r)
    return F(int(r.p), int(r.q))


@pytest.mark.parametrize("activation", ["relu", "identity"])
def test_gradients_equal_sympy_differentiation(activation):
    cases = [
        params(**{**HAND, "activation": activation}),
        params(**{**IDENTITY, "activation": activation}),
        *sampled_variants(activation, "exact", 4),
        *sampled_variants(activation, "transcendental", 4),
    ]
    for p in cases:
        solution = EXERCISE.solve(p, EX)
        loss, grads = sympy_loss_and_gradients(p)
        assert solution.answers["loss"] == _to_fraction(loss)
        for l, grad in enumerate(grads, start=1):
            assert solution.answers[f"grad_W{l}"] == [
                [_to_fraction(g) for g in row] for row in grad
            ]


_EXACT_ACT = {
    "relu": lambda t: t if t > 0 else 0,
    "identity": lambda t: t,
    "hard_sigmoid": lambda t: min(max(t / 4 + sympy.Rational(1, 2), 0), 1),
    "softsign": lambda t: t / (1 + abs(t)),
}


@pytest.mark.parametrize("activation", sorted(_EXACT_ACT))
def test_formula_gives_the_output_of_every_observation(activation):
    """The ŷ formula with f := the activation and x := an observation is that row of ŷ."""
    f = sympy.Function("f")
    for p in sampled_variants(activation, "exact", 4):
        solution = EXERCISE.solve(p, EX)
        formula = solution.values[f"/answers/{EX}/yhat_formula"]
        names = [sympy.Symbol(f"x{j + 1}") for j in range(len(p.x[0]))]
        for row, out in zip(p.x, solution.answers[f"O{len(p.weights)}"], strict=True):
            at_row = formula.subs({s: _rational(v) for s, v in zip(names, row, strict=True)})
            value = at_row.replace(f, lambda t: _EXACT_ACT[activation](t))
            assert _to_fraction(value) == out[0]


# ------------------------------------------------------------ the answer-field graph


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("mode", MODES)
def test_every_computation_reproduces_the_key(activation, mode):
    for p in sampled_variants(activation, mode, 3):
        solution = EXERCISE.solve(p, EX)
        ops = FractionOps(Rounding(p.rounding.mode, p.rounding.decimals))
        assert len(solution.leaves()) == len(set(solution.leaves())) == len(solution.values)
        for comp in solution.computations:
            assert set(comp.inputs) <= set(solution.values), comp.label
            got = comp.compute({k: solution.values[k] for k in comp.inputs}, ops, CORRECT)
            assert list(got) == [solution.values[ptr] for ptr in comp.outputs], comp.label


def test_inputs_come_before_outputs():
    solution = EXERCISE.solve(params(**HAND), EX)
    seen: set[str] = set()
    for comp in solution.computations:
        assert set(comp.inputs) <= seen, comp.label
        seen |= set(comp.outputs)


def _computation(solution: Any, label_start: str) -> Any:
    return next(c for c in solution.computations if c.label.startswith(label_start))


def _run(solution: Any, comp: Any, rules: Rules) -> list[F]:
    return list(comp.compute({k: solution.values[k] for k in comp.inputs}, FractionOps(), rules))


def test_transposed_rule_changes_a_non_symmetric_square_matrix():
    solution = EXERCISE.solve(params(**HAND), EX)
    delta1 = _computation(solution, "δ1")
    assert "transposed" in delta1.mistakes
    # by hand: δ2·W2 (no ᵀ) = [[0·1 + 1·(−1), 0·0 + 1·1], [2·1 + 0, 0 + 0]] = [[−1, 1], [2, 0]],
    # ⊙ relu′(h1) = [[1, 1], [1, 0]]
    assert _run(solution, delta1, Rules(transpose="right")) == [-1, 1, 2, 0]
    assert _run(solution, delta1, CORRECT) == [0, 1, 2, 0]
    # the gradient transposed: δ2ᵀ·O1 = (O1ᵀ·δ2)ᵀ = [[2, 0], [3, 3]]
    grad2 = _computation(solution, "∂L/∂W2")
    assert "transposed" in grad2.mistakes
    assert _run(solution, grad2, Rules(transpose="result")) == [2, 0, 3, 3]
    # W3 is 2×1: (O2ᵀ·δ3)ᵀ is 1×2 and δ3·O2ᵀ does not fit (2×1 · 2×2): nothing changes ...
    grad3 = _computation(solution, "∂L/∂W3")
    assert _run(solution, grad3, Rules(transpose="result")) == _run(solution, grad3, CORRECT)
    assert _run(solution, grad3, Rules(transpose="swapped")) == _run(solution, grad3, CORRECT)
    # ... but O2·δ3 (O2 without its ᵀ) does: [[0·1 + 3·1], [1·1 + 0·1]] = [[3], [1]]
    assert "transposed" in grad3.mistakes
    assert _run(solution, grad3, Rules(transpose="left")) == [3, 1]
    assert _run(solution, grad3, CORRECT) == [1, 3]


def test_transposed_is_tried_in_the_forward_products():
    """Issue 13: every matrix product, the forward ones too (by hand, from HAND)."""
    solution = EXERCISE.solve(params(**HAND), EX)
    h2 = _computation(solution, "h2")
    assert "transposed" in h2.mistakes
    # O1·W2ᵀ = [[3, 3], [1, 0]]·[[1, −1], [0, 1]] = [[3, 0], [1, −1]]
    assert _run(solution, h2, Rules(transpose="right")) == [3, 0, 1, -1]
    # O1ᵀ·W2 = [[3, 1], [3, 0]]·[[1, 0], [−1, 1]] = [[2, 1], [3, 0]]
    assert _run(solution, h2, Rules(transpose="left")) == [2, 1, 3, 0]
    # W2·O1 = [[1, 0], [−1, 1]]·[[3, 3], [1, 0]] = [[3, 3], [−2, −3]]
    assert _run(solution, h2, Rules(transpose="swapped")) == [3, 3, -2, -3]
    assert _run(solution, h2, CORRECT) == [0, 3, 1, 0]


def test_other_mistakes_replay_the_engine():
    solution = EXERCISE.solve(params(**HAND), EX)
    delta3 = _computation(solution, "δ3")
    assert set(delta3.mistakes) >= {
        "sign_flip",
        "missing_factor_2",
        "missing_activation_derivative",
    }
    assert _run(solution, delta3, Rules(delta_sign=-1)) == [-1, -1]
    assert _run(solution, delta3, Rules(factor_2_error=True)) == [2, 2]  # ½ forgotten: 2(ŷ − y)
    new_w3 = _computation(solution, "W3 after")
    assert set(new_w3.mistakes) == {"learning_rate", "gradient_ascent"}
    # W3 + ½·[[1], [3]] = [[5/2], [5/2]];  with γ = 1: W3 − [[1], [3]] = [[1], [−2]]
    assert _run(solution, new_w3, Rules(update_sign=1)) == [F(5, 2), F(5, 2)]
    assert _run(solution, new_w3, Rules(learning_rate=F(1))) == [1, -2]


def test_identity_declares_no_missing_derivative():
    solution = EXERCISE.solve(params(**IDENTITY), EX)
    for comp in solution.computations:
        assert "missing_activation_derivative" not in comp.mistakes


def test_formula_computation():
    solution = EXERCISE.solve(params(**HAND), EX)
    comp = solution.computations[0]
    assert comp.kind == "formula" and comp.inputs == ()
    assert comp.outputs == (f"/answers/{EX}/yhat_formula",)


# ------------------------------------------------------------ independent check


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_independent_check_accepts_every_key(activation):
    for mode in MODES:
        for p in sampled_variants(activation, mode, 2):
            assert EXERCISE.check_independently(p, key_json(EXERCISE.solve(p, EX))) == []


def test_independent_check_catches_changes():
    p = params(**HAND)
    good = key_json(EXERCISE.solve(p, EX))

    def problems(change: Any) -> list[str]:
        key = json.loads(json.dumps(good))
        change(key)
        return EXERCISE.check_independently(p, key)

    changed = problems(lambda k: k["delta2"][1].__setitem__(0, "2001/1000"))
    assert any(m.startswith("delta2/1/0:") for m in changed)
    assert any(m.startswith("h2/0/1:") for m in problems(lambda k: k["h2"][0].__setitem__(1, "4")))
    assert any(m.startswith("loss:") for m in problems(lambda k: k.__setitem__("loss", "2")))
    assert any(
        m.startswith("W3_new/1/0:")
        for m in problems(lambda k: k["W3_new"][1].__setitem__(0, "1/2"))
    )
    assert any(
        m.startswith("yhat_formula:")
        for m in problems(lambda k: k.__setitem__("yhat_formula", "f(x1)"))
    )
    assert any("not a number" in m for m in problems(lambda k: k["O1"][0].__setitem__(0, "three")))
    assert any("not a 2×2 matrix" in m for m in problems(lambda k: k.__setitem__("O1", [["3"]])))


def test_independent_check_catches_an_unrounded_value():
    p = sampled_variants("sigmoid", "all", 1)[0]
    key = key_json(EXERCISE.solve(p, EX))
    value = F(key["O1"][0][0]) + F(1, 10 ** (p.rounding.decimals + 2))
    key["O1"][0][0] = str(value)
    assert any("should be rounded" in m for m in EXERCISE.check_independently(p, key))


# ------------------------------------------------------------ parameters


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"weights": [[[1, -1], [1, 2]], [[1, 0], [-1, 1], [0, 0]], [[2], [1]]]},
            r"W2\) must be 2×2",
        ),
        ({"hidden": [2, 2], "weights": [[[1, -1], [1, 2]], [[2], [1]]]}, "3 matrices W1..W3"),
        (
            {"weights": [[[1, -1], [1, 2]], [[1, 0], [-1, 1]], [[2, 1], [1, 1]]]},
            r"W3\) must be 2×1",
        ),
        ({"y": [[2], [1], [0]]}, "x has 2 rows, y has 3"),
        ({"y": [[2, 1], [1, 0]]}, "y must be a column"),
        ({"x": [[1, 2], [2]]}, "x must be a matrix"),
        ({"x": [[1, 2, 3, 4], [1, 2, 3, 4]]}, "x must be a matrix"),
        ({"learning_rate": 0}, "learning_rate must be positive"),
        ({"x": [[1, 2], [2, 5000]]}, "±1000"),
        ({"x": [[1, 2], [2, "1e999999"]]}, "exponent out of range"),
        ({"hidden": [2, 4]}, "less than or equal to 3"),
        ({"activation": "softmax"}, "activation"),
        ({"bias": True}, "Extra inputs are not permitted"),
    ],
)
def test_parameter_errors_are_clear(change, message):
    with pytest.raises(ValidationError, match=message):
        params(**{**HAND, **change})


def test_hidden_widths_follow_given_weights():
    p = params(
        x=[[1, 2]], y=[1], weights=[[[1, 1, 1], [1, 1, 1]], [[1], [1], [1]]], learning_rate=1
    )
    assert p.hidden == [3] and p.sizes() == [2, 3, 1]


def test_targets_may_be_a_plain_list():
    # fixed parameters are validated one by one with the field's own annotation
    annotation = MlpMatrixParams.model_fields["y"].annotation
    assert TypeAdapter(annotation).validate_python([1, "1/2"]) == [[F(1)], [F(1, 2)]]
    assert params(**{**HAND, "y": [2, 1]}).y == [[2], [1]]


def test_random_weights_must_be_drawn_before_solving():
    p = params(**{k: v for k, v in HAND.items() if k != "weights"})
    assert p.weights == "random"
    with pytest.raises(ValueError, match="random"):
        EXERCISE.solve(p, EX)


def test_randomized_parameters_are_the_numbers():
    assert set(RANDOMIZED) == {"x", "y", "weights", "learning_rate"}
    assert set(RANDOMIZED) <= set(MlpMatrixParams.model_fields)


# ------------------------------------------------------------ variants


def nice_variant(rng: random.Random, fixed: dict[str, Any]) -> tuple[MlpMatrixParams, Any]:
    for _ in range(5000):  # what grader.course.variants.make_variant does
        p = EXERCISE.sample(rng, fixed)
        solution = EXERCISE.solve(p, EX)
        if EXERCISE.is_nice(p, solution, fixed):
            return p, solution
    raise AssertionError("no nice variant")


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_students_get_different_nice_numbers(activation):
    fixed = {"activation": activation}
    seen = set()
    for i in range(25):
        rng = student_rng(b"course secret", "hw1", EX, f"s{i:03d}")
        p, solution = nice_variant(rng, fixed)
        seen.add(json.dumps(p.model_dump(mode="json"), sort_keys=True))
        assert p.sizes() == [2, 2, 2, 1] and p.activation == activation
        assert p.learning_rate in (F(1, 10), F(1, 4), F(1, 2), 1)
        assert all(abs(v) <= 2 for w in p.weights for row in w for v in row)
        step = solution.trace.steps[0]
        assert all(any(g != 0 for row in grad for g in row) for grad in step.grad_w)
        numbers = [v for v in solution.values.values() if isinstance(v, F)]
        assert all(abs(v) <= 100 for v in numbers)
        if activation == "relu":
            assert all(v.denominator < 1000 for v in numbers)
            for h in step.h:  # no dead unit
                assert all(any(v > 0 for v in col) for col in zip(*h, strict=True))
        else:
            assert all(abs(v) <= 4 for h in step.h for row in h for v in row)
    assert len(seen) >= 22


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_variant_search_finds_nice_instances_quickly(activation):
    rng = random.Random(activation)
    for mode in MODES:
        fixed = {"activation": activation, "rounding": RoundingSpec(mode=mode, decimals=4)}
        for _ in range(3):
            nice_variant(rng, fixed)


def test_sample_keeps_fixed_parameters():
    rng = random.Random(7)
    fixed = {
        "x": [[F(1), F(0), F(-1)]] * 3,
        "weights": [[[F(1)], [F(2)], [F(-1)]], [[F(2)]]],
        "activation": "identity",
    }
    p = EXERCISE.sample(rng, fixed)
    assert p.x == fixed["x"] and p.weights == fixed["weights"]
    assert p.hidden == [1] and len(p.y) == 3


def test_degenerate_variants_are_rejected_unless_fixed():
    # y equal to the output: every gradient is zero
    flat = params(**{**HAND, "y": [[3], [2]]})
    solution = EXERCISE.solve(flat, EX)
    assert not EXERCISE.is_nice(flat, solution, {})
    assert EXERCISE.is_nice(flat, solution, {"weights": flat.weights})
    # a relu unit that is off for every observation
    dead = params(**{**HAND, "weights": [[[1, -1], [1, -2]], [[1, 0], [-1, 1]], [[2], [1]]]})
    assert not EXERCISE.is_nice(dead, EXERCISE.solve(dead, EX), {})


def test_same_seed_same_variant():
    a = EXERCISE.sample(random.Random(11), {})
    b = EXERCISE.sample(random.Random(11), {})
    assert a == b
    assert key_json(EXERCISE.solve(a, EX)) == key_json(EXERCISE.solve(b, EX))


_DETERMINISM = """
import json, random
from grader.exercises.mlp_matrix import EXERCISE
from grader.course.keys import exact_text, map_leaves
p = EXERCISE.sample(random.Random(5), {"hidden": [3, 2]})
s = EXERCISE.solve(p, "mlp")
view = EXERCISE.latex_view(p, s, "en")
print(json.dumps([map_leaves(s.answers, exact_text), EXERCISE.describe_text(p, s), view["formula_lines"]]))
"""


def test_output_does_not_depend_on_hash_seed():
    outputs = {
        subprocess.run(
            [sys.executable, "-c", _DETERMINISM],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


# ------------------------------------------------------------ formats


def test_template_and_schema_have_the_key_shapes():
    for p in [params(**HAND), *sampled_variants("relu", "exact", 4)]:
        solution = EXERCISE.solve(p, EX)
        assert EXERCISE.template_answers(p) == map_leaves(solution.answers, lambda _: None)
        schema = EXERCISE.json_schema(p)
        assert list(schema["properties"]) == list(solution.answers)
        assert schema["additionalProperties"] is False
        assert schema["properties"]["yhat_formula"]["$ref"] == "#/$defs/formula"
        assert schema["properties"]["loss"]["$ref"] == "#/$defs/number"
        for name, value in solution.answers.items():
            if isinstance(value, list):
                field = schema["properties"][name]
                assert field["minItems"] == field["maxItems"] == len(value)
                assert field["items"]["minItems"] == len(value[0])
                assert field["items"]["items"] == {"$ref": "#/$defs/number"}


def test_generic_schema_names_every_field():
    schema = EXERCISE.json_schema(None)
    patterns = [re.compile(p) for p in schema["patternProperties"]]
    for name in EXERCISE.solve(params(**HAND), EX).answers:
        assert name in schema["properties"] or any(p.match(name) for p in patterns), name


def test_describe_text():
    p = params(**HAND)
    text = EXERCISE.describe_text(p, EXERCISE.solve(p, EX))
    assert "network 2 → 2 → 2 → 1" in text
    assert "h1 = [3 3; 1 -4]" in text
    assert "W1_new = [-1 -3/2; 2 1]" in text
    assert "yhat (one observation) = f(" in text


# ------------------------------------------------------------ LaTeX partials


def _render(p: MlpMatrixParams, kind: str, language: str) -> str:
    solution = EXERCISE.solve(p, EX)
    return render(
        f"mlp_matrix/{kind}.tex.j2",
        ex=SimpleNamespace(id=EX, points=10, title=None, type="mlp_matrix"),
        number=1,
        p=p,
        s=solution,
        view=EXERCISE.latex_view(p, solution, language),
        w=words(language),
        k=p.rounding.decimals,
    )


def test_partials_show_the_task_and_the_key():
    p = params(**HAND)
    sheet = _render(p, "sheet", "en")
    assert r"X = \begin{bmatrix} 1 & 2 \\ 2 & -1 \end{bmatrix}" in sheet
    assert r"W_1 = \begin{bmatrix} 1 & -1 \\ 1 & 2 \end{bmatrix}" in sheet
    assert r"\gamma = \frac{1}{2}" in sheet
    assert r"\delta_2 = (\delta_3 W_3^\top) \odot f'(h_2)" in sheet
    assert r"\texttt{grad\_W1}" in sheet
    key = _render(p, "key", "en")
    assert r"h_1 &= X W_1 = \begin{bmatrix} 3 & 3 \\ 1 & -4 \end{bmatrix}" in key
    assert r"\delta_1 &= (\delta_2 W_2^\top) \odot f'(h_1)" in key
    assert r"\begin{bmatrix} 0 & 1 \\ 2 & 0 \end{bmatrix}" in key
    assert r"\frac{1}{2} \sum_{i} (y_i - \hat y_i)^2 = 1" in key
    assert r"-\frac{3}{2}" in key  # W1_new
    ru = _render(p, "sheet", "ru")
    assert "Вычислите" in ru and "прямой проход" in ru
    for text in (sheet, key, ru, _render(p, "key", "ru")):
        assert "?" not in text  # no character was lost to escaping


def test_rounding_note_follows_the_mode():
    sig = sampled_variants("sigmoid", "all", 1)[0]
    assert "Round every value you write down to" in _render(sig, "sheet", "en")
    relu = params(**HAND)
    assert "Round" not in _render(relu, "sheet", "en")


@pytest.mark.tex
def test_partials_compile(require_tex, tmp_path: Path):
    cases = [
        params(**HAND),
        sampled_variants("sigmoid", "all", 1)[0],
        sampled_variants("softsign", "exact", 3)[2],
        EXERCISE.sample(
            random.Random(1),
            {
                "x": [[F(1), F(-1), F(2)]] * 4,
                "hidden": [3, 3, 2],
                "activation": "identity",
                "rounding": RoundingSpec(mode="all", decimals=3),
            },
        ),
    ]
    assert_partials_compile(tmp_path, _render, cases)
