"""``grader grade`` end to end: reports, gradebook rows for everyone, exit codes, samples."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.core.errors import UserError
from grader.grade.batch import grade_command

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "grader" / "samples"
CANONICAL = SAMPLES / "canonical.yaml"
SUBMISSIONS = SAMPLES / "submissions"


def rows(out: Path) -> list[dict[str, str]]:
    text = (out / "gradebook.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "student,name,score,max_score,status,reason,flags"
    return list(csv.DictReader(io.StringIO(text)))


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def batch(tmp_path: Path) -> tuple[Path, Path]:
    """A directory of submissions: perfect, mistaken, broken, unmatched, a duplicate."""
    subs = tmp_path / "subs"
    subs.mkdir()
    perfect = json.loads((SUBMISSIONS / "perfect.json").read_text(encoding="utf-8"))
    write_json(subs / "a-perfect.json", perfect)
    mistaken = json.loads((SUBMISSIONS / "sign_flip.json").read_text(encoding="utf-8"))
    write_json(subs / "b-mistaken.json", mistaken)
    write_json(subs / "c-first.json", dict(perfect, student="s003"))
    write_json(
        subs / "d-second.json",
        dict(mistaken, student="s003", params={"sgd": {"learning_rate": "1"}}),
    )
    (subs / "e-broken.json").write_bytes(b'{"student": "s004", "answers": {"sgd": [[[')
    (subs / "f-garbage.json").write_bytes(b"\xff\xfe\x00garbage")
    write_json(subs / "g-unmatched.json", dict(perfect, student="zz9"))
    write_json(subs / "h-evil-id.json", dict(perfect, student="../../etc/passwd"))
    (subs / "notes.txt").write_text("not a submission")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        'id,name\ns001,Ada Lovelace\ns002,=HYPERLINK("x")\ns003,Carl Gauss\ns004,Dora\ns005,Emmy\n',
        encoding="utf-8",
    )
    return subs, roster


def test_batch_end_to_end(batch, tmp_path: Path) -> None:
    subs, roster = batch
    out = tmp_path / "out"
    code = grade_command(str(CANONICAL), [str(subs)], str(roster), str(out), lms=None, jobs=1)
    assert code == 1  # some submissions could not be graded
    table = rows(out)
    by_id = {r["student"]: r for r in table if r["student"]}
    assert [r["student"] for r in table[:5]] == ["s001", "s002", "s003", "s004", "s005"]
    assert by_id["s001"]["status"] == "submitted" and by_id["s001"]["score"] == "10"
    assert by_id["s002"]["status"] == "submitted" and by_id["s002"]["score"] == "9.47"
    assert by_id["s002"]["name"].startswith("'=")  # a formula in a spreadsheet cell: defused
    assert "2 files for this student" in by_id["s003"]["reason"]
    assert "c-first.json" in by_id["s003"]["reason"] and by_id["s003"]["score"] == "9.47"
    assert by_id["s004"]["status"] == "invalid" and "not valid JSON" in by_id["s004"]["reason"]
    assert by_id["s005"]["status"] == "missing"
    assert by_id["zz9"]["status"] == "unmatched"
    others = [r for r in table if not r["student"]]
    reasons = " ".join(r["reason"] for r in others)
    assert {r["status"] for r in others} == {"invalid"} and len(others) == 2
    assert "UTF-16" in reasons and "not a valid student id" in reasons
    assert len(table) == 8  # 5 roster students + unmatched + 2 unreadable
    reports = sorted(p.name for p in (out / "reports").iterdir())
    # s004's file is not JSON, but names its student: a report (score 0) says why
    assert reports == [f"s00{i}.{ext}" for i in (1, 2, 3, 4) for ext in ("json", "md")]
    broken = json.loads((out / "reports" / "s004.json").read_text(encoding="utf-8"))
    assert (broken["score"], broken["max_score"], broken["fields"]) == (0, 10, [])
    assert broken["file_problems"] == [
        {
            "pointer": "",
            "line": 1,
            "column": 43,  # just past the last of the file's 42 characters
            "message": "the file ends too early: a closing '}' or ']' (or more) is missing",
        }
    ]
    assert "could not be read" in (out / "reports" / "s004.md").read_text(encoding="utf-8")
    report = json.loads((out / "reports" / "s002.json").read_text(encoding="utf-8"))
    assert report["student"] == "s002" and report["max_score"] == 10
    delta3 = next(f for f in report["fields"] if f["pointer"] == "/answers/sgd/steps/0/deltas/2")
    assert delta3["status"] == "incorrect" and delta3["diagnosis"][0]["id"] == "sign_flip"
    markdown = (out / "reports" / "s002.md").read_text(encoding="utf-8")
    assert "What went wrong" in markdown and "Carried forward" in markdown
    assert "δ₃ has the wrong sign" in markdown
    assert not list(tmp_path.rglob("passwd*"))


def test_everything_graded_exits_0_and_is_deterministic(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("perfect", "sign_flip", "learning_rate", "missing_factor_2"):
        shutil.copy(SUBMISSIONS / f"{name}.json", subs / f"{name}.json")
    roster = SAMPLES / "canonical_roster.csv"
    first, second = tmp_path / "one", tmp_path / "two"
    assert (
        grade_command(str(CANONICAL), [str(subs)], str(roster), str(first), lms=None, jobs=1) == 0
    )
    assert (
        grade_command(str(CANONICAL), [str(subs)], str(roster), str(second), lms=None, jobs=2) == 0
    )
    for name in ("gradebook.csv", "reports/s002.json", "reports/s003.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_bundled_samples_get_their_diagnoses(tmp_path: Path) -> None:
    out = tmp_path / "out"
    roster = SAMPLES / "canonical_roster.csv"
    code = grade_command(
        str(CANONICAL), [str(SUBMISSIONS)], str(roster), str(out), lms=None, jobs=1
    )
    assert code == 1  # broken.json
    status = {r["student"]: r for r in rows(out)}
    assert status["s001"]["score"] == "10"
    assert status["s005"]["status"] == "invalid" and "broken.json" in status["s005"]["reason"]
    assert status["s006"]["status"] == "missing"
    expected = {"s002": "sign_flip", "s003": "learning_rate", "s004": "missing_factor_2"}
    for sid, mistake in expected.items():
        report = json.loads((out / "reports" / f"{sid}.json").read_text(encoding="utf-8"))
        first = {f["diagnosis"][0]["id"] for f in report["fields"] if f["diagnosis"]}
        assert first == {mistake}, (sid, first)
        if mistake == "learning_rate":
            details = {d["detail"] for f in report["fields"] for d in f["diagnosis"]}
            assert details == {"1/2"}
    perfect = json.loads((out / "reports" / "s001.json").read_text(encoding="utf-8"))
    assert {f["status"] for f in perfect["fields"]} == {"correct"}


def test_student_text_is_escaped_in_markdown(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    data = json.loads((SUBMISSIONS / "perfect.json").read_text(encoding="utf-8"))
    data["answers"]["sgd"]["steps"][0]["deltas"][2] = "``<script>`` [x](http://e.vil) " + "9" * 500
    write_json(subs / "s.json", data)
    out = tmp_path / "out"
    roster = SAMPLES / "canonical_roster.csv"
    grade_command(str(CANONICAL), [str(subs)], str(roster), str(out), lms=None, jobs=1)
    markdown = (out / "reports" / "s001.md").read_text(encoding="utf-8")
    line = next(x for x in markdown.splitlines() if "script" in x)
    assert "you wrote ``` ``<script>`` [x](http://e.vil) 999" in line  # a longer fence
    assert "9" * 100 not in line  # bounded
    report = json.loads((out / "reports" / "s001.json").read_text(encoding="utf-8"))
    field = next(f for f in report["fields"] if f["pointer"].endswith("/0/deltas/2"))
    assert field["status"] == "invalid" and len(field["given"]) <= 200


def test_unusable_inputs_are_user_errors(tmp_path: Path) -> None:
    roster = SAMPLES / "canonical_roster.csv"
    with pytest.raises(UserError, match="expected one of moodle, canvas"):
        grade_command(str(CANONICAL), [], str(roster), str(tmp_path), lms="blackboard", jobs=1)
    bad_roster = tmp_path / "roster.csv"
    bad_roster.write_text("who,what\n")
    with pytest.raises(UserError, match="header row"):
        grade_command(str(CANONICAL), [], str(bad_roster), str(tmp_path), lms=None, jobs=1)
    randomized = tmp_path / "hw.yaml"
    randomized.write_text(
        "id: hw\nsecret_env: GRADER_TEST_SECRET_UNSET\nexercises:\n  - id: sgd\n    type: sgd_chain\n"
    )
    os.environ.pop("GRADER_TEST_SECRET_UNSET", None)
    with pytest.raises(UserError, match="GRADER_TEST_SECRET_UNSET is not set"):
        grade_command(str(randomized), [], str(roster), str(tmp_path), lms=None, jobs=1)
    bad_tolerance = tmp_path / "tol.yaml"
    bad_tolerance.write_text(
        CANONICAL.read_text(encoding="utf-8") + "    tolerance: {rule: absolute}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="needs a value"):
        grade_command(str(bad_tolerance), [], str(roster), str(tmp_path), lms=None, jobs=1)


def test_cli_never_shows_a_traceback(batch, tmp_path: Path) -> None:
    subs, roster = batch
    out = tmp_path / "cli-out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(CANONICAL),
            str(subs),
            "--roster",
            str(roster),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert "Class summary" in done.stdout and "most common mistakes" in done.stdout
    # a path that does not exist is bad usage (exit 2, one line): see test_grade_console
    usage = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(CANONICAL),
            str(subs),
            "--roster",
            str(tmp_path / "missing.csv"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    assert "missing.csv" in usage.stderr


def test_a_bug_while_grading_one_file_does_not_stop_the_batch(tmp_path: Path, monkeypatch) -> None:
    import grader.grade.batch as grade_cmd

    real = grade_cmd.grade_submission

    def flaky(assignment, student, variants, data, cache=None):
        if student.id == "s002":
            raise RuntimeError("boom")
        return real(assignment, student, variants, data, cache)

    monkeypatch.setattr(grade_cmd, "grade_submission", flaky)
    out = tmp_path / "out"
    roster = SAMPLES / "canonical_roster.csv"
    subs = [str(SUBMISSIONS / "perfect.json"), str(SUBMISSIONS / "sign_flip.json")]
    assert grade_command(str(CANONICAL), subs, str(roster), str(out), lms=None, jobs=1) == 1
    status = {r["student"]: r for r in rows(out)}
    assert status["s001"]["status"] == "submitted"
    assert status["s002"]["status"] == "invalid" and "internal error" in status["s002"]["reason"]


def test_an_unwritable_output_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output directory should be")
    roster = SAMPLES / "canonical_roster.csv"
    with pytest.raises(UserError, match="cannot write"):
        grade_command(str(CANONICAL), [], str(roster), str(blocker), lms=None, jobs=1)


@pytest.mark.parametrize("lms", ["moodle", "canvas"])
def test_lms_gradebook_and_class_summary(tmp_path: Path, lms: str) -> None:
    out = tmp_path / "out"
    roster = SAMPLES / "canonical_roster.csv"
    code = grade_command(str(CANONICAL), [str(SUBMISSIONS)], str(roster), str(out), lms=lms, jobs=1)
    assert code == 1  # broken.json could not be graded
    rows = list(csv.reader((out / f"gradebook-{lms}.csv").read_text(encoding="utf-8").splitlines()))
    if lms == "moodle":
        assert rows[0] == ["ID number", "Full name", "Backpropagation"]
        assert ["s001", "Ada Lovelace", "10"] in rows
        assert ["s006", "Felix Klein", ""] in rows  # missing: the import leaves the cell alone
    else:
        assert rows[0] == [
            "Student",
            "ID",
            "SIS User ID",
            "SIS Login ID",
            "Section",
            "Backpropagation",
        ]
        assert rows[1] == ["Points Possible", "", "", "", "", "10"]
        assert ["Blaise Pascal", "", "s002", "", "", "9.47"] in rows
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert "<svg" in page and "Score histogram" in page and "Item analysis" in page
    assert "sign of δ flipped" in page and "wrong learning rate" in page
    assert "Felix Klein" in page  # missing: may need help
    assert "http:" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained
    assert "https:" not in page and "<script" not in page
