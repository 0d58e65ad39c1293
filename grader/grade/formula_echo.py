"""How the grader reads a formula, said back as text: ``1/2x`` → ``(1/2)·x``.

The echo is built by the formula grammar itself (:class:`grader.grade.formulas._Grammar`,
the one that builds the sympy trees), so it cannot read a formula differently from
grading.  The answer page shows the same echo as the student types; its JavaScript copy
(``templates/answer_page.js``, ``readingOf``) must produce the same text for every formula
of ``tests/data/grammar_corpus.json`` (``tests/test_answer_page.py``).

The text keeps the formula as written (numbers as typed, names as the grader reads them:
``ln`` → ``log``, ``σ`` → ``sigma``, the sheet's activation → ``f``), with every product
written ``·`` and brackets wherever the grouping is not plain from the usual rules:

* a quotient inside a product or another quotient, and a denominator or a numerator that is
  not a single symbol, number, call or power: ``(x/y)·z``, ``1/(2·x)``, ``(2·x)/y``;
* a power's base or exponent that is not a single symbol, number or call: ``-(x^2)``,
  ``x^(-1)``, ``(x^2)^2``;
* brackets the student wrote around a sum, a product or a sign on the right of an operator.

Reading the echo back gives the same formula (a test), and an ambiguous ``/`` gets the echo
of both readings, so the page can show what to write for the other one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grader.grade.formulas import (
    DEFAULT_FUNCTIONS,
    _Grammar,
    _names,
    _Token,
    _Tokenizer,
    _tuple,
    normalize_typography,
    read_formula,
)


@dataclass(frozen=True)
class Echo:
    text: str
    kind: str  # atom, sum, neg, prod, quot, pow
    operand: Echo | None = None  # of a sign: "a - b" is printed from a + (-b)


def _wrap(node: Echo, bare: frozenset[str]) -> str:
    return node.text if node.kind in bare else f"({node.text})"


_TERM = frozenset({"atom", "pow", "prod", "quot"})  # bare on the right of + or -
_LEFT_FACTOR = frozenset({"atom", "pow", "prod", "neg"})
_RIGHT_FACTOR = frozenset({"atom", "pow"})
_NUMERATOR = frozenset({"atom", "pow", "neg"})
_ATOM = frozenset({"atom"})


class _EchoBuilder(_Grammar[Echo]):
    """The grammar building the echo (the syntax only: :func:`formula_echo` has the values
    checked by ``read_formula`` first)."""

    def finish(self, expr: Echo) -> Echo:
        return expr

    def number(self, t: _Token) -> Echo:
        return Echo(t.text, "atom")

    def symbol(self, t: _Token) -> Echo:
        return Echo(t.text, "atom")

    def constant(self, t: _Token) -> Echo:
        return Echo("e", "atom")

    def superscript(self, t: _Token) -> Echo:
        value = int(t.text)  # "⁻¹" → -1, "⁰²" → 2
        if value < 0:
            return self.negate(Echo(str(-value), "atom"), t.pos)
        return Echo(str(value), "atom")

    def apply(self, t: _Token, arg: Echo) -> Echo:
        return Echo(f"{t.text}({arg.text})", "atom")

    def add(self, left: Echo, right: Echo, at: int) -> Echo:
        if right.kind == "neg" and right.operand is not None:
            return Echo(f"{left.text} - {_wrap(right.operand, _TERM)}", "sum")
        return Echo(f"{left.text} + {_wrap(right, _TERM)}", "sum")

    def multiply(self, left: Echo, right: Echo, at: int) -> Echo:
        return Echo(f"{_wrap(left, _LEFT_FACTOR)}·{_wrap(right, _RIGHT_FACTOR)}", "prod")

    def negate(self, operand: Echo, at: int) -> Echo:
        return Echo(f"-{_wrap(operand, _ATOM)}", "neg", operand)

    def divide(self, left: Echo, right: Echo, at: int) -> Echo:
        return Echo(f"{_wrap(left, _NUMERATOR)}/{_wrap(right, _RIGHT_FACTOR)}", "quot")

    def raise_to(self, base: Echo, exponent: Echo, at: int) -> Echo:
        return Echo(f"{_wrap(base, _ATOM)}^{_wrap(exponent, _ATOM)}", "pow")


@dataclass(frozen=True)
class Reading:
    """The echo of a formula, and of the other reading when a ``/`` is followed by an
    implicit product (``1/2x``: ``(1/2)·x``, other ``1/(2·x)``)."""

    text: str
    other: str | None = None


def formula_echo(
    text: str,
    variables: Sequence[str],
    functions: Sequence[str] = DEFAULT_FUNCTIONS,
    generic_functions: Sequence[str] = (),
    aliases: Sequence[tuple[str, str]] = (),
) -> Reading:
    """How :func:`grader.grade.formulas.read_formula` reads ``text``, and the other reading
    when it has one.  Raises :class:`FormulaError` exactly when ``read_formula`` does."""
    readings = read_formula(text, variables, functions, generic_functions, aliases)
    names = _names(_tuple(variables), _tuple(functions), _tuple(generic_functions), tuple(aliases))
    tokens = _Tokenizer(normalize_typography(text), names).run()
    echo = _EchoBuilder(tokens, names).parse().text
    if readings.other is None:
        return Reading(echo)
    return Reading(echo, _EchoBuilder(tokens, names, tight_division=True).parse().text)
