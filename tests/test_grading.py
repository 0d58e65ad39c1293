"""Grading: keys are perfect submissions, the worked sign-flip example, tolerance rules,
carried-forward credit that cannot be gamed, intervals, and the report contract."""

from __future__ import annotations

import json
import random
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.core.engine import CORRECT, FractionOps, Rounding
from grader.core.intervals import Interval, IntervalError, IntervalOps
from grader.core.models import RoundingSpec
from grader.course.assignment import Assignment, ExerciseSpec, ToleranceSpec
from grader.course.keys import key_json
from grader.course.variants import Variant, make_variants
from grader.exercises import get_exercise
from grader.grade.grading import grade_submission
from grader.grade.reports import report_json
from grader.grade.tolerance import answer_interval, pattern_matches, rule_for
from tests.helpers import CANONICAL_SGD, nice_variants

CANONICAL = CANONICAL_SGD
P = "/answers/sgd/steps"
ACTIVATIONS = ["sigmoid", "tanh", "relu", "identity", "hard_sigmoid", "softsign"]
MODES = ["exact", "transcendental", "all"]


def canonical(**spec: object) -> tuple[Assignment, list[Variant]]:
    exercise = ExerciseSpec(id="sgd", type="sgd_chain", points=10, params=CANONICAL, **spec)
    a = Assignment(id="backprop-hw1", exercises=[exercise])
    return a, make_variants(a, "s001", None)


def key_submission(a: Assignment, variants: list[Variant]) -> dict:
    return json.loads(json.dumps(key_json(a, "s001", variants)))


def by_pointer(report) -> dict:
    return {f.pointer: f for f in report.fields}


