"""Closed intervals of Fractions: the number type of tolerance and carried-forward credit.

An :class:`Interval` is every value a quantity may take: a key value that was rounded,
a decimal a student wrote, or what a computation can produce from such inputs.  Running
an answer field's computation with :class:`IntervalOps` gives the field's acceptable set
(see :mod:`grader.grade.tolerance`): a rigorous enclosure, computed exactly over Fractions.
The engine's operations over intervals are :class:`grader.core.intervals.IntervalOps`.

>>> a = Interval(Fraction(1, 4), Fraction(1, 2))
>>> str(a + 1), str(a * -2), str(1 - a)
('[5/4, 3/2]', '[-1, -1/2]', '[1/2, 3/4]')
>>> a.meets(Interval(Fraction(1, 2), 1)), a.contains(Fraction(1, 3))
(True, True)
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any


class IntervalError(ArithmeticError):
    """No bounded interval answers the operation (a division by an interval that contains 0).

    The grader treats the field as one intervals cannot decide and falls back to exact points.
    """


def _as_fraction(x: Any) -> Fraction:
    if isinstance(x, Fraction):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return Fraction(x)
    raise TypeError(f"interval endpoints must be int or Fraction, not {type(x).__name__}")


class Interval:
    """The closed interval ``[lo, hi]`` of rationals; immutable.

    Arithmetic against an ``Interval``, a ``Fraction`` or an ``int`` gives the tightest
    interval containing every result (each operation alone is exact; only the
    dependency between repeated operands widens a chain, as always with intervals).
    Any other operand gets ``NotImplemented``, so Python can try the other side.
    Intervals are deliberately not ordered: ``<`` between overlapping sets has no
    single answer, and engine code that compares must go through :class:`IntervalOps`.
    """

    __slots__ = ("_lo", "_hi")

    _lo: Fraction
    _hi: Fraction

    def __new__(cls, lo: Fraction | int, hi: Fraction | int | None = None) -> Interval:
        """``Interval(lo, hi)``, or ``Interval(x)`` for the single point x.

        >>> Interval(1, Fraction(3, 2))
        Interval(Fraction(1, 1), Fraction(3, 2))
        """
        low = _as_fraction(lo)
        high = low if hi is None else _as_fraction(hi)
        if low > high:
            raise ValueError(f"empty interval: {low} > {high}")
        self = super().__new__(cls)
        self._lo = low
        self._hi = high
        return self

    @property
    def lo(self) -> Fraction:
        return self._lo

    @property
    def hi(self) -> Fraction:
        return self._hi

    @property
    def is_point(self) -> bool:
        return self._lo == self._hi

    @property
    def width(self) -> Fraction:
        return self._hi - self._lo

    # ------------------------------------------------------------ set operations

    def contains(self, x: Interval | Fraction | int) -> bool:
        """Whether the number x (or the whole interval x) lies in this interval."""
        other = _coerce(x)
        if other is None:
            raise TypeError(f"cannot test whether an interval contains {type(x).__name__}")
        return self._lo <= other._lo and other._hi <= self._hi

    def meets(self, other: Interval | Fraction | int) -> bool:
        """Whether the two sets share at least one point (closed intervals: touching counts)."""
        o = _coerce(other)
        if o is None:
            raise TypeError(f"cannot intersect an interval with {type(other).__name__}")
        return self._lo <= o._hi and o._lo <= self._hi

    def hull(self, *others: Interval | Fraction | int) -> Interval:
        """The smallest interval containing this one and every other.

        >>> str(Interval(1).hull(3, Interval(-1, 0)))
        '[-1, 3]'
        """
        lo, hi = self._lo, self._hi
        for x in others:
            o = _coerce(x)
            if o is None:
                raise TypeError(f"cannot take the hull with {type(x).__name__}")
            lo, hi = min(lo, o._lo), max(hi, o._hi)
        return _make(lo, hi)

    def square(self) -> Interval:
        """``{x² : x ∈ self}`` — tighter than ``self * self``, which forgets both are one x.

        >>> str(Interval(-1, 2).square()), str(Interval(-1, 2) * Interval(-1, 2))
        ('[0, 4]', '[-2, 4]')
        """
        a = abs(self)
        return _make(a._lo * a._lo, a._hi * a._hi)

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other: Any) -> Interval:
        o = _coerce(other)
        if o is None:
            return NotImplemented
        return _make(self._lo + o._lo, self._hi + o._hi)

    __radd__ = __add__  # addition commutes

    def __sub__(self, other: Any) -> Interval:
        o = _coerce(other)
        if o is None:
            return NotImplemented
        return _make(self._lo - o._hi, self._hi - o._lo)

    def __rsub__(self, other: Any) -> Interval:
        o = _coerce(other)
        if o is None:
            return NotImplemented
        return o - self

    def __mul__(self, other: Any) -> Interval:
        o = _coerce(other)
        if o is None:
            return NotImplemented
        if _is_point(self) and _is_point(o):  # the common case: skip the four products
            p = self._lo * o._lo
            return _make(p, p)
        return _product(self._lo, self._hi, o._lo, o._hi)

    __rmul__ = __mul__  # multiplication commutes

    def __truediv__(self, other: Any) -> Interval:
        o = _coerce(other)
        if o is None:
            return NotImplemented
        if o._lo <= 0 <= o._hi:
            raise IntervalError(f"division by {o}, which contains 0")
        return self * _make(1 / o._hi, 1 / o._lo)

    def __rtruediv__(self, other: Any) -> Interval:
        o = _coerce(other)
        if o is None:
            return NotImplemented
        return o / self

    def __neg__(self) -> Interval:
        return _make(-self._hi, -self._lo)

    def __pos__(self) -> Interval:
        return self

    def __abs__(self) -> Interval:
        if self._lo >= 0:
            return self
        if self._hi <= 0:
            return -self
        return _make(Fraction(0), max(-self._lo, self._hi))

    # ------------------------------------------------------------ identity

    def __eq__(self, other: object) -> bool:
        # Only intervals compare equal to intervals: whether [1, 2] "equals" 1 has no
        # answer a caller could rely on.
        if isinstance(other, Interval):
            return self._lo == other._lo and self._hi == other._hi
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Interval, self._lo, self._hi))

    def __repr__(self) -> str:
        return f"Interval({self._lo!r}, {self._hi!r})"

    def __str__(self) -> str:
        return f"[{self._lo}, {self._hi}]"

    def __reduce__(self) -> tuple[type[Interval], tuple[Fraction, Fraction]]:
        return (Interval, (self._lo, self._hi))


def _product(a: Fraction, b: Fraction, c: Fraction, d: Fraction) -> Interval:
    """[a, b]·[c, d]: the signs of the endpoints say which two of the four products are
    the ends (two multiplications instead of four and a min and max of them), except
    when both intervals contain 0."""
    if a.numerator >= 0:  # [a, b] ≥ 0
        if c.numerator >= 0:
            return _make(a * c, b * d)
        if d.numerator <= 0:
            return _make(b * c, a * d)
        return _make(b * c, b * d)
    if b.numerator <= 0:  # [a, b] ≤ 0
        if c.numerator >= 0:
            return _make(a * d, b * c)
        if d.numerator <= 0:
            return _make(b * d, a * c)
        return _make(a * d, a * c)
    if c.numerator >= 0:  # a < 0 < b
        return _make(a * d, b * d)
    if d.numerator <= 0:
        return _make(b * c, a * c)
    return _make(min(a * d, b * c), max(a * c, b * d))


def _is_point(x: Interval) -> bool:
    return x._lo is x._hi or x._lo == x._hi  # points made here share one endpoint object


def _make(lo: Fraction, hi: Fraction) -> Interval:
    """``Interval(lo, hi)`` without the checks, for arithmetic on intervals: its endpoints
    are Fractions in order by construction, and grading builds intervals by the million."""
    made = object.__new__(Interval)
    made._lo = lo
    made._hi = hi
    return made


def _coerce(x: Any) -> Interval | None:
    """The operand as an interval, or None for a type we do not do arithmetic with."""
    if isinstance(x, Interval):
        return x
    if isinstance(x, Fraction):
        return _make(x, x)
    if isinstance(x, int) and not isinstance(x, bool):
        q = Fraction(x)
        return _make(q, q)
    return None


def as_interval(x: Interval | Fraction | int) -> Interval:
    """Numbers become point intervals; intervals stay as they are."""
    o = _coerce(x)
    if o is None:
        raise TypeError(f"expected an Interval, Fraction or int, not {type(x).__name__}")
    return o
