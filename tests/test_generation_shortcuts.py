"""The shortcuts of generation give exactly what the plain computations give: memoized
number formatting (mlp_matrix's key, sgd_chain's view, the key JSON), the variant
searches' screens (chain_rule, sgd_chain), chain_rule's memoized sympy formulas, and
the template environment's dict lookups and ``|rows``.

The plain versions of the memoized formatters are kept here as references (they are
what the exercises ran before their texts were memoized)."""

from __future__ import annotations

import importlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction as F
from typing import Any

import jinja2
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from grader.core.engine import CORRECT, NumberGrowthError
from grader.core.latex import Tex, cut_decimal, num
from grader.core.models import RoundingSpec
from grader.core.numbers import fmt_exact_or_dec, fmt_frac, is_finite_decimal, tex_frac
from grader.course.keys import _leaf_texts, approx_text, exact_text, map_leaves
from grader.exercises import get_exercise
from grader.exercises.chain_rule import EXERCISE as CHAIN_RULE
from grader.exercises.chain_rule import fields as chain_rule
from grader.exercises.chain_rule.params import _params as chain_rule_params
from grader.exercises.mlp_matrix.view import APPROX_DECIMALS, _bmatrix, _KeyFormat, _Piece
from grader.exercises.sgd_chain.view import (
    APPROX_PLACES,
    RESULT_PLACES,
    Numbers,
    _decimal,
    _places,
)
from grader.make.rendering import environment

# values as keys have them: integers, halves, rounded decimals, long fractions
values = st.one_of(
    st.fractions(max_denominator=1000, min_value=-200, max_value=200),
    st.builds(F, st.integers(-(10**12), 10**12), st.sampled_from([10**4, 2**20, 10**30])),
    st.builds(F, st.integers(-(10**20), 10**20), st.integers(1, 10**15)),
)
matrices = st.integers(1, 3).flatmap(
    lambda cols: st.lists(st.lists(values, min_size=cols, max_size=cols), min_size=1, max_size=3)
)


# ------------------------------------------------------------ mlp_matrix's key


@dataclass(frozen=True)
class PlainKeyFormat:
    """mlp_matrix's _KeyFormat before its per-value memo: every text computed anew."""

    decimal: bool

    def entry(self, x: F) -> str | None:
        if x.denominator == 1:
            return str(x.numerator)
        if is_finite_decimal(x) and (self.decimal or x.denominator % 10 == 0):
            text = fmt_exact_or_dec(x, 12)
            if not text.startswith("≈") and len(text) <= 14:
                return text
        return tex_frac(x) if len(fmt_frac(x)) <= 11 else None

    def entry_width(self, x: F) -> int:
        text = self.entry(x)
        if text is None:
            return APPROX_DECIMALS + 3
        if "frac" not in text:
            return len(text)
        return max(len(str(abs(x.numerator))), len(str(x.denominator))) + (x.numerator < 0)

    def width(self, m: Sequence[Sequence[F]], approx: bool = False) -> float:
        return 2 + sum(
            2 + max(APPROX_DECIMALS + 5 if approx else self.entry_width(x) for x in col)
            for col in zip(*m, strict=True)
        )

    def exact(self, m: Sequence[Sequence[F]]) -> str | None:
        entries = [[self.entry(x) for x in row] for row in m]
        if any(e is None for row in entries for e in row):
            return None
        return _bmatrix([[e or "" for e in row] for row in entries])

    @staticmethod
    def approx(m: Sequence[Sequence[F]]) -> str:
        # a long exact value shown cut short (an ellipsis), not rounded: ≈ means rounded
        return _bmatrix([[cut_decimal(x, APPROX_DECIMALS) for x in row] for row in m])

    def result(self, m: Sequence[Sequence[F]], *, rounded: bool = False) -> list[_Piece]:
        exact = self.exact(m)
        approx = _Piece(f"= {self.approx(m)}", 2 + self.width(m, True), True)
        if exact is None:
            return [approx]
        relation = r"\approx" if rounded else "="
        pieces = [_Piece(f"{relation} {exact}", 2 + self.width(m), True)]
        if not all(is_finite_decimal(x) for row in m for x in row):
            pieces.append(approx)
        return pieces

    def operand(self, m: Sequence[Sequence[F]]) -> tuple[str, float, bool]:
        exact = self.exact(m)
        if exact is None:
            return self.approx(m), self.width(m, True), True
        return exact, self.width(m), False

    def scalar(self, x: F, *, rounded: bool = False) -> list[_Piece]:
        exact = self.entry(x)
        approx = _Piece(f"= {cut_decimal(x, APPROX_DECIMALS)}", APPROX_DECIMALS + 4, True)
        if exact is None:
            return [approx]
        relation = r"\approx" if rounded else "="
        pieces = [_Piece(f"{relation} {exact}", self.entry_width(x) + 2, True)]
        return pieces if is_finite_decimal(x) else [*pieces, approx]


