"""The ``softmax_classifier`` family: exp/ln/softmax against high-precision references,
interval enclosures of softmax, the key of a fixed assignment against hand values, full
marks for the key, every typical mistake diagnosed with carried-forward credit downstream,
and the float64 oracle over random valid assignments."""

from __future__ import annotations

import random
import re
from fractions import Fraction as F
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mpmath
import pytest
from pydantic import ValidationError

from grader.core import engine, transcendental
from grader.core.engine import CORRECT, TRANSPOSE_KINDS, FractionOps, Rounding, Rules
from grader.core.intervals import Interval, IntervalOps
from grader.core.numbers import fmt_dec, fmt_frac, round_half_away
from grader.course.assignment import Assignment, ExerciseSpec
from grader.course.variants import Variant
from grader.exercises import get_exercise
from grader.exercises.base import Computation
from grader.grade.grading import Report, exercise_rounding, grade_submission
from grader.grade.mistakes import submission_from
from grader.make.rendering import render, words
from tests.helpers import assert_partials_compile, nice_variants

FAMILY = get_exercise("softmax_classifier")
mpmath.mp.dps = 60

# softmax regression 2 → 3, two SGD steps (worked by hand below)
FIXED = {
    "x": [[1, 2], [2, 1]],
    "labels": [2, 3],
    "weights": [[[F(1, 2), -1, 0], [0, F(1, 2), F(-1, 2)]]],
    "biases": [[0, F(1, 2), 0]],
    "learning_rate": F(1, 2),
    "order": [1, 2],
}
# 3 inputs, 3 classes: W is square, so a transposed gradient has W's shape
SQUARE = {
    "x": [[1, 0, 2], [0, 1, -1]],
    "labels": [1, 3],
    "weights": [[[F(1, 2), 0, -1], [0, 1, 0], [F(-1, 2), 0, F(1, 2)]]],
    "biases": [[0, 0, F(1, 2)]],
    "learning_rate": F(1, 4),
}
# one hidden layer of 3 relu units before 3 classes: W2 is square
HIDDEN = {
    "x": [[1, 2], [2, 1]],
    "labels": [3, 1],
    "hidden": [3],
    "activation": "relu",
    "weights": [
        [[1, F(1, 2), 0], [F(1, 2), 0, 1]],
        [[1, F(-1, 2), 0], [0, 1, F(-1, 2)], [F(-1, 2), 0, 1]],
    ],
    "biases": [[0, F(1, 2), 0], [0, 0, F(1, 2)]],
    "learning_rate": F(1, 2),
    "order": [2, 1],
}


def variant(params: dict[str, Any], exercise_id: str = "ex") -> Variant:
    p = FAMILY.Params.model_validate(params)
    spec = ExerciseSpec(id=exercise_id, type="softmax_classifier", points=10)
    return Variant(spec, p, FAMILY.solve(p, exercise_id))


# ---------------------------------------------------------------- exp, ln, log10, softmax


def _mp(q: F) -> Any:
    return mpmath.mpf(q.numerator) / q.denominator


def _mp_round(value: Any, k: int) -> F:
    """Half away from zero at k places, from a 60-digit value (far from a halfway point
    for the values drawn here: asserted)."""
    scaled = value * mpmath.mpf(10) ** k
    floor = mpmath.floor(abs(scaled))
    assert abs(abs(scaled) - floor - mpmath.mpf(1) / 2) > mpmath.mpf(10) ** -30
    magnitude = int(floor) + (1 if abs(scaled) - floor > mpmath.mpf(1) / 2 else 0)
    return F(magnitude if value >= 0 else -magnitude, 10**k)


