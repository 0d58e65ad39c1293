"""``grader autograde``: one Gradescope submission into ``results/results.json``.

Gradescope's autograder specification (https://gradescope-autograders.readthedocs.io,
"Autograder Specifications"): the submission's files are in ``<root>/submission/``, who
submitted is in ``<root>/submission_metadata.json`` (``users[]`` with ``email``, ``sid``),
and the result is ``<root>/results/results.json`` with ``score``, ``output``,
``output_format``, ``visibility`` and ``tests[]`` (``name``, ``score``, ``max_score``,
``status``, ``output``, ``output_format``, ``visibility``).

This command never fails: whatever goes wrong (an unreadable file, a wrong assignment, a
student not on the roster, even a bug) ends as a ``results.json`` with score 0 and an
explanation in plain words, and exit code 0 — otherwise Gradescope shows only
"autograder failed".
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.grade.lms_words import words

MAX_METADATA_BYTES = 1_000_000
VISIBILITY = {  # the assignment's feedback setting -> Gradescope's visibility of the tests
    "immediate": "visible",
    "after_due_date": "after_due_date",
    "score_only": "hidden",
}


@dataclass
class _Refusal(Exception):
    """The submission cannot be graded; ``message`` is for the student."""

    message: str


def autograde_command(
    assignment_path: str,
    roster_path: str,
    root: str,
    *,
    tests_per: str = "field",
    peers: str | None = None,
) -> int:
    results = Path(root) / "results" / "results.json"
    lang = "en"
    try:
        from grader.course.assignment import load_assignment

        assignment = load_assignment(assignment_path)
        lang = assignment.language
        result = _grade(assignment, roster_path, Path(root), tests_per, peers)
    except _Refusal as exc:
        result = _refusal(exc.message, lang)
    except Exception as exc:  # noqa: BLE001 - a results.json, whatever happens
        print(f"autograde: {type(exc).__name__}: {exc}", file=sys.stderr)  # the instructor's log
        what = str(getattr(exc, "message", type(exc).__name__))[:300]
        try:
            result = _refusal(words(lang)["gs_internal"].format(what=what), lang)
        except Exception:  # noqa: BLE001 - even the words may be missing from a broken install
            result = {"score": 0, "output": f"The autograder failed: {what}", "tests": []}
    _write(results, result)
    return 0


def _refusal(message: str, lang: str) -> dict[str, Any]:
    w = words(lang)
    return {
        "score": 0,
        "output": f"**{w['gs_problem_title']}**\n\n{message}",
        "output_format": "md",
        "visibility": "visible",
        "tests": [],
    }


def _write(path: Path, result: dict[str, Any]) -> None:
    from grader.core.fileio import atomic_write_text

    atomic_write_text(path, json.dumps(result, indent=2, ensure_ascii=False) + "\n")


def _grade(
    assignment: Any, roster_path: str, root: Path, tests_per: str, peers: str | None
) -> dict[str, Any]:
    from grader.course.assignment import load_roster
    from grader.course.submission import SubmissionError, check_assignment, read_submission
    from grader.course.variants import make_variants, read_secret
    from grader.grade.grading import GradingCache, grade_submission
    from grader.grade.lms_match import file_student, load_people
    from grader.grade.peers import load_index

    w = words(assignment.language)
    roster = load_roster(roster_path)
    people = load_people(roster_path, roster)
    members, strangers = _members(root / "submission_metadata.json", people)
    if not members:
        raise _Refusal(w["gs_not_on_roster"].format(who=", ".join(strangers) or "?"))
    files = _submission_files(root / "submission")
    if not files:
        raise _Refusal(w["gs_no_file"])
    path = files[-1]
    shown = path.relative_to(root / "submission").as_posix()
    try:
        data = read_submission(path)
        check_assignment(data, assignment.id)
    except SubmissionError as exc:
        raise _Refusal(w["gs_unreadable"].format(file=f"`{shown}`", reason=exc.message)) from None
    named = file_student(path.read_bytes()[:2_000_000])
    if len(members) == 1:
        student = members[0]  # the uploader is the student
    elif named is None:
        raise _Refusal(w["gs_group_no_student"])
    elif named not in members:
        raise _Refusal(w["gs_group_not_member"].format(named=named, members=", ".join(members)))
    else:
        student = named  # a group hands in the work of the member it names
    by_id = {s.id: s for s in roster}
    variants = make_variants(assignment, student, read_secret(assignment))
    # the roster's copy-detection index, when the bundle has one (grader.grade.peers)
    index = load_index(peers) if peers and Path(peers).is_file() else None
    report = grade_submission(assignment, by_id[student], variants, data, GradingCache(peers=index))
    notes = []
    if len(members) == 1 and named is not None and named != student:
        notes.append(w["note_classmate"].format(named=named))
    if len(files) > 1:
        others = ", ".join(f"`{p.relative_to(root / 'submission').as_posix()}`" for p in files[:-1])
        notes.append(w["gs_other_files"].format(graded=f"`{shown}`", others=others))
    return _result(assignment, report, tests_per, notes)


def _members(metadata: Path, people: Any) -> tuple[list[str], list[str]]:
    """The roster ids of the submitting users (by ``sid``, then ``email``), and the
    users who are not on the roster."""
    try:
        raw = metadata.read_bytes()[:MAX_METADATA_BYTES]
        meta = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"cannot read {metadata.name}: {exc}") from None
    users = meta.get("users") if isinstance(meta, dict) else None
    members: list[str] = []
    strangers: list[str] = []
    for user in users if isinstance(users, list) else []:
        if not isinstance(user, dict):
            continue
        sid = str(user.get("sid") or "").strip().casefold()
        email = str(user.get("email") or "").strip().casefold()
        found = people.sid.get(sid) if sid else None
        found = found or (people.email.get(email) if email else None)
        if found and found not in members:
            members.append(found)
        elif not found:
            strangers.append(str(user.get("email") or user.get("name") or "?")[:100])
    return members, strangers


def _submission_files(folder: Path) -> list[Path]:
    """The ``.json`` files handed in, oldest first (the newest is graded; ties by name)."""
    found: list[tuple[float, str, Path]] = []
    if not folder.is_dir():
        return []
    for path in folder.rglob("*.json"):
        if path.is_file() and not path.is_symlink():
            found.append((path.stat().st_mtime, path.as_posix(), path))
    return [p for _, _, p in sorted(found)]


def _result(assignment: Any, report: Any, tests_per: str, notes: Sequence[str]) -> dict[str, Any]:
    from grader.grade.reports import score_number, score_text

    w = words(assignment.language)
    visibility = VISIBILITY[assignment.feedback]
    lines = [w["gs_score"].format(score=score_text(report.score), max=score_text(report.max_score))]
    mistakes = sorted({f.diagnosis[0].id for f in report.fields if f.diagnosis})
    if mistakes and assignment.feedback != "score_only":  # score_only: the score, nothing else
        names = w["mistakes"]
        lines.append(
            w["comment_mistakes"].format(mistakes=", ".join(names.get(m, m) for m in mistakes))
        )
    if assignment.feedback == "score_only":
        lines.append(w["gs_score_only"])
    elif assignment.feedback == "after_due_date":
        lines.append(w["gs_hidden_until_due"])
    lines += list(notes) + [f"- {p}" for p in report.problems[:10]]
    tests = _tests(report, tests_per, w)
    for t in tests:
        t["score"] = score_number(t["score"])
        t["max_score"] = score_number(t["max_score"])
        t["output_format"] = "md"
        t["visibility"] = visibility
    flags = sorted({flag for f in report.fields for flag in f.flags})
    if flags:  # for the instructor only: Gradescope never shows a hidden test to a student
        tests.append(
            {
                "name": "Instructor: flags",
                "score": 0,
                "max_score": 0,
                "status": "failed",
                "output": "; ".join(f"`{f}`" for f in flags),
                "output_format": "md",
                "visibility": "hidden",
            }
        )
    return {
        "score": score_number(report.score),
        "output": "\n\n".join(lines),
        "output_format": "md",
        # after_due_date: the whole result (score included) waits for the due date
        "visibility": "after_due_date" if assignment.feedback == "after_due_date" else "visible",
        "tests": tests,
    }


def _tests(report: Any, tests_per: str, w: dict[str, Any]) -> list[dict[str, Any]]:
    from grader.grade.grading import total

    if tests_per == "field":
        return [
            {
                "name": f"{f.exercise}: {f.label}",
                "score": f.points,
                "max_score": f.max_points,
                "status": "passed" if f.points == f.max_points else "failed",
                "output": _field_output(f, w),
            }
            for f in report.fields
        ]
    groups: dict[str, list[Any]] = {}
    for f in report.fields:
        groups.setdefault(_step_of(f.pointer, w), []).append(f)
    tests = []
    for key, fields in groups.items():
        got, top = total(f.points for f in fields), total(f.max_points for f in fields)
        wrong = [f for f in fields if f.points != f.max_points]
        tests.append(
            {
                "name": key,
                "score": got,
                "max_score": top,
                "status": "passed" if got == top else "failed",
                "output": "\n".join(f"- **{_md(f.label)}**: {_field_output(f, w)}" for f in wrong),
            }
        )
    return tests


def _step_of(pointer: str, w: dict[str, Any]) -> str:
    """A test's name for a field's step: ``/answers/sgd/steps/0/forward/1`` -> ``sgd: step 1``;
    otherwise the exercise and its first key (``/answers/mlp/forward/0`` -> ``mlp: forward``)."""
    parts = [p for p in pointer.split("/") if p]
    if parts[:1] == ["answers"]:
        parts = parts[1:]
    if len(parts) > 2 and parts[1] == "steps" and parts[2].isdigit():
        return f"{parts[0]}: " + str(w["gs_step"]).format(n=int(parts[2]) + 1)
    return ": ".join(parts[:2])


def _field_output(f: Any, w: dict[str, Any]) -> str:
    if f.points == f.max_points and f.status == "correct":
        return str(w["gs_field_right"])
    return _md(f.feedback)


def _md(text: str) -> str:
    """A student's text inside Markdown: no markup of its own."""
    out = []
    for ch in str(text)[:1000]:
        out.append("\\" + ch if ch in "\\`*_[]<>#|" else ch)
    return "".join(out)
