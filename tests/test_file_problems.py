"""A report for every file that belongs to a student: unreadable JSON, a misspelled key,
an invalid student id; ``file_problems`` in the report JSON and next to the fields they
cost, in the assignment's language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.course.assignment import load_assignment
from grader.course.keys import key_json
from grader.course.variants import make_variants
from grader.grade.batch import grade_command

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "grader" / "samples" / "course.yaml"
SECRET = "file-problems-test-secret-7Q2x"  # >= 16 bytes, >= 8 distinct characters


def perfect(assignment_path: Path, student: str) -> dict:
    spec = load_assignment(str(assignment_path))
    variants = make_variants(spec, student, SECRET.encode())
    key = key_json(spec, student, variants)
    return {"assignment": key["assignment"], "student": student, "answers": key["answers"]}


@pytest.fixture
def graded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    language = getattr(request, "param", "en")
    monkeypatch.setenv("GRADER_SECRET", SECRET)
    course = tmp_path / "course.yaml"
    course.write_text(
        COURSE.read_text(encoding="utf-8").replace("language: en", f"language: {language}"),
        encoding="utf-8",
    )
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns001,Ada\ns002,Ben\ns003,Cleo\ns004,Dan\n", encoding="utf-8")
    subs = tmp_path / "subs"
    subs.mkdir()
    # s001: readable, but "adjoints" is misspelled (its five fields are missing)
    misspelled = perfect(course, "s001")
    graph = misspelled["answers"]["graph"]
    misspelled["answers"]["graph"] = {
        ("adjoint" if k == "adjoints" else k): v for k, v in graph.items()
    }
    text = json.dumps(misspelled, indent=2, ensure_ascii=False)
    (subs / "s001.json").write_text(text, encoding="utf-8")
    # s002: a trailing comma after the last answer
    good = json.dumps(perfect(course, "s002"), indent=2, ensure_ascii=False)
    broken = good.rstrip()[:-1].rstrip() + ",\n}\n"  # a comma after "answers": {...}
    (subs / "s002.json").write_text(broken, encoding="utf-8")
    # s003: an invalid student id inside; the file's name is a roster id
    (subs / "s003.json").write_text(
        json.dumps(dict(perfect(course, "s003"), student="../s003")), encoding="utf-8"
    )
    # s004: not JSON at all, and no "student" field: named by its file
    (subs / "s004.json").write_bytes(b"\x89PNG\r\n\x1a\n binary")
    out = tmp_path / "out"
    code = grade_command(str(course), [str(subs)], str(roster), str(out), lms=None, jobs=1)
    return code, out, text, broken


def report(out: Path, sid: str) -> tuple[dict, str]:
    data = json.loads((out / "reports" / f"{sid}.json").read_text(encoding="utf-8"))
    return data, (out / "reports" / f"{sid}.md").read_text(encoding="utf-8")


def test_a_misspelled_key_is_named_where_it_is_and_on_the_fields_it_costs(graded) -> None:
    code, out, text, _ = graded
    assert code == 1
    data, md = report(out, "s001")
    lines = text.split("\n")
    line = next(i for i, s in enumerate(lines, 1) if '"adjoint":' in s)
    column = lines[line - 1].index('"adjoint"') + 1
    assert data["file_problems"] == [
        {
            "pointer": "/answers/graph/adjoint",
            "line": line,
            "column": column,
            "message": 'unknown key "adjoint": did you mean "adjoints"?',
        }
    ]
    adjoints = [f for f in data["fields"] if f["pointer"].startswith("/answers/graph/adjoints/")]
    assert len(adjoints) >= 5
    for f in adjoints:
        assert f["status"] == "missing" and f["points"] == 0
        assert f["feedback"].startswith(
            f'Your file (line {line}, column {column}): unknown key "adjoint": did you mean "adjoints"?'
        )
    others = [f for f in data["fields"] if not f["pointer"].startswith("/answers/graph/adjoints/")]
    assert all(f["status"] == "correct" for f in others)  # nothing else is touched
    assert "## About the file" in md
    assert f"line {line}, column {column}: unknown key" in md
    # the missing field says it once, with the file problem that cost it
    assert "no answer. no answer" not in md.lower()
    assert f"- **∂f/∂f**: Your file (line {line}, column {column}): unknown key" in md


def test_unreadable_files_still_get_a_report_that_says_where(graded) -> None:
    _, out, _, broken = graded
    data, md = report(out, "s002")
    comma = broken.rindex(",")
    line = broken.count("\n", 0, comma) + 1
    column = comma - broken.rfind("\n", 0, comma)
    assert (data["score"], data["max_score"], data["fields"]) == (0, 24, [])
    assert data["file_problems"] == [
        {
            "pointer": "",
            "line": line,
            "column": column,
            "message": "a comma before '}': delete this comma "
            "(JSON allows no comma after the last item)",
        }
    ]
    assert "could not be read" in md and f"line {line}, column {column}" in md


def test_an_invalid_student_id_or_binary_file_is_attributed_by_its_name(graded) -> None:
    _, out, _, _ = graded
    data, _ = report(out, "s003")
    assert data["score"] == 0
    assert data["file_problems"][0]["pointer"] == ""
    assert "not a valid student id" in data["file_problems"][0]["message"]
    data, md = report(out, "s004")
    assert data["score"] == 0 and "not a text file" in data["file_problems"][0]["message"]
    assert not (out / "reports" / "..s003.json").exists()


@pytest.mark.parametrize("graded", ["ru"], indirect=True)
def test_file_problems_are_in_the_assignments_language(graded) -> None:
    _, out, _, _ = graded
    data, md = report(out, "s001")
    assert data["file_problems"][0]["message"] == (
        'неизвестный ключ "adjoint": может быть, "adjoints"?'
    )
    assert "## О файле" in md
    # the report's own words are Russian (the fields' feedback is not yet: see the README)
    assert md.startswith("# Обратное распространение ошибки: ваши результаты\n")
    assert "**Студент:** Ada" in md and "**Баллы:** " in md
    assert "### Нет ответа или ответ не читается (5)" in md and "### Верно (" in md
    for english in ("your grade report", "Student", "Score", "Missing or unreadable", "Correct ("):
        assert english not in md
    data, md = report(out, "s002")
    assert data["file_problems"][0]["message"].startswith("запятая перед '}'")
    assert "Ваш файл не удалось прочитать" in md


def test_validate_and_the_report_say_the_same(graded, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from grader.cli import main
    from grader.grade.file_problems import template_of

    _, out, _, _ = graded
    spec = load_assignment(str(tmp_path / "course.yaml"))
    for sid in ("s001", "s002"):
        data, _ = report(out, sid)
        problem = data["file_problems"][0]
        # the student's own template, as generate writes it
        template = template_of(spec.id, sid, make_variants(spec, sid, SECRET.encode()))
        (tmp_path / f"{sid}-template.json").write_text(json.dumps(template), encoding="utf-8")
        result = CliRunner().invoke(
            main,
            [
                "validate",
                str(tmp_path / "subs" / f"{sid}.json"),
                "--template",
                str(tmp_path / f"{sid}-template.json"),
            ],
        )
        assert result.exit_code == 1
        said = f"{sid}.json:{problem['line']}:{problem['column']}: problem: {problem['message']}"
        assert said in result.output, result.output
