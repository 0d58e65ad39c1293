"""Key JSON (the spec's contract) and the answer-layout helpers shared by keys and templates."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from grader.assignment import Assignment
from grader.numbers import fmt_dec, fmt_frac
from grader.variants import Variant

APPROX_DECIMALS = 7


def map_leaves(layout: Any, fn: Any) -> Any:
    """Apply ``fn`` to every leaf of a nested dict/list layout."""
    if isinstance(layout, dict):
        return {k: map_leaves(v, fn) for k, v in layout.items()}
    if isinstance(layout, list):
        return [map_leaves(v, fn) for v in layout]
    return fn(layout)


def exact_text(value: Any) -> Any:
    """A key leaf as JSON: ``"p/q"`` for numbers, the formula text for formulas."""
    if isinstance(value, Fraction):
        return fmt_frac(value)
    return value if value is None else str(value)


def approx_text(value: Any) -> Any:
    return fmt_dec(value, APPROX_DECIMALS) if isinstance(value, Fraction) else exact_text(value)


def key_json(assignment: Assignment, student_id: str, variants: list[Variant]) -> dict[str, Any]:
    """``{"assignment", "student", "params", "answers", "approx"}``: ``answers`` is a perfect
    submission (exact values); ``approx`` repeats it as decimals for reading."""
    return {
        "assignment": assignment.id,
        "student": student_id,
        "params": {v.exercise.id: v.params.model_dump(mode="json") for v in variants},
        "answers": {v.exercise.id: map_leaves(v.solution.answers, exact_text) for v in variants},
        "approx": {v.exercise.id: map_leaves(v.solution.answers, approx_text) for v in variants},
    }
