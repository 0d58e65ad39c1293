"""The engine's :class:`~grader.core.engine.Ops` over intervals (see :mod:`grader.core.interval`).

Running an answer field's computation with :class:`IntervalOps` gives every value a correct
computation can produce from inputs anywhere in their intervals: the field's acceptable set
(see :mod:`grader.grade.tolerance`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from grader.core import transcendental
from grader.core.activations import activation
from grader.core.engine import Rounding
from grader.core.interval import Interval, IntervalError, as_interval
from grader.core.numbers import round_half_away, rounding_interval

__all__ = ["Interval", "IntervalError", "IntervalOps", "as_interval"]  # the type, re-exported


# ---------------------------------------------------------------- engine ops


def _monotone(f: Any, h: Interval) -> Interval:
    """f(h) for a non-decreasing f: the images of the endpoints."""
    return Interval(f(h.lo), f(h.hi))


@dataclass(frozen=True)
class IntervalOps:
    """:class:`grader.core.engine.Ops` over intervals: every value a correct computation can
    produce, given inputs that may be anything in their intervals and the rounding policy.

    >>> ops = IntervalOps(Rounding("transcendental", 4))
    >>> o = ops.activate("sigmoid", Interval(Fraction(25, 16)))
    >>> o.contains(Fraction(8267, 10000)) and o.width < Fraction(1, 10**4)
    True
    """

    rounding: Rounding = field(default_factory=Rounding)

    def activate(self, name: str, h: Any) -> Interval:
        h = as_interval(h)
        exact = activation(name).exact
        if exact is None:  # σ, tanh
            return self.transcendental(name, h)
        return self.record(_monotone(exact, h))  # every rational activation is non-decreasing

    def derivative(self, name: str, h: Any, o: Any) -> Interval:
        """f′ as the engine computes it (from o for σ and tanh, from h otherwise), enclosed
        over every h and o in their intervals, each written so that a repeated operand is
        not counted as two independent ones."""
        return activation(name).derivative_enclosure(as_interval(h), as_interval(o))

    def record(self, x: Any) -> Interval:
        x = as_interval(x)
        if self.rounding.mode != "all":
            return x
        # A recorded value is rounded to k decimals, and whoever wrote it down may have
        # written anything that rounds to that: widen to all of it.
        k = self.rounding.decimals
        lo = rounding_interval(round_half_away(x.lo, k), k)[0]
        hi = rounding_interval(round_half_away(x.hi, k), k)[1]
        return Interval(min(lo, x.lo), max(hi, x.hi))

    def const(self, q: Fraction | int) -> Interval:
        return Interval(q)

    def transcendental(self, name: str, x: Any) -> Interval:
        """σ, tanh, exp, ln or log₁₀ of every value in x: each is increasing, so rigorous
        bounds at the endpoints enclose the exact values, and the instructed rounding of
        each endpoint encloses every rounded one (rounding is monotone).  A student may
        give either, so take the hull."""
        h = as_interval(x)
        k = self.rounding.transcendental_decimals
        lo = transcendental.bounds(name, h.lo)[0]
        hi = transcendental.bounds(name, h.hi)[1]
        rounded_lo = transcendental.rounded(name, h.lo, k)
        rounded_hi = transcendental.rounded(name, h.hi, k)
        return Interval(min(lo, rounded_lo), max(hi, rounded_hi))

    def softmax(self, z: Any) -> list[Interval]:
        """Every pᵢ = 1/(1 + Σⱼ exp(zⱼ − zᵢ)) over logits anywhere in their intervals.

        pᵢ is not monotone in each logit, but it is decreasing in every difference
        dⱼ = zⱼ − zᵢ, and dⱼ's ends are reached all at once (zᵢ at one end, the others
        at the opposite one): bounds at the differences' ends enclose every exact pᵢ, and
        the instructed rounding there every rounded one (rounding is monotone).
        """
        zs = [as_interval(x) for x in z]
        k = self.rounding.transcendental_decimals
        out = []
        for i, zi in enumerate(zs):
            low_d = tuple(zj.lo - zi.hi for j, zj in enumerate(zs) if j != i)
            high_d = tuple(zj.hi - zi.lo for j, zj in enumerate(zs) if j != i)
            lo = transcendental.softmax_bounds(high_d)[0]
            hi = transcendental.softmax_bounds(low_d)[1]
            r_lo = transcendental.softmax_rounded(high_d, k)
            r_hi = transcendental.softmax_rounded(low_d, k)
            out.append(Interval(min(lo, r_lo), max(hi, r_hi)))
        return out
