"""Key JSON (the spec's contract) and the answer-layout helpers shared by keys and templates."""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Any

from grader.core.numbers import fmt_dec, fmt_frac
from grader.course.assignment import Assignment
from grader.course.variants import Variant

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
    texts = {v.exercise.id: _leaf_texts(v.solution.answers) for v in variants}
    return {
        "assignment": assignment.id,
        "student": student_id,
        "params": {v.exercise.id: v.params.model_dump(mode="json") for v in variants},
        "answers": {ex: exact for ex, (exact, _) in texts.items()},
        "approx": {ex: approx for ex, (_, approx) in texts.items()},
    }


def _leaf_texts(layout: Any) -> tuple[Any, Any]:
    """``(map_leaves(layout, exact_text), map_leaves(layout, approx_text))`` in one walk."""
    if isinstance(layout, dict):
        pairs = {k: _leaf_texts(v) for k, v in layout.items()}
        return {k: e for k, (e, _) in pairs.items()}, {k: a for k, (_, a) in pairs.items()}
    if isinstance(layout, list):
        items = [_leaf_texts(v) for v in layout]
        return [e for e, _ in items], [a for _, a in items]
    if isinstance(layout, Fraction):
        return _fraction_texts(layout.numerator, layout.denominator)
    return exact_text(layout), approx_text(layout)


# The values of a class repeat (0, 1/2, rounded σ outputs …): their texts are memoized by
# numerator and denominator (hashing a Fraction costs more than the lookup saves).
@functools.lru_cache(maxsize=1 << 14)
def _fraction_texts(numerator: int, denominator: int) -> tuple[str, str]:
    value = Fraction(numerator, denominator)
    return exact_text(value), approx_text(value)
