"""The sgd_chain parameter model, and its keys against two float64 oracles: the
exercise's own ``check_independently`` and a from-scratch simulation written here."""

from __future__ import annotations

import math
from fractions import Fraction as F
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from grader.core.engine import NumberGrowthError
from grader.core.numbers import MAX_DIGITS, NumberError, fmt_frac, parse_number
from grader.course.keys import exact_text, map_leaves
from grader.exercises.sgd_chain import EXERCISE
from grader.exercises.sgd_chain.params import SgdChainParams

ACTIVATIONS = ["sigmoid", "tanh", "relu", "identity", "hard_sigmoid", "softsign"]
KINKS = {"relu": (0.0,), "hard_sigmoid": (-2.0, 2.0)}

small = st.builds(F, st.integers(-6, 6), st.sampled_from([1, 2, 4]))


def as_written(v: F, how: int) -> Any:
    """A number the way an assignment file may hold it."""
    if how == 0:
        return int(v.numerator) if v.denominator == 1 else fmt_frac(v)
    if how == 1:
        return fmt_frac(v)
    return str(float(v)) if how == 2 else float(v)  # YAML reads 0.5 as a float


@st.composite
def raw_params(draw: Any, modes: tuple[str, ...] = ("exact", "transcendental", "all")) -> dict:
    depth = draw(st.integers(2, 4))
    n_obs = draw(st.integers(1, 3))
    how = draw(st.integers(0, 3))
    data = [[as_written(draw(small), how), as_written(draw(small), how)] for _ in range(n_obs)]
    order = draw(st.lists(st.integers(1, n_obs), min_size=1, max_size=4))
    init: Any = "zeros"
    if draw(st.booleans()):
        init = [[as_written(draw(small), how) for _ in range(depth)] for _ in range(2)]
    activation = draw(st.sampled_from(ACTIVATIONS))
    # rates a sheet would use (as the variant sampler does): an unbounded activation with a
    # large rate makes values beyond float64's range, which no float oracle can check
    saturating = activation in ("sigmoid", "tanh", "hard_sigmoid", "softsign")
    rates = [F(1, 2), F(1), F(2), F(5)] if saturating else [F(1, 10), F(1, 4), F(1, 2)]
    raw = {
        "data": data,
        "order": order,
        "learning_rate": as_written(draw(st.sampled_from(rates)), how),
        "depth": depth,
        "init": init,
        "activation": activation,
        "loss": draw(st.sampled_from(["mse", "half_mse"])),
        "rounding": {"mode": draw(st.sampled_from(modes)), "decimals": draw(st.integers(2, 5))},
    }
    if depth == 3 and draw(st.booleans()):
        del raw["depth"]  # the default
    return raw


def solve_or_refuse(params: SgdChainParams) -> Any:
    """The key, or — when exact values outgrow what a key may hold — the engine's clear
    refusal (the CLI turns it into one line and exit 2); such draws are not counted."""
    try:
        return EXERCISE.solve(params, "sgd")
    except NumberGrowthError as exc:
        assert f"the limit is {MAX_DIGITS}" in str(exc) and "rounding mode" in str(exc)
        assume(False)


# ------------------------------------------------------------------ float64 simulation


class NearKink(Exception):
    pass


class Diverged(Exception):
    pass