@settings(max_examples=300, deadline=None)
@given(matrices, values, st.booleans())
def test_mlp_key_format_is_the_plain_one(m: list[list[F]], x: F, decimal: bool) -> None:
    memo, plain = _KeyFormat(decimal), PlainKeyFormat(decimal)
    for _ in range(2):  # computed, then from the memo
        assert memo.result(m) == plain.result(m)
        assert memo.result(m, rounded=True) == plain.result(m, rounded=True)
        assert memo.scalar(x, rounded=True) == plain.scalar(x, rounded=True)
        assert memo.operand(m) == plain.operand(m)
        assert memo.width(m) == plain.width(m)
        assert memo.scalar(x) == plain.scalar(x)


# ------------------------------------------------------------ sgd_chain's view


@dataclass(frozen=True)
class PlainNumbers:
    """sgd_chain.view.Numbers before its per-value memo."""

    decimal_first: bool = False

    def small(self, x: F) -> bool:
        if x.denominator == 1:
            return True
        if is_finite_decimal(x):
            return not self.decimal_first and x.denominator < 100
        return x.denominator < 1000

    def value(self, x: F) -> str:
        return tex_frac(x) if self.small(x) else _decimal(x)

    def paren(self, x: F) -> str:
        return rf"\left({self.value(x)}\right)" if x < 0 else self.value(x)

    def result(self, x: F, computed: F | None = None, *, rounded: bool = False) -> str:
        if rounded or (computed is not None and computed != x):
            return rf"\approx {_decimal(x, RESULT_PLACES)}"
        if self.small(x):
            return f"= {num(x, APPROX_PLACES)}"
        if _places(x) is None and len(str(x.numerator)) + len(str(x.denominator)) <= 24:
            return rf"= {tex_frac(x)} = {cut_decimal(x, APPROX_PLACES)}"
        return f"= {_decimal(x, RESULT_PLACES)}"

    def cell(self, x: F, *, exact: bool) -> str:
        if x.denominator == 1:
            return str(x.numerator)
        if not exact:
            return cut_decimal(x, APPROX_PLACES)
        if self.small(x):
            return tex_frac(x).replace(r"\frac", r"\tfrac")
        return _decimal(x, RESULT_PLACES)


@settings(max_examples=300, deadline=None)
@given(values, values, st.booleans(), st.booleans())
def test_sgd_numbers_are_the_plain_ones(x: F, other: F, decimal_first: bool, rounded: bool) -> None:
    memo, plain = Numbers(decimal_first), PlainNumbers(decimal_first)
    for _ in range(2):  # computed, then from the memo
        assert memo.small(x) == plain.small(x)
        assert memo.value(x) == plain.value(x)
        assert memo.paren(x) == plain.paren(x)
        for computed in (None, x, other):
            assert memo.result(x, computed, rounded=rounded) == plain.result(
                x, computed, rounded=rounded
            )
        for exact in (True, False):
            assert memo.cell(x, exact=exact) == plain.cell(x, exact=exact)


# ------------------------------------------------------------ the key JSON

leaves = st.one_of(values, st.none(), st.sampled_from(["2*x + y", "f(x1 - x2/2)"]))
layouts = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from("abcde"), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(layouts)
def test_key_texts_are_map_leaves(layout: Any) -> None:
    for _ in range(2):  # computed, then from the memo
        exact, approx = _leaf_texts(layout)
        assert exact == map_leaves(layout, exact_text)
        assert approx == map_leaves(layout, approx_text)


# ------------------------------------------------------------ the variant searches' screens

