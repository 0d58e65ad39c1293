"""What is wrong with a submission file as a file, for its student's report.

``grade`` finds these with the same checks as ``grader validate``
(:mod:`grader.grade.validate`): a JSON syntax error (the whole file scores 0), an
unknown key (with the key it was probably meant to be), a wrong shape, a duplicate key,
another assignment.  Each becomes a :class:`FileProblem` with its JSON Pointer, line and
column, said in the assignment's language; the fields a problem costs (the five adjoints
under a misspelled ``"adjoint"``) carry it in their feedback.  Nothing is repaired.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from grader.core.wording import say
from grader.course.jsonpos import locate, place
from grader.course.submission import SubmissionError
from grader.course.variants import Variant
from grader.exercises import get_exercise
from grader.grade.grading import FieldResult
from grader.grade.validate import Finding, check_data, said_args

# Problems of single answers are reported on the fields themselves (status invalid).
_ON_THE_FIELD = frozenset(
    {"bad_number", "bad_formula", "too_long", "json_constant", "expected_answer"}
)
MAX_FILE_PROBLEMS = 20


@dataclass(frozen=True)
class FileProblem:
    """One problem of a file: where (pointer, 1-based line and column) and what."""

    pointer: str
    line: int | None
    column: int | None
    message: str
    affects: str | None = None  # the pointer under which the fields it costs lie

    def as_json(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }


def template_of(assignment_id: str, student_id: str, variants: Sequence[Variant]) -> Any:
    """The student's answer template (what ``generate`` wrote for them) as data."""
    return {
        "assignment": assignment_id,
        "student": student_id,
        "answers": {
            v.exercise.id: get_exercise(v.exercise.type).template_answers(v.params)
            for v in variants
        },
    }


def unreadable(exc: SubmissionError, language: str) -> FileProblem:
    """The problem of a file that could not be read at all (scores 0)."""
    args = {k: say(language, v) if k == "kind" else v for k, v in exc.args_.items()}
    message = say(language, exc.key, **args) if exc.key else exc.message
    return FileProblem("", exc.line, exc.column, message)


def found_in(
    data: Any, template: Any, language: str, read_text: Callable[[], str | None]
) -> list[FileProblem]:
    """The file-level problems of a readable submission, located in its text (read only
    when there is a problem to locate)."""
    findings = [f for f in check_data(data, template, leaves=False) if f.key not in _ON_THE_FIELD]
    if not findings:
        return []
    text = read_text()
    located = None
    if text is not None:
        try:
            located = locate(text)
        except (ValueError, IndexError, RecursionError):  # the file changed since it was read
            located = None
    out: list[FileProblem] = []
    for f in findings[:MAX_FILE_PROBLEMS]:
        line = column = None
        if located is not None and text is not None:
            if f.key == "duplicate_key" and f.pointer in located.repeats:
                offset = located.repeats[f.pointer]
            else:
                offset = located.offset(f.pointer or "", key=f.key.startswith("unknown_key"))
            at = place(text, offset)
            line, column = at.line, at.column
        message = say(language, f.key, **said_args(f.args, language))
        out.append(FileProblem(f.pointer or "", line, column, message, _affects(f)))
    return out


def _affects(f: Finding) -> str | None:
    """The pointer whose fields a problem costs: a misspelled key costs the fields of the
    key it was meant to be; a wrong shape, the fields under it."""
    where = f.pointer or ""
    if f.key == "unknown_key_suggest":
        parent = where[: where.rfind("/")]
        suggestion = dict(f.args)["suggestion"]
        return parent + "/" + str(suggestion).replace("~", "~0").replace("/", "~1")
    if f.key in ("rows", "row_entries", "entries", "expected_object", "expected_array"):
        return where
    if f.key == "duplicate_key":
        return where
    return None


def annotate(
    fields: Sequence[FieldResult], problems: Sequence[FileProblem], language: str
) -> tuple[FieldResult, ...]:
    """The fields with the file problem that cost them put before their feedback."""
    notes = [(p.affects, p) for p in problems if p.affects]
    if not notes:
        return tuple(fields)
    out: list[FieldResult] = []
    for f in fields:
        hits = [
            p for prefix, p in notes if f.pointer == prefix or f.pointer.startswith(prefix + "/")
        ]
        if hits and f.status in ("missing", "invalid"):
            said = " ".join(
                _sentence(
                    say(
                        language,
                        "file_problem_note",
                        line=p.line,
                        column=p.column,
                        message=p.message,
                    )
                )
                for p in hits
            )
            f = replace(f, feedback=f"{said} {f.feedback}")
        out.append(f)
    return tuple(out)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."