def sgd_choices(rng: random.Random, i: int) -> dict:
    return {
        "activation": ACTIVATIONS[i % len(ACTIVATIONS)],
        "depth": rng.choice([2, 3]),
        "loss": rng.choice(["mse", "half_mse"]),
        "rounding": RoundingSpec(mode=MODES[(i // 6) % 3], decimals=rng.choice([3, 4])),
    }


def grade_key(variants: list[Variant]):
    a = Assignment(id="hw", exercises=[variants[0].exercise])
    return grade_submission(a, "s001", variants, key_submission(a, variants))


# ------------------------------------------------------------ keys are perfect submissions


def test_canonical_key_gets_full_marks() -> None:
    a, variants = canonical()
    report = grade_submission(a, "s001", variants, key_submission(a, variants))
    assert len(report.fields) == 38
    assert {f.status for f in report.fields} == {"correct"}
    assert all(not f.diagnosis for f in report.fields)
    assert report.score == report.max_score == 10
    assert report.problems == ()


def test_random_sgd_keys_get_full_marks() -> None:
    variants = nice_variants("sgd_chain", sgd_choices, 36, seed=7)
    assert len(variants) >= 30
    assert {v.params.activation for v in variants} == set(ACTIVATIONS)
    assert {v.params.rounding.mode for v in variants} == set(MODES)
    for v in variants:
        report = grade_key([v])
        wrong = [(f.pointer, f.status, f.feedback) for f in report.fields if f.status != "correct"]
        assert not wrong, (v.params, wrong[:2])
        assert report.score == 10


@pytest.mark.parametrize("exercise_type", ["chain_rule", "mlp_matrix"])
def test_other_families_keys_get_full_marks(exercise_type: str) -> None:
    variants = nice_variants(exercise_type, lambda rng, i: {}, 12, seed=3)
    assert len(variants) == 12
    for v in variants:
        report = grade_key([v])
        wrong = [(f.pointer, f.status, f.feedback) for f in report.fields if f.status != "correct"]
        assert not wrong, wrong[:2]
        assert not any(f.diagnosis for f in report.fields)


# ------------------------------------------------------------ the worked example
# Canonical instance, step 1 (observation 2: x = 1, y = 1), W⁰ = 0, γ = 5.
# The student flips the sign of δ: δ₃ = 2(y − o₃)·o₃(1 − o₃) = 2·(1/2)·(1/4) = +1/4
# instead of −1/4.  δ₂ = δ₃·w₃·σ′ = 0 and δ₁ = 0 as in the key (w₃ = w₂ = 0).
# Then the student computes consistently (correctly) from their own values:
#   gradient: ∂/∂b₃ = δ₃ = 1/4, ∂/∂w₃ = δ₃·o₂ = 1/8;
#   W¹: b₃ = 0 − 5·1/4 = −5/4, w₃ = 0 − 5·1/8 = −5/8 (the key has +5/4, +5/8).
# Step 2 (observation 1: x = 5, y = 0) from the student's W¹:
#   h₁ = h₂ = 0, so o₁ = o₂ = 1/2 as in the key;
#   h₃ = −5/8·1/2 − 5/4 = −25/16, o₃ = σ(−25/16) = 1 − 0.82671… ≈ 0.1733 (key 0.8267);
#   δ₃ = 2·o₃·o₃(1 − o₃) = 2·0.1733²·0.8267 = 24828190163/500000000000 ≈ 0.0496564;
#   δ₂ = δ₃·w₃·o₂(1 − o₂) = δ₃·(−5/8)·(1/4) = −24828190163/3200000000000 ≈ −0.0077588;
#   δ₁ = δ₂·w₂·σ′ = 0 (w₂ = 0): the key's value too;
#   gradient: b₂: δ₂, w₂: δ₂/2, b₃: δ₃, w₃: δ₃/2 (b₁, w₁: 0 as in the key);
#   W²: b₂ = −5δ₂ = 24828190163/640000000000, w₂ = −5δ₂/2 = 24828190163/1280000000000,
#       b₃ = −5/4 − 5δ₃ = −149828190163/100000000000,
#       w₃ = −5/8 − 5δ₃/2 = −149828190163/200000000000 (b₁, w₁: 0).
D3 = "24828190163/500000000000"
D2 = "-24828190163/3200000000000"
SIGN_FLIP_STEP1 = {
    "forward": ["1", "1/2", "1/2", "1/2"],
    "deltas": ["0", "0", "1/4"],
    "gradient": [["0", "0", "1/4"], ["0", "0", "1/8"]],
    "weights": [["0", "0", "-5/4"], ["0", "0", "-5/8"]],
}
SIGN_FLIP_STEP2 = {
    "forward": ["5", "1/2", "1/2", "0.1733"],
    "deltas": ["0", D2, D3],
    "gradient": [["0", D2, D3], ["0", "-24828190163/6400000000000", "24828190163/1000000000000"]],
    "weights": [
        ["0", "24828190163/640000000000", "-149828190163/100000000000"],
        ["0", "24828190163/1280000000000", "-149828190163/200000000000"],
    ],
}


def sign_flip_submission(step1=SIGN_FLIP_STEP1, step2=SIGN_FLIP_STEP2) -> dict:
    return {"student": "s001", "answers": {"sgd": {"steps": [step1, step2]}}}


def test_worked_sign_flip_example() -> None:
    a, variants = canonical()
    fields = by_pointer(grade_submission(a, "s001", variants, sign_flip_submission()))
    delta3 = fields[f"{P}/0/deltas/2"]
    assert delta3.status == "incorrect"
    assert delta3.diagnosis[0].id == "sign_flip"
    assert "δ₃ has the wrong sign" in delta3.feedback and "2(o₃ − y)" in delta3.feedback
    assert "-1/4" in delta3.feedback  # the expected value, exact and decimal
    carried = {
        f"{P}/0/gradient/0/2",
        f"{P}/0/gradient/1/2",
        f"{P}/0/weights/0/2",
        f"{P}/0/weights/1/2",
    }
    carried |= {f"{P}/1/forward/3", f"{P}/1/deltas/2", f"{P}/1/deltas/1"}
    carried |= {
        f"{P}/1/{m}/{r}/{c}" for m in ("gradient", "weights") for r in (0, 1) for c in (1, 2)
    }
    for ptr, f in fields.items():
        if ptr == delta3.pointer:
            continue
        expected = "carried_forward" if ptr in carried else "correct"
        assert f.status == expected, (ptr, f.status, f.feedback)
        assert not f.diagnosis, ptr  # what follows from an earlier mistake is not a mistake
    assert "Follows correctly from your earlier answers" in fields[f"{P}/1/forward/3"].feedback
    assert sum(f.points for f in fields.values()) == F(37, 38) * 10


def test_a_wrong_update_after_the_sign_flip_is_incorrect() -> None:
    a, variants = canonical()
    step1 = json.loads(json.dumps(SIGN_FLIP_STEP1))
    step1["weights"][1][2] = "5/4"  # 0 − 5·(1/8) is −5/8: neither the key nor their own
    fields = by_pointer(grade_submission(a, "s001", variants, sign_flip_submission(step1)))
    assert fields[f"{P}/0/weights/0/2"].status == "carried_forward"
    w3 = fields[f"{P}/0/weights/1/2"]
    assert w3.status == "incorrect"
    assert [d.id for d in w3.diagnosis] == ["arithmetic"]
    assert "From your own earlier answers it would be -5/8" in w3.feedback


def test_flipping_again_in_step_2_is_diagnosed_again() -> None:
    a, variants = canonical()
    step2 = json.loads(json.dumps(SIGN_FLIP_STEP2))
    step2["deltas"][2] = "-" + D3
    fields = by_pointer(grade_submission(a, "s001", variants, sign_flip_submission(step2=step2)))
    assert fields[f"{P}/1/deltas/2"].status == "incorrect"
    assert fields[f"{P}/1/deltas/2"].diagnosis[0].id == "sign_flip"


# ------------------------------------------------------------ tolerance


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ("0.8267", "correct"),
        ("0.826712", "correct"),  # more digits than asked: σ(25/16) = 0.8267118…
        ("0.82671", "correct"),
        ("0.82674", "incorrect"),  # stands for [0.826735, 0.826745]: too high
        ("0.8268", "incorrect"),
        ("0.83", "incorrect"),  # stands for [0.82995, 0.83005] at 4 decimals
        ("8267/10000", "correct"),
        ("\\frac{8267}{10000}", "correct"),
        ("4/5", "incorrect"),
    ],
)
def test_rounded_sigma_is_accepted_by_its_interval(answer: str, status: str) -> None:
    a, variants = canonical()
    data = key_submission(a, variants)
    data["answers"]["sgd"]["steps"][1]["forward"][3] = answer
    fields = by_pointer(grade_submission(a, "s001", variants, data))
    assert fields[f"{P}/1/forward/3"].status == status


def test_a_student_who_rounds_everything_is_right_throughout() -> None:
    a, variants = canonical()
    step2 = {  # step 2 computed by hand with 4 decimals from 4-decimal values
        "forward": ["5", "0.5", "0.5", "0.8267"],
        "deltas": ["0", "0.0370", "0.2369"],
        "gradient": [["0", "0.0370", "0.2369"], ["0", "0.0185", "0.1184"]],
        "weights": [["0", "-0.1850", "0.0655"], ["0", "-0.0925", "0.0330"]],
    }
    data = key_submission(a, variants)
    data["answers"]["sgd"]["steps"][1] = step2
    report = grade_submission(a, "s001", variants, data)
    assert {f.status for f in report.fields} == {"correct"}


@pytest.mark.parametrize(
    ("rule", "accepted", "rejected"),
    [
        (ToleranceSpec(rule="exact"), ["0.8267", "8267/10000"], ["0.82674"]),
        (ToleranceSpec(rule="absolute", value=F(1, 100)), ["0.83", "0.8167"], ["0.84"]),
        (ToleranceSpec(rule="relative", value=F(1, 100)), ["0.83", "0.8186"], ["0.8183"]),
        (ToleranceSpec(rule="decimals", value=F(2)), ["0.83", "0.8317"], ["0.84", "0.8"]),
        (ToleranceSpec(rule="significant", value=F(3)), ["0.827", "0.8265"], ["0.83", "0.828"]),
    ],
)
def test_instructor_overrides(
    rule: ToleranceSpec, accepted: list[str], rejected: list[str]
) -> None:
    for per_field in (False, True):
        spec = (
            {"field_tolerance": {"steps/*/forward/*": rule}} if per_field else {"tolerance": rule}
        )
        a, variants = canonical(**spec)
        for answer, status in [(x, "correct") for x in accepted] + [
            (x, "incorrect") for x in rejected
        ]:
            data = key_submission(a, variants)
            data["answers"]["sgd"]["steps"][1]["forward"][3] = answer
            fields = by_pointer(grade_submission(a, "s001", variants, data))
            field = fields[f"{P}/1/forward/3"]
            assert field.status == status, (rule.rule, answer, per_field)
            assert status == "correct" or "This field is graded " in field.feedback


def test_field_tolerance_patterns() -> None:
    spec = ExerciseSpec(
        id="sgd",
        type="sgd_chain",
        field_tolerance={
            "weights": ToleranceSpec(rule="exact"),
            "steps/*/weights/1/*": ToleranceSpec(rule="decimals", value=F(2)),
        },
    )
    assert rule_for(spec, f"{P}/0/weights/0/2").rule == "exact"
    assert rule_for(spec, f"{P}/0/weights/1/2").rule == "decimals"  # more specific wins
    assert rule_for(spec, f"{P}/0/deltas/2").rule == "interval"
    parts = ["answers", "sgd", "steps", "0", "deltas", "2"]
    assert pattern_matches("deltas/*", parts) == 2
    assert pattern_matches("/answers/sgd/steps/*/deltas/2", parts) == 6
    assert pattern_matches("steps", parts) is None  # "0/deltas/2" is not only indices


def test_answer_interval_follows_the_written_digits() -> None:
    assert answer_interval("0.25", F(1, 4), 2) == Interval(F(245, 1000), F(255, 1000))
    assert answer_interval("0.250000", F(1, 4), 2) == Interval(F(2499995, 10**7), F(2500005, 10**7))
    assert answer_interval("2.5e-1", F(1, 4), 4) == Interval(F(24995, 10**5), F(25005, 10**5))
    assert answer_interval("1/4", F(1, 4), 4) == Interval(F(1, 4))
    assert answer_interval("3", F(3), 4) == Interval(F(3))


# ------------------------------------------------------------ carried-forward credit


def test_carried_forward_credit_is_the_exercise_share() -> None:
    a, variants = canonical(carried_forward_credit=F(1, 2))
    report = grade_submission(a, "s001", variants, sign_flip_submission())
    per_leaf = F(10, 38)
    assert report.score == per_leaf * 22 + per_leaf / 2 * 15
    cf = next(f for f in report.fields if f.status == "carried_forward")
    assert cf.points == per_leaf / 2 and "worth 1/2 of the points" in cf.feedback


def test_zeros_written_to_make_later_steps_trivial_earn_nothing() -> None:
    a, variants = canonical()
    zeros = {
        "forward": ["1", "1/2", "1/2", "1/2"],
        "deltas": ["0", "0", "0"],  # δ₃ = 0: no catalogue mistake gives that
        "gradient": [["0", "0", "0"], ["0", "0", "0"]],
        "weights": [["0", "0", "0"], ["0", "0", "0"]],
    }
    step2 = {
        "forward": ["5", "1/2", "1/2", "1/2"],  # σ(0): follows from W¹ = 0
        "deltas": ["0", "0", "1/4"],  # δ₂ = δ₃·w₃·σ′ = 0 with their w₃ = 0
        "gradient": [["0", "0", "1/4"], ["0", "0", "1/8"]],
        "weights": [["0", "0", "-5/4"], ["0", "0", "-5/8"]],
    }
    fields = by_pointer(grade_submission(a, "s001", variants, sign_flip_submission(zeros, step2)))
    assert [d.id for d in fields[f"{P}/0/deltas/2"].diagnosis] == ["arithmetic"]
    denied = [f for f in fields.values() if "no carried-forward credit" in f.feedback]
    assert len(denied) == 15  # all that follows from δ₃ = 0 and differs from the key
    assert all(f.status == "incorrect" and not f.diagnosis for f in denied)
    assert not any(f.status == "carried_forward" for f in fields.values())


def test_a_zero_from_a_real_mistake_is_built_on() -> None:
    # tanh, one observation (x, y) = (1, 1), W⁰ = 0, γ = 1, depth 2: h₁ = h₂ = 0, o₁ = o₂ = 0.
    # Key: δ₂ = 2(o₂ − y)(1 − o₂²) = −2, δ₁ = δ₂·w₂·(1 − o₁²) = 0; ∂/∂b₂ = −2, new b₂ = 2.
    # The student takes tanh′ as tanh itself: δ₂ = 2(0 − 1)·o₂ = 0, a catalogue mistake
    # (not a shortcut), so the zeros that follow from it earn carried-forward credit.
    params = dict(CANONICAL, data=[[1, 1]], order=[1], learning_rate=1, activation="tanh", depth=2)
    spec = ExerciseSpec(id="sgd", type="sgd_chain", points=10, params=params)
    a = Assignment(id="backprop-hw1", exercises=[spec])
    variants = make_variants(a, "s001", None)
    step = {
        "forward": ["1", "0", "0"],
        "deltas": ["0", "0"],
        "gradient": [["0", "0"], ["0", "0"]],
        "weights": [["0", "0"], ["0", "0"]],
    }
    data = {"student": "s001", "answers": {"sgd": {"steps": [step]}}}
    fields = by_pointer(grade_submission(a, "s001", variants, data))
    assert fields[f"{P}/0/deltas/1"].diagnosis[0].id == "wrong_activation_derivative"
    assert fields[f"{P}/0/gradient/0/1"].status == "carried_forward"
    assert fields[f"{P}/0/weights/0/1"].status == "carried_forward"


def test_missing_and_null_answers() -> None:
    a, variants = canonical()
    template = {
        "student": "s001",
        "answers": {"sgd": get_exercise("sgd_chain").template_answers(variants[0].params)},
    }
    report = grade_submission(a, "s001", variants, template)
    assert {f.status for f in report.fields} == {"missing"}
    assert report.score == 0 and report.max_score == 10
    empty = grade_submission(a, "s001", variants, {"student": "s001"})
    assert {f.status for f in empty.fields} == {"missing"}


def test_a_missing_input_means_no_arithmetic_verdict() -> None:
    a, variants = canonical()
    step1 = json.loads(json.dumps(SIGN_FLIP_STEP1))
    step1["gradient"][1][2] = None
    step1["weights"][1][2] = "7"
    fields = by_pointer(grade_submission(a, "s001", variants, sign_flip_submission(step1)))
    w3 = fields[f"{P}/0/weights/1/2"]
    assert w3.status == "incorrect" and w3.diagnosis == ()
    assert "missing or unreadable" in w3.feedback


# ------------------------------------------------------------ the report contract


def test_report_json_contract() -> None:
    a, variants = canonical()
    data = json.loads(
        json.dumps(report_json(grade_submission(a, "s001", variants, sign_flip_submission())))
    )
    assert list(data) == ["assignment", "student", "score", "max_score", "fields", "file_problems"]
    assert data["file_problems"] == []
    assert data["assignment"] == "backprop-hw1" and data["student"] == "s001"
    assert data["score"] == 9.74 and data["max_score"] == 10
    pointers = [f["pointer"] for f in data["fields"]]
    assert len(pointers) == len(set(pointers)) == 38
    first = data["fields"][0]
    assert list(first) == [
        "pointer",
        "status",
        "given",
        "expected",
        "points",
        "max_points",
        "feedback",
        "diagnosis",
    ]
    delta3 = next(f for f in data["fields"] if f["pointer"] == f"{P}/0/deltas/2")
    assert delta3["given"] == "1/4" and delta3["expected"] == "-1/4"
    assert delta3["points"] == 0 and delta3["max_points"] == 0.26
    assert delta3["diagnosis"][0] == {
        "id": "sign_flip",
        "detail": "δ computed with (y − ŷ) instead of (ŷ − y)",
    }


def test_points_are_shared_per_leaf_so_matrices_earn_partial_credit() -> None:
    variants = nice_variants("mlp_matrix", lambda rng, i: {}, 1, seed=5)
    a = Assignment(id="hw", exercises=[variants[0].exercise])
    data = key_submission(a, variants)
    last = variants[0].solution.leaves()[-1]  # an entry of the last updated matrix
    parts = last.split("/")[1:]
    node = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(parts[-1])] = "12345"
    report = grade_submission(a, "s001", variants, data)
    n = len(report.fields)
    assert n > 10 and report.count("incorrect") == 1
    assert report.score == F(10) * (n - 1) / n


