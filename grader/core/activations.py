"""The activation functions: one record each, read by the engine (points), the interval
operations (tolerance and carried-forward credit) and the views (their TeX symbol).

A new activation is one entry of :data:`REGISTRY` (and its name in the assignment's
``ActivationName`` and the families' words).  Its derivative is written as a student
computes it by hand — from the output where the course does (σ′ = o(1 − o),
tanh′ = 1 − o²), from h otherwise (relu′(0) = 0) — once over Fractions and once over
intervals (every value it takes for h and o anywhere in their intervals, each written so
that a repeated operand is not counted as two independent ones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.core.interval import Interval

# Made once: activations run for every unit of every candidate (Fractions are immutable).
_ZERO, _QUARTER, _HALF, _ONE = Fraction(0), Fraction(1, 4), Fraction(1, 2), Fraction(1)


@dataclass(frozen=True)
class Activation:
    name: str
    # f over Fractions; None for σ and tanh (transcendental: grader.core.transcendental
    # rounds them as instructed).  Every rational one is non-decreasing.
    exact: Callable[[Fraction], Fraction] | None
    derivative: Callable[[Any, Any], Any]  # f′ from (h, o), over Fractions
    derivative_enclosure: Callable[[Interval, Interval], Interval]  # the same over intervals
    symbol: str  # how formulas in sheets and keys write f (TeX)

    @property
    def transcendental(self) -> bool:
        return self.exact is None


def _relu(t: Fraction) -> Fraction:
    return t if t.numerator > 0 else _ZERO  # a Fraction's sign is its numerator's


def _hard_sigmoid(t: Fraction) -> Fraction:
    return min(max(t / 4 + _HALF, _ZERO), _ONE)


def _softsign(t: Fraction) -> Fraction:
    return t / (1 + abs(t))


def _o_times_one_minus_o(o: Interval) -> Interval:
    """Range of p(t) = t(1 − t) on o: p is concave with its top ¼ at t = ½."""
    ends = (o.lo * (1 - o.lo), o.hi * (1 - o.hi))
    top = _QUARTER if o.lo <= _HALF <= o.hi else max(ends)
    return Interval(min(ends), top)


def _relu_prime(h: Interval, o: Interval) -> Interval:  # relu′(0) = 0
    if h.lo > 0:
        return Interval(1)
    return Interval(0) if h.hi <= 0 else Interval(0, 1)


def _hard_sigmoid_prime(h: Interval, o: Interval) -> Interval:  # ¼ on (−2, 2), 0 outside
    if h.lo > -2 and h.hi < 2:
        return Interval(_QUARTER)
    if h.hi <= -2 or h.lo >= 2:
        return Interval(0)
    return Interval(0, _QUARTER)


def _softsign_prime(h: Interval, o: Interval) -> Interval:  # 1/(1 + |h|)², decreasing in |h|
    a = abs(h)
    return Interval(1 / (1 + a.hi) ** 2, 1 / (1 + a.lo) ** 2)


REGISTRY: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation(
            "sigmoid",
            exact=None,
            derivative=lambda h, o: o * (1 - o),
            derivative_enclosure=lambda h, o: _o_times_one_minus_o(o),
            symbol=r"\sigma",
        ),
        Activation(
            "tanh",
            exact=None,
            derivative=lambda h, o: 1 - o * o,
            derivative_enclosure=lambda h, o: 1 - o.square(),
            symbol=r"\tanh",
        ),
        Activation(
            "relu",
            exact=_relu,
            derivative=lambda h, o: _ONE if h > 0 else _ZERO,
            derivative_enclosure=_relu_prime,
            symbol=r"\operatorname{relu}",
        ),
        Activation(
            "identity",
            exact=lambda t: t,
            derivative=lambda h, o: _ONE,
            derivative_enclosure=lambda h, o: Interval(1),
            symbol=r"\operatorname{id}",
        ),
        Activation(
            "hard_sigmoid",
            exact=_hard_sigmoid,
            derivative=lambda h, o: _QUARTER if -2 < h < 2 else _ZERO,
            derivative_enclosure=_hard_sigmoid_prime,
            symbol=r"\operatorname{hsig}",
        ),
        Activation(
            "softsign",
            exact=_softsign,
            derivative=lambda h, o: 1 / ((1 + abs(h)) * (1 + abs(h))),
            derivative_enclosure=_softsign_prime,
            symbol=r"\operatorname{softsign}",
        ),
    )
}

TRANSCENDENTAL = frozenset(name for name, a in REGISTRY.items() if a.transcendental)


def activation(name: str) -> Activation:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}") from None
