"""JSON Schema of a submission (``grader schema`` and ``schema.json`` in a build)."""

from __future__ import annotations

from typing import Any

from grader.core.numbers import MAX_NUMBER_CHARS
from grader.course.assignment import Assignment
from grader.course.submission import MAX_FORMULA_CHARS
from grader.course.variants import is_fully_fixed
from grader.exercises import get_exercise


def _class(chars: str) -> str:
    """A regex character class of ``chars``, every one as a ``\\uXXXX`` escape (the same
    in Python's ``re`` and in ECMA-262, which JSON Schema's ``pattern`` uses)."""
    return "[" + "".join(f"\\u{ord(c):04x}" for c in chars) + "]"


# What :func:`grader.core.numbers.parse_number` strips around a number: str.strip()'s set.
_WS = _class("".join(chr(c) for c in range(0x3001) if chr(c).isspace()))
_TEX_WS = "[ \\t\\n\\r\\f\\v\\u001c-\\u001f]"  # around \\frac's arguments (ASCII)
_SIGN = "[+\\-\\u2212]"
_EXP = f"(?:[eE]{_SIGN}?[0-9]+)"
_DECIMAL = f"(?:(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+){_EXP}?|[0-9]+,[0-9]+{_EXP}?)"
_PLAIN = f"{_SIGN}?{_DECIMAL}(?:[/\\u2044]{_SIGN}?{_DECIMAL})?"
_ARG = f"(?:\\{{{_TEX_WS}*{_SIGN}?{_DECIMAL}{_TEX_WS}*\\}}|[0-9])"
_TEX = f"{_SIGN}?\\\\[dt]?frac{_TEX_WS}*{_ARG}{_TEX_WS}*{_ARG}"
_BODY = f"(?:{_PLAIN}|{_TEX})"
# The number grammar as a pattern.  A regex cannot count, so it accepts what only the
# parser refuses: more than MAX_DIGITS digits, an exponent over MAX_EXPONENT, a division
# by zero, and a decimal comma in both parts of a fraction or beside a point in the other.
NUMBER_PATTERN = f"^{_WS}*(?:{_BODY}|\\$+{_WS}*{_BODY}{_WS}*\\$+){_WS}*$"
# The characters (and LaTeX commands) of the formula parser's vocabulary, with the
# typographic look-alikes it reads as ASCII (dashes, bullet, fullwidth forms) and what an
# optional left-hand side uses (= ∂ ŷ); which names a field accepts is the parser's business.
FORMULA_PATTERN = (
    "^(?:[A-Za-z0-9_ \\t\\r\\n\\u00a0\\u2009\\u202f$+\\-*/^()\\[\\]{}.\\u2212\\u00b7"
    "\\u22c5\\u2219\\u00d7\\u00f7\\u03c3\\u2070\\u00b9\\u00b2\\u00b3\\u2074-\\u2079\\u207b"
    "\\u2012-\\u2014\\u2022\\u3000\\uff01-\\uff5e=\\u2202\\u0177\\u0302]"
    "|\\\\[A-Za-z]+|\\\\[,;:! ]|\U0001d715)*$"  # 𝜕 outside the class: one code point, two UTF-16 units
)

NUMBER_SCHEMA = {
    "description": 'a number: a JSON number, or a string such as "1/4", "-0.125", "0,25", "−1/8", "1.25e-1", "\\\\frac{1}{4}"',
    "anyOf": [
        {"type": "number"},
        {"type": "string", "maxLength": MAX_NUMBER_CHARS, "pattern": NUMBER_PATTERN},
        {"type": "null"},
    ],
}
FORMULA_SCHEMA = {
    "description": 'a formula in ordinary math syntax, e.g. "4x + 3y" or "2*x + y"',
    "anyOf": [
        {"type": "string", "maxLength": MAX_FORMULA_CHARS, "pattern": FORMULA_PATTERN},
        {"type": "null"},
    ],
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
            "$schema": {"type": "string", "description": "this schema, for editors"},
            "_help": {"type": "string", "description": "how to write the answers (ignored)"},
            "assignment": {"const": assignment.id},
            "student": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
            "answers": {"type": "object", "additionalProperties": False, "properties": answers},
        },
        "$defs": {"number": NUMBER_SCHEMA, "formula": FORMULA_SCHEMA},
    }