# ------------------------------------------------------------ intervals


fractions = st.fractions(min_value=-20, max_value=20, max_denominator=50)


@st.composite
def intervals(draw):
    a, b = draw(fractions), draw(fractions)
    return Interval(min(a, b), max(a, b))


def _pick(draw, i: Interval):
    t = draw(st.fractions(min_value=0, max_value=1, max_denominator=20))
    return i.lo + t * (i.hi - i.lo)


@given(st.data(), intervals(), intervals())
@settings(max_examples=200, deadline=None)
def test_interval_arithmetic_contains_every_point_result(data, a: Interval, b: Interval) -> None:
    x, y = _pick(data.draw, a), _pick(data.draw, b)
    assert (a + b).contains(x + y) and (a - b).contains(x - y) and (a * b).contains(x * y)
    assert (3 - a).contains(3 - x) and (F(1, 2) * a).contains(x / 2) and abs(a).contains(abs(x))
    if b.lo > 0 or b.hi < 0:
        assert (a / b).contains(x / y)
    else:
        with pytest.raises(IntervalError):
            a / b


@given(st.data(), intervals(), st.sampled_from(ACTIVATIONS), st.sampled_from(MODES))
@settings(max_examples=150, deadline=None)
def test_interval_ops_enclose_the_exact_ops(data, h: Interval, name: str, mode: str) -> None:
    rounding = Rounding(mode, 3)
    exact, wide = FractionOps(rounding), IntervalOps(rounding)
    x = _pick(data.draw, h)
    o_interval = wide.activate(name, h)
    o = exact.activate(name, x)
    assert o_interval.contains(o)
    assert wide.derivative(name, h, o_interval).contains(exact.derivative(name, x, o))
    assert wide.record(h).contains(exact.record(x))