SCREENED: list[tuple[str, dict[str, Any]]] = [
    ("chain_rule", {}),
    ("chain_rule", {"variables": ["x", "y", "z"]}),
    ("sgd_chain", {}),
    ("sgd_chain", {"activation": "relu", "depth": 2, "loss": "half_mse"}),
    ("sgd_chain", {"activation": "tanh", "rounding": RoundingSpec(mode="all", decimals=3)}),
    ("sgd_chain", {"activation": "softsign"}),
    ("sgd_chain", {"activation": "relu", "rounding": RoundingSpec(mode="exact")}),
    ("sgd_chain", {"activation": "hard_sigmoid", "init": [[F(1), F(0), F(1)], [F(0)] * 3]}),
    ("sgd_chain", {"data": [(F(1), F(0)), (F(1), F(0))], "activation": "identity"}),
]


@pytest.mark.parametrize(("type_name", "fixed"), SCREENED)
def test_screen_is_is_nice(type_name: str, fixed: dict[str, Any]) -> None:
    """A screen rejects exactly the candidates is_nice rejects once solved."""
    exercise = get_exercise(type_name)
    rng = random.Random(f"{type_name}/{sorted(fixed)}")
    verdicts = []
    for _ in range(60):
        try:
            params = exercise.sample(rng, fixed)
        except (ValidationError, ValueError):
            continue
        try:
            passed = exercise.screen(params, fixed)  # type: ignore[attr-defined]
        except NumberGrowthError:
            with pytest.raises(NumberGrowthError):
                exercise.solve(params, "ex")
            continue
        nice = exercise.is_nice(params, exercise.solve(params, "ex"), fixed)
        assert bool(passed) == nice
        verdicts.append(nice)
    assert len(verdicts) >= 30 and True in verdicts and False in verdicts


def test_chain_rule_numbers_are_the_computations_values() -> None:
    rng = random.Random(5)
    for _ in range(40):
        params = chain_rule_params(CHAIN_RULE.sample(rng, {}))
        fields = chain_rule._Fields.of(params, "ex")
        every = chain_rule._evaluate(fields.computations())
        numeric = {ptr: v for ptr, v in every.items() if isinstance(v, F)}
        assert list(fields.numbers().items()) == list(numeric.items())


def test_chain_rule_formulas_are_built_as_without_the_memo() -> None:
    """The memoized node and term expressions give each formula exactly (same structure,
    same argument order) what building it afresh gives."""
    rng = random.Random(11)
    for _ in range(60):
        p = chain_rule_params(CHAIN_RULE.sample(rng, {}))
        exprs: dict[str, Any] = {v: sympy.Symbol(v) for v in p.variables}
        for n in p.nodes:
            exprs[n.name] = chain_rule._apply(n, [exprs[a] for a in n.args], chain_rule._rational)
        for var in p.variables:
            terms = [
                chain_rule._rational(t.coeff) * sympy.Mul(*(exprs[f] for f in t.factors))
                for t in chain_rule.path_terms(p, var)
            ]
            for omit in (None, 0, 1):
                fresh = chain_rule._sum_omitting(terms, omit, sympy.Integer(0))
                rules = CORRECT if omit is None else type(CORRECT)(omit_term=omit)
                memo = chain_rule._Fields.of(p, "ex").formula({}, None, rules, var=var)[0]  # type: ignore[arg-type]
                assert memo == fresh and memo.args == fresh.args and str(memo) == str(fresh)


# ------------------------------------------------------------ solving without formulas


@pytest.mark.parametrize(
    ("type_name", "fixed"),
    [
        ("chain_rule", {}),
        ("chain_rule", {"variables": ["x", "y", "z"]}),
        ("mlp_matrix", {}),
        ("mlp_matrix", {"activation": "sigmoid", "hidden": [3]}),
        ("mlp_matrix", {"activation": "identity", "hidden": [2, 1, 2]}),
        ("sgd_chain", {}),
    ],
)
def test_solving_without_formulas_leaves_out_only_their_values(
    type_name: str, fixed: dict[str, Any]
) -> None:
    """``solve(..., formulas=False)`` (what sheets and keys are made from) gives the same
    answers, numbers, views and key as the full solution, only without the formula
    leaves' sympy expressions."""
    exercise = get_exercise(type_name)
    rng = random.Random(f"formulas/{type_name}/{sorted(fixed)}")
    solved = 0
    while solved < 25:
        try:
            params = exercise.sample(rng, fixed)
            full = exercise.solve(params, "ex")
        except (ValidationError, ValueError, NumberGrowthError):
            continue
        lean = exercise.solve(params, "ex", formulas=False)
        formula_leaves = {p for c in full.computations if c.kind == "formula" for p in c.outputs}
        assert lean.answers == full.answers
        assert lean.values == {p: v for p, v in full.values.items() if p not in formula_leaves}
        assert (lean.rounded, lean.decimals, lean.trace) == (
            full.rounded,
            full.decimals,
            full.trace,
        )
        assert exercise.latex_view(params, lean, "en") == exercise.latex_view(params, full, "en")  # type: ignore[attr-defined]
        solved += 1


