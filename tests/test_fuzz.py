"""Property-based fuzzing (hypothesis, derandomized for CI) of what reads untrusted text:
the number parser, the formula parser and equivalence check, and submission loading.

Properties: only our own typed errors ever escape (``NumberError``, ``FormulaError``,
``SubmissionError``), every input finishes in bounded time (a generous per-example
deadline, plus an alarm that turns a real hang into a failure), exact values round-trip
(``parse_number(fmt_frac(x)) == x`` for every Fraction the reader accepts), and grading any
JSON at all yields one well-formed result per answer field.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from fractions import Fraction as F
from typing import Any

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.core.fileio import dump_json
from grader.core.numbers import (
    MAX_DIGITS,
    MAX_EXPONENT,
    NumberError,
    fmt_dec,
    fmt_frac,
    parse_number,
    tex_frac,
)
from grader.course.assignment import Assignment, ExerciseSpec
from grader.course.keys import key_json
from grader.course.submission import SubmissionError, parse_submission
from grader.course.variants import make_variants
from grader.grade.formulas import (
    MAX_LENGTH,
    FormulaError,
    equivalent,
    formula_latex,
    formula_text,
    parse_formula,
)
from grader.grade.grading import STATUSES, grade_submission
from grader.grade.reports import report_json, report_markdown
from tests.helpers import CANONICAL_SGD

HANG_SECONDS = 60  # an alarm, not a benchmark: only a hang ever gets near it
# GRADER_FUZZ_SCALE=20 runs 20 times the examples, freshly random each run: a deeper hunt
# on a developer's machine.  Unset (CI), the examples are the same on every run.
SCALE = int(os.environ.get("GRADER_FUZZ_SCALE", "1"))


class Hang(Exception):
    pass


@contextmanager
def hang_guard(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Turn a hang (in Python code) into a failure (where there is SIGALRM: POSIX)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def fuzz(examples: int, deadline_seconds: float = 10) -> Any:
    """Derandomized (the same examples on every run, so CI is stable), with a generous
    per-example deadline that catches "finite but far too slow" (``Fraction("1e99999")``)."""
    return settings(
        max_examples=examples * SCALE,
        derandomize=SCALE == 1,
        deadline=timedelta(seconds=deadline_seconds),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )


# ------------------------------------------------------------------ numbers

MINUS = "\u2212"
digits = st.text(alphabet="0123456789", max_size=1300)
exponent = st.one_of(st.integers(-120, 120), st.integers(-(10**12), 10**12)).map(str)
sign = st.sampled_from(["", "-", "+", MINUS])


@st.composite
def number_like(draw: st.DrawFn) -> str:
    """Text shaped like a number, with sizes on both sides of every limit."""
    whole = draw(digits)
    text = draw(sign) + whole
    if draw(st.booleans()):
        text += "." + draw(digits)
    if draw(st.booleans()):
        text += draw(st.sampled_from("eE")) + draw(exponent)
    if draw(st.booleans()):
        text += draw(st.sampled_from(["/", "\u2044", " / "])) + draw(sign) + draw(digits)
    if draw(st.booleans()):
        text = draw(st.sampled_from(["\\frac{%s}{%s}", "\\tfrac%s%s", "$%s/%s$"])) % (
            text,
            draw(digits),
        )
    return text


hostile_text = st.one_of(
    st.text(max_size=3000),
    st.text(alphabet="0123456789eE+-.,/ \\{}$⁄−½⅛٠१", max_size=200),
    number_like(),
)


@fuzz(1500)
@given(hostile_text)
def test_parse_number_raises_only_number_errors(text: str) -> None:
    with hang_guard():
        try:
            value = parse_number(text)
        except NumberError as exc:
            assert exc.message and str(exc) == exc.message
            assert 0 <= exc.position <= len(text)
            return
    assert isinstance(value, F)
    # what is accepted is bounded: digits and exponent of a numerator and a denominator
    bound = 2 * (MAX_DIGITS + MAX_EXPONENT)
    assert len(str(abs(value.numerator))) <= bound and len(str(value.denominator)) <= bound


big = st.integers(min_value=-(10**MAX_DIGITS) + 1, max_value=10**MAX_DIGITS - 1)
positive_big = st.integers(min_value=1, max_value=10**MAX_DIGITS - 1)
fractions = st.one_of(
    st.fractions(max_denominator=10**12),
    st.builds(F, big, positive_big),  # up to MAX_DIGITS digits on both sides
    st.builds(lambda p, e: F(p, 10**e), big.filter(lambda p: abs(p) < 10**40), st.integers(0, 80)),
)


@fuzz(700)
@given(fractions)
def test_every_fraction_round_trips(x: F) -> None:
    with hang_guard():
        assert parse_number(fmt_frac(x)) == x
        assert parse_number(fmt_frac(x).replace("-", MINUS)) == x
        assert parse_number(tex_frac(x)) == x
        assert parse_number(f"  ${tex_frac(x)}$\t") == x
        if x.denominator == 1:
            assert parse_number(x.numerator) == x
            assert parse_submission(json.dumps({"v": x.numerator}).encode())["v"] == str(
                x.numerator
            )
            assert parse_number(parse_submission(json.dumps([x.numerator]).encode())[0]) == x


@fuzz(300)
@given(st.integers(-(10**30), 10**30), st.integers(0, 80))
def test_finite_decimals_round_trip(m: int, k: int) -> None:
    x = F(m, 10**k)
    text = fmt_dec(x, k)
    assert parse_number(text) == x
    assert parse_number(text.replace("-", MINUS)) == x
    # as a JSON number: read from its decimal text, never through a binary float
    assert parse_number(parse_submission(f"[{text}]".encode())[0]) == x


@fuzz(200)
@given(st.integers(MAX_DIGITS, 3 * MAX_DIGITS), st.integers(1, 9), sign)
def test_too_many_digits_is_an_error_not_a_hang(n: int, lead: int, s: str) -> None:
    with hang_guard():
        for text in (s + str(lead) + "0" * n, "1/" + str(lead) + "0" * n, f"{lead}e{10**n}"):
            with pytest.raises(NumberError):
                parse_number(text)
        with pytest.raises(NumberError):
            parse_number(lead * 10**n * (-1 if s == "-" else 1))  # a JSON integer, as an int


# ------------------------------------------------------------------ formulas

XY = ("x", "y")
KEY = parse_formula("2x + y + 2(x+y)", XY)
MLP_VARIABLES = ("x1", "x2")
MLP_KEY = parse_formula(
    "f(2f(-f(-x1+2x2)+f(x1+x2))+f(f(-x1+2x2)))", MLP_VARIABLES, generic_functions=("f",)
)


@st.composite
def formula_text_strategy(
    draw: st.DrawFn,
    variables: tuple[str, ...] = XY,
    functions: tuple[str, ...] = ("exp", "log", "sigma", "tanh", "sqrt"),
) -> str:
    """Formulas from the grammar's parts, grown at random: deep nesting, long sums,
    powers far out of range, functions of functions, LaTeX, Unicode operators."""
    atoms = st.one_of(
        st.sampled_from(variables),
        st.integers(-(10**45), 10**45).map(str),
        st.sampled_from(["e", "0", "0.5", ".5", "1e80", "1e999999", "2e-3", "x²", "y³", "σ(x)"]),
    )

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        ops = st.sampled_from(["+", "-", "*", "/", "^", "**", " ", "·", "×", "÷", "\\cdot "])
        exponents = st.one_of(st.integers(-20, 20), st.integers(-(10**12), 10**12)).map(
            lambda n: f"({n})"
        )
        return st.one_of(
            st.tuples(inner, ops, inner).map("".join),
            st.tuples(inner, exponents).map(lambda t: f"{t[0]}^{t[1]}"),
            st.tuples(st.sampled_from(functions), inner).map(lambda t: f"{t[0]}({t[1]})"),
            inner.map(lambda t: f"({t})"),
            inner.map(lambda t: f"-{t}"),
            st.tuples(inner, inner).map(lambda t: f"\\frac{{{t[0]}}}{{{t[1]}}}"),
            st.tuples(inner, st.integers(1, 60)).map(lambda t: "(" * t[1] + t[0] + ")" * t[1]),
            st.tuples(inner, st.integers(1, 8)).map(lambda t: t[0] + ("+" + t[0]) * t[1]),
        )

    return draw(st.recursive(atoms, grow, max_leaves=40))


def _check_formula(
    text: str, variables: tuple[str, ...], key: sympy.Expr, generic: tuple[str, ...] = ()
) -> None:
    with hang_guard():
        try:
            expr = parse_formula(text, variables, generic_functions=generic)
        except FormulaError as exc:
            assert exc.message and 0 <= exc.position <= max(len(text), MAX_LENGTH)
            return
        assert isinstance(expr, sympy.Basic)
        assert isinstance(formula_text(expr), str) and isinstance(formula_latex(expr), str)
        assert equivalent(expr, key, variables, generic, timeout=0.2) in (True, False, None)
        assert equivalent(expr, expr, variables, generic, timeout=0.2) in (True, None)


@fuzz(120, deadline_seconds=30)
@given(formula_text_strategy())
def test_random_formulas_parse_or_fail_cleanly(text: str) -> None:
    _check_formula(text, XY, KEY)


@fuzz(50, deadline_seconds=30)
@given(formula_text_strategy(MLP_VARIABLES, ("f", "exp", "sigma", "tanh")))
def test_random_network_formulas_parse_or_fail_cleanly(text: str) -> None:
    _check_formula(text, MLP_VARIABLES, MLP_KEY, ("f",))


SNIPPETS = [
    "__import__", "('os')", ".system", "lambda", ":", "eval", "exec", "x", "y", "f", "(", ")",
    "[", "]", "{", "}", "**", "^", "99999", "1000000000", "e", "exp(", "log(", "sigma(",
    "tanh(", "sqrt(", "\\frac{", "\\input{", "/etc/passwd", "\\write18", "$(", "`", ";",
    "|", "&", "'", '"', "\\", "\x00", "\u202e", "\ud800", "−", "·", "²", "⁻¹", "σ", " ",
]  # fmt: skip


@fuzz(600, deadline_seconds=30)
@given(st.lists(st.sampled_from(SNIPPETS), max_size=400).map("".join))
def test_hostile_snippet_soup(text: str) -> None:
    _check_formula(text, XY, KEY)


# ------------------------------------------------------------------ submissions

CANONICAL = CANONICAL_SGD
GRAPH = {
    "nodes": [
        {"name": "a", "op": "square", "args": ["x"]},
        {"name": "b", "op": "mul", "args": ["x", "y"]},
        {"name": "c", "op": "add", "args": ["x", "y"]},
        {"name": "d", "op": "add", "args": ["a", "b"]},
        {"name": "e", "op": "square", "args": ["c"]},
        {"name": "f", "op": "add", "args": ["d", "e"]},
    ],
    "point": {"x": 1, "y": 2},
}
ASSIGNMENT = Assignment(
    id="fuzz-hw",
    exercises=[
        ExerciseSpec(id="sgd", type="sgd_chain", points=10, params=CANONICAL),
        ExerciseSpec(id="graph", type="chain_rule", points=6, params=GRAPH),
    ],
)
VARIANTS = make_variants(ASSIGNMENT, "s001", None)
KEY_JSON = key_json(ASSIGNMENT, "s001", VARIANTS)
LEAVES = sum(len(v.solution.leaves()) for v in VARIANTS)
# the names a real submission uses, so random structures reach deep into the checks
NAMES = ["assignment", "student", "answers", "sgd", "graph", "steps", "forward", "deltas",
         "gradient", "weights", "values", "adjoints", "partials", "x", "y", "formula", "value",
         "a", "f", "params", "approx", "", "0", "1"]  # fmt: skip

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.sampled_from(["-1/4", "1/2", "1e999999999", "NaN", "x", "2x+y", "\\frac{1}{4}", "0,25"]),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(st.one_of(st.sampled_from(NAMES), st.text(max_size=8)), inner, max_size=6),
    ),
    max_leaves=60,
)


def _grade_bytes(raw: bytes) -> None:
    """The whole path of one submission: bytes → JSON → report → JSON and Markdown texts."""
    with hang_guard():
        try:
            data = parse_submission(raw)
        except SubmissionError as exc:
            assert exc.message and "\n" not in exc.message
            return
        report = grade_submission(ASSIGNMENT, "s001", VARIANTS, data)
        assert len(report.fields) == LEAVES
        assert len({f.pointer for f in report.fields}) == LEAVES
        assert all(f.status in STATUSES for f in report.fields)
        assert 0 <= report.score <= report.max_score == 16
        text = dump_json(report_json(report))
        text.encode("utf-8")  # writable: no lone surrogate reaches a report
        report_markdown(report, name="Fuzz", title="Fuzz").encode("utf-8")
        assert json.loads(text)["student"] == "s001"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", errors="surrogatepass")


@fuzz(200, deadline_seconds=30)
@given(json_values)
def test_any_json_value_grades_cleanly(value: Any) -> None:
    _grade_bytes(_dumps(value))


@fuzz(200, deadline_seconds=30)
@given(json_values)
def test_any_answers_object_grades_cleanly(value: Any) -> None:
    _grade_bytes(_dumps({"assignment": "fuzz-hw", "student": "s001", "answers": value}))


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*at, i))
    return out


ANSWER_PATHS = _paths(KEY_JSON["answers"], ("answers",))


@fuzz(200, deadline_seconds=30)
@given(st.lists(st.tuples(st.sampled_from(ANSWER_PATHS), json_values), min_size=1, max_size=4))
def test_a_key_with_random_parts_replaced_grades_cleanly(
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    data = json.loads(json.dumps(KEY_JSON))
    for where, value in changes:
        node = data
        try:
            for part in where[:-1]:
                node = node[part]
            node[where[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed that place
    _grade_bytes(_dumps(data))


@fuzz(600)
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.text(alphabet='[]{}",:0123456789eE.-+ \\u"tfnNaIy', max_size=400).map(str.encode),
    )
)
def test_random_bytes_are_a_submission_error_or_json(raw: bytes) -> None:
    _grade_bytes(raw)


@fuzz(50)
@given(st.integers(65, 5000), st.sampled_from(["[", '{"a":', '[{"b":[']))
def test_deep_nesting_is_refused_before_parsing(depth: int, opener: str) -> None:
    with hang_guard(), pytest.raises(SubmissionError, match="nested more than 64 levels"):
        parse_submission((opener * depth).encode())
