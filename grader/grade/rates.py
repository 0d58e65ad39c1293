"""The learning rate a student's number implies, and the plausible rate that fits it.

An update is linear in the rate, so two exact runs of a computation (at rates 0 and 1)
give, for any answer, the interval of rates that reproduce it (:func:`implied_rates`);
:func:`pick_rate` names the rate a student plausibly used.  The catalogue's
``learning_rate`` mistake (grader.grade.mistake_catalogue) is made from these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import Any

from grader.core.engine import FractionOps, Rounding, Rules
from grader.core.intervals import Interval
from grader.exercises.base import Computation

MAX_SIMPLE_DENOMINATOR = 4  # "simple" learning rates: 1/2, 3/4, 2, 5 …
MAX_SIMPLE_RATE = 10  # a simple rate nobody gave is still a rate someone might use
MAX_RATE = 1000

RateLine = tuple[Sequence[Any], Sequence[Any]]
# the rates a student's other updates imply, or a function that works them out on demand
OtherRates = Sequence[Interval] | Callable[[], Sequence[Interval]]


def rate_line(comp: Computation, values: Mapping[str, Any]) -> RateLine:
    """The outputs of ``comp`` on ``values`` (exact points) at learning rates 0 and 1.

    An update is linear in the rate: f(γ) = f(0) + γ·(f(1) − f(0)); these two runs are
    all :func:`implied_rates` needs for any answer (so a batch can keep them).
    """
    ops = FractionOps(Rounding("exact"))  # no recording rounding: keep f linear in γ
    f0 = comp.compute(values, ops, Rules(learning_rate=Fraction(0)))
    f1 = comp.compute(values, ops, Rules(learning_rate=Fraction(1)))
    return f0, f1


def implied_rates(line: RateLine, index: int, answer: Interval) -> Interval | None:
    """The learning rates under which output ``index`` of a computation, whose
    :func:`rate_line` is ``line``, gives ``answer``; None when the rate does not matter
    there (a zero gradient)."""
    f0, f1 = line[0][index], line[1][index]
    if not isinstance(f0, Fraction) or not isinstance(f1, Fraction) or f1 == f0:
        return None
    return (answer - f0) / (f1 - f0)


def pick_rate(
    rates: Interval, given: Fraction | None, other_rates: OtherRates = ()
) -> Fraction | None:
    """The plausible learning rate in ``rates`` other than the given one, or None.

    Plausible: a slip of the given rate (γ/10, 10γ, γ/2, 2γ, …, or 1 for a forgotten γ)
    or a simple fraction up to 10 (quarters at most).  Requiring plausibility keeps an arbitrary wrong number
    (which always implies *some* rate) from being called a learning-rate mistake.  When
    the student's number fits several (a tiny gradient says little about the rate), the
    one that fits most of the student's other updates wins, then the likelier slip.

    >>> pick_rate(Interval(Fraction(49, 100), Fraction(51, 100)), Fraction(5))
    Fraction(1, 2)
    >>> pick_rate(Interval(Fraction(123, 1000), Fraction(124, 1000)), Fraction(5)) is None
    True
    >>> pick_rate(Interval(Fraction(4, 10), 2), Fraction(5), [Interval(Fraction(1, 2))])
    Fraction(1, 2)
    """
    # In integers (a rate is p/q in lowest terms): this runs for every wrong update.
    lo_n, lo_d = rates.lo.numerator, rates.lo.denominator
    hi_n, hi_d = rates.hi.numerator, rates.hi.denominator
    given_pq = None if given is None else (given.numerator, given.denominator)
    candidates = [(r.numerator, r.denominator) for r in _slips(given)]
    for q in range(1, MAX_SIMPLE_DENOMINATOR + 1):
        p = max(1, -(-lo_n * q // lo_d))  # the smallest p/q ≥ lo
        if p <= MAX_SIMPLE_RATE * q:
            g = gcd(p, q)
            candidates.append((p // g, q // g))
    fitting = [
        Fraction(p, q)
        for p, q in dict.fromkeys(candidates)
        if 0 < p <= MAX_RATE * q
        and (p, q) != given_pq
        and lo_n * q <= p * lo_d  # lo ≤ p/q ≤ hi
        and p * hi_d <= hi_n * q
    ]
    if len(fitting) <= 1:
        return fitting[0] if fitting else None
    if callable(other_rates):
        other_rates = other_rates()
    votes = [sum(1 for other in other_rates if other.contains(r)) for r in fitting]
    return fitting[votes.index(max(votes))]


@lru_cache(maxsize=64)
def _slips(given: Fraction | None) -> tuple[Fraction, ...]:
    """1 (a forgotten γ), then the slips of the given rate: γ/10, 10γ, …, γ/2, 2γ."""
    candidates = [Fraction(1)]
    if given is not None:
        for k in (1, 2, 3):
            candidates += [given / 10**k, given * 10**k]
        candidates += [given / 2, given * 2]
    return tuple(candidates)
