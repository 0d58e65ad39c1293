"""Assignment files and rosters: good ones load, bad ones give one clear line
``file:line: /json/pointer: what was expected``; and the CLI never shows a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from fractions import Fraction as F
from pathlib import Path

import pytest
import yaml

from grader.core.errors import UserError
from grader.course.assignment import (
    Assignment,
    fixed_params,
    load_assignment,
    load_roster,
    valid_student_id,
)

ROOT = Path(__file__).resolve().parent.parent

# The spec's example assignment (the canonical instance, every parameter fixed).
GOOD = """\
id: backprop-hw1
title: Backpropagation
language: en
secret_env: GRADER_SECRET
exercises:
  - id: sgd
    type: sgd_chain
    points: 10
    params:             # what is given is fixed; the rest is randomized per student
      data: [[5, 0], [1, 1]]
      order: [2, 1]
      learning_rate: 5
      init: zeros
      activation: sigmoid
      loss: mse
      rounding: {mode: transcendental, decimals: 4}
"""


def write(tmp_path: Path, text: str | bytes, name: str = "a.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(UserError) as info:
        load_assignment(path)
    line = info.value.line()
    assert "\n" not in line and info.value.exit_code == 2
    assert str(info.value) == line
    return line


# ------------------------------------------------------------------ good files


def test_spec_example_loads(tmp_path: Path) -> None:
    a = load_assignment(write(tmp_path, GOOD))
    assert (a.id, a.title, a.language, a.secret_env) == (
        "backprop-hw1",
        "Backpropagation",
        "en",
        "GRADER_SECRET",
    )
    (spec,) = a.exercises
    assert (spec.id, spec.type, spec.points) == ("sgd", "sgd_chain", F(10))
    fixed = fixed_params(spec)
    assert fixed["data"] == [(F(5), F(0)), (F(1), F(1))]
    assert fixed["learning_rate"] == F(5) and isinstance(fixed["learning_rate"], F)
    assert fixed["rounding"].mode == "transcendental" and fixed["rounding"].decimals == 4


def test_numbers_may_be_written_three_ways(tmp_path: Path) -> None:
    text = GOOD.replace("learning_rate: 5", 'learning_rate: "1/2"').replace(
        "data: [[5, 0], [1, 1]]", "data: [[0.5, -0.25], ['−1/8', '\\frac{1}{4}']]"
    )
    spec = load_assignment(write(tmp_path, text)).exercises[0]
    fixed = fixed_params(spec)
    assert fixed["learning_rate"] == F(1, 2)
    assert fixed["data"] == [(F(1, 2), F(-1, 4)), (F(-1, 8), F(1, 4))]


def test_partly_fixed_parameters_load(tmp_path: Path) -> None:
    text = "id: hw\nexercises:\n  - id: sgd\n    type: sgd_chain\n    params: {depth: 2, activation: tanh}\n"
    spec = load_assignment(write(tmp_path, text)).exercises[0]
    assert fixed_params(spec) == {"depth": 2, "activation": "tanh"}


def test_byte_order_mark_and_comments_are_fine(tmp_path: Path) -> None:
    a = load_assignment(write(tmp_path, ("\ufeff# a comment\n" + GOOD).encode("utf-8")))
    assert a.id == "backprop-hw1"


# ------------------------------------------------------------------ bad files

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{c}: &{c} [{', '.join(['*' + p] * 9)}]"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "id: hw",
        "exercises: [{id: sgd, type: sgd_chain, params: {data: *i}}]",
    ]
)


def _exercise(params: str, extra: str = "") -> str:
    return textwrap.dedent(
        """\
        id: hw1
        title: Homework
        exercises:
          - id: sgd
            type: sgd_chain
        {extra}    params:
        {params}
        """
    ).format(extra=extra, params=textwrap.indent(params, "      "))


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        pytest.param(
            GOOD.replace("title: Backpropagation", "titel: Backpropagation"),
            "2: /titel",
            "unknown key; expected one of: id, language, title, course",
            id="unknown-top-level-key",
        ),
        pytest.param(
            GOOD.replace("type: sgd_chain", "type: sgd_chian"),
            "7: /exercises/0/type",
            "unknown exercise type 'sgd_chian'; expected one of sgd_chain",
            id="unknown-exercise-type",
        ),
        pytest.param(
            GOOD.replace("learning_rate: 5", "learnin_rate: 5"),
            "12: /exercises/0/params/learnin_rate",
            "unknown parameter 'learnin_rate' for sgd_chain; expected one of: data, order, learning_rate",
            id="unknown-parameter",
        ),
        pytest.param(
            GOOD.replace("learning_rate: 5", "depth: 7"),
            "12: /exercises/0/params/depth",
            "less than or equal to 4",
            id="depth-out-of-range",
        ),
        pytest.param(
            _exercise("depth: 7"),  # not every parameter fixed: still checked at once
            "7: /exercises/0/params/depth",
            "less than or equal to 4",
            id="depth-out-of-range-partly-fixed",
        ),
        pytest.param(
            _exercise("order: []"),
            "7: /exercises/0/params/order",
            "at least 1 item",
            id="order-empty-partly-fixed",
        ),
        pytest.param(
            GOOD.replace("learning_rate: 5", "depth: three"),
            "12: /exercises/0/params/depth",
            "valid integer",
            id="wrong-type-int",
        ),
        pytest.param(
            GOOD.replace("learning_rate: 5", "learning_rate: five"),
            "12: /exercises/0/params/learning_rate",
            "expected a number such as 5",
            id="wrong-type-number",
        ),
        pytest.param(
            GOOD.replace("learning_rate: 5", "learning_rate: .inf"),
            "12: /exercises/0/params/learning_rate",
            "expected a finite number",
            id="infinite-number",
        ),
        pytest.param(
            GOOD.replace("learning_rate: 5", "learning_rate: [5]"),
            "12: /exercises/0/params/learning_rate",
            "got list",
            id="wrong-type-list",
        ),
        pytest.param(
            GOOD.replace("activation: sigmoid", "activation: gelu"),
            "14: /exercises/0/params/activation",
            "'sigmoid', 'tanh', 'relu', 'identity', 'hard_sigmoid' or 'softsign'",
            id="unknown-activation",
        ),
        pytest.param(
            GOOD.replace(
                "{mode: transcendental, decimals: 4}", "{mode: transcendental, digits: 4}"
            ),
            "16: /exercises/0/params/rounding/digits",
            "unknown key; expected one of: mode, decimals",
            id="unknown-nested-key",
        ),
        pytest.param(
            GOOD.replace("order: [2, 1]", "order: [3, 1]"),
            "9: /exercises/0/params",
            "order[0] = 3 is not an observation number 1..2",
            id="cross-field",
        ),
        pytest.param(
            GOOD.replace("    points: 10\n", "    points: 10\n    pionts: 5\n"),
            "9: /exercises/0/pionts",
            "unknown key; expected one of: id, type, points, title, params",
            id="unknown-exercise-key",
        ),
        pytest.param(
            GOOD.replace("points: 10", "points: -1"),
            "8: /exercises/0/points",
            "points must be positive",
            id="negative-points",
        ),
        pytest.param(
            GOOD + "  - id: sgd\n    type: sgd_chain\n",
            "5: /exercises",
            "exercise id 'sgd' is used twice",
            id="duplicate-exercise-id",
        ),
        pytest.param(
            GOOD.replace("language: en", "language: fr"),
            "3: /language",
            "'en' or 'ru'",
            id="unknown-language",
        ),
        pytest.param(
            GOOD.replace("id: backprop-hw1", "id: ../hw"),
            "1: /id",
            "should match pattern",
            id="bad-assignment-id",
        ),
        pytest.param(
            "id: hw\ntitle: x\n",
            "1: /exercises",
            "required key is missing",
            id="missing-exercises",
        ),
        pytest.param(
            GOOD.replace("title: Backpropagation", "title: Backpropagation\nid: other"),
            "3: /id",
            "key 'id' appears twice (also on line 1)",
            id="duplicate-yaml-key",
        ),
        pytest.param(
            GOOD.replace("learning_rate: 5", "learning_rate: " + "9" * 5000),
            "12: /exercises/0/params/learning_rate",
            "number is longer than 2100 characters",
            id="huge-integer",
        ),
        pytest.param(
            "id: hw\nexercises:\n  - id: sgd\n    type: sgd_chain\n    params: {order: [1,\n",
            "line 6",
            "not valid YAML",
            id="yaml-syntax",
        ),
        pytest.param(
            "id: hw\nexercises:\n- id: a\n  type: sgd_chain\n   bad: indent\n",
            "line 5",
            "not valid YAML",
            id="yaml-indentation",
        ),
        pytest.param(
            "id: hw\nexercises: !!python/object/apply:os.system ['echo hacked']\n",
            "line 2",
            "not valid YAML: could not determine a constructor for the tag",
            id="python-tag",
        ),
        pytest.param("- id: hw\n", "line 1", "expected a mapping", id="top-level-list"),
        pytest.param("just text\n", "line 1", "expected a mapping", id="top-level-scalar"),
    ],
)
def test_bad_assignment(tmp_path: Path, text: str, where: str, fragment: str) -> None:
    path = write(tmp_path, text)
    line = error_of(path)
    assert line.startswith(f"{path}:{where}: "), line
    assert fragment in line, line


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param("", "the file is empty; expected an assignment", id="empty"),
        pytest.param("# only a comment\n\n", "the file is empty", id="only-comments"),
        pytest.param(b"id: caf\xe9\n", "not UTF-8 text (byte 7)", id="latin-1"),
        pytest.param(b"\xff\xfei\x00d\x00", "not UTF-8 text (byte 0)", id="utf-16"),
        pytest.param("id: hw\n# " + "x" * 2_000_000 + "\n", "larger than 1000000 bytes", id="2-MB"),
        pytest.param(BILLION_LAUGHS, "too large or too deeply nested", id="billion-laughs"),
        pytest.param("[" * 20000 + "]" * 20000, "too deeply nested", id="deep-nesting"),
        pytest.param("a: " + "[" * 60 + "]" * 60, "too deeply nested", id="nesting-60"),
    ],
)
def test_unusable_file(tmp_path: Path, content: str | bytes, fragment: str) -> None:
    path = write(tmp_path, content)
    line = error_of(path)
    assert line.startswith(f"{path}: "), line
    assert fragment in line, line


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert error_of(path) == f"{path}: cannot read assignment: No such file or directory"


# ------------------------------------------------------------------ rosters


def roster(tmp_path: Path, text: str | bytes) -> Path:
    return write(tmp_path, text, "roster.csv")


def test_good_roster(tmp_path: Path) -> None:
    text = (
        "id,name,email\n"
        "s001,Ann Lee,ann@example.org\n"
        "\n"
        's002,"Doe, Jane",\n'
        "s.3_x-Y,,\n"
        "s004,  Bob  ,b\n"
        "s005,$\\frac{1}{0}$ & {Ünïcødé},x\n"
    )
    students = load_roster(roster(tmp_path, text))
    assert [(s.id, s.name) for s in students] == [
        ("s001", "Ann Lee"),
        ("s002", "Doe, Jane"),
        ("s.3_x-Y", "s.3_x-Y"),  # an empty name falls back to the id
        ("s004", "Bob"),
        ("s005", "$\\frac{1}{0}$ & {Ünïcødé}"),  # kept as written: sheets escape it
    ]


def test_roster_with_bom_crlf_and_header_spelling(tmp_path: Path) -> None:
    text = "\ufeff ID , Name ,group\r\ns1,A,1\r\ns2,B,2\r\n"
    students = load_roster(roster(tmp_path, text.encode("utf-8")))
    assert [(s.id, s.name) for s in students] == [("s1", "A"), ("s2", "B")]


def test_big_roster_loads(tmp_path: Path) -> None:
    rows = "".join(f"s{i:05d},Student {i}\n" for i in range(10_000))
    students = load_roster(roster(tmp_path, "id,name\n" + rows))
    assert len(students) == 10_000
    assert students[-1].id == "s09999" and students[-1].name == "Student 9999"


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        pytest.param("id,name\na/b,X\n", "line 2", "student id 'a/b' is not valid", id="slash"),
        pytest.param("id,name\na\\b,X\n", "line 2", "is not valid", id="backslash"),
        pytest.param("id,name\n..,X\n", "line 2", "student id '..' is not valid", id="dotdot"),
        pytest.param("id,name\na..b,X\n", "line 2", "no '..'", id="inner-dotdot"),
        pytest.param("id,name\n.hidden,X\n", "line 2", "is not valid", id="leading-dot"),
        pytest.param("id,name\n-x,X\n", "line 2", "is not valid", id="leading-dash"),
        pytest.param("id,name\ns 1,X\n", "line 2", "is not valid", id="space"),
        pytest.param("id,name\n" + "a" * 65 + ",X\n", "line 2", "at most 64", id="too-long"),
        pytest.param("id,name\ns1,X\n,Y\n", "line 3", "student id '' is not valid", id="no-id"),
        pytest.param("id,name\ns1,A\ns\x002,B\n", "line 3", "contains a NUL character", id="nul"),
        pytest.param(
            "id,name\ns1,A\ns2,B\ns1,C\n",
            "line 4",
            "student id 's1' appears twice (also on line 2)",
            id="duplicate",
        ),
        pytest.param(
            "s1,Ann\ns2,Bob\n",
            "line 1",
            "expected a header row with columns 'id' and 'name'",
            id="no-header",
        ),
        pytest.param(
            "id,fullname\ns1,Ann\n", "line 1", "columns 'id' and 'name'", id="missing-name"
        ),
        pytest.param("", "line 1", "columns 'id' and 'name'", id="empty"),
        pytest.param("id,name\ns1," + "x" * 201 + "\n", "line 2", "longer than 200", id="name"),
    ],
)
def test_bad_roster(tmp_path: Path, text: str, where: str, fragment: str) -> None:
    path = roster(tmp_path, text)
    with pytest.raises(UserError) as info:
        load_roster(path)
    line = info.value.line()
    assert "\n" not in line
    assert line.startswith(f"{path}:{where}: "), line
    assert fragment in line, line


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param("id,name\n", "the roster has no students", id="header-only"),
        pytest.param("id,name\n,\n\n", "the roster has no students", id="blank-rows"),
        pytest.param(b"id,name\ns1,Jos\xe9\n", "not UTF-8 text (byte 14)", id="latin-1"),
    ],
)
def test_unusable_roster(tmp_path: Path, content: str | bytes, fragment: str) -> None:
    path = roster(tmp_path, content)
    with pytest.raises(UserError) as info:
        load_roster(path)
    assert info.value.line() == f"{path}: {info.value.message}"
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("sid", "ok"),
    [
        ("s001", True),
        ("A.b_c-9", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("a/b", False),
        ("..", False),
        ("a..b", False),
        ("a\x00b", False),
        ("s1\n", False),
        ("é", False),
        ("CON.", True),  # a plain name: files are written under our own directories
    ],
)
def test_valid_student_id(sid: str, ok: bool) -> None:
    assert valid_student_id(sid) is ok


# ------------------------------------------------------------------ the command line


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    # the timeout only turns a hang into a failure: each run takes about a second
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        pytest.param(GOOD.replace("learning_rate: 5", "depth: 7"), ":12: ", id="depth"),
        pytest.param(GOOD.replace("title:", "titel:"), ":2: /titel: unknown key", id="key"),
        pytest.param("id: hw\nexercises: [\n", "not valid YAML", id="syntax"),
        pytest.param(b"id: caf\xe9\n", "not UTF-8", id="encoding"),
        pytest.param(BILLION_LAUGHS, "too large or too deeply nested", id="billion-laughs"),
        pytest.param("[" * 20000 + "]" * 20000, "too deeply nested", id="deep"),
        pytest.param(GOOD.replace("5\n", "9" * 5000 + "\n"), "longer than 2100", id="huge-int"),
        pytest.param(
            "id: hw\nexercises: !!python/object/apply:os.system ['echo hacked']\n",
            "could not determine a constructor",
            id="python-tag",
        ),
    ],
)
def test_cli_reports_a_bad_assignment_in_one_line(
    tmp_path: Path, content: str | bytes, fragment: str
) -> None:
    path = write(tmp_path, content, "BAD.yaml")
    out = run_cli("solve", str(path))
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr + out.stdout and "hacked" not in out.stdout
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert re.match(rf"^error: {re.escape(str(path))}:", lines[0]), lines[0]
    assert fragment in lines[0]
    assert out.stdout == ""


def test_cli_missing_file() -> None:
    out = run_cli("solve", "does-not-exist.yaml")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) == 1 and "does-not-exist.yaml" in out.stderr


def test_cli_good_assignment_still_solves(tmp_path: Path) -> None:
    out = run_cli("solve", str(write(tmp_path, GOOD)), "--format", "json")
    assert out.returncode == 0, out.stderr
    assert '"8267/10000"' in out.stdout  # σ(25/16) rounded, from the spec


def test_cli_refuses_an_assignment_whose_numbers_explode(tmp_path: Path) -> None:
    params = (
        "data: [[2, 0]]\norder: [1, 1, 1, 1, 1, 1]\nlearning_rate: 1/2\n"
        "init: [[0, 0, 0], [1, 2, 3]]\nactivation: identity"
    )
    out = run_cli("solve", str(write(tmp_path, _exercise(params))))
    assert out.returncode == 2 and len(out.stderr.splitlines()) == 1, out.stderr


# ------------------------------------------------------------ title and course per language


def _load_text(tmp_path, text: str):
    path = tmp_path / "hw.yaml"
    path.write_text(text, encoding="utf-8")
    return load_assignment(path)


def test_title_course_and_due_per_language_print_the_assignments_language(tmp_path) -> None:
    text = (
        "id: hw\nlanguage: {lang}\n"
        "title: {{en: Backpropagation, ru: Обратное распространение}}\n"
        "course: {{en: Machine Learning, ru: Машинное обучение}}\n"
        "due: {{en: 'Friday, 23:59', ru: 'пятница, 23:59'}}\n"
        "exercises:\n  - {{id: g, type: chain_rule}}\n"
    )
    ru = _load_text(tmp_path, text.format(lang="ru"))
    assert (ru.title, ru.course, ru.due) == (
        "Обратное распространение",
        "Машинное обучение",
        "пятница, 23:59",
    )
    en = _load_text(tmp_path, text.format(lang="en"))
    assert (en.title, en.course, en.due) == ("Backpropagation", "Machine Learning", "Friday, 23:59")


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("{en: Backprop}", "3: /title: gives no text in the assignment's language 'ru'"),
        (
            "{ru: Обратное, de: Rückwärts}",
            "3: /title: expected a text or texts per language (en, ru), got 'de'",
        ),
        ("{ru: [1, 2]}", "3: /title: Input should be a valid string"),
    ],
)
def test_a_bad_title_per_language_is_named(tmp_path, title: str, expected: str) -> None:
    with pytest.raises(UserError) as err:
        _load_text(
            tmp_path,
            f"id: hw\nlanguage: ru\ntitle: {title}\nexercises:\n  - {{id: g, type: chain_rule}}\n",
        )
    assert str(err.value) == f"{tmp_path / 'hw.yaml'}:{expected}"


def test_an_exercise_title_per_language_prints_the_assignments_language(tmp_path) -> None:
    text = (
        "id: hw\nlanguage: {lang}\n"
        "exercises:\n"
        "  - id: g\n"
        "    type: chain_rule\n"
        "    title: {{en: The chain rule, ru: Цепное правило}}\n"
        "  - {{id: m, type: mlp_matrix, title: One title for both}}\n"
    )
    ru = _load_text(tmp_path, text.format(lang="ru"))
    assert [e.title for e in ru.exercises] == ["Цепное правило", "One title for both"]
    en = _load_text(tmp_path, text.format(lang="en"))
    assert [e.title for e in en.exercises] == ["The chain rule", "One title for both"]


@pytest.mark.parametrize("title", ["{en: The chain rule}", "{ru: Цепное, de: Kette}"])
def test_a_bad_exercise_title_per_language_is_named_at_its_place(tmp_path, title: str) -> None:
    with pytest.raises(UserError) as err:
        _load_text(
            tmp_path,
            f"id: hw\nlanguage: ru\nexercises:\n  - id: g\n    type: chain_rule\n"
            f"    title: {title}\n",
        )
    assert str(err.value) == (
        f"{tmp_path / 'hw.yaml'}:6: /exercises/0/title: expected a text, or texts per "
        "language (en, ru) including the assignment's language"
    )


def test_the_sample_course_titles_its_russian_sheets_in_russian() -> None:
    from grader.samples import __file__ as samples_init

    course = Path(samples_init).parent / "course.yaml"
    russian = course.read_text(encoding="utf-8").replace("language: en", "language: ru")
    assignment = Assignment.model_validate(yaml.safe_load(russian))
    titles = [assignment.title, assignment.course, *(e.title or "" for e in assignment.exercises)]
    assert all(
        re.search("[а-я]", t) and not re.search("[A-Za-z]{4,}", t.replace("SGD", ""))
        for t in titles
    ), titles
