"""What makes grading a batch fast must not change a single report.

A batch shares one :class:`grader.grade.grading.GradingCache`: per-variant plans whose memos
keep the computations run on given inputs.  Grading a class through one cache, in any
order, and with memos so small they forget after every entry, must give exactly the
reports each submission gets when graded alone.  The class is made to hit the memos in
every way: the key itself, each catalogue mistake made consistently, the same students
writing rounded decimals, and students whose answers are perturbed at random (a wrong
number, a missing field, text that is no number), so inputs repeat only sometimes.

Also here: :func:`grader.core.fileio.dump_json` writes exactly what ``json.dumps`` does.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.core.engine import CORRECT
from grader.core.fileio import dump_json
from grader.core.models import RoundingSpec
from grader.course.assignment import Assignment, ExerciseSpec
from grader.course.variants import Variant
from grader.exercises import get_exercise
from grader.grade.grading import GradingCache, Report, grade_submission, total
from grader.grade.reports import report_json, report_json_text, report_markdown
from tests.helpers import CANONICAL_SGD, nice_variants
from tests.test_diagnosis import mistaken_rules, student


def _canonical() -> Variant:
    exercise = get_exercise("sgd_chain")
    spec = ExerciseSpec(id="ex", type="sgd_chain", points=10, params=CANONICAL_SGD)
    params = exercise.Params.model_validate(CANONICAL_SGD)
    return Variant(spec, params, exercise.solve(params, "ex"))


def _variants() -> list[Variant]:
    out = [_canonical()]
    out += nice_variants(
        "sgd_chain",
        lambda rng, i: {
            "activation": ["tanh", "relu", "sigmoid"][i % 3],
            "depth": 3,
            "rounding": RoundingSpec(mode=["all", "transcendental"][i % 2], decimals=3),
        },
        3,
        seed=11,
    )
    out += nice_variants("mlp_matrix", lambda rng, i: {}, 2, seed=12)
    return out


def _perturbed(submission: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A copy with a few leaves changed: nudged, dropped, or made unreadable."""
    data = json.loads(json.dumps(submission))

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        try:
            value = Fraction(node)
        except (TypeError, ValueError):
            return node  # a formula, or no leaf
        r = rng.random()
        if r < 0.08:
            return str(value + Fraction(rng.randint(1, 9), 10))
        if r < 0.11:
            return None
        if r < 0.13:
            return "0.5.5"
        return node

    data["answers"] = walk(data["answers"])
    return data


def _class(variants: list[Variant]) -> list[tuple[Variant, dict[str, Any]]]:
    rng = random.Random(5)
    subs: list[tuple[Variant, dict[str, Any]]] = []
    for v in variants:
        for style in ("exact", "decimal"):
            subs.append((v, student(v, CORRECT, style)))
            one_each = {m: rules for m, rules in reversed(mistaken_rules(v))}  # first of each
            subs += [(v, student(v, rules, style)) for rules in one_each.values()]
        base = student(v, CORRECT, "decimal")
        subs += [(v, _perturbed(base, rng)) for _ in range(6)]
    return subs


def _report(v: Variant, data: dict[str, Any], cache: GradingCache | None) -> str:
    report = grade_submission(Assignment(id="hw", exercises=[v.exercise]), "s1", [v], data, cache)
    return dump_json(report_json(report)) + report_markdown(report, name="S", title="T")


@pytest.fixture(scope="module")
def batch() -> tuple[list[tuple[Variant, dict[str, Any]]], list[str]]:
    subs = _class(_variants())
    return subs, [_report(v, d, None) for v, d in subs]  # each alone, fresh


def test_the_class_exercises_every_status(batch: Any) -> None:
    _, alone = batch
    text = "".join(alone)
    for status in ("correct", "carried_forward", "incorrect", "missing", "invalid"):
        assert f'"status": "{status}"' in text, status
    assert '"id": "arithmetic"' in text and '"id": "sign_flip"' in text


def test_one_shared_cache_gives_the_reports_of_grading_alone(batch: Any) -> None:
    subs, alone = batch
    cache = GradingCache()
    first = [_report(v, d, cache) for v, d in subs]
    again = [_report(v, d, cache) for v, d in subs]  # every memo warm now
    assert first == alone
    assert again == alone


def test_the_report_writer_writes_what_dump_json_writes(batch: Any) -> None:
    subs, _ = batch
    cache = GradingCache()
    for v, data in subs:
        report = grade_submission(
            Assignment(id="hw", exercises=[v.exercise]), "s1", [v], data, cache
        )
        assert report_json_text(report) == dump_json(report_json(report))
    empty = Report("hw", "s1", ())
    assert report_json_text(empty) == dump_json(report_json(empty))


def test_any_order_gives_the_same_reports(batch: Any) -> None:
    subs, alone = batch
    order = list(range(len(subs)))
    random.Random(3).shuffle(order)
    cache = GradingCache()
    shuffled = {i: _report(*subs[i], cache) for i in order}
    assert [shuffled[i] for i in range(len(subs))] == alone


def test_memos_stay_bounded_and_forgetting_changes_nothing(batch: Any) -> None:
    subs, alone = batch
    cache = GradingCache(limit=2, memo_limit=3)
    assert [_report(v, d, cache) for v, d in subs] == alone
    sizes = cache.memo_sizes()
    assert sizes and max(sizes) <= 3
    assert len(cache._plans) <= 2


def test_a_new_variant_at_a_reused_id_gets_its_own_plan() -> None:
    cache = GradingCache()
    v = _canonical()
    plan = cache.plan(v)
    assert cache.plan(v) is plan
    other = _canonical()  # equal content, another object: never mistaken for v
    assert cache.plan(other) is not plan and cache.plan(other).variant is other


@given(st.lists(st.fractions(max_denominator=10**6), max_size=50), st.integers(0, 5))
def test_total_is_the_exact_sum(points: list[Fraction], repeats: int) -> None:
    assert total(points) == sum(points, Fraction(0))
    shared = points + points[:10] * repeats  # the same objects again, as reports share them
    assert total(shared) == sum(shared, Fraction(0))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=400, derandomize=True)
@given(JSON)
def test_dump_json_writes_exactly_what_json_dumps_writes(value: Any) -> None:
    assert dump_json(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"
