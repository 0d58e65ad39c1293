"""Correctly rounded σ and tanh of rationals.

σ(q) and tanh(q) are transcendental for every rational q ≠ 0 (Lindemann–Weierstrass),
so they are never exactly halfway between two k-decimal numbers: evaluating with
rigorous error bounds and doubling the precision until both bounds round alike
always terminates, and gives the rounding a student with a perfect calculator gets.
"""

from __future__ import annotations

import decimal
from fractions import Fraction
from functools import lru_cache

from grader.core.numbers import round_half_away

_MAX_PRECISION = 4000


def _bounds(name: str, q: Fraction, precision: int) -> tuple[Fraction, Fraction]:
    """Rational lo ≤ f(q) ≤ hi with hi − lo ≈ 10^(3 − precision)."""
    # Far out, σ and tanh are within e^{-|q|} of their asymptotes; exp would overflow.
    far = Fraction(precision * 23, 10) + 5
    arg = q if name == "sigmoid" else 2 * q
    if abs(arg) > far:
        eps = Fraction(1, 10 ** (precision - 3))
        if name == "sigmoid":
            return (1 - eps, Fraction(1)) if q > 0 else (Fraction(0), eps)
        return (1 - eps, Fraction(1)) if q > 0 else (Fraction(-1), -1 + eps)
    ctx = decimal.Context(prec=precision + 5, Emax=10**6, Emin=-(10**6))
    x = ctx.divide(decimal.Decimal(arg.numerator), decimal.Decimal(arg.denominator))
    e = ctx.exp(x)
    one = decimal.Decimal(1)
    if name == "sigmoid":
        value = ctx.divide(e, ctx.add(one, e))
    else:
        value = ctx.divide(ctx.subtract(e, one), ctx.add(e, one))
    # A handful of correctly rounded operations at precision+5 digits, on values of
    # magnitude ≤ e^{far}: an absolute error far below 10^(3-precision).
    eps = Fraction(1, 10 ** (precision - 3))
    v = Fraction(value)
    return v - eps, v + eps


@lru_cache(maxsize=65536)
def rounded(name: str, q: Fraction, decimals: int) -> Fraction:
    """f(q) rounded half away from zero to ``decimals`` places, for f = sigmoid or tanh."""
    if q == 0:
        return Fraction(1, 2) if name == "sigmoid" else Fraction(0)
    precision = decimals + 20
    while precision <= _MAX_PRECISION:
        lo, hi = _bounds(name, q, precision)
        r_lo, r_hi = round_half_away(lo, decimals), round_half_away(hi, decimals)
        if r_lo == r_hi:
            return r_lo
        precision *= 2
    raise ArithmeticError(f"could not round {name}({q}) to {decimals} places")  # pragma: no cover


def bounds(name: str, q: Fraction, digits: int = 30) -> tuple[Fraction, Fraction]:
    """Rigorous rational bounds on f(q), at least ``digits`` decimals tight."""
    if q == 0:
        v = Fraction(1, 2) if name == "sigmoid" else Fraction(0)
        return v, v
    return _bounds(name, q, digits + 5)


def as_float(name: str, x: float) -> float:
    """Plain float64 evaluation, for the independent oracle."""
    import math

    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
    return math.tanh(x)
