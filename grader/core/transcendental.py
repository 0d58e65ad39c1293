"""Correctly rounded σ, tanh, exp, ln, log₁₀ and softmax of rationals.

σ(q), tanh(q) and exp(q) are transcendental for every rational q ≠ 0, ln(q) for every
positive rational q ≠ 1, and a softmax coordinate 1/Σⱼ exp(zⱼ − zᵢ) whenever the logits
are not all equal (Lindemann–Weierstrass); log₁₀(q) is an integer or irrational.  So
none of them is ever exactly halfway between two k-decimal numbers: evaluating with
rigorous error bounds and doubling the precision until both bounds round alike always
terminates, and gives the rounding a student with a perfect calculator gets.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache

from grader.core.numbers import round_half_away

_MAX_PRECISION = 4000
# exp of a larger argument is no hand exercise (and e^10000 has 4343 digits)
MAX_EXP_ARGUMENT = 1000
FUNCTIONS = ("sigmoid", "tanh", "exp", "ln", "log10")


def _bounds(name: str, q: Fraction, precision: int) -> tuple[Fraction, Fraction]:
    """Rational lo ≤ f(q) ≤ hi with hi − lo ≈ 10^(3 − precision)·max(1, |f(q)|)."""
    if name in ("exp", "ln", "log10"):
        return _exp_log_bounds(name, q, precision)
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


def _exp_log_bounds(name: str, q: Fraction, precision: int) -> tuple[Fraction, Fraction]:
    _check_domain(name, q)
    ctx = decimal.Context(prec=precision + 5, Emax=10**6, Emin=-(10**6))
    x = ctx.divide(decimal.Decimal(q.numerator), decimal.Decimal(q.denominator))
    if name == "exp":
        value = ctx.exp(x)
    elif name == "ln":
        value = ctx.ln(x)
    else:
        value = ctx.log10(x)
    # x is q to a relative 10^-(precision+4); exp, ln and log10 are correctly rounded to
    # precision+5 digits.  exp's relative error is then below (|q| + 1)·10^-(precision+4);
    # ln's and log10's absolute error below 2·10^-(precision+4) plus the result's own
    # rounding.  A relative and absolute margin of (|q| + 1)·10^(3 − precision) covers both.
    v = Fraction(value)
    eps = (abs(q) + 1) * (abs(v) + 1) / 10 ** (precision - 3)
    return v - eps, v + eps


def _check_domain(name: str, q: Fraction) -> None:
    if name == "exp" and abs(q) > MAX_EXP_ARGUMENT:
        raise ValueError(f"exp({q}) is beyond a hand exercise (|argument| > {MAX_EXP_ARGUMENT})")
    if name in ("ln", "log10") and q <= 0:
        raise ValueError(f"{name}({q}) is undefined: the argument must be positive")


def _exact(name: str, q: Fraction) -> Fraction | None:
    """f(q) when it is rational (then no bound is needed), else None."""
    if name in ("sigmoid", "tanh", "exp") and q == 0:
        return {"sigmoid": Fraction(1, 2), "tanh": Fraction(0), "exp": Fraction(1)}[name]
    if name in ("ln", "log10") and q == 1:
        return Fraction(0)
    return None


def _round_from_bounds(
    bound: Callable[[int], tuple[Fraction, Fraction]], decimals: int, what: str
) -> Fraction:
    """Tighten ``bound(precision)`` until both ends round alike (see the module's note)."""
    precision = decimals + 20
    while precision <= _MAX_PRECISION:
        lo, hi = bound(precision)
        r_lo, r_hi = round_half_away(lo, decimals), round_half_away(hi, decimals)
        if r_lo == r_hi:
            return r_lo
        precision *= 2
    raise ArithmeticError(f"could not round {what} to {decimals} places")  # pragma: no cover


@lru_cache(maxsize=65536)
def rounded(name: str, q: Fraction, decimals: int) -> Fraction:
    """f(q) rounded half away from zero to ``decimals`` places, f one of :data:`FUNCTIONS`."""
    _check_domain(name, q)
    exact = _exact(name, q)
    if exact is not None:
        return exact
    return _round_from_bounds(lambda prec: _bounds(name, q, prec), decimals, f"{name}({q})")


def bounds(name: str, q: Fraction, digits: int = 30) -> tuple[Fraction, Fraction]:
    """Rigorous rational bounds on f(q), at least ``digits`` decimals tight
    (relative to |f(q)| when that is above 1)."""
    _check_domain(name, q)
    exact = _exact(name, q)
    if exact is not None:
        return exact, exact
    return _bounds(name, q, digits + 5)


# ---------------------------------------------------------------- softmax


def _softmax_bounds(differences: tuple[Fraction, ...], precision: int) -> tuple[Fraction, Fraction]:
    """Bounds on 1/(1 + Σⱼ exp(dⱼ)) from rigorous bounds on each exp(dⱼ)."""
    total_lo, total_hi = Fraction(1), Fraction(1)
    for d in differences:
        lo, hi = bounds("exp", d, precision) if d else (Fraction(1), Fraction(1))
        total_lo, total_hi = total_lo + max(lo, Fraction(0)), total_hi + hi
    return 1 / total_hi, 1 / total_lo


def softmax_differences(z: Sequence[Fraction], i: int) -> tuple[Fraction, ...]:
    """(zⱼ − zᵢ for j ≠ i): pᵢ depends on the logits only through these."""
    return tuple(zj - z[i] for j, zj in enumerate(z) if j != i)


@lru_cache(maxsize=65536)
def softmax_rounded(differences: tuple[Fraction, ...], decimals: int) -> Fraction:
    """pᵢ = 1/(1 + Σⱼ exp(dⱼ)) rounded half away from zero to ``decimals`` places, where
    dⱼ = zⱼ − zᵢ over the other logits (:func:`softmax_differences`)."""
    for d in differences:
        _check_domain("exp", d)
    if not any(differences):  # all logits equal: pᵢ = 1/K, rational
        return round_half_away(Fraction(1, len(differences) + 1), decimals)
    quick = _softmax_by_float(differences, decimals)
    if quick is not None:
        return quick
    return _round_from_bounds(
        lambda prec: _softmax_bounds(differences, prec), decimals, f"softmax {differences}"
    )


# The float shortcut: a float64 pᵢ from dⱼ with |dⱼ| ≤ 700 is within 1e-13 of the true pᵢ
# (each dⱼ converted to within 700·2⁻⁵³ ≈ 8e-14, exp, the sum and 1/S each within a few
# ulps, relative; pᵢ ≤ 1).  When no rounding boundary lies within 1e-11 of it — a hundred
# times that error — the float decides the rounding; otherwise the rigorous loop does.
_FLOAT_MAX_DIFFERENCE = 700
_FLOAT_MARGIN = 1e-11
_FLOAT_MAX_DECIMALS = 9


def _softmax_by_float(differences: tuple[Fraction, ...], decimals: int) -> Fraction | None:
    if decimals > _FLOAT_MAX_DECIMALS or any(abs(d) > _FLOAT_MAX_DIFFERENCE for d in differences):
        return None
    p = 1.0 / (1.0 + math.fsum(math.exp(float(d)) for d in differences))
    scaled = p * 10.0**decimals
    if abs(scaled - math.floor(scaled) - 0.5) <= _FLOAT_MARGIN * 10.0**decimals:
        return None  # too close to a halfway point for a float to tell
    return round_half_away(Fraction(p), decimals)


def softmax_bounds(
    differences: tuple[Fraction, ...], digits: int = 30
) -> tuple[Fraction, Fraction]:
    """Rigorous rational bounds on pᵢ = 1/(1 + Σⱼ exp(dⱼ)), at least ``digits`` decimals tight."""
    for d in differences:
        _check_domain("exp", d)
    if not any(differences):
        p = Fraction(1, len(differences) + 1)
        return p, p
    return _softmax_bounds(differences, digits + 5)


def as_float(name: str, x: float) -> float:
    """Plain float64 evaluation, for the independent oracle."""
    import math

    if name == "exp":
        return math.exp(x)
    if name == "ln":
        return math.log(x)
    if name == "log10":
        return math.log10(x)
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
    return math.tanh(x)