# ------------------------------------------------------------ the template environment


def test_dict_lookups_keep_jinjas_order() -> None:
    """``a.b`` on a dict: the key, unless a dict attribute has that name (as in jinja)."""
    env = environment()
    data = {"title": "T", "items": "the key", "values": "v"}
    out = env.from_string(r"\VAR{d.title}|\VAR{d.items is callable}|\VAR{d.values is callable}")
    assert out.render(d=data) == "T|True|True"
    plain = jinja2.Environment()
    assert plain.getattr(data, "items") == env.getattr(data, "items")
    with pytest.raises(jinja2.UndefinedError):
        env.from_string(r"\VAR{d.missing}").render(d=data)


def test_rows_joins_tex_lines_only() -> None:
    env = environment()
    template = env.from_string(r"\VAR{lines|rows}")
    assert template.render(lines=[Tex("a &= 1"), Tex("b &= 2")]) == "a &= 1\\\\\nb &= 2"
    assert template.render(lines=[]) == ""
    with pytest.raises(TypeError):
        template.render(lines=[Tex("a"), "b & c"])


# softmax_classifier's screen looks at the drawn values only (no solve): it may pass what
# is_nice later refuses, but must never refuse what is_nice would accept.
SOFTMAX_SCREENED: list[dict[str, Any]] = [
    {},
    {"hidden": [2]},
    {"hidden": [2], "order": [1, 2]},
    {"hidden": [3], "activation": "tanh"},
    {"hidden": [2], "x": [[F(1), F(0)], [F(1), F(0)]], "labels": [1, 2]},
    {"hidden": [2], "init": "zeros"},
]


@pytest.mark.parametrize("fixed", SOFTMAX_SCREENED)
def test_softmax_screen_refuses_only_what_is_nice_refuses(fixed: dict[str, Any]) -> None:
    exercise = get_exercise("softmax_classifier")
    rng = random.Random(f"softmax/{sorted(fixed)}")
    screened = nice_count = 0
    for _ in range(400):
        try:
            params = exercise.sample(rng, fixed)
        except (ValidationError, ValueError):
            continue
        passed = exercise.screen(params, fixed)
        try:  # the search refuses a candidate its solve refuses (ln of a rounded-off 0)
            nice = exercise.is_nice(params, exercise.solve(params, "ex"), fixed)
        except ValueError:
            nice = False
        assert passed or not nice, params
        screened += not passed
        nice_count += nice
    assert nice_count > 0
    if fixed.get("hidden") and fixed.get("activation", "relu") == "relu" and "init" not in fixed:
        assert screened >= 30  # the screen does its job: dead relu units seen before solving


@pytest.mark.parametrize(
    ("type_name", "fixed"),
    [("sgd_chain", {}), ("mlp_matrix", {"hidden": [2, 2], "activation": "relu"})],
)
def test_the_screen_hands_its_training_to_solve_as_a_value(
    type_name: str, fixed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the screen trained goes to ``solve`` with the verdict (``screened=``), never
    through a module global: with the verdict, solve does not train again and gets the
    answers of a fresh solve; without it, solve trains (nothing was left behind)."""
    exercise = get_exercise(type_name)
    rng = random.Random(type_name)
    accepted = []
    while len(accepted) < 5:
        params = exercise.sample(rng, fixed)
        verdict = exercise.screen(params, fixed)
        if verdict:
            accepted.append((params, verdict, exercise.solve(params, "ex").answers))
    family = importlib.import_module(f"grader.exercises.{type_name}.exercise")

    def train_again(*args: Any) -> Any:
        raise AssertionError("solve trained what the screen had trained")

    monkeypatch.setattr(family, "_train", train_again)
    for params, verdict, answers in accepted:
        assert verdict.work is not None
        assert exercise.solve(params, "ex", screened=verdict).answers == answers
        with pytest.raises(AssertionError, match="trained what the screen"):
            exercise.solve(params, "ex")
