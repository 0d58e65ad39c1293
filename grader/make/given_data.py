"""The student's given data as the answer page shows them: the numbers of their sheet.

Built from an exercise's *parameters* only (what the sheet prints: the function and the
point, the data, the weights, the learning rate, the schedule of steps, the rounding), in
plain text for HTML: never a value of the solution.  The layout follows the sheet: lines
for the function, the network and the rules, tables for data and matrices.

Lines marked ``fixed`` are the family's definitions every student with the same settings
shares (``f(t) = max(0, t)``, the loss): they hold constants, not the student's data (the
test that scans each page for key values leaves them out, because a key value may equal
a constant such as 1/2 in them by chance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core.activations import TRANSCENDENTAL
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


def num(value: Any) -> str:
    """A given number as a student types it: ``-1/2``, ``3`` (ASCII minus, exact)."""
    return fmt_frac(Fraction(value))


def _matrix(title: str, matrix: list[list[Any]]) -> GivenTable:
    width = len(matrix[0]) if matrix else 0
    return GivenTable(
        title,
        [str(j + 1) for j in range(width)],
        [(str(i + 1), [num(v) for v in row]) for i, row in enumerate(matrix)],
    )


def _sub(name: str, index: int) -> str:
    return name + str(index).translate(_SUB)


def _rounding(p: Any, w: dict[str, Any], key: str) -> GivenLine:
    text = w["rounding"][key].replace("{k}", str(p.rounding.decimals))
    return GivenLine(w["rounding_label"], text, fixed=True, math=False)


def _schedule(order: list[int], w: dict[str, Any]) -> GivenLine:
    items = [w["schedule_item"].format(s=s + 1, i=i) for s, i in enumerate(order)]
    return GivenLine(w["schedule"], "; ".join(items), math=False)


def _activation(name: str, w: dict[str, Any]) -> GivenLine:
    return GivenLine(w["activation"], w["activations"][name], fixed=True)


# ---------------------------------------------------------------- per family


def _chain_rule(p: Any, w: dict[str, Any]) -> GivenData:
    from grader.exercises.chain_rule.fields import function_text

    variables = ", ".join(p.variables)
    function = plain_math(function_text(p, tex=True))
    definitions = ",  ".join(f"{node.name} = {_node_definition(node)}" for node in p.nodes)
    point = ",  ".join(f"{v} = {num(p.point[v])}" for v in p.variables)
    return GivenData(
        [
            GivenLine(w["function"], f"{p.output}({variables}) = {function}"),
            GivenLine(w["nodes"], definitions),
            GivenLine(w["point"], point),
        ]
    )


_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def plain_math(tex: str) -> str:
    """The sheet's TeX of a chain-rule function in plain text, as the sheet reads:
    ``(x y)^{2} x y + \\frac{1}{2} y`` → ``(xy)²xy + (1/2)y`` (juxtaposition is a product;
    the variables are single letters, so it reads as on the sheet and as the grader reads it)."""
    text = re.sub(r"\\frac\{([0-9]+)\}\{([0-9]+)\}", r"(\1/\2)", tex)
    text = text.replace(r" \cdot ", "·")
    text = re.sub(r"\^\{([0-9]+)\}", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    return re.sub(r"(?<=[^\s+\-]) (?=[^\s+\-])", "", text)


def _node_definition(node: Any) -> str:
    a = node.args
    if node.op == "add":
        return f"{a[0]} + {a[1]}"
    if node.op == "sub":
        return f"{a[0]} - {a[1]}"
    if node.op == "mul":
        return f"{a[0]}·{a[1]}"
    if node.op == "square":
        return f"{a[0]}²"
    if node.op == "neg":
        return f"-{a[0]}"
    const = Fraction(node.const)
    factor = num(const) if const.denominator == 1 else f"({num(const)})"
    return f"{factor}·{a[0]}"


def _mlp(p: Any, w: dict[str, Any]) -> GivenData:
    n = len(p.x)
    lines = [
        GivenLine(w["network"], " → ".join(str(s) for s in p.sizes())),
        _activation(p.activation, w),
        GivenLine(w["loss"], w["losses"][p.loss].replace("{n}", str(n)), fixed=True),
        GivenLine(w["learning_rate"], f"γ = {num(p.learning_rate)}"),
    ]
    if p.rounding.mode == "all":
        lines.append(_rounding(p, w, "all"))
    elif p.activation in TRANSCENDENTAL:
        lines.append(_rounding(p, w, p.rounding.mode))
    tables = [_matrix("X", p.x), _matrix("y", p.y)]
    tables += [_matrix(_sub("W", l + 1), m) for l, m in enumerate(p.layer_weights())]
    return GivenData(lines, tables)


def _data_table(w: dict[str, Any], rows: list[tuple[str, str]]) -> GivenTable:
    return GivenTable(
        w["data"],
        ["x", "y"],
        [(str(i + 1), [x, y]) for i, (x, y) in enumerate(rows)],
    )


def _sgd(p: Any, w: dict[str, Any]) -> GivenData:
    lines = [
        GivenLine(w["network"], w["chain"].format(D=p.depth)),
        _activation(p.activation, w),
        GivenLine(w["loss"], w["losses"]["chain_" + p.loss].replace("{o}", _sub("o", p.depth))),
        GivenLine(w["learning_rate"], f"γ = {num(p.learning_rate)}"),
        _schedule(list(p.order), w),
        _rounding(p, w, p.rounding.mode),
    ]
    initial = p.initial_matrix()
    weights = GivenTable(
        w["initial_chain"],
        [f"{w['neuron']} {j + 1}" for j in range(p.depth)],
        [(f"{r}: {symbol}", [num(v) for v in initial[r]]) for r, symbol in enumerate("bw")],
    )
    data = _data_table(w, [(num(x), num(y)) for x, y in p.data])
    return GivenData(lines, [data, weights])


def _softmax(p: Any, w: dict[str, Any]) -> GivenData:
    sizes = p.sizes()
    lines = [GivenLine(w["network"], " → ".join(str(s) for s in sizes) + " (softmax)")]
    if p.hidden:
        lines.append(_activation(p.activation, w))
    lines += [
        GivenLine(w["loss"], w["losses"]["cross_entropy"], fixed=True),
        GivenLine(w["learning_rate"], f"γ = {num(p.learning_rate)}"),
        _schedule(list(p.order), w),
        _rounding(p, w, "softmax_" + p.rounding.mode),
    ]
    data = GivenTable(
        w["data"],
        [*(f"x{j + 1}".translate(_SUB) for j in range(len(p.x[0]))), "y"],
        [
            (str(i + 1), [*(num(v) for v in row), str(y)])
            for i, (row, y) in enumerate(zip(p.x, p.labels, strict=True))
        ],
    )
    ws, bs = p.initial()
    tables = [data]
    for l, (wl, bl) in enumerate(zip(ws, bs, strict=True)):
        tables.append(_matrix(_sub("W", l + 1), [list(row) for row in wl]))
        tables.append(_matrix(_sub("b", l + 1), [list(bl)]))
    return GivenData(lines, tables)


_FAMILIES = {
    "chain_rule": _chain_rule,
    "mlp_matrix": _mlp,
    "sgd_chain": _sgd,
    "softmax_classifier": _softmax,
}


def given_data(type_name: str, params: BaseModel, w: dict[str, Any]) -> GivenData:
    """What the sheet gives this student for one exercise (``w``: the page's words under
    ``given``).  A family not listed here shows none (its sheet still does)."""
    build = _FAMILIES.get(type_name)
    return build(params, w) if build is not None else GivenData()
