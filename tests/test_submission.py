"""Reading submissions: limits, encodings, strict JSON, per-variant shapes, hostile input.

Every hostile input must end as an ``invalid`` field or one clear file-level error, quickly,
and never as a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.core.numbers import MAX_DIGITS
from grader.course.assignment import Assignment, ExerciseSpec
from grader.course.keys import key_json
from grader.course.submission import (
    MAX_DEPTH,
    MAX_NUMBER_CHARS,
    MAX_SUBMISSION_BYTES,
    Given,
    Invalid,
    JsonConstant,
    JsonNumber,
    SubmissionError,
    check_assignment,
    check_depth,
    parse_submission,
    read_answers,
    read_submission,
    student_of,
    submission_files,
    submission_model,
)
from grader.course.variants import make_variants
from grader.grade.grading import grade_submission
from tests.helpers import CANONICAL_SGD

CANONICAL = CANONICAL_SGD
STEP1 = {
    "forward": ["1", "1/2", "1/2", "1/2"],
    "deltas": ["0", "0", "-1/4"],
    "gradient": [["0", "0", "-1/4"], ["0", "0", "-1/8"]],
    "weights": [["0", "0", "5/4"], ["0", "0", "5/8"]],
}
P = "/answers/sgd/steps"


def assignment(*ids: str) -> Assignment:
    exercises = [ExerciseSpec(id=i, type="sgd_chain", points=10, params=CANONICAL) for i in ids]
    return Assignment(id="backprop-hw1", exercises=exercises)


@pytest.fixture(scope="module")
def canonical() -> tuple[Assignment, list]:
    a = assignment("sgd")
    return a, make_variants(a, "s001", None)


def submission(steps: object, **extra: object) -> dict:
    return {
        "assignment": "backprop-hw1",
        "student": "s001",
        "answers": {"sgd": {"steps": steps}},
        **extra,
    }


# ------------------------------------------------------------ the file


def test_json_numbers_stay_decimal_text() -> None:
    data = parse_submission(b'{"a": 0.1, "b": 1e999999999, "c": 12345678901234567890123}')
    assert data["a"] == "0.1" and isinstance(data["a"], JsonNumber)
    assert data["b"] == "1e999999999"  # never a float infinity
    assert data["c"] == "12345678901234567890123"


def test_nan_and_infinity_are_kept_as_markers() -> None:
    data = parse_submission(b'{"a": NaN, "b": -Infinity}')
    assert isinstance(data["a"], JsonConstant) and data["b"] == "-Infinity"


def test_bom_is_accepted() -> None:
    assert parse_submission('\ufeff{"a": 1}'.encode()) == {"a": "1"}


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('{"a": 1}'.encode("utf-16"), "UTF-16"),
        ('{"a": 1}'.encode("utf-16-le"), "UTF-16"),
        ('{"a": 1}'.encode("utf-32"), "UTF-32"),
        (b'{"a": "caf\xe9"}', "not UTF-8"),
        (b'{"a": 1,}', "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_unreadable_bytes_give_one_clear_error(raw: bytes, words: str) -> None:
    with pytest.raises(SubmissionError, match=words):
        parse_submission(raw)


@pytest.mark.parametrize("bracket", ["[", '{"a":'])
def test_nesting_bomb_is_refused_before_parsing(bracket: str) -> None:
    bomb = (bracket * 100_000).encode()
    with pytest.raises(SubmissionError, match=f"nested more than {MAX_DEPTH} levels"):
        parse_submission(bomb)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"a": "[" * 5000, "b": "{" * 5000})
    check_depth(text)  # no error
    assert parse_submission(text.encode())["a"] == "[" * 5000


def test_size_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(MAX_SUBMISSION_BYTES + 1)  # sparse: costs nothing to make
    with pytest.raises(SubmissionError, match="at most"):
        read_submission(big)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="cannot read"):
        read_submission(tmp_path / "nope.json")
    with pytest.raises(SubmissionError, match="not a regular file"):
        read_submission(tmp_path)


def test_directories_expand_to_sorted_json_files(tmp_path: Path) -> None:
    for name in ("b.json", "a.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    single = tmp_path / "0.json"
    found = submission_files([tmp_path, single, tmp_path / "b.json"])
    assert found == [single, tmp_path / "a.json", tmp_path / "b.json"]  # each once, sorted


# ------------------------------------------------------------ who and what for


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ([], "expected a JSON object"),
        ({"answers": {}}, "/student: expected the student id"),
        ({"student": "../etc/passwd"}, "not a valid student id"),
        ({"student": "s001/../../x"}, "not a valid student id"),
        ({"student": parse_submission(b"12")}, "expected the student id as a string"),
        (parse_submission(b'{"student": "a", "student": "b"}'), "more than once"),
    ],
)
def test_student_id_is_validated(data: object, words: str) -> None:
    with pytest.raises(SubmissionError, match=words):
        student_of(data)


def test_assignment_must_match_when_given() -> None:
    check_assignment({"student": "s001"}, "backprop-hw1")
    with pytest.raises(SubmissionError, match="is for 'other'"):
        check_assignment({"assignment": "other"}, "backprop-hw1")


# ------------------------------------------------------------ answers and shapes


def test_model_is_made_for_the_variant(canonical) -> None:
    _, variants = canonical
    model = submission_model(variants)
    model.model_validate(submission([STEP1, STEP1]))
    with pytest.raises(Exception, match="at most 2 items"):
        model.model_validate(submission([STEP1, STEP1, STEP1]))


def test_every_leaf_is_given_missing_or_invalid(canonical) -> None:
    _, variants = canonical
    step2 = {"forward": ["5", None, True, {}], "deltas": None, "weights": "W"}
    answers = read_answers(submission([STEP1, step2]), variants)
    assert answers.get(f"{P}/0/deltas/2") == Given("-1/4")
    assert answers.get(f"{P}/1/forward/1") is None  # null: missing
    assert answers.get(f"{P}/1/deltas/0") is None  # the whole vector null: missing
    assert answers.get(f"{P}/1/gradient/1/2") is None  # absent: missing
    true_leaf, object_leaf = answers.get(f"{P}/1/forward/2"), answers.get(f"{P}/1/forward/3")
    assert isinstance(true_leaf, Invalid) and "got true" in true_leaf.reason
    assert isinstance(object_leaf, Invalid) and "got an object" in object_leaf.reason
    weight = answers.get(f"{P}/1/weights/0/0")
    assert isinstance(weight, Invalid)
    assert weight.reason == f"{P}/1/weights: expected an array of 2 items, got a string"
    assert len(answers.leaves) == 38


def test_wrong_shape_costs_only_what_is_under_it(canonical) -> None:
    a, variants = canonical
    report = grade_submission(a, "s001", variants, submission([STEP1]))  # one step of two
    status = {f.pointer: f.status for f in report.fields}
    assert all(
        status[f"{P}/0/{name}/0" if name in ("forward", "deltas") else f"{P}/0/{name}/1/2"]
        == "correct"
        for name in STEP1
    )
    step2 = [f for f in report.fields if f.pointer.startswith(f"{P}/1/")]
    assert step2 and all(f.status == "invalid" for f in step2)
    assert "expected an array of 2 items, got 1" in step2[0].feedback
    assert f"{P}: expected 2 items, got 1" in report.problems


def test_other_exercise_is_graded_when_one_is_broken() -> None:
    a = assignment("sgd", "again")
    variants = make_variants(a, "s001", None)
    data = key_json(a, "s001", variants)
    data["answers"]["sgd"] = {"steps": "no"}
    report = grade_submission(a, "s001", variants, data)
    again = [f for f in report.fields if f.exercise == "again"]
    broken = [f for f in report.fields if f.exercise == "sgd"]
    assert len(broken) == len(again) == 38
    assert {f.status for f in broken} == {"invalid"}
    assert {f.status for f in again} == {"correct"}
    assert report.score == 10 and report.max_score == 20


def test_extra_fields_are_named_by_pointer(canonical) -> None:
    _, variants = canonical
    step = dict(STEP1, bias=["1"])
    data = submission([step, STEP1], notes="hi")
    data["answers"]["typo"] = {}
    problems = read_answers(data, variants).problems
    assert f"{P}/0/bias: unexpected field" in problems
    assert "/notes: unexpected field" in problems
    assert "/answers/typo: unexpected field" in problems


def test_a_key_with_params_and_approx_is_a_clean_submission(canonical) -> None:
    _, variants = canonical
    data = submission([STEP1, STEP1], params={"sgd": {"learning_rate": "1"}}, approx={})
    assert read_answers(data, variants).problems == []


def test_a_duplicated_answers_object_is_invalid_not_guessed(canonical) -> None:
    _, variants = canonical
    raw = json.dumps(submission([STEP1, STEP1])).replace(
        '"answers":', '"answers": {}, "answers":', 1
    )
    answers = read_answers(parse_submission(raw.encode()), variants)
    leaf = answers.get(f"{P}/0/deltas/2")
    assert (
        isinstance(leaf, Invalid)
        and "/answers: the key 'answers' appears more than once" in leaf.reason
    )


def test_duplicate_keys_make_their_leaves_invalid(canonical) -> None:
    _, variants = canonical
    raw = json.dumps(submission([STEP1, STEP1])).replace('"deltas":', '"deltas": [], "deltas":', 1)
    answers = read_answers(parse_submission(raw.encode()), variants)
    leaf = answers.get(f"{P}/0/deltas/2")
    assert isinstance(leaf, Invalid) and "appears more than once" in leaf.reason
    assert answers.get(f"{P}/1/deltas/2") == Given("-1/4")


# ------------------------------------------------------------ hostile answers

HOSTILE = [
    ("1e999999999", "exponent out of range"),
    ("__import__('os').system('x')", "expected a number"),
    ("\\input{/etc/passwd}", "expected \\frac"),
    ("x" * 100_000, f"at most {MAX_NUMBER_CHARS} are read"),
    ("9" * (MAX_DIGITS + 1), f"more than {MAX_DIGITS}"),
    ("1/0", "division by zero"),
    ("0x10", "expected a number"),
    ("", "empty answer"),
    ("\ud800", "invalid character"),
]


@pytest.mark.parametrize(("text", "words"), HOSTILE)
def test_hostile_strings_are_invalid_fields(canonical, text: str, words: str) -> None:
    a, variants = canonical
    step = json.loads(json.dumps(STEP1))
    step["deltas"][2] = text
    report = grade_submission(a, "s001", variants, submission([step, STEP1]))
    field = next(f for f in report.fields if f.pointer == f"{P}/0/deltas/2")
    assert field.status == "invalid"
    assert words in field.feedback
    assert field.given is None or len(field.given) <= 200


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"NaN", "NaN is not a number"),
        (b"Infinity", "Infinity is not a number"),
        (b"-Infinity", "-Infinity is not a number"),
        (b"true", "got true"),
        (b"{}", "got an object"),
        (b"[]", "got an array"),
        (b"[[[[1]]]]", "got an array"),
        (b"1e999999999", "exponent out of range"),
    ],
)
def test_hostile_json_values_are_invalid_fields(canonical, raw: bytes, words: str) -> None:
    a, variants = canonical
    text = json.dumps(submission([STEP1, STEP1])).replace('"-1/4"', "@@", 1)
    data = parse_submission(text.replace("@@", raw.decode()).encode())
    report = grade_submission(a, "s001", variants, data)
    field = next(f for f in report.fields if f.pointer == f"{P}/0/deltas/2")
    assert field.status == "invalid"
    assert words in field.feedback
    step1 = [f for f in report.fields if f.pointer.startswith(f"{P}/0/")]
    assert sum(f.status == "correct" for f in step1) == 18  # everything else still graded