@pytest.mark.parametrize("seed", range(4))
@mpmath.workdps(400)  # e^600 has 261 digits before the point
def test_exp_ln_log10_are_correctly_rounded_and_bounded(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(60):
        q = F(rng.randint(-600, 600), rng.choice([1, 2, 3, 7, 10, 64, 1000]))
        k = rng.choice([0, 2, 4, 6, 9])
        if q:
            want = mpmath.exp(_mp(q))
            assert transcendental.rounded("exp", q, k) == _mp_round(want, k)
            lo, hi = transcendental.bounds("exp", q)
            assert _mp(lo) <= want <= _mp(hi)
            assert (hi - lo) <= F(1, 10**25) * max(1, hi)
        positive = abs(q) or F(1, 3)
        if positive != 1:
            for name, fn in (("ln", mpmath.log), ("log10", mpmath.log10)):
                want = fn(_mp(positive))
                assert transcendental.rounded(name, positive, k) == _mp_round(want, k)
                lo, hi = transcendental.bounds(name, positive)
                assert _mp(lo) <= want <= _mp(hi) and hi - lo < F(1, 10**25)


def test_exact_values_and_domain_errors() -> None:
    assert transcendental.rounded("exp", F(0), 4) == 1
    assert transcendental.rounded("ln", F(1), 4) == 0
    assert transcendental.rounded("log10", F(1, 100), 4) == -2  # an integer: no halfway issue
    assert transcendental.rounded("log10", F(1000), 0) == 3
    for name, q in (("ln", F(0)), ("ln", F(-1, 2)), ("log10", F(0)), ("exp", F(10**6))):
        with pytest.raises(ValueError):
            transcendental.rounded(name, q, 4)


@pytest.mark.parametrize("seed", range(3))
def test_softmax_coordinates_are_correctly_rounded(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        z = [F(rng.randint(-40, 40), rng.choice([1, 2, 4, 10])) for _ in range(rng.randint(2, 5))]
        k = rng.choice([2, 4, 6])
        total = mpmath.fsum(mpmath.exp(_mp(zj)) for zj in z)
        got = FractionOps(Rounding("transcendental", k)).softmax(z)
        for i, zi in enumerate(z):
            want = mpmath.exp(_mp(zi)) / total
            if len(set(z)) > 1:
                assert got[i] == _mp_round(want, k)
            d = transcendental.softmax_differences(z, i)
            lo, hi = transcendental.softmax_bounds(d)
            assert _mp(lo) <= want <= _mp(hi)
    # equal logits: 1/K rounded, rational
    assert FractionOps(Rounding("transcendental", 4)).softmax([F(1)] * 3) == [F(3333, 10000)] * 3
    assert FractionOps(Rounding("exact")).softmax([F(2), F(2)]) == [F(1, 2), F(1, 2)]


@pytest.mark.parametrize("seed", range(3))
def test_interval_softmax_encloses_every_point_of_the_box(seed: int) -> None:
    """pᵢ is not monotone in each logit: the enclosure must still hold every exact and
    every rounded pᵢ of logits anywhere in their intervals (corners and inside)."""
    rng = random.Random(seed)
    k = 3
    ops, points = (
        IntervalOps(Rounding("transcendental", k)),
        FractionOps(Rounding("transcendental", k)),
    )
    for _ in range(15):
        centers = [F(rng.randint(-20, 20), 8) for _ in range(3)]
        widths = [F(rng.randint(0, 4), 16) for _ in range(3)]
        box = [Interval(c - w, c + w) for c, w in zip(centers, widths, strict=True)]
        enclosure = ops.softmax(box)
        for _ in range(25):
            z = [iv.lo + (iv.hi - iv.lo) * F(rng.randint(0, 8), 8) for iv in box]
            total = mpmath.fsum(mpmath.exp(_mp(zj)) for zj in z)
            for i, (pi, rounded) in enumerate(zip(enclosure, points.softmax(z), strict=True)):
                assert pi.contains(rounded)
                exact = mpmath.exp(_mp(z[i])) / total
                assert _mp(pi.lo) <= exact <= _mp(pi.hi)
        # tight: no wider than the exact range plus a rounding step
        for pi in enclosure:
            assert pi.width < F(1, 2)


def test_engine_primitives_on_numbers_and_intervals() -> None:
    ops = FractionOps(Rounding("transcendental", 4))
    p = [[F(2447, 10000), F(6652, 10000), F(900, 10000)]]
    assert engine.softmax(ops, CORRECT, [[F(1), F(2), F(0)]]) == p  # e/(1+e+e²) = 0.24472…
    assert engine.softmax_delta(ops, CORRECT, p, [1]) == [
        [F(2447, 10000), F(-3348, 10000), F(9, 100)]
    ]
    assert engine.softmax_delta(ops, Rules(delta_sign=-1), p, [1])[0][1] == F(3348, 10000)
    assert engine.softmax_delta(ops, Rules(target_class=0), p, [1])[0][0] == F(-7553, 10000)
    assert engine.cross_entropy(ops, CORRECT, p, [1]) == F(4077, 10000)  # −ln 0.6652 = 0.40767…
    assert engine.cross_entropy(ops, Rules(log_name="log10"), p, [1]) == F(1770, 10000)  # 0.17705…
    assert engine.softmax(ops, Rules(normalize=False), [[F(1), F(0)]]) == [[F(27183, 10000), F(1)]]
    assert engine.bias_update(ops, Rules(bias_gradient=False), [F(1)], [F(3)], F(1)) == [F(1)]
    assert engine.bias_update(ops, CORRECT, [F(1)], [F(3)], F(1, 2)) == [F(-1, 2)]
    # a transposed result has the product's shape only when that is square: a row times a
    # 2×3 matrix stays the row (the slip cannot have been made), it never becomes a column
    row, w = [[F(1), F(2)]], [[F(1), 0, 1], [2, 1, 0]]
    assert engine.product(row, w, Rules(transpose="result")) == [[5, 2, 1]]
    iv = IntervalOps(Rounding("transcendental", 4))
    loss = engine.cross_entropy(iv, CORRECT, [[Interval(F(1, 2), F(6, 10))]], [0])
    assert loss.contains(F(5108, 10000)) and loss.contains(F(6931, 10000))  # −ln 0.6 … −ln 0.5


# ---------------------------------------------------------------- the family


def test_fixed_assignment_key_is_the_hand_computation() -> None:
    v = variant(FIXED)
    s1, s2 = v.solution.answers["steps"]
    # step 1, x = (1, 2), y = 2: z = (1/2, 1/2, −1); p = e^z / Σ e^z, each rounded to 4 places
    assert s1["logits"] == [F(1, 2), F(1, 2), -1]
    total = 2 * mpmath.exp(0.5) + mpmath.exp(-1)
    assert (
        s1["probabilities"]
        == [
            _mp_round(mpmath.exp(0.5) / total, 4),
            _mp_round(mpmath.exp(0.5) / total, 4),
            _mp_round(mpmath.exp(-1) / total, 4),
        ]
        == [F("0.4498"), F("0.4498"), F("0.1004")]
    )
    assert s1["loss"] == F("0.7990")  # −ln 0.4498 = 0.79895…
    assert s1["delta_out"] == [F("0.4498"), F("-0.5502"), F("0.1004")]
    assert s1["grad_W1"] == [
        [F("0.4498"), F("-0.5502"), F("0.1004")],
        [F("0.8996"), F("-1.1004"), F("0.2008")],
    ]
    assert s1["W1"][1] == [F("-0.4498"), F("1.0502"), F("-0.6004")]  # row 2 − ½·(2·δ)
    assert s1["b1"] == [F("-0.2249"), F("0.7751"), F("-0.0502")]
    # step 2 starts from step 1's W and b: x = (2, 1), z₁ = 2·0.2751 − 0.4498 − 0.2249
    assert s2["logits"][0] == F("-0.1245")
    assert FAMILY.check_independently(v.params, v.solution.answers) == []


def test_solve_prints_the_key(tmp_path: Any) -> None:
    import yaml
    from click.testing import CliRunner

    from grader.cli import main

    spec = {"id": "soft", "type": "softmax_classifier", "points": 10, "params": _json(FIXED)}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"id": "hw", "exercises": [spec]}))
    result = CliRunner().invoke(main, ["solve", str(tmp_path / "a.yaml")])
    assert result.exit_code == 0, result.output
    assert "probabilities [0.4498 0.4498 0.1004]" in result.output
    assert "loss          0.799" in result.output


