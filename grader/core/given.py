"""A student's given data as plain text: what a family's ``Exercise.given_data`` hook
returns and the answer page (``forms/<id>.html``) shows above an exercise's fields.

Built from an exercise's *parameters* only (what the sheet prints), never from a solution.
Lines marked ``fixed`` are definitions every student with the same settings shares
(``f(t) = max(0, t)``, the loss): they hold constants, not the student's data (the test that
scans each page for key values leaves them out, because a key value may equal a constant
such as 1/2 in them by chance).

The words several families share (activation, learning rate, steps, rounding, the data
table) are in ``templates/given.words.yaml``; a family's own words are in the
``given_data:`` section of its ``words.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from grader.core.numbers import fmt_frac

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class GivenLine:
    label: str
    text: str
    fixed: bool = False  # a definition shared by every student (not their data)
    math: bool = True  # a formula (set in a monospace face), not a sentence


@dataclass(frozen=True)
class GivenTable:
    """A matrix or the data: a title, column heads, and rows (a row head, its cells)."""

    title: str
    columns: list[str]
    rows: list[tuple[str, list[str]]]


@dataclass(frozen=True)
class GivenData:
    lines: list[GivenLine] = field(default_factory=list)
    tables: list[GivenTable] = field(default_factory=list)


@lru_cache(maxsize=4)
def given_words(language: str) -> dict[str, Any]:
    """The shared words of the given data in ``language``."""
    text = resources.files("grader.templates").joinpath("given.words.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text)[language])


def num(value: Any) -> str:
    """A given number as a student types it: ``-1/2``, ``3`` (ASCII minus, exact)."""
    return fmt_frac(Fraction(value))


def subscript(name: str, index: int) -> str:
    """``subscript("W", 2)`` → ``W₂``."""
    return name + str(index).translate(_SUB)


def matrix_table(title: str, matrix: Sequence[Sequence[Any]]) -> GivenTable:
    """A matrix as on the sheet: rows and columns numbered from 1."""
    width = len(matrix[0]) if matrix else 0
    return GivenTable(
        title,
        [str(j + 1) for j in range(width)],
        [(str(i + 1), [num(v) for v in row]) for i, row in enumerate(matrix)],
    )


def network_line(text: str, language: str) -> GivenLine:
    return GivenLine(given_words(language)["network"], text)


def activation_line(name: str, language: str) -> GivenLine:
    w = given_words(language)
    return GivenLine(w["activation"], w["activations"][name], fixed=True)


def loss_line(text: str, language: str, *, fixed: bool = True) -> GivenLine:
    return GivenLine(given_words(language)["loss"], text, fixed=fixed)


def learning_rate_line(rate: Any, language: str) -> GivenLine:
    return GivenLine(given_words(language)["learning_rate"], f"γ = {num(rate)}")


def schedule_line(order: Sequence[int], language: str) -> GivenLine:
    """The observation each step uses (``order`` 1-based)."""
    w = given_words(language)
    items = [w["schedule_item"].format(s=s + 1, i=i) for s, i in enumerate(order)]
    return GivenLine(w["schedule"], "; ".join(items), math=False)


def rounding_line(rule: str, decimals: int, language: str) -> GivenLine:
    """The rounding rule ``rule``, a sentence with ``{k}`` for the decimals (a shared one,
    ``rounding:`` of the shared words, or the family's own)."""
    text = rule.replace("{k}", str(decimals))
    return GivenLine(given_words(language)["rounding_label"], text, fixed=True, math=False)
