"""The optional left-hand side of a formula answer: ``df/dx = 4x + 3y``, ``ŷ = f(…)``.

A student may name the quantity they give (a TA reads ``∂f/∂y = 3x + 2y`` as the answer
``3x + 2y``).  :func:`split_lhs` separates such a name from the formula and reads it as a
:data:`Quantity`: ``("partial", "f", "x")`` for ∂f/∂x in any of its usual spellings, or
``("output",)`` for ŷ.  Nothing here evaluates anything: the name is matched against a
few fixed patterns.

>>> split_lhs("df/dx = 4x + 3y")
(('partial', 'f', 'x'), ' 4x + 3y', 7)
>>> split_lhs("4x + 3y")
(None, '4x + 3y', 0)
"""

from __future__ import annotations

import re

from grader.core.errors import PositionedError

Quantity = tuple[str, ...]  # ("partial", output, variable) or ("output",)
MAX_LHS_CHARS = 40  # a name, not a formula

_NAME = r"([A-Za-z][A-Za-z0-9]*)"
# After spaces are dropped and ∂ / \partial / 𝜕 are written "d":
_PARTIAL_PATTERNS = (
    re.compile(rf"d{_NAME}/d{_NAME}"),  # df/dx, ∂f/∂x
    re.compile(rf"\\frac\{{d{_NAME}\}}\{{d{_NAME}\}}"),  # \frac{\partial f}{\partial x}
    re.compile(rf"{_NAME}_\{{?{_NAME}\}}?"),  # f_x, f_{x}
)
_OUTPUT_SPELLINGS = frozenset({"ŷ", "y\u0302", "yhat", "y_hat", "\\hat{y}", "\\hat y", "y^"})


class LhsError(PositionedError):
    """A left-hand side that names no quantity we know."""


def split_lhs(text: str) -> tuple[Quantity | None, str, int]:
    """(the quantity the left-hand side names or None, the formula, the formula's offset
    in ``text``).  Raises :class:`LhsError` for a left-hand side that is no name."""
    if text.count("=") != 1:
        return None, text, 0  # no left-hand side (or several '=': the parser says so)
    left, _, right = text.partition("=")
    offset = len(left) + 1
    name = left.strip()
    if len(name) > MAX_LHS_CHARS:
        raise LhsError.said_as("reason_lhs_too_long")
    quantity = read_quantity(name)
    if quantity is None:
        raise LhsError.said_as("reason_lhs_unknown", name=repr(name))
    return quantity, right, offset


def read_quantity(name: str) -> Quantity | None:
    """``name`` (df/dx, ∂f/∂x, f_x, ŷ …) as a :data:`Quantity`, or None."""
    compact = re.sub(r"\s+", "", name)
    if compact in _OUTPUT_SPELLINGS or name.strip() in _OUTPUT_SPELLINGS:
        return ("output",)
    compact = compact.replace("\\partial", "d").replace("∂", "d").replace("𝜕", "d")
    for pattern in _PARTIAL_PATTERNS:
        m = pattern.fullmatch(compact)
        if m:
            return ("partial", m.group(1), m.group(2))
    return None


def describe(quantity: Quantity) -> str:
    """A quantity in words for feedback ("∂f/∂x", "ŷ")."""
    if quantity[0] == "partial":
        return f"∂{quantity[1]}/∂{quantity[2]}"
    return "ŷ"