def _json(params: dict[str, Any]) -> Any:
    if isinstance(params, dict):
        return {k: _json(v) for k, v in params.items()}
    if isinstance(params, list):
        return [_json(v) for v in params]
    return fmt_frac(params) if isinstance(params, F) else params


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({**FIXED, "labels": [2, 4]}, "labels[1] = 4 is not a class number 1..3"),
        ({**FIXED, "labels": [2]}, "one class per observation"),
        ({**FIXED, "order": [3]}, "order[0] = 3 is not an observation number"),
        ({**FIXED, "biases": [[0, 0]]}, "biases[0] (layer 1) must be a vector of 3"),
        ({**FIXED, "weights": [[[1, 2, 3]]]}, "weights[0] (layer 1) must be a 2×3 matrix"),
        ({**FIXED, "hidden": [2]}, "weights must hold 2 layers"),
    ],
)
def test_bad_params_are_refused_with_a_clear_message(params: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        FAMILY.Params.model_validate(params)


def grade(v: Variant, submission: dict) -> Report:
    return grade_submission(Assignment(id="hw", exercises=[v.exercise]), "s1", [v], submission)


def student(v: Variant, rules_for: Any, style: str) -> dict[str, Any]:
    """A student who computes every field from their own earlier values, under
    ``rules_for(computation)``; ``decimal`` students write (and keep) k-place decimals."""
    k = v.solution.decimals
    ops = FractionOps(exercise_rounding(v))
    values: dict[str, Any] = {}
    for comp in v.solution.computations:
        out = comp.compute({p: values[p] for p in comp.inputs}, ops, rules_for(comp))
        for ptr, value in zip(comp.outputs, out, strict=True):
            values[ptr] = value if style == "exact" else round_half_away(value, k)
    text = fmt_frac if style == "exact" else (lambda x: fmt_dec(x, k))
    layout = FAMILY.template_answers(v.params)
    return {"student": "s1", "answers": {"ex": submission_from(values, layout, "ex", text)}}


@pytest.mark.parametrize("params", [FIXED, SQUARE, HIDDEN], ids=["regression", "square", "hidden"])
@pytest.mark.parametrize("style", ["exact", "decimal"])
def test_the_key_graded_as_a_submission_gets_full_marks(params: dict, style: str) -> None:
    v = variant(params)
    report = grade(v, student(v, lambda comp: CORRECT, style))
    assert [f.pointer for f in report.fields if f.status != "correct" or f.diagnosis] == []
    assert report.score == report.max_score == 10
    key = {"student": "s1", "answers": {"ex": _json(v.solution.answers)}}
    assert grade(v, key).score == 10


# (mistake, the Rules of a student who makes it, the field it is made in, the assignment)
MISTAKES = [
    ("sign_flip", Rules(delta_sign=-1), "δ of step 1", FIXED),
    ("wrong_class", Rules(target_class=0), "δ of step 1", FIXED),
    ("unnormalized_softmax", Rules(normalize=False), "p of step 1", FIXED),
    ("log_base_10", Rules(log_name="log10"), "L of step 1", FIXED),
    ("learning_rate", Rules(learning_rate=F(1)), "W1 after step 1", FIXED),
    ("gradient_ascent", Rules(update_sign=1), "b1 after step 1", FIXED),
    ("missing_bias_gradient", Rules(bias_gradient=False), "b1 after step 1", FIXED),
    ("missing_bias_gradient", Rules(bias_gradient=False), "∂L/∂b1 of step 1", FIXED),
    ("wrong_observation", Rules(observation=1), "z of step 1", FIXED),
    ("wrong_observation", Rules(observation=0), "∂L/∂W1 of step 2", FIXED),
    ("transposed", Rules(transpose="result"), "∂L/∂W1 of step 1", SQUARE),  # δᵀ·x
    ("transposed", Rules(transpose="right"), "z of step 1", SQUARE),  # x·Wᵀ
    ("transposed", Rules(transpose="right"), "δ1 of step 1", HIDDEN),  # δ·W₂
    ("wrong_activation_derivative", Rules(derivative="value"), "δ1 of step 1", HIDDEN),
]


@pytest.mark.parametrize(
    ("mistake", "rules", "label", "params"),
    MISTAKES,
    ids=[f"{m}-{label.split()[0]}" for m, _, label, _ in MISTAKES],
)
@pytest.mark.parametrize("style", ["exact", "decimal"])
def test_a_student_with_a_typical_mistake_is_diagnosed_and_credited_downstream(
    mistake: str, rules: Rules, label: str, params: dict, style: str
) -> None:
    v = variant(params)
    labels = [c.label for c in v.solution.computations]
    assert label in labels

    def rules_for(comp: Computation) -> Rules:
        return rules if comp.label == label else CORRECT

    report = grade(v, student(v, rules_for, style))
    target = next(c for c in v.solution.computations if c.label == label)
    wrong = [f for f in report.fields if f.status == "incorrect"]
    assert wrong, "the mistake left no trace"
    assert {f.pointer for f in wrong} <= set(target.outputs)
    for f in wrong:
        assert mistake in [d.id for d in f.diagnosis], (f.pointer, f.feedback)
        assert "arithmetic" not in [d.id for d in f.diagnosis]
    # the fields computed from the mistaken one earn carried-forward credit
    readers = {
        ptr
        for c in v.solution.computations
        if set(c.inputs) & set(target.outputs)
        for ptr in c.outputs
    }
    status = {f.pointer: f for f in report.fields}
    if label.startswith("L "):  # nothing is computed from the loss
        assert not readers
    else:
        assert readers and any(status[p].status == "carried_forward" for p in readers)
    assert all(status[p].status in ("correct", "carried_forward") for p in readers)
    assert all(status[p].points > 0 for p in readers)


# ---------------------------------------------------------------- oracle and variants


def _fixed_for(rng: random.Random, i: int) -> dict[str, Any]:
    hidden = [[], [], [2], [3]][i % 4]
    mode = ["transcendental", "all", "exact"][i % 3]
    return {
        "hidden": hidden,
        "activation": rng.choice(["relu", "sigmoid", "tanh", "identity"]),
        "classes": rng.choice([2, 3, 3, 4]),
        "order": [rng.randint(1, 2) for _ in range(rng.randint(1, 2))],
        "rounding": {"mode": mode, "decimals": rng.choice([3, 4])},
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_random_variants_are_nice_and_agree_with_the_float_oracle(seed: int) -> None:
    variants = nice_variants("softmax_classifier", _fixed_for, 12, seed)
    assert len(variants) >= 10
    for v in variants:
        answers = v.solution.answers
        assert FAMILY.check_independently(v.params, answers) == []
        for step in answers["steps"]:
            assert min(step["probabilities"]) >= F(1, 20)
            assert max(step["probabilities"]) - min(step["probabilities"]) >= F(1, 10)
        # the oracle is no rubber stamp: one changed digit anywhere is named
        step = answers["steps"][-1]
        for name in ("probabilities", "loss", "b1"):
            broken = {**answers, "steps": [*answers["steps"][:-1], dict(step)]}
            value = step[name]
            broken["steps"][-1][name] = (
                value + F(1, 100)
                if not isinstance(value, list)
                else [value[0] + F(1, 100), *value[1:]]
            )
            problems = FAMILY.check_independently(v.params, broken)
            assert any(f"/{name}" in p for p in problems), (name, problems)


def _everywhere(v: Variant) -> list[tuple[str, Rules]]:
    """Every mistake the variant's computations declare, as the Rules of a student who
    makes it everywhere."""
    p = v.params
    rate = p.learning_rate
    table: dict[str, list[Rules]] = {
        "sign_flip": [Rules(delta_sign=-1)],
        "wrong_class": [Rules(target_class=j) for j in range(p.classes)],
        "unnormalized_softmax": [Rules(normalize=False)],
        "log_base_10": [Rules(log_name="log10")],
        "missing_bias_gradient": [Rules(bias_gradient=False)],
        "gradient_ascent": [Rules(update_sign=1)],
        "wrong_observation": [Rules(observation=j) for j in range(len(p.x))],
        "transposed": [Rules(transpose=kind) for kind in TRANSPOSE_KINDS],
        "missing_activation_derivative": [Rules(derivative="one")],
        "wrong_activation_derivative": [Rules(derivative="value")],
        "learning_rate": [
            Rules(learning_rate=r) for r in sorted({rate * 2, rate / 2, F(1)} - {rate})
        ],
    }
    declared = {m for c in v.solution.computations for m in c.mistakes}
    return [(m, rules) for m in sorted(declared) for rules in table[m]]


@pytest.mark.parametrize("seed", [3])
def test_random_students_with_each_mistake_everywhere_are_diagnosed(seed: int) -> None:
    variants = nice_variants("softmax_classifier", _fixed_for, 8, seed)
    seen: set[str] = set()
    for i, v in enumerate(variants):
        style = ("exact", "decimal")[i % 2]
        control = grade(v, student(v, lambda comp: CORRECT, style))
        assert control.score == control.max_score
        for mistake, rules in _everywhere(v):
            report = grade(v, student(v, lambda comp, rules=rules: rules, style))
            wrong = [f for f in report.fields if f.status == "incorrect"]
            for f in wrong:
                ids = [d.id for d in f.diagnosis]
                assert mistake in ids and "arithmetic" not in ids, (mistake, f.pointer, ids)
            if wrong:
                seen.add(mistake)
    assert {
        "sign_flip",
        "wrong_class",
        "unnormalized_softmax",
        "log_base_10",
        "missing_bias_gradient",
        "gradient_ascent",
        "learning_rate",
        "wrong_observation",
    } <= seen


def test_the_oracle_shares_no_code_with_the_engine() -> None:
    import ast
    import inspect

    from grader.exercises.softmax_classifier import oracle as softmax_classifier

    source = inspect.getsource(softmax_classifier.float_oracle_mismatches)
    names = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    assert not names & {"engine", "transcendental", "FractionOps", "IntervalOps", "_StepGraph"}


def _render(p: Any, kind: str, language: str) -> str:
    solution = FAMILY.solve(p, "ex")
    return render(
        f"softmax_classifier/{kind}.tex.j2",
        ex=SimpleNamespace(id="ex", points=10, title=None, type="softmax_classifier"),
        number=1,
        p=p,
        s=solution,
        view=FAMILY.latex_view(p, solution, language),
        w=words(language, ["softmax_classifier"]),
        k=p.rounding.decimals,
    )


def test_partials_show_the_network_the_formulas_and_the_key() -> None:
    p = variant(FIXED).params
    sheet, key = _render(p, "sheet", "en"), _render(p, "key", "en")
    assert r"\node[unit] (in0)" in sheet and "softmax" in sheet  # the drawing
    assert r"p_i = \frac{e^{z_i}}{\sum_{j=1}^{3} e^{z_j}}" in sheet
    assert r"p - \mathrm{onehot}(y)" in sheet and r"L = -\ln p_y" in sheet
    assert "may add up to 1 only up to a unit in the last digit" in sheet
    assert (
        r"p &= \operatorname{softmax}(z) \approx \begin{bmatrix} 0.4498 & 0.4498 & 0.1004 \end{bmatrix}"
        in key
    )
    assert r"L &= -\ln p_{2} \approx 0.799" in key
    assert (
        r"\delta_{\mathrm{out}} &= p - \mathrm{onehot}(2) = \begin{bmatrix} 0.4498 & -0.5502" in key
    )
    ru = _render(p, "sheet", "ru")
    assert "Округление" in ru and "сумма вероятностей" in ru
    hidden = _render(variant(HIDDEN).params, "sheet", "en")
    assert r"\delta_\ell = (\delta_{\ell+1} W_{\ell+1}^{\top}) \odot f'(h_\ell)" in hidden


@pytest.mark.tex
def test_sheet_and_key_partials_compile(require_tex: None, tmp_path: Path) -> None:
    cases = [variant(FIXED).params, variant(HIDDEN).params, variant(SQUARE).params]
    cases += [v.params for v in nice_variants("softmax_classifier", _fixed_for, 3, seed=5)]

    # the key's page-break hint is the class document's macro (see preamble.tex.j2)
    def partial(p: Any, kind: str, language: str) -> str:
        return "\\providecommand{\\graderneedspace}[1]{}\n" + _render(p, kind, language)

    assert_partials_compile(tmp_path, partial, cases)


def test_exact_mode_keeps_probabilities_to_30_decimals() -> None:
    v = variant({**FIXED, "rounding": {"mode": "exact", "decimals": 4}})
    p = v.solution.answers["steps"][0]["probabilities"]
    total = 2 * mpmath.exp(0.5) + mpmath.exp(-1)
    assert p[2] == _mp_round(mpmath.exp(-1) / total, 30)
    assert FAMILY.check_independently(v.params, v.solution.answers) == []


@pytest.mark.parametrize(
    ("field", "texts"),
    [
        ("probabilities", ["0", "-1", "1e300"]),  # ln of 0 and of a negative number
        ("logits", ["123456789/7", "1e-30", "-999"]),  # exp far beyond a hand exercise
        ("o1", ["-1e5", "0", "x"]),
    ],
)
def test_hostile_answers_are_graded_without_a_traceback(field: str, texts: list[str]) -> None:
    v = variant(HIDDEN)
    submission = {"student": "s1", "answers": {"ex": _json(v.solution.answers)}}
    submission["answers"]["ex"]["steps"][0][field] = texts
    report = grade(v, submission)
    mine = [f for f in report.fields if f"/steps/0/{field}/" in f.pointer]
    assert all(f.status in ("incorrect", "invalid") for f in mine[:2])
    assert 0 < report.score < 10


# The mapping (secret, assignment, exercise, student) → variant, pinned as for the other
# families (tests/test_variant_golden.py): a change must come with a new version.
GOLDEN_SECRET = b"golden-softmax-secret-4d9b1e7a"


def test_golden_variants() -> None:
    from grader.course.variants import make_variants

    assignment = Assignment.model_validate(
        {
            "id": "hw-soft",
            "exercises": [
                {"id": "soft", "type": "softmax_classifier", "points": 10},
                {
                    "id": "deep",
                    "type": "softmax_classifier",
                    "points": 10,
                    "params": {"hidden": [2], "order": [1, 2]},
                },
            ],
        }
    )
    got = {
        sid: {
            v.exercise.id: v.params.model_dump(mode="json")
            for v in make_variants(assignment, sid, GOLDEN_SECRET)
        }
        for sid in ("s001", "s042")
    }
    assert got == GOLDEN_SOFTMAX


GOLDEN_SOFTMAX: dict[str, Any] = {
    "s001": {
        "soft": {
            "x": [["2", "0"], ["0", "-2"]],
            "labels": [1, 3],
            "classes": 3,
            "hidden": [],
            "activation": "relu",
            "weights": [[["-1/2", "1/2", "0"], ["-1", "1/2", "-1/2"]]],
            "biases": [["0", "1/2", "0"]],
            "init": "random",
            "learning_rate": "1/10",
            "order": [1],
            "rounding": {"mode": "transcendental", "decimals": 4},
        },
        "deep": {
            "x": [["1", "0"], ["2", "0"]],
            "labels": [3, 1],
            "classes": 3,
            "hidden": [2],
            "activation": "relu",
            "weights": [[["1", "1"], ["1/2", "-1/2"]], [["-1", "1", "0"], ["1/2", "1", "-1/2"]]],
            "biases": [["-1/2", "-1/2"], ["-1/2", "-1/2", "0"]],
            "init": "random",
            "learning_rate": "1/4",
            "order": [1, 2],
            "rounding": {"mode": "transcendental", "decimals": 4},
        },
    },
    "s042": {
        "soft": {
            "x": [["-1", "-2"], ["-1", "1"]],
            "labels": [3, 1],
            "classes": 3,
            "hidden": [],
            "activation": "relu",
            "weights": [[["1/2", "-1/2", "1"], ["1", "1", "1"]]],
            "biases": [["0", "1/2", "1/2"]],
            "init": "random",
            "learning_rate": "1/10",
            "order": [1],
            "rounding": {"mode": "transcendental", "decimals": 4},
        },
        "deep": {
            "x": [["1", "0"], ["2", "-1"]],
            "labels": [1, 3],
            "classes": 3,
            "hidden": [2],
            "activation": "relu",
            "weights": [[["1", "1/2"], ["0", "1/2"]], [["-1", "1/2", "1"], ["0", "-1", "-1"]]],
            "biases": [["0", "1/2"], ["-1/2", "1/2", "-1/2"]],
            "init": "random",
            "learning_rate": "1/4",
            "order": [1, 2],
            "rounding": {"mode": "transcendental", "decimals": 4},
        },
    },
}


def test_the_softmax_diagnoses_are_explained_in_the_assignment_language() -> None:
    from grader.grade.mistakes import explain

    ctx = FAMILY.mistake_context(variant(FIXED).params)
    assert "p − onehot(y), not onehot(y) − p" in explain("sign_flip", "", "δ of step 1", ctx)
    assert "а не onehot(y) − p" in explain("sign_flip", "", "δ of step 1", ctx, "ru")
    assert "класса 2" in explain("wrong_class", "class 2", "δ of step 1", ctx, "ru")
    assert "of class 2" in explain("wrong_class", "class 2", "δ of step 1", ctx, "en")
    for mistake in ("unnormalized_softmax", "log_base_10", "missing_bias_gradient"):
        ru = explain(mistake, "", "b1 after step 1", ctx, "ru")
        assert ru.startswith("В b₁") and ru != explain(mistake, "", "b1 after step 1", ctx)


def test_the_answer_page_has_a_field_for_every_graded_leaf() -> None:
    from grader.make import answer_page

    for params in (FIXED, HIDDEN):
        v = variant(params)
        form = answer_page.form_exercise(v.exercise, v.params, "ru", "10")
        fields = {f.pointer: f for f in answer_page._all_fields(form.sections)}
        assert {p: f.kind for p, f in fields.items()} == {
            p: c.kind for c in v.solution.computations for p in c.outputs
        }
        step = form.sections[0].parts[0]
        assert step.title == "Шаг 1" and [g.title for g in step.grids][:3] in (
            ["z", "p", "δ"],
            ["h₁", "o₁", "z"],
        )
