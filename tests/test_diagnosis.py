"""Property test of the diagnosis: synthetic students made with the engine.

Each synthetic student makes one catalogue mistake systematically: every computation of
the exercise, in order, run with the mistake's Rules on the student's own earlier values
(grader.grade.mistakes.replay).  Such a student must be diagnosed with that mistake (and a
learning-rate student with the rate used), never with "arithmetic"; a correct student
(the control) gets no diagnosis at all.  Students write either exact fractions or
decimals rounded to the instructed places, which they then keep computing with.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest

from grader.core.engine import CORRECT, TRANSPOSE_KINDS, FractionOps, Rules
from grader.core.models import RoundingSpec
from grader.core.numbers import fmt_dec, fmt_frac, round_half_away
from grader.course.assignment import Assignment, ExerciseSpec
from grader.course.variants import Variant
from grader.exercises import get_exercise
from grader.grade.formulas import formula_text
from grader.grade.grading import Report, exercise_rounding, grade_submission
from grader.grade.mistakes import replay, submission_from, variations
from tests.helpers import nice_variants

ACTIVATIONS = ["sigmoid", "tanh", "relu", "identity", "hard_sigmoid", "softsign"]
MODES = ["exact", "transcendental", "all"]


def sgd_fixed(rng: random.Random, i: int) -> dict:
    return {
        "activation": ACTIVATIONS[i % 6],
        "depth": rng.choice([2, 3, 4]),
        "loss": rng.choice(["mse", "half_mse"]),
        "rounding": RoundingSpec(mode=MODES[(i // 6) % 3], decimals=rng.choice([3, 4, 5])),
    }


def mistaken_rules(v: Variant) -> list[tuple[str, Rules]]:
    """Every catalogue mistake the variant's computations declare, as the Rules a
    student who makes it everywhere follows."""
    declared = {m for c in v.solution.computations for m in c.mistakes}
    rate = getattr(v.params, "learning_rate", None)
    data = getattr(v.params, "data", None) or []
    table: dict[str, list[Rules]] = {
        "sign_flip": [Rules(delta_sign=-1)],
        "missing_factor_2": [Rules(factor_2_error=True)],
        "missing_activation_derivative": [Rules(derivative="one")],
        "wrong_activation_derivative": [Rules(derivative="value")],
        "gradient_ascent": [Rules(update_sign=+1)],
        "transposed": [Rules(transpose=kind) for kind in TRANSPOSE_KINDS],
        "missing_path": [Rules(omit_term=0), Rules(omit_term=1)],
        "wrong_observation": [Rules(observation=j) for j in range(len(data))],
        "learning_rate": [
            Rules(learning_rate=r)
            for r in sorted({rate / 10, rate * 10, Fraction(1), rate / 2, rate * 2} - {rate})
        ]
        if rate
        else [],
    }
    return [(m, rules) for m in sorted(declared) for rules in table[m]]


def student(v: Variant, rules: Rules, style: str) -> dict[str, Any]:
    k = v.solution.decimals
    ops = FractionOps(exercise_rounding(v))
    keep = None if style == "exact" else (lambda x: round_half_away(x, k))
    values = replay(v.solution, ops, rules, write=keep)

    def text(x: Any) -> str:
        if not isinstance(x, Fraction):
            return formula_text(x)
        return fmt_frac(x) if style == "exact" else fmt_dec(x, k)

    layout = get_exercise(v.exercise.type).template_answers(v.params)
    return {"student": "s1", "answers": {"ex": submission_from(values, layout, "ex", text)}}


def grade(v: Variant, submission: dict) -> Report:
    return grade_submission(Assignment(id="hw", exercises=[v.exercise]), "s1", [v], submission)


def check_student(v: Variant, mistake: str, rules: Rules, style: str) -> bool:
    """Assert the diagnosis of one synthetic student; False when the mistake left no trace."""
    report = grade(v, student(v, rules, style))
    wrong = [f for f in report.fields if f.status == "incorrect"]
    assert all(f.status != "invalid" for f in report.fields)
    if not wrong:  # e.g. f′ = 1 forgotten for the identity: nothing to see
        return False
    for f in wrong:
        ids = [d.id for d in f.diagnosis]
        assert mistake in ids, (mistake, style, f.pointer, f.given, f.feedback)
        assert "arithmetic" not in ids
    if mistake == "learning_rate":
        details = {d.detail for f in wrong for d in f.diagnosis if d.id == mistake}
        assert details == {fmt_frac(rules.learning_rate)}
    return True


def check_control(v: Variant, style: str) -> None:
    report = grade(v, student(v, CORRECT, style))
    off = [
        (f.pointer, f.status, f.given)
        for f in report.fields
        if f.status != "correct" or f.diagnosis
    ]
    assert not off, (style, off[:3])
    assert report.score == report.max_score


@pytest.mark.parametrize("seed", [1, 2])
def test_sgd_students_are_diagnosed_with_their_mistake(seed: int) -> None:
    variants = nice_variants("sgd_chain", sgd_fixed, 18, seed)
    assert len(variants) >= 15
    seen: set[str] = set()
    for i, v in enumerate(variants):
        style = ("exact", "decimal")[(i + seed) % 2]
        check_control(v, style)
        for mistake, rules in mistaken_rules(v):
            if check_student(v, mistake, rules, style):
                seen.add(mistake)
    assert seen == {
        "sign_flip",
        "missing_factor_2",
        "missing_activation_derivative",
        "wrong_activation_derivative",
        "gradient_ascent",
        "learning_rate",
        "wrong_observation",
    }


@pytest.mark.parametrize(
    ("exercise_type", "expected"),
    [
        ("chain_rule", {"missing_path"}),
        (
            "mlp_matrix",
            {
                "sign_flip",
                "missing_factor_2",
                "missing_activation_derivative",
                "wrong_activation_derivative",
                "gradient_ascent",
                "learning_rate",
                "transposed",
            },
        ),
    ],
)
def test_other_families_students_are_diagnosed(exercise_type: str, expected: set[str]) -> None:
    variants = nice_variants(exercise_type, lambda rng, i: {}, 8, seed=4)
    seen: set[str] = set()
    for i, v in enumerate(variants):
        style = ("exact", "decimal")[i % 2]
        check_control(v, style)
        for mistake, rules in mistaken_rules(v):
            if check_student(v, mistake, rules, style):
                seen.add(mistake)
    assert expected <= seen


def test_canonical_learning_rate_detail_is_the_rate_used() -> None:
    from grader.course.variants import make_variants

    params = {
        "data": [[5, 0], [1, 1]],
        "order": [2, 1],
        "learning_rate": 5,
        "init": "zeros",
        "rounding": {"mode": "transcendental", "decimals": 4},
    }
    a = Assignment(id="hw", exercises=[ExerciseSpec(id="ex", type="sgd_chain", params=params)])
    v = make_variants(a, "s1", None)[0]
    report = grade(v, student(v, Rules(learning_rate=Fraction(1, 2)), "decimal"))
    w3 = next(f for f in report.fields if f.pointer == "/answers/ex/steps/0/weights/1/2")
    assert w3.given == "0.0625" and w3.status == "incorrect"  # 0 − 0.5·(−1/8)
    assert [(d.id, d.detail) for d in w3.diagnosis] == [("learning_rate", "1/2")]
    assert "Your update used γ = 1/2 = 0.5 instead of 5." in w3.feedback


def test_learning_rate_needs_a_plausible_rate() -> None:
    from grader.core.intervals import Interval

    ctx_rate = Fraction(5)
    from grader.exercises.base import MistakeContext

    ctx = MistakeContext(learning_rate=ctx_rate)
    assert [v.detail for v in variations("learning_rate", ctx, Interval(Fraction(1, 2)))] == ["1/2"]
    assert list(variations("learning_rate", ctx, Interval(Fraction(37, 91)))) == []  # arbitrary
    assert list(variations("learning_rate", ctx, Interval(Fraction(56)))) == []  # not simple
    assert (
        list(variations("learning_rate", ctx, Interval(Fraction(-5)))) == []
    )  # ascent, not a rate
    assert list(variations("learning_rate", ctx, Interval(Fraction(5)))) == []  # the given rate


def _plausible_rate(rates: Any, given: Fraction | None, other_rates: list[Any]) -> Fraction | None:
    """pick_rate's documented rule, written plainly with Fractions: the candidates in
    order (1, the slips of the given rate, the smallest p/q ≥ lo for q = 1..4 up to 10),
    without duplicates, kept when in (0, 1000], not the given rate and inside ``rates``;
    ties broken by the other updates' votes, then by order."""
    import math

    candidates = [Fraction(1)]
    if given is not None:
        for k in (1, 2, 3):
            candidates += [given / 10**k, given * 10**k]
        candidates += [given / 2, given * 2]
    for q in range(1, 5):
        p = max(1, math.ceil(rates.lo * q))
        if p <= 10 * q:
            candidates.append(Fraction(p, q))
    fitting = [
        r for r in dict.fromkeys(candidates) if 0 < r <= 1000 and r != given and rates.contains(r)
    ]
    if not fitting:
        return None
    votes = [sum(1 for other in other_rates if other.contains(r)) for r in fitting]
    return fitting[votes.index(max(votes))]


def test_pick_rate_follows_its_rule_on_random_intervals() -> None:
    from grader.core.intervals import Interval
    from grader.grade.rates import pick_rate

    rng = random.Random(7)
    found = 0
    for _ in range(20_000):
        lo = Fraction(rng.randint(-300, 3000), rng.choice([1, 2, 3, 4, 7, 100, 9973]))
        width = Fraction(rng.randint(0, 500), rng.choice([1, 10, 100, 10_000]))
        rates = Interval(lo / 10, lo / 10 + width)
        given = rng.choice([None, Fraction(5), Fraction(1, 2), Fraction(3, 4), Fraction(2)])
        others = [Interval(Fraction(rng.randint(0, 40), 4)) for _ in range(rng.randint(0, 3))]
        expected = _plausible_rate(rates, given, others)
        assert pick_rate(rates, given, others) == expected
        assert pick_rate(rates, given, lambda others=others: others) == expected  # asked lazily
        found += expected is not None
    assert found > 2_000  # the cases exercise the fitting branch, not only "no rate"