def simulate(raw: dict) -> list[dict[str, Any]]:
    """The whole chain in float64, from the raw parameters, sharing nothing with the
    project: h_l = w_l·o_{l−1} + b_l, o_l = f(h_l), δ_D = c·(o_D − y)·f′(h_D),
    δ_l = δ_{l+1}·w_{l+1}·f′(h_l), ∂/∂b_l = δ_l, ∂/∂w_l = δ_l·o_{l−1}, W ← W − γ·∇."""
    num = lambda v: float(F(v))  # noqa: E731 - F(str) is fine here: the test wrote the text
    depth = raw.get("depth", 3)
    act = raw["activation"]
    c = 2.0 if raw["loss"] == "mse" else 1.0
    lr = num(raw["learning_rate"])
    if raw["init"] == "zeros":
        b, w = [0.0] * depth, [0.0] * depth
    else:
        b, w = [num(v) for v in raw["init"][0]], [num(v) for v in raw["init"][1]]

    def f(t: float) -> float:
        if act == "sigmoid":
            return 1 / (1 + math.exp(-t))
        if act == "tanh":
            return math.tanh(t)
        if act == "relu":
            return max(0.0, t)
        if act == "identity":
            return t
        if act == "hard_sigmoid":
            return min(1.0, max(0.0, 0.25 * t + 0.5))
        return t / (1 + abs(t))

    def df(t: float, o: float) -> float:
        for k in KINKS.get(act, ()):
            if t != k and abs(t - k) < 1e-9:
                raise NearKink  # float64 cannot tell which side of the kink we are on
        if act == "sigmoid":
            return o * (1 - o)
        if act == "tanh":
            return 1 - o * o
        if act == "relu":
            return 1.0 if t > 0 else 0.0
        if act == "hard_sigmoid":
            return 0.25 if -2 < t < 2 else 0.0
        if act == "softsign":
            return 1 / (1 + abs(t)) ** 2
        return 1.0

    steps = []
    for k in raw["order"]:
        x, y = (num(v) for v in raw["data"][k - 1])
        o, h = [x], []
        for l in range(depth):
            h.append(w[l] * o[l] + b[l])
            o.append(f(h[l]))
        d = [0.0] * depth
        d[depth - 1] = c * (o[depth] - y) * df(h[depth - 1], o[depth])
        for l in range(depth - 2, -1, -1):
            d[l] = d[l + 1] * w[l + 1] * df(h[l], o[l + 1])
        grad = [list(d), [d[l] * o[l] for l in range(depth)]]
        b = [b[l] - lr * grad[0][l] for l in range(depth)]
        w = [w[l] - lr * grad[1][l] for l in range(depth)]
        if max(abs(v) for v in [*b, *w, *o]) > 1e6:
            raise Diverged  # gradient descent blew up: relative float errors grow without bound
        steps.append({"forward": o, "deltas": d, "gradient": grad, "weights": [list(b), list(w)]})
    return steps


def close(got: F, want: float, scale: float) -> bool:
    return abs(float(got) - want) <= 1e-9 * max(1.0, abs(want), scale)


# ------------------------------------------------------------------ keys


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(raw_params())
def test_every_valid_assignment_solves_and_passes_the_float_check(raw: dict) -> None:
    params = SgdChainParams.model_validate(raw)
    # the resolved parameters (as a key JSON writes them) read back to the same model
    assert SgdChainParams.model_validate(params.model_dump(mode="json")) == params
    solution = solve_or_refuse(params)
    steps = solution.answers["steps"]
    depth = raw.get("depth", 3)
    assert len(steps) == len(raw["order"])
    for step, k in zip(steps, raw["order"], strict=True):
        assert step["forward"][0] == params.data[k - 1][0]
        assert len(step["forward"]) == depth + 1 and len(step["deltas"]) == depth
        assert (
            [len(r) for r in step["gradient"]]
            == [depth, depth]
            == [len(r) for r in step["weights"]]
        )
    # as Fractions and as the key JSON's text: the exercise's float64 oracle agrees
    if max(abs(v) for v in solution.values.values()) > 10**300:  # diverged beyond float64
        assert EXERCISE.check_independently(params, solution.answers) == [
            "a value is beyond the range of float64: the key cannot be recomputed"
        ]
        return
    assert EXERCISE.check_independently(params, solution.answers) == []
    texts = map_leaves(solution.answers, exact_text)
    if all(fits_a_submission(v) for v in solution.values.values()):
        assert EXERCISE.check_independently(params, texts) == []
    else:  # known issue, see test_long_exact_key_is_a_readable_submission
        assert raw["rounding"]["mode"] != "all"
    if raw["rounding"]["mode"] != "exact":
        k = raw["rounding"]["decimals"]
        for ptr in solution.rounded:
            assert (solution.values[ptr] * 10**k).denominator == 1, ptr


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much],
)
@given(raw_params(modes=("exact",)))
def test_exact_key_matches_a_from_scratch_float64_simulation(raw: dict) -> None:
    try:
        expected = simulate(raw)
    except (NearKink, Diverged):
        assume(False)
    solution = solve_or_refuse(SgdChainParams.model_validate(raw))
    for s, (got, want) in enumerate(zip(solution.answers["steps"], expected, strict=True)):
        scale = max(abs(v) for v in want["weights"][0] + want["weights"][1] + want["forward"])
        for name in ("forward", "deltas"):
            for i, (g, e) in enumerate(zip(got[name], want[name], strict=True)):
                assert close(g, e, scale), f"step {s + 1} {name}[{i}]: {float(g)} vs {e}"
        for name in ("gradient", "weights"):
            for r in range(2):
                for i, (g, e) in enumerate(zip(got[name][r], want[name][r], strict=True)):
                    assert close(g, e, scale), f"step {s + 1} {name}[{r}][{i}]: {float(g)} vs {e}"


