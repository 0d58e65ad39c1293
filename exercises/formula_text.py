"""mlp_matrix's ŷ formula as ``str()`` prints it, without sympy's printer.

A ŷ formula is ``f`` applied to a sum of rational multiples of ``f(…)`` (or of the
inputs ``x1, x2, …``), nested once per layer.  sympy's printer orders the terms of
every sum by sympy's sort key (``default_sort_key``), which it works out anew for every
sum it meets: most of the time of solving a variant.  Here each subexpression's text
and sort key are built once, from its arguments' (memoized across a build: a class's
formulas share their inner ``f(…)``), following sympy's own rules for exactly these
shapes:

* a sum's terms are ordered by the sort keys of their non-numeric factors (what
  ``Expr.as_ordered_terms`` does when every term is a number times one distinct
  factor);
* ``Expr.sort_key`` is ``(class key, (n, keys of the n arguments), key of the
  exponent, coefficient)``; a symbol's arguments are its name, a number's ``(0, ())``;
* a term prints as ``StrPrinter._print_Mul`` prints a rational times one factor
  (``-f(…)``, ``3*x1/2``), a sum as ``_print_Add`` (``a - b + c``).

Anything else (a float, a power, a product of two factors, a constant term) raises
:class:`Unsupported`, and the caller prints with sympy.  The tests compare both
printers on random networks of every shape.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple

import sympy
from sympy.core.function import AppliedUndef

SortKey = tuple[Any, ...]

_ONE = Fraction(1)
_NUMBER_CLASS = sympy.Number.class_key()
_SYMBOL_CLASS = sympy.Symbol.class_key()
_ADD_CLASS = sympy.Add.class_key()
_ONE_KEY: SortKey = (_NUMBER_CLASS, (0, ()), (), _ONE)  # S.One.sort_key(), the exponent 1
_MEMO_LIMIT = 100_000  # subexpressions kept (a few MB); the memo restarts beyond


class Unsupported(ValueError):
    """An expression outside the shapes of a ŷ formula."""


class _Printed(NamedTuple):
    text: str
    key: SortKey  # sympy's default_sort_key, with Fractions for sympy's numbers


class _Term(NamedTuple):
    """A term of a sum: ``coeff`` times ``factor`` (a symbol or an f(…))."""

    expr: Any
    coeff: Fraction
    factor: _Printed


_MEMO: dict[Any, _Printed] = {}


def formula_text(expr: Any) -> str:
    """``str(expr)``; raises :class:`Unsupported` outside the ŷ formula's shapes."""
    return _printed(expr).text


def ordered_terms(expr: Any) -> list[Any]:
    """``expr.as_ordered_terms()`` of a sum in a ŷ formula (raises :class:`Unsupported`
    outside its shapes)."""
    return [t.expr for t in _sorted_terms(expr)]


def _printed(expr: Any) -> _Printed:
    found = _MEMO.get(expr)
    if found is None:
        found = _new_printed(expr)
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[expr] = found
    return found


def _new_printed(expr: Any) -> _Printed:
    if isinstance(expr, AppliedUndef):
        if len(expr.args) != 1:
            raise Unsupported(expr)
        inner = _printed(expr.args[0])
        key: SortKey = (expr.class_key(), (1, (inner.key,)), _ONE_KEY, _ONE)
        return _Printed(f"{expr.func.__name__}({inner.text})", key)
    if type(expr) is sympy.Symbol:
        return _Printed(expr.name, (_SYMBOL_CLASS, (1, (expr.name,)), _ONE_KEY, _ONE))
    if expr.is_Rational:  # f(0): a sum that cancelled out
        return _Printed(str(expr), (_NUMBER_CLASS, (0, ()), (), _fraction(expr)))
    if expr.is_Mul:
        term = _term(expr)
        return _Printed(_term_text(term), _term_key(term))
    if expr.is_Add:
        terms = _sorted_terms(expr)
        key = (_ADD_CLASS, (len(terms), tuple(_term_key(t) for t in terms)), _ONE_KEY, _ONE)
        return _Printed(_sum_text(terms), key)
    raise Unsupported(expr)


def _fraction(number: Any) -> Fraction:
    return Fraction(int(number.p), int(number.q))


def _term(expr: Any) -> _Term:
    """A rational times a symbol or an f(…) (the factor alone: coefficient 1)."""
    coeff, factor = _ONE, expr
    if expr.is_Mul:
        if len(expr.args) != 2 or not expr.args[0].is_Rational:
            raise Unsupported(expr)
        coeff, factor = _fraction(expr.args[0]), expr.args[1]
    if not (isinstance(factor, AppliedUndef) or type(factor) is sympy.Symbol):
        raise Unsupported(expr)
    return _Term(expr, coeff, _printed(factor))


def _sorted_terms(expr: Any) -> list[_Term]:
    """A sum's terms in sympy's order: by their factors' sort keys (each factor is
    distinct, else sympy would have added the two terms up)."""
    if not expr.is_Add:
        raise Unsupported(expr)
    return sorted((_term(t) for t in expr.args), key=lambda t: t.factor.key)


def _term_key(term: _Term) -> SortKey:
    """``Expr.sort_key`` of coeff·factor: the factor's key with the coefficient in it."""
    cls, args, exp, _ = term.factor.key
    return (cls, args, exp, term.coeff)


def _term_text(term: _Term) -> str:
    """``-f(…)``, ``2*x1``, ``3*f(…)/2``, ``x2/2``: ``_print_Mul`` of a rational times one factor."""
    c, factor = term.coeff, term.factor.text
    if c == 1:
        return factor
    sign = "-" if c < 0 else ""
    p, q = abs(c.numerator), c.denominator
    numerator = factor if p == 1 else f"{p}*{factor}"
    return f"{sign}{numerator}/{q}" if q != 1 else f"{sign}{numerator}"


def _sum_text(terms: list[_Term]) -> str:
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