def test_intervals_refuse_what_they_cannot_do() -> None:
    a = Interval(1, 2)
    with pytest.raises(TypeError):
        a + 0.5  # a float is not exact: NotImplemented on both sides
    with pytest.raises(TypeError):
        a < Interval(3)  # noqa: B015 - intervals are not ordered
    with pytest.raises(ValueError):
        Interval(2, 1)
    assert a != 1 and a == Interval(1, 2) and hash(a) == hash(Interval(1, 2))


def test_graph_under_intervals_contains_the_key() -> None:
    for v in nice_variants("sgd_chain", sgd_choices, 12, seed=11):
        rounding = Rounding(v.params.rounding.mode, v.params.rounding.decimals)
        ops = IntervalOps(rounding)
        for comp in v.solution.computations:
            got = comp.compute(
                {p: Interval(v.solution.values[p]) for p in comp.inputs}, ops, CORRECT
            )
            for ptr, interval in zip(comp.outputs, got, strict=True):
                assert interval.contains(v.solution.values[ptr]), comp.label


# ------------------------------------------------------------ formula fields


def test_formula_fields_parse_compare_and_diagnose() -> None:
    from grader.core.engine import Rules
    from grader.grade.formulas import formula_text

    variants = nice_variants("chain_rule", lambda rng, i: {}, 1, seed=3)
    a = Assignment(id="hw", exercises=[variants[0].exercise])
    comp = next(c for c in variants[0].solution.computations if c.kind == "formula" and c.mistakes)
    ptr = comp.outputs[0]
    var = ptr.split("/")[-2]

    def grade_formula(text: str):
        data = key_submission(a, variants)
        data["answers"]["ex"]["partials"][var]["formula"] = text
        return by_pointer(grade_submission(a, "s001", variants, data))[ptr]

    broken = grade_formula("2x + (y")
    assert broken.status == "invalid" and "(at character" in broken.feedback
    hostile = grade_formula("__import__('os').system('x')")
    assert hostile.status == "invalid"
    simplified = formula_text(variants[0].solution.values[ptr].expand())
    assert grade_formula(simplified).status == "correct"  # equivalent, written differently
    omitted = comp.compute({}, FractionOps(), Rules(omit_term=0))[0]
    missing = grade_formula(formula_text(omitted))
    assert missing.status == "incorrect"
    assert missing.diagnosis[0].id == "missing_path"
    assert missing.diagnosis[0].detail.startswith("the term ")
    assert "adds up the contributions of every path" in missing.feedback
    assert grade_formula("x + y + 12345").diagnosis[0].id == "arithmetic"


