"""grader.exercises.mlp_matrix.formula_text against sympy: the ŷ formula's text, its sums' term order and the
sort keys they come from, on random networks of every shape (zero, repeated and
cancelling weights included); and mlp_matrix's LaTeX of the formula against the same
pieces made from the sympy expression (how the key printed it before)."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.core.function import AppliedUndef
from sympy.core.sorting import default_sort_key

from grader.core import engine
from grader.exercises.mlp_matrix.fields import _graph, yhat
from grader.exercises.mlp_matrix.formula_text import Factor, _sum, _term_text
from grader.exercises.mlp_matrix.params import FORMULA_FUNCTION, MlpMatrixParams
from grader.exercises.mlp_matrix.view import _PARENS, _formula_pieces, _Piece

WEIGHTS = [F(v, 2) for v in range(-4, 5)] + [F(1, 3), F(-2, 3), F(5), F(-7, 4), F(1), F(-1)]


@st.composite
def networks(draw: Any) -> MlpMatrixParams:
    d = draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    pool = draw(st.sampled_from([WEIGHTS, WEIGHTS[:4], [F(1), F(-1)], [F(1), F(1, 2), F(0)]]))
    sizes = [d, *hidden, 1]
    weights = [
        [[draw(st.sampled_from(pool)) for _ in range(sizes[l])] for _ in range(sizes[l - 1])]
        for l in range(1, len(sizes))
    ]
    return MlpMatrixParams.model_construct(
        x=[[F(1)] * d], y=[[F(0)]], hidden=hidden, weights=weights, learning_rate=F(1)
    )


def _sympy_formula(p: MlpMatrixParams) -> Any:
    """The formula grading compares with: the engine's forward pass on sympy expressions."""
    return _graph(p, "e").formula({}, None, engine.CORRECT)[0]


def _fractions(key: Any) -> Any:
    """A sympy sort key with sympy's numbers as Fractions (what formula_text keeps)."""
    if isinstance(key, tuple):
        return tuple(_fractions(k) for k in key)
    if isinstance(key, sympy.Rational):
        return F(int(key.p), int(key.q))
    return key


def _check_factor(factor: Factor, expr: Any) -> None:
    """``factor`` is ``expr``: the same text and sort key, and (an application of f) the
    same argument, term by term in sympy's order."""
    assert factor.text == str(expr)
    assert factor.key == _fractions(default_sort_key(expr))
    if isinstance(expr, sympy.Symbol):
        assert factor.terms == () and factor.height == -1
        return
    assert isinstance(expr, AppliedUndef)
    inner = expr.args[0]
    text, key = _sum(factor.terms)
    assert text == str(inner) and key == _fractions(default_sort_key(inner))
    ordered = inner.as_ordered_terms() if inner.is_Add else [] if inner == 0 else [inner]
    assert [_term_text(t) for t in factor.terms] == [str(t) for t in ordered]
    for term, sub in zip(factor.terms, ordered, strict=True):
        coeff, rest = sub.as_coeff_Mul()
        assert term.coeff == F(int(coeff.p), int(coeff.q))
        _check_factor(term.factor, rest)


@settings(max_examples=150, deadline=None)
@given(networks())
def test_text_order_and_keys_are_sympys(p: MlpMatrixParams) -> None:
    _check_factor(yhat(p), _sympy_formula(p))


# ------------------------------------------------------------ the key's LaTeX of the formula


def _f_height(expr: Any) -> int:
    inner = max((_f_height(a) for a in expr.args), default=-1)
    return inner + 1 if isinstance(expr, AppliedUndef) else inner


def _plain_pieces(expr: Any, depth: int = 0) -> list[_Piece]:
    """mlp_matrix's pieces of the formula as they were made from the sympy expression."""
    if isinstance(expr, AppliedUndef):
        left, right = _PARENS[min(_f_height(expr), len(_PARENS) - 1)]
        inner = _plain_pieces(expr.args[0], depth + 1)
        return [_Piece(FORMULA_FUNCTION + left, 2), *inner, _Piece(right, 1)]
    if isinstance(expr, sympy.Add):
        out: list[_Piece] = []
        for i, term in enumerate(expr.as_ordered_terms()):
            coeff, rest = term.as_coeff_Mul()
            if i > 0:
                out.append(_Piece("-" if coeff < 0 else "+", 2, breakable=True, depth=depth))
            elif coeff < 0:
                out.append(_Piece("-", 1))
            out += _plain_term_pieces(abs(coeff), rest, depth)
        return out
    coeff, rest = expr.as_coeff_Mul()
    sign = [_Piece("-", 1)] if coeff < 0 else []
    return sign + _plain_term_pieces(abs(coeff), rest, depth)


def _plain_term_pieces(coeff: Any, rest: Any, depth: int) -> list[_Piece]:
    q = F(int(coeff.p), int(coeff.q))
    number = (
        str(q.numerator) if q.denominator == 1 else rf"\tfrac{{{q.numerator}}}{{{q.denominator}}}"
    )
    if rest == 1:
        return [_Piece(number, len(number) if q.denominator == 1 else 2)]
    head = [] if q == 1 else [_Piece(number + r"\,", len(str(q.numerator)) + 1)]
    if isinstance(rest, AppliedUndef):
        return head + _plain_pieces(rest, depth)
    assert isinstance(rest, sympy.Symbol)
    return [*head, _Piece(f"x_{{{rest.name[1:]}}}", 2)]


@settings(max_examples=150, deadline=None)
@given(networks())
def test_latex_pieces_are_the_sympy_ones(p: MlpMatrixParams) -> None:
    assert _formula_pieces(yhat(p)) == _plain_pieces(_sympy_formula(p))
