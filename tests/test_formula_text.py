"""exercises.formula_text against sympy: the ŷ formula's text, its sums' term order and the
sort keys they come from, on random networks of every shape (zero, repeated and
cancelling weights included)."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.core.sorting import default_sort_key

from exercises.formula_text import Unsupported, _printed, formula_text, ordered_terms
from exercises.mlp_matrix import MlpMatrixParams, _graph, formula_str
from grader import engine

WEIGHTS = [F(v, 2) for v in range(-4, 5)] + [F(1, 3), F(-2, 3), F(5), F(-7, 4), F(1), F(-1)]


@st.composite
def formulas(draw: Any) -> Any:
    d = draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    pool = draw(st.sampled_from([WEIGHTS, WEIGHTS[:4], [F(1), F(-1)], [F(1), F(1, 2), F(0)]]))
    sizes = [d, *hidden, 1]
    weights = [
        [[draw(st.sampled_from(pool)) for _ in range(sizes[l])] for _ in range(sizes[l - 1])]
        for l in range(1, len(sizes))
    ]
    p = MlpMatrixParams.model_construct(
        x=[[F(1)] * d], y=[[F(0)]], hidden=hidden, weights=weights, learning_rate=F(1)
    )
    return _graph(p, "e").formula({}, None, engine.CORRECT)[0]


def _fractions(key: Any) -> Any:
    """A sympy sort key with sympy's numbers as Fractions (what formula_text keeps)."""
    if isinstance(key, tuple):
        return tuple(_fractions(k) for k in key)
    if isinstance(key, sympy.Rational):
        return F(int(key.p), int(key.q))
    return key


@settings(max_examples=150, deadline=None)
@given(formulas())
def test_text_order_and_keys_are_sympys(expr: Any) -> None:
    assert formula_text(expr) == str(expr)
    for sub in sympy.preorder_traversal(expr):
        if sub.is_Add:
            assert ordered_terms(sub) == sub.as_ordered_terms()
        if isinstance(sub, sympy.Basic) and not isinstance(sub, sympy.Tuple):
            assert _printed(sub).key == _fractions(default_sort_key(sub))


def test_other_shapes_are_left_to_sympy() -> None:
    x = sympy.Symbol("x1")
    f = sympy.Function("f")
    for expr in (f(x) ** 2, f(x) + 1, f(sympy.Float(0.5) * x), f(x) * f(2 * x)):
        with pytest.raises(Unsupported):
            formula_text(expr)
        assert formula_str(expr) == str(expr)
