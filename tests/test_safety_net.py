"""Rules whose loss no other test would notice (found by switching each off).

Each test here names the rule it guards; the closing notes of the architecture issue list
the one-line mutations tried against them.
"""

from __future__ import annotations

import math

import pytest

from grader.course.assignment import Assignment, ExerciseSpec
from grader.course.variants import make_variants
from grader.grade.grading import grade_submission
from tests.conftest import under_ci
from tests.helpers import CANONICAL_SGD
from tests.test_grading import key_submission

P = "/answers/sgd/steps/1"


def _canonical() -> tuple[Assignment, list]:
    spec = ExerciseSpec(id="sgd", type="sgd_chain", points=10, params=CANONICAL_SGD)
    a = Assignment(id="backprop-hw1", exercises=[spec])
    return a, make_variants(a, "s001", None)


def test_a_rounded_key_value_stands_for_everything_that_rounds_to_it() -> None:
    """tolerance.key_interval: o₃ of step 2 is σ(25/16) rounded to 0.8267, so a δ₃ worked out
    from σ(25/16) itself (float64 here, an oracle independent of the engine) is right."""
    a, variants = _canonical()
    sub = key_submission(a, variants)
    s = 1 / (1 + math.exp(-25 / 16))  # o₃ unrounded; y = 0 for observation 1
    delta3 = 2 * s * s * (1 - s)
    key_delta3 = sub["answers"]["sgd"]["steps"][1]["deltas"][2]
    assert abs(delta3 - 118438919837 / 500000000000) > 5e-6  # a different number…
    sub["answers"]["sgd"]["steps"][1]["deltas"][2] = f"{delta3:.7f}"
    fields = {f.pointer: f for f in grade_submission(a, "s001", variants, sub).fields}
    assert fields[f"{P}/deltas/2"].status == "correct", (key_delta3, f"{delta3:.7f}")
    # …and not anything: the same number off by 3e-4 is wrong
    sub["answers"]["sgd"]["steps"][1]["deltas"][2] = f"{delta3 + 3e-4:.7f}"
    fields = {f.pointer: f for f in grade_submission(a, "s001", variants, sub).fields}
    assert fields[f"{P}/deltas/2"].status != "correct"


def test_the_ci_guard_accepts_any_true_value(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("true", "TRUE", "1", "yes", " on "):
        monkeypatch.setenv("CI", value)
        assert under_ci(), value
    for value in ("", "0", "false", "no"):
        monkeypatch.setenv("CI", value)
        assert not under_ci(), value
    monkeypatch.delenv("CI")
    assert not under_ci()
