"""JSON Schema of a submission (``grader schema`` and ``schema.json`` in a build)."""

from __future__ import annotations

from typing import Any

from grader.core.numbers import MAX_NUMBER_CHARS
from grader.course.assignment import Assignment
from grader.course.submission import MAX_FORMULA_CHARS
from grader.course.variants import is_fully_fixed
from grader.exercises import get_exercise

NUMBER_SCHEMA = {
    "description": 'a number: a JSON number, or a string such as "1/4", "-0.125", "−1/8", "1.25e-1", "\\\\frac{1}{4}"',
    "anyOf": [
        {"type": "number"},
        {"type": "string", "maxLength": MAX_NUMBER_CHARS},
        {"type": "null"},
    ],
}
FORMULA_SCHEMA = {
    "description": 'a formula in ordinary math syntax, e.g. "2x + y + 2(x+y)"',
    "anyOf": [{"type": "string", "maxLength": MAX_FORMULA_CHARS}, {"type": "null"}],
}


def submission_schema(assignment: Assignment) -> dict[str, Any]:
    """Shapes are exact where the instructor fixed every parameter, generic otherwise
    (each student's template shows their own shapes)."""
    answers: dict[str, Any] = {}
    for spec in assignment.exercises:
        exercise = get_exercise(spec.type)
        params = exercise.Params.model_validate(spec.params) if is_fully_fixed(spec) else None
        answers[spec.id] = exercise.json_schema(params)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Submission for {assignment.id}",
        "type": "object",
        "additionalProperties": False,
        "required": ["assignment", "student", "answers"],
        "properties": {
            "assignment": {"const": assignment.id},
            "student": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
            "answers": {"type": "object", "additionalProperties": False, "properties": answers},
        },
        "$defs": {"number": NUMBER_SCHEMA, "formula": FORMULA_SCHEMA},
    }