def fits_a_submission(v: F) -> bool:
    try:
        return parse_number(fmt_frac(v)) == v
    except NumberError:
        return False


@pytest.mark.parametrize(
    "change",
    [
        {"order": [2, 1, 2, 1], "rounding": {"mode": "exact"}},
        {
            "data": [[0, 0]],
            "order": [1, 1, 1, 1],
            "learning_rate": "1/10",
            "depth": 4,
            "init": [[0, 0, 0, 0], [0, 0, 0, 1]],
            "activation": "hard_sigmoid",
        },
    ],
)
def test_long_exact_key_is_a_readable_submission(change: dict) -> None:
    # the engine refuses to grow values past numbers.MAX_DIGITS, so every key it does
    # produce can be read back as a submission and checked
    params = SgdChainParams.model_validate({**BASE, **change})
    solution = EXERCISE.solve(params, "sgd")
    assert all(fits_a_submission(v) for v in solution.values.values())
    assert EXERCISE.check_independently(params, map_leaves(solution.answers, exact_text)) == []


def test_check_independently_catches_a_wrong_key() -> None:
    raw = {"data": [[5, 0], [1, 1]], "order": [2, 1], "learning_rate": 5}
    params = SgdChainParams.model_validate(raw)
    answers = map_leaves(EXERCISE.solve(params, "sgd").answers, exact_text)
    assert answers["steps"][1]["forward"][3] == "8267/10000"  # σ(25/16) rounded, from the spec
    answers["steps"][1]["deltas"][2] = "0.2368"  # the spec's δ₃ is 0.2368778…
    problems = EXERCISE.check_independently(params, answers)
    assert problems and "steps/1/deltas/2" in problems[0]
    answers["steps"][1]["deltas"][2] = "1/0"
    assert any("not a number" in p for p in EXERCISE.check_independently(params, answers))


# ------------------------------------------------------------------ validation errors

BASE = {"data": [[5, 0], [1, 1]], "order": [2, 1], "learning_rate": 5}


