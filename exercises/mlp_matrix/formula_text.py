"""mlp_matrix's ŷ formula as sympy makes, orders and prints it, without sympy's arithmetic.

A ŷ formula is ``f`` applied to a sum of rational multiples of ``f(…)`` (or of the inputs
``x1, x2, …``), nested once per layer.  Grading compares answers with the sympy
expression, but sheets and keys need only its text and the order of its terms, and
sympy's arithmetic (which sorts every sum it makes) is most of the time of solving a
variant.  :func:`yhat_formula` builds the formula as :class:`Factor` s instead, each with
its text and sort key made once from its arguments', following sympy's own rules for
exactly these shapes:

* a sum adds up the coefficients of equal factors and drops the zero terms (a zero weight,
  weights that cancel); no term left is the number 0, one term is that term alone;
* a sum's terms are ordered by the sort keys of their factors (what
  ``Expr.as_ordered_terms`` does when every term is a number times one distinct factor);
* ``Expr.sort_key`` is ``(class key, (n, keys of the n arguments), key of the exponent,
  coefficient)``; a symbol's arguments are its name, a number's ``(0, ())``;
* a term prints as ``StrPrinter._print_Mul`` prints a rational times one factor
  (``-f(…)``, ``3*x1/2``), a sum as ``_print_Add`` (``a - b + c``).

The tests compare texts, term orders and sort keys with sympy's (``str``,
``as_ordered_terms``, ``default_sort_key``) on random networks of every shape.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, NamedTuple

import sympy

SortKey = tuple[Any, ...]

_ONE = Fraction(1)
_NUMBER_CLASS = sympy.Number.class_key()
_SYMBOL_CLASS = sympy.Symbol.class_key()
_ADD_CLASS = sympy.Add.class_key()
_ONE_KEY: SortKey = (_NUMBER_CLASS, (0, ()), (), _ONE)  # S.One.sort_key(), the exponent 1
_ZERO_KEY: SortKey = (_NUMBER_CLASS, (0, ()), (), Fraction(0))  # S.Zero.sort_key()


class Factor(NamedTuple):
    """A variable, or the function applied to a sum: what a term multiplies."""

    text: str  # str() of the sympy expression (also what tells equal factors apart)
    key: SortKey  # sympy's default_sort_key, with Fractions for sympy's numbers
    terms: tuple[Term, ...]  # the function's argument, in sympy's order (a variable: none)
    height: int  # applications of the function nested in it (−1: a variable)


class Term(NamedTuple):
    """``coeff`` times ``factor`` (a non-zero coefficient)."""

    coeff: Fraction
    factor: Factor


def variable(name: str) -> Factor:
    return Factor(name, (_SYMBOL_CLASS, (1, (name,)), _ONE_KEY, _ONE), (), -1)


def applied(function: str, products: Iterable[tuple[Factor, Fraction]]) -> Factor:
    """``function(Σ factor·coeff)`` as sympy makes it (the sum by the rules above)."""
    coeffs: dict[str, Term] = {}
    for factor, coeff in products:
        same = coeffs.get(factor.text)
        coeffs[factor.text] = Term(coeff if same is None else same.coeff + coeff, factor)
    terms = tuple(sorted((t for t in coeffs.values() if t.coeff), key=lambda t: t.factor.key))
    text, key = _sum(terms)
    return Factor(
        f"{function}({text})",
        (_function_class(function), (1, (key,)), _ONE_KEY, _ONE),
        terms,
        1 + max((t.factor.height for t in terms), default=-1),
    )


def yhat_formula(
    variables: Sequence[str], weights: Sequence[Sequence[Sequence[Fraction]]], function: str
) -> Factor:
    """ŷ of one observation: each layer's units ``function(O_prev·column of W)``, as the
    engine's forward pass makes them on sympy expressions (one dot product per unit)."""
    o = [variable(name) for name in variables]
    for w in weights:
        o = [applied(function, zip(o, column, strict=True)) for column in zip(*w, strict=True)]
    return o[0]


@functools.cache
def _function_class(function: str) -> Any:
    return sympy.Function(function)(sympy.Symbol("x")).class_key()


def _sum(terms: Sequence[Term]) -> tuple[str, SortKey]:
    """The text and sort key of Σ terms: the number 0, one term alone, or a sum."""
    if not terms:
        return "0", _ZERO_KEY
    if len(terms) == 1:
        return _term_text(terms[0]), _term_key(terms[0])
    key = (_ADD_CLASS, (len(terms), tuple(_term_key(t) for t in terms)), _ONE_KEY, _ONE)
    return _sum_text(terms), key


def _term_key(term: Term) -> SortKey:
    """``Expr.sort_key`` of coeff·factor: the factor's key with the coefficient in it."""
    cls, args, exp, _ = term.factor.key
    return (cls, args, exp, term.coeff)


def _term_text(term: Term) -> str:
    """``-f(…)``, ``2*x1``, ``3*f(…)/2``, ``x2/2``: ``_print_Mul`` of a rational times one factor."""
    c, factor = term.coeff, term.factor.text
    if c == 1:
        return factor
    sign = "-" if c < 0 else ""
    p, q = abs(c.numerator), c.denominator
    numerator = factor if p == 1 else f"{p}*{factor}"
    return f"{sign}{numerator}/{q}" if q != 1 else f"{sign}{numerator}"


def _sum_text(terms: Sequence[Term]) -> str:
    """``a - b + c``: ``_print_Add``'s signs between terms (the first only when negative)."""
    parts = []
    for i, term in enumerate(terms):
        text = _term_text(term)
        negative = text.startswith("-")
        body = text[1:] if negative else text
        if i == 0:
            parts.append(f"-{body}" if negative else body)
        else:
            parts.append(f"- {body}" if negative else f"+ {body}")
    return " ".join(parts)
