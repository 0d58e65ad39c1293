"""The activation registry: one record per activation, checked against sympy's derivatives
(an independent oracle) and its interval enclosures against points."""

from __future__ import annotations

import random
import typing
from fractions import Fraction

import pytest
import sympy

from grader.core import transcendental
from grader.core.activations import REGISTRY, TRANSCENDENTAL, activation
from grader.core.engine import ActivationName
from grader.core.interval import Interval

T = sympy.Symbol("t", real=True)
# The functions as a textbook defines them, written here independently of the registry.
SYMPY_F = {
    "sigmoid": 1 / (1 + sympy.exp(-T)),
    "tanh": sympy.tanh(T),
    "relu": sympy.Piecewise((T, T > 0), (0, True)),
    "identity": T,
    "hard_sigmoid": sympy.Piecewise(
        (0, T <= -2), (1, T >= 2), (T / 4 + sympy.Rational(1, 2), True)
    ),
    "softsign": T / (1 + sympy.Abs(T)),
}


def test_the_assignment_names_are_the_registry() -> None:
    assert set(typing.get_args(ActivationName)) == set(REGISTRY) == set(SYMPY_F)
    assert {"sigmoid", "tanh"} == TRANSCENDENTAL
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        activation("swish")


def _points(rng: random.Random) -> list[Fraction]:
    # away from the kinks (0 for relu, ±2 for hard_sigmoid), where one-sided rules decide
    pts = [Fraction(rng.randint(-40, 40), rng.randint(1, 9)) for _ in range(60)]
    return [p for p in pts if p not in (0, 2, -2)]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_function_and_derivative_agree_with_sympy(name: str) -> None:
    a = activation(name)
    f = SYMPY_F[name]
    fprime = sympy.diff(f, T)
    for h in _points(random.Random(name)):
        if a.exact is not None:
            assert a.exact(h) == sympy.Rational(
                f.subs(T, sympy.Rational(h.numerator, h.denominator))
            )
            o = a.exact(h)
        else:
            o = transcendental.rounded(name, h, 30)  # the derivative is taken from the output
        want = fprime.subs(T, sympy.Rational(h.numerator, h.denominator))
        got = a.derivative(h, o)
        if a.transcendental:  # from the output rounded to 30 places: equal as floats
            assert abs(float(got) - float(want)) < 1e-12, (h, got)
        else:
            assert got == want, (h, got)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_enclosures_hold_every_point_derivative(name: str) -> None:
    a = activation(name)
    rng = random.Random(f"enclosure {name}")
    for _ in range(300):
        lo = Fraction(rng.randint(-60, 60), rng.randint(1, 8))
        hi = lo + Fraction(rng.randint(0, 30), rng.randint(1, 8))
        h = Interval(lo, hi)
        f = a.exact or (lambda t: transcendental.rounded(name, t, 30))
        o = Interval(min(f(lo), f(hi)), max(f(lo), f(hi)))  # every f here is non-decreasing
        box = a.derivative_enclosure(h, o)
        for _ in range(5):
            t = lo + (hi - lo) * Fraction(rng.randint(0, 100), 100)
            assert box.contains(a.derivative(t, f(t))), (name, h, t)