@pytest.mark.parametrize(
    ("change", "loc", "fragment"),
    [
        ({"init": [[0, 0], [0, 0]]}, (), "init must be 'zeros' or a 2×3 matrix"),
        ({"init": [[0, 0, 0]]}, (), "init must be 'zeros' or a 2×3 matrix"),
        ({"depth": 2, "init": [[0, 0, 0], [0, 0, 0]]}, (), "2×2 matrix"),
        ({"depth": 4, "init": [[0, 0, 0], [0, 0, 0]]}, (), "2×4 matrix"),
        ({"init": "ones"}, ("init",), "Input should be 'zeros'"),
        ({"order": [3]}, (), "order[0] = 3 is not an observation number 1..2"),
        ({"order": [1, 0]}, (), "order[1] = 0 is not an observation number 1..2"),
        ({"order": []}, ("order",), "at least 1 item"),
        ({"order": [1.5]}, ("order", 0), "valid integer"),
        ({"depth": 1}, ("depth",), "greater than or equal to 2"),
        ({"depth": 5}, ("depth",), "less than or equal to 4"),
        ({"learning_rate": -1}, (), "learning_rate must be positive"),
        ({"learning_rate": "-1/2"}, (), "learning_rate must be positive"),
        ({"learning_rate": 0}, (), "learning_rate must be positive"),
        ({"learning_rate": "1e999999999"}, ("learning_rate",), "exponent out of range"),
        ({"learning_rate": True}, ("learning_rate",), "got a boolean"),
        ({"activation": "gelu"}, ("activation",), "'sigmoid', 'tanh', 'relu'"),
        ({"loss": "l1"}, ("loss",), "'mse' or 'half_mse'"),
        (
            {"rounding": {"mode": "some"}},
            ("rounding", "mode"),
            "'exact', 'transcendental' or 'all'",
        ),
        ({"rounding": {"decimals": 13}}, ("rounding", "decimals"), "less than or equal to 12"),
        ({"rounding": {"digits": 4}}, ("rounding", "digits"), "Extra inputs are not permitted"),
        ({"data": [[1, 2, 3]], "order": [1]}, ("data", 0), "at most 2 items"),
        ({"data": [], "order": [1]}, ("data",), "at least 1 item"),
        ({"data": [[5000, 0]], "order": [1]}, (), "within ±1000"),
        ({"data": [["x", 0]], "order": [1]}, ("data", 0, 0), "expected a number"),
        ({"unknown": 1}, ("unknown",), "Extra inputs are not permitted"),
        ({"learnin_rate": 1}, ("learnin_rate",), "Extra inputs are not permitted"),
    ],
)
def test_clear_validation_errors(change: dict, loc: tuple, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        SgdChainParams.model_validate({**BASE, **change})
    errors = info.value.errors()
    located = [
        e
        for e in errors
        if tuple(x for x in e["loc"] if not (isinstance(x, str) and "[" in x)) == loc
    ]
    assert located, errors
    assert any(fragment in e["msg"] for e in located), errors


@pytest.mark.parametrize("missing", ["data", "order", "learning_rate"])
def test_required_parameters(missing: str) -> None:
    with pytest.raises(ValidationError) as info:
        SgdChainParams.model_validate({k: v for k, v in BASE.items() if k != missing})
    assert [e["loc"] for e in info.value.errors()] == [(missing,)]


def test_defaults_are_the_worksheet_defaults() -> None:
    p = SgdChainParams.model_validate(BASE)
    assert (p.depth, p.init, p.activation, p.loss) == (3, "zeros", "sigmoid", "mse")
    assert (p.rounding.mode, p.rounding.decimals) == ("transcendental", 4)
    assert p.initial_matrix() == [[0, 0, 0], [0, 0, 0]]
    assert p.learning_rate == 5 and isinstance(p.learning_rate, F)
    q = SgdChainParams.model_validate({**BASE, "init": [["1/2", 0, -1], [0.25, "−1/8", 3]]})
    assert q.initial_matrix() == [[F(1, 2), 0, -1], [F(1, 4), F(-1, 8), 3]]


def test_exploding_exact_values_are_refused_clearly() -> None:
    # identity with a large step diverges: 5 steps would give values of ~1300 digits
    raw = {
        "data": [[2, 0]],
        "order": [1] * 5,
        "learning_rate": "1/2",
        "init": [[0, 0, 0], [1, 2, 3]],
        "activation": "identity",
    }
    params = SgdChainParams.model_validate(raw)
    with pytest.raises(NumberGrowthError, match=r"digits in step \d.*the limit is 1000"):
        EXERCISE.solve(params, "sgd")


def test_a_key_beyond_float64_is_reported_not_crashed() -> None:
    # identity with a large step diverges: 4 steps stay within the digit limit, not float64's
    raw = {
        "data": [[2, 0]],
        "order": [1] * 4,
        "learning_rate": "1/2",
        "init": [[0, 0, 0], [1, 2, 3]],
        "activation": "identity",
    }
    params = SgdChainParams.model_validate(raw)
    solution = EXERCISE.solve(params, "sgd")
    if max(abs(v) for v in solution.values.values()) > 10**308:
        assert EXERCISE.check_independently(params, solution.answers) == [
            "a value is beyond the range of float64: the key cannot be recomputed"
        ]
    else:
        assert EXERCISE.check_independently(params, solution.answers) == []
