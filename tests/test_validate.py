"""``grader validate``: hand-edited answer files, each problem in plain words at
file:line:column with a caret; exit codes 0/1/2; English and Russian."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.core.wording import feedback_words
from grader.course.jsonpos import locate
from grader.grade.validate import check_file

# A student's template as generate writes it (typed here: a small graph, a 2x2 matrix
# with a 2x1 one beside it, a formula).
TEMPLATE = {
    "assignment": "hw1",
    "student": "s001",
    "answers": {
        "graph": {
            "values": {"a": None, "b": None},
            "adjoints": {"f": None, "d": None, "c": None, "b": None, "a": None},
            "partials": {"x": {"formula": None, "value": None}},
        },
        "mlp": {"h1": [[None, None], [None, None]], "O3": [[None], [None]]},
    },
}

# A filled-in file, written out by hand so every line and column below is known.
GOOD = """{
  "assignment": "hw1",
  "student": "s001",
  "answers": {
    "graph": {
      "values": {"a": "1/4", "b": -0.125},
      "adjoints": {"f": 1, "d": "2", "c": "−1/8", "b": "\\\\frac{1}{4}", "a": null},
      "partials": {"x": {"formula": "2x + 3", "value": "2"}}
    },
    "mlp": {"h1": [["1", "2"], ["3", "4"]], "O3": [["0.5"], ["0.25"]]}
  }
}
"""


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "s001-template.json"
    path.write_text(json.dumps(TEMPLATE, indent=2), encoding="utf-8")
    return path


def run(tmp_path: Path, content: str | bytes, *args: str) -> tuple[int, str]:
    path = tmp_path / "s001.json"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    result = CliRunner().invoke(main, ["validate", str(path), *args])
    return result.exit_code, result.output.replace(str(tmp_path) + "/", "")


def test_a_good_file_passes_and_lists_its_unanswered_field(tmp_path: Path, template: Path) -> None:
    code, out = run(tmp_path, GOOD, "--template", str(template))
    assert code == 0, out
    assert "problem:" not in out
    assert "1 unanswered (null or absent): /answers/graph/adjoints/a" in out
    assert out.rstrip().endswith("s001.json: no problems")


def _edit(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


# (what the student did, the file, where to fix it: a text in the file whose first
# character is the place (plus an offset into it), or None for 1:1, the message's words)
HAND_EDITED: list[tuple[str, str, tuple[str, int] | None, str]] = [
    (
        "trailing comma",
        _edit('"value": "2"}}\n', '"value": "2"},}\n'),
        (",}", 0),
        "a comma before '}': delete this comma",
    ),
    (
        "unquoted fraction",
        _edit('"d": "2"', '"d": -1/1'),
        ("-1/1", 0),
        'write it in quotes, "-1/1"',
    ),
    ("unquoted -.25", _edit('"b": -0.125', '"b": -.25'), ("-.25", 0), 'write it in quotes, "-.25"'),
    ("decimal comma", _edit('"b": -0.125', '"b": 0,25'), ("0,25", 0), 'write it in quotes, "0,25"'),
    (
        "unquoted \\frac",
        _edit('"b": -0.125', '"b": \\frac{1}{4}'),
        ('"b": \\frac', 5),
        'write it in quotes, "\\\\frac{1}{4}"',
    ),
    ("single quotes", _edit('"a": "1/4"', "'a': \"1/4\""), ("'a'", 0), "JSON needs double quotes"),
    (
        "comment",
        _edit('"student": "s001",', '"student": "s001", // me'),
        ("// me", 0),
        "no comments",
    ),
    (
        "missing comma",
        _edit('"student": "s001",', '"student": "s001"'),
        ('"s001"', 6),  # just after the value the comma belongs to
        "a comma is missing",
    ),
    (
        "unquoted key",
        _edit('"student": "s001"', 'student: "s001"'),
        ("student:", 0),
        "the key student needs",
    ),
    (
        "misspelled key",
        _edit('"adjoints":', '"adjoint":'),
        ('"adjoint"', 0),
        'unknown key "adjoint": did you mean "adjoints"?',
    ),
    (
        "wrong shape",
        _edit('["3", "4"]', '["3", "4", "5"]'),
        ('["3", "4", "5"]', 0),
        "row 2 has 3 entries, the template has 2",
    ),
    (
        "too few rows",
        _edit('"O3": [["0.5"], ["0.25"]]', '"O3": [["0.5"]]'),
        ('[["0.5"]]', 0),
        "1 rows, the template has 2",
    ),
    (
        "wrong student",
        _edit('"student": "s001"', '"student": "s002"'),
        ('"s002"', 0),
        'this file is for student "s002", the template is for "s001"',
    ),
    (
        "wrong assignment",
        _edit('"assignment": "hw1"', '"assignment": "hw2"'),
        ('"hw2"', 0),
        'this file is for assignment "hw2"',
    ),
    (
        "bad number",
        _edit('"b": -0.125', '"b": "1/4x"'),
        ('1/4x"', 3),  # the x: the first character no number continues with
        'cannot read the number "1/4x": expected a number such as',
    ),
    ("a word", _edit('"d": "2"', '"d": "two"'), ('two"', 0), 'cannot read the number "two"'),
    ("bad formula", _edit('"2x + 3"', '"2x + (3"'), ("(3", 0), 'cannot read the formula "2x + (3"'),
    ("boolean", _edit('"d": "2"', '"d": true'), ("true", 0), "got true"),
    (
        "object for a matrix",
        _edit('"O3": [["0.5"], ["0.25"]]', '"O3": {}'),
        ("{}", 0),
        "expected an array",
    ),
    ("NaN", _edit('"d": "2"', '"d": NaN'), ("NaN", 0), "NaN is not a number JSON allows"),
    (
        "duplicate key",
        _edit('"b": -0.125', '"b": -0.125, "b": 1'),
        ('"b": 1', 0),
        "appears more than once",
    ),
    (
        "unknown top key",
        _edit('"student": "s001",', '"student": "s001", "name": "Ada",'),
        ('"name"', 0),
        'unknown key "name"',
    ),
    (
        "bad student id",
        _edit('"student": "s001"', '"student": "../x"'),
        ('"../x"', 0),
        "not a valid student id",
    ),
    ("empty file", "", None, "the file is empty"),
    ("not an object", "[1, 2]", None, "expected a JSON object"),
    ("text after the end", GOOD + "}\n", ("}\n", len(GOOD)), "something follows the end"),
]


def _line_column(content: str, anchor: tuple[str, int] | None) -> tuple[int, int]:
    if anchor is None:
        return 1, 1
    text, extra = anchor
    if text == "}\n" and extra:  # the appended brace: after GOOD
        offset = extra
    else:
        assert content.count(text) == 1, text
        offset = content.index(text) + extra
    line = content.count("\n", 0, offset) + 1
    return line, offset - (content.rfind("\n", 0, offset) + 1) + 1


@pytest.mark.parametrize(
    ("what", "content", "anchor", "words"), HAND_EDITED, ids=[c[0] for c in HAND_EDITED]
)
def test_hand_edited_files(
    tmp_path: Path,
    template: Path,
    what: str,
    content: str,
    anchor: tuple[str, int] | None,
    words: str,
) -> None:
    code, out = run(tmp_path, content, "--template", str(template))
    assert code == 1, out
    problems = [line for line in out.splitlines() if ": problem: " in line]
    assert len(problems) == 1, out
    line_no, column = _line_column(content, anchor)
    assert problems[0].startswith(f"s001.json:{line_no}:{column}: problem: "), out
    assert words in problems[0], out
    # the offending line, then a caret under the column
    lines = out.splitlines()
    shown, caret = lines[lines.index(problems[0]) + 1 : lines.index(problems[0]) + 3]
    assert shown == "    " + content.split("\n")[line_no - 1]
    assert caret == " " * (4 + column - 1) + "^"


def test_the_caret_points_at_the_trailing_comma_itself(tmp_path: Path, template: Path) -> None:
    content = _edit('"value": "2"}}\n', '"value": "2"},}\n')
    code, out = run(tmp_path, content, "--template", str(template))
    line = content.split("\n")[7]
    assert line[59] == ","  # column 60 (1-based) is the comma, not the '}' after it
    assert "s001.json:8:60:" in out


def test_without_a_template_the_numbers_are_still_checked(tmp_path: Path) -> None:
    code, out = run(tmp_path, _edit('"b": -0.125', '"b": "0.1.2"'))
    assert code == 1
    # at the second point: the opening quote is column 35, the 0 is 36
    assert 's001.json:6:39: problem: cannot read the number "0.1.2"' in out
    code, out = run(tmp_path, _edit('["3", "4"]', '["3", "4", "5"]'))
    assert code == 0, out  # no template: no shape to compare with


def test_utf16_text_is_a_problem_to_fix_not_a_binary(tmp_path: Path) -> None:
    code, out = run(tmp_path, GOOD.encode("utf-16"))
    assert code == 1 and "save it as UTF-8" in out
    code, out = run(tmp_path, GOOD.encode("utf-16-le"))  # no byte order mark
    assert code == 1 and "save it as UTF-8" in out


def test_exit_code_two_for_binary_and_missing_files(tmp_path: Path) -> None:
    code, out = run(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert code == 2
    assert "not a text file" in out
    code, out = run(tmp_path, b"\xff\xd8\xff\xe0garbage")
    assert code == 2 and "not a text file (byte 0 is not UTF-8)" in out
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "cannot open the file" in result.output
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2  # bad usage


def test_several_files_exit_with_the_highest_code(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(GOOD, encoding="utf-8")
    bad = tmp_path / "bad.json"
    bad.write_text(GOOD.replace('"d": "2"', '"d": 2/3'), encoding="utf-8")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\x00\x01\x02")
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(good)]).exit_code == 0
    assert runner.invoke(main, ["validate", str(good), str(bad)]).exit_code == 1
    result = runner.invoke(main, ["validate", str(bad), str(binary), str(good)])
    assert result.exit_code == 2
    assert "bad.json: 1 problem(s)" in result.output and "good.json: no problems" in result.output


def test_an_unreadable_template_is_bad_usage(tmp_path: Path) -> None:
    (tmp_path / "t.json").write_text("{", encoding="utf-8")
    code, out = run(tmp_path, GOOD, "--template", str(tmp_path / "t.json"))
    assert code == 2
    assert out.startswith("error: ") and "t.json" in out and len(out.splitlines()) == 1


def test_russian_messages(tmp_path: Path, template: Path) -> None:
    content = _edit('"adjoints":', '"adjoint":').replace('"value": "2"}}', '"value": "2"},}')
    code, out = run(tmp_path, content, "--template", str(template), "--lang", "ru")
    assert code == 1
    assert "неизвестный ключ" not in out  # a syntax error stops the reading: only it is listed
    assert "s001.json:8:60: проблема: запятая перед '}'" in out
    code, out = run(
        tmp_path, _edit('"adjoints":', '"adjoint":'), "--template", str(template), "--lang", "ru"
    )
    assert 's001.json:7:7: проблема: неизвестный ключ "adjoint": может быть, "adjoints"?' in out
    assert "проблем: 1" in out and "без ответа" in out
    # no English sentence left in what was said (identifiers and pointers aside)
    words = re.sub(r"\"[^\"]*\"|/[\w/]+|s001\.json[:\d]*", "", out)
    assert not re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", words), out


def test_feedback_words_have_the_same_keys_in_every_language() -> None:
    en, ru = feedback_words("en"), feedback_words("ru")
    assert set(en) == set(ru)
    for key in en:  # the same placeholders, so no message fails to fill in
        english = set(re.findall(r"(?<!\{)\{(\w+)\}", en[key]))
        russian = set(re.findall(r"(?<!\{)\{(\w+)\}", ru[key]))
        if key.startswith("reason_"):
            # a parser's reason may leave out the 0-based position (the report and
            # validate point at the character themselves), or say it 1-based
            english -= {"at"}
            russian -= {"opened_1"}
            english -= {"opened"}
        assert english == russian, key


def test_check_file_result_carries_pointers(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(_edit('"adjoints":', '"adjoint":'), encoding="utf-8")
    result = check_file(path, TEMPLATE)
    assert [(f.key, f.pointer, f.line, f.column) for f in result.problems] == [
        ("unknown_key_suggest", "/answers/graph/adjoint", 7, 7)
    ]
    assert result.unanswered[:2] == ["/answers/graph/adjoints/f", "/answers/graph/adjoints/d"]
    assert len(result.unanswered) == 5


def test_locate_finds_every_value_and_key() -> None:
    text = '{"a": [1, {"b": "x"}],\n "c": null}'
    found = locate(text)
    assert found.values == {"": 0, "/a": 6, "/a/0": 7, "/a/1": 10, "/a/1/b": 16, "/c": 29}
    assert found.keys == {"/a": 1, "/a/1/b": 11, "/c": 24}
    assert found.offset("/a/1/zz") == 10  # an absent member: its parent


def test_russian_messages_say_the_parsers_reasons_in_russian(tmp_path: Path) -> None:
    content = _edit('"a": "1/4"', '"a": "0,25,3"').replace('"2x + 3"', '"2x + log(-1)"')
    for lang, number, formula in (
        ("en", "more than one ','", "log of a number that is not positive"),
        ("ru", "больше одной запятой", "логарифм неположительного числа"),
    ):
        code, out = run(tmp_path, content, "--lang", lang)
        assert code == 1 and number in out and formula in out, out
    words = re.sub(r"\"[^\"]*\"|/[\w/]+|s001\.json[:\d]*|\(0,25\)", "", out)
    assert not re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", words), out