@pytest.mark.parametrize(
    "module",
    [
        "grader.core.interval",
        "grader.core.intervals",
        "grader.core.memo",
        "grader.grade.tolerance",
        "grader.grade.mistakes",
    ],
)
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_wrong_given_data_earns_no_carried_forward_credit() -> None:
    """A student who solves another problem (a classmate's x = 3 instead of 1 in step 1, then
    consistent work) gets no carried-forward credit for what builds on the wrong x."""
    from grader.course.assignment import Assignment, ExerciseSpec
    from grader.course.keys import exact_text, map_leaves
    from grader.course.variants import Variant
    from grader.exercises.sgd_chain import EXERCISE as SGD
    from grader.exercises.sgd_chain.params import SgdChainParams
    from grader.grade.grading import grade_submission

    raw = {
        "data": [[5, 0], [1, 1]],
        "order": [2, 1],
        "learning_rate": 1,
        "init": [[0, 0, 0], ["1/2", "1/2", "1/2"]],
    }
    params = SgdChainParams.model_validate(raw)
    other = SgdChainParams.model_validate({**raw, "data": [[5, 0], [3, 1]]})  # the classmate's
    copied = map_leaves(SGD.solve(other, "sgd").answers, exact_text)
    assert copied["steps"][0]["forward"][:2] == ["3", "511/625"]  # σ(3/2) ≈ 0.8176
    spec = ExerciseSpec(id="sgd", type="sgd_chain", points=10)
    variant = Variant(spec, params, SGD.solve(params, "sgd"))
    submission = {"student": "s1", "answers": {"sgd": copied}}
    report = grade_submission(Assignment(id="hw", exercises=[spec]), "s1", [variant], submission)
    fields = {f.pointer: f for f in report.fields}
    x = fields["/answers/sgd/steps/0/forward/0"]
    assert x.status == "incorrect" and not any(d.id == "wrong_observation" for d in x.diagnosis)
    o1 = fields["/answers/sgd/steps/0/forward/1"]
    assert o1.status == "incorrect" and "not the value your problem gives" in o1.feedback
    assert not any(f.status == "carried_forward" for f in report.fields)
    # the control: the same x by the catalogue's wrong_observation is honest work to build on
    raw_swapped = {**raw, "order": [1, 2]}
    wrong_obs = map_leaves(
        SGD.solve(SgdChainParams.model_validate(raw_swapped), "sgd").answers, exact_text
    )
    report = grade_submission(
        Assignment(id="hw", exercises=[spec]),
        "s1",
        [variant],
        {"student": "s1", "answers": {"sgd": wrong_obs}},
    )
    fields = {f.pointer: f for f in report.fields}
    assert "wrong_observation" in {d.id for d in fields["/answers/sgd/steps/0/forward/0"].diagnosis}
    assert fields["/answers/sgd/steps/0/forward/1"].status == "carried_forward"
