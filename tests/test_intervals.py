"""Interval arithmetic: every result is a proper interval of Fractions that contains the
operation applied to any points of the operands, and is the tightest such interval.

The arithmetic builds its results without re-checking them (grading makes intervals by
the million), so this is where the invariants are checked, against brute force over the
operands' endpoints and a few points inside.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.core.intervals import Interval, IntervalError

small = st.fractions(min_value=-50, max_value=50, max_denominator=60)


@st.composite
def intervals(draw: st.DrawFn) -> Interval:
    a, b = draw(small), draw(small)
    if draw(st.booleans()):
        return Interval(a)  # points are the common case in grading
    return Interval(min(a, b), max(a, b))


def points(x: Interval) -> list[Fraction]:
    return [x.lo, x.hi, (x.lo + x.hi) / 2, x.lo + (x.hi - x.lo) / 3]


def check(result: Interval, values: list[Fraction]) -> None:
    assert isinstance(result.lo, Fraction) and isinstance(result.hi, Fraction)
    assert result.lo <= result.hi
    assert all(result.contains(v) for v in values)


BINARY: list[tuple[str, Callable[[object, object], object]]] = [
    ("+", operator.add),
    ("-", operator.sub),
    ("*", operator.mul),
]


@pytest.mark.parametrize(("name", "op"), BINARY)
@settings(max_examples=300, derandomize=True)
@given(a=intervals(), b=intervals())
def test_binary_operations_enclose_every_point_and_are_tight(name, op, a, b) -> None:
    result = op(a, b)
    values = [op(x, y) for x in points(a) for y in points(b)]
    check(result, values)
    # +, - and * of intervals take their extremes at the endpoints: the result is exact
    corners = [op(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    assert result.lo == min(corners) and result.hi == max(corners)


@settings(max_examples=300, derandomize=True)
@given(a=intervals(), b=intervals())
def test_division_encloses_every_quotient_or_refuses_zero(a: Interval, b: Interval) -> None:
    if b.lo <= 0 <= b.hi:
        with pytest.raises(IntervalError):
            a / b
        return
    result = a / b
    check(result, [x / y for x in points(a) for y in points(b)])


@settings(max_examples=300, derandomize=True)
@given(a=intervals(), q=small)
def test_mixed_operands_and_unary_operations(a: Interval, q: Fraction) -> None:
    check(a + q, [x + q for x in points(a)])
    check(q - a, [q - x for x in points(a)])
    check(a * 3, [x * 3 for x in points(a)])
    check(-a, [-x for x in points(a)])
    check(abs(a), [abs(x) for x in points(a)])
    square = a.square()
    check(square, [x * x for x in points(a)])
    assert square.lo >= 0
    hull = a.hull(q)
    check(hull, [*points(a), q])
    assert hull.lo == min(a.lo, q) and hull.hi == max(a.hi, q)


def test_integers_become_fraction_endpoints() -> None:
    result = Interval(Fraction(1, 2)) + 1
    assert result == Interval(Fraction(3, 2)) and type(result.lo) is Fraction
    assert (Interval(1, 2) * 2).hi == 4 and type((Interval(1, 2) * 2).hi) is Fraction


def test_products_in_every_sign_case_are_the_extreme_corners() -> None:
    # every pair of intervals over these ends: each side ≥ 0, ≤ 0 or around 0, ends at 0
    ends = [Fraction(-3), Fraction(-1), Fraction(-1, 2), Fraction(0), Fraction(1, 3), Fraction(2)]
    spans = [Interval(lo, hi) for lo in ends for hi in ends if lo <= hi]
    for a in spans:
        for b in spans:
            corners = [x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
            product = a * b
            assert (product.lo, product.hi) == (min(corners), max(corners)), (a, b)
