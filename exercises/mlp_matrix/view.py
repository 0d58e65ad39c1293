"""The LaTeX view of an ``mlp_matrix`` variant: the pieces its sheet and key templates print
(``templates/mlp_matrix/{sheet,key}.tex.j2``; our own math only), and the given data its
answer page shows (plain text)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from grader.core import engine
from grader.core.activations import TRANSCENDENTAL
from grader.core.engine import FractionOps
from grader.core.given import (
    GivenData,
    activation_line,
    given_words,
    learning_rate_line,
    loss_line,
    matrix_table,
    network_line,
    rounding_line,
    subscript,
)
from grader.core.latex import Tex, cut_decimal
from grader.core.memo import BoundedMemo
from grader.core.numbers import fmt_exact_or_dec, fmt_frac, is_finite_decimal, tex_frac
from grader.exercises.base import Solution
from grader.exercises.mlp_matrix.fields import _field_kind, answer_shapes, yhat
from grader.exercises.mlp_matrix.formula_text import Factor, Term
from grader.exercises.mlp_matrix.params import FORMULA_FUNCTION, MlpMatrixParams

APPROX_DECIMALS = 7  # decimals shown (cut short, then an ellipsis) of long exact values


_MEMO_LIMIT = 100_000  # LaTeX pieces of subexpressions kept (a few MB); the memo restarts beyond


# ------------------------------------------------------------ LaTeX pieces

_ACTIVATION_TEX = {
    "relu": (r"f(t) = \max(0, t)", r"f'(t) = \begin{cases} 1, & t > 0,\\ 0, & t \le 0 \end{cases}"),
    "identity": (r"f(t) = t", r"f'(t) = 1"),
    "sigmoid": (r"f(t) = \sigma(t) = \frac{1}{1 + e^{-t}}", r"f'(t) = f(t)\,\bigl(1 - f(t)\bigr)"),
    "tanh": (r"f(t) = \tanh t", r"f'(t) = 1 - f(t)^2"),
    "hard_sigmoid": (
        r"f(t) = \min\bigl(\max(\tfrac{t}{4} + \tfrac{1}{2},\, 0),\, 1\bigr)",
        r"f'(t) = \begin{cases} \frac{1}{4}, & |t| < 2,\\ 0, & |t| \ge 2 \end{cases}",
    ),
    "softsign": (r"f(t) = \frac{t}{1 + |t|}", r"f'(t) = \frac{1}{(1 + |t|)^2}"),
}
LINE_WIDTH = 64  # rough characters of display math that fit one line of an A4 page
_PARENS = (("(", ")"), (r"\bigl(", r"\bigr)"), (r"\Bigl(", r"\Bigr)"), (r"\biggl(", r"\biggr)"))


@dataclass(frozen=True)
class _Piece:
    """A bit of display math with a rough printed width (in characters).  A line may
    start at a ``breakable`` piece; breaks at a smaller ``depth`` are preferred."""

    tex: str
    width: float
    breakable: bool = False
    depth: int = 0


def _pack(pieces: Sequence[_Piece], width: float = LINE_WIDTH) -> list[str]:
    """Split where needed, shallowest breaks first, then fill lines greedily."""
    runs = [list(pieces)]
    for level in sorted({p.depth for p in pieces if p.breakable}):
        split: list[list[_Piece]] = []
        for run in runs:
            if sum(p.width for p in run) <= width:
                split.append(run)
                continue
            for i, piece in enumerate(run):
                if i == 0 or (piece.breakable and piece.depth == level):
                    split.append([])
                split[-1].append(piece)
        runs = split
    lines: list[list[_Piece]] = []
    used = 0.0
    for run in runs:
        run_width = sum(p.width for p in run)
        if lines and used + run_width <= width:
            lines[-1] += run
            used += run_width
        else:
            lines.append(list(run))
            used = run_width
    return [" ".join(p.tex for p in line if p.tex) for line in lines]


def _bmatrix(rows: Sequence[Sequence[str]]) -> str:
    body = r" \\ ".join(" & ".join(row) for row in rows)
    matrix = rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"
    if any("frac" in e for row in rows for e in row):
        # stacked fractions need more room between the rows than digits do
        return rf"{{\renewcommand*{{\arraystretch}}{{1.35}}{matrix}}}"
    return matrix


def _given_matrix(m: Sequence[Sequence[Fraction]]) -> str:
    return _bmatrix([[tex_frac(x) for x in row] for row in m])


@dataclass(frozen=True)
class _KeyFormat:
    """How the key shows numbers.  ``decimal``: terminating values print as decimals
    (every value is a rounded decimal, or computed from rounded σ/tanh values);
    otherwise fractions, the way a student computes rational keys by hand."""

    decimal: bool

    def cells(self, m: Sequence[Sequence[Fraction]]) -> list[list[_Cell]]:
        decimal = self.decimal
        return [[_cell(x.numerator, x.denominator, decimal) for x in row] for row in m]

    def width(self, m: Sequence[Sequence[Fraction]]) -> float:
        return _width(self.cells(m))

    def result(self, m: Sequence[Sequence[Fraction]], *, rounded: bool = False) -> list[_Piece]:
        """``= exact`` (then ``= decimals…`` when some entry does not terminate), or only
        ``= decimals…`` when the exact value is too long to read; ``≈`` instead of the
        first ``=`` when the values were ``rounded`` by the rounding rule (its only meaning)."""
        cells = self.cells(m)
        exact = _exact_tex(cells)
        if exact is None:
            return [_approx_piece(cells)]
        relation = r"\approx" if rounded else "="
        pieces = [_Piece(f"{relation} {exact}", 2 + _width(cells), True)]
        if not all(c.finite for row in cells for c in row):
            pieces.append(_approx_piece(cells))
        return pieces

    def operand(self, m: Sequence[Sequence[Fraction]]) -> tuple[str, float, bool]:
        """A matrix inside a product: (LaTeX, width, shown in decimals only)."""
        cells = self.cells(m)
        exact = _exact_tex(cells)
        if exact is None:
            return _approx_tex(cells), _width(cells, approx=True), True
        return exact, _width(cells), False

    def product(self, *factors: tuple[Sequence[Sequence[Fraction]], str]) -> _Piece:
        """``= A ⊙ B`` (an operand too long to show exactly in decimals cut short with an
        ellipsis); each factor is (matrix, the operator written after it)."""
        texts, width = [], 2.0
        for m, op in factors:
            text, w, _ = self.operand(m)
            texts.append(f"{text} {op}".strip())
            width += w + len(op) / 4
        return _Piece("= " + " ".join(texts), width, True)

    def scalar(self, x: Fraction, *, rounded: bool = False) -> list[_Piece]:
        cell = _cell(x.numerator, x.denominator, self.decimal)
        approx = _Piece(f"= {cell.approx}", APPROX_DECIMALS + 4, True)
        if cell.entry is None:
            return [approx]
        relation = r"\approx" if rounded else "="
        pieces = [_Piece(f"{relation} {cell.entry}", cell.width + 2, True)]
        return pieces if cell.finite else [*pieces, approx]


class _Cell(NamedTuple):
    """How the key shows one value (see :func:`_cell`)."""

    entry: str | None  # the exact value, None when no exact form is short enough to read
    width: int  # the entry's rough printed width (the decimal's when there is no entry)
    approx: str  # the value to APPROX_DECIMALS decimals, cut short (then an ellipsis)
    finite: bool  # a terminating decimal


# A key shows each value several times (a matrix, then inside products) and widths are
# asked per column: memoized across a build (the values of a class repeat too), by
# numerator and denominator (hashing a Fraction costs more than the lookup saves).
@functools.lru_cache(maxsize=1 << 14)
def _cell(numerator: int, denominator: int, decimal: bool) -> _Cell:
    x = Fraction(numerator, denominator)
    entry = _entry(x, decimal)
    if entry is None:
        width = APPROX_DECIMALS + 3
    elif "frac" not in entry:
        width = len(entry)
    else:
        width = max(len(str(abs(numerator))), len(str(denominator))) + (numerator < 0)
    return _Cell(entry, width, cut_decimal(x, APPROX_DECIMALS), is_finite_decimal(x))


def _entry(x: Fraction, decimal: bool) -> str | None:
    if x.denominator == 1:
        return str(x.numerator)
    if is_finite_decimal(x) and (decimal or x.denominator % 10 == 0):
        text = fmt_exact_or_dec(x, 12)
        if not text.startswith("≈") and len(text) <= 14:
            return text
    return tex_frac(x) if len(fmt_frac(x)) <= 11 else None


def _width(cells: Sequence[Sequence[_Cell]], approx: bool = False) -> int:
    """A matrix's rough printed width: its columns' widest entries (or decimals)."""
    if approx:
        return 2 + sum(2 + APPROX_DECIMALS + 5 for _ in cells[0])
    return 2 + sum(2 + max(c.width for c in col) for col in zip(*cells, strict=True))


def _exact_tex(cells: Sequence[Sequence[_Cell]]) -> str | None:
    """The matrix of exact entries, None when some entry has none."""
    entries = [[c.entry for c in row] for row in cells]
    if any(e is None for row in entries for e in row):
        return None
    return _bmatrix([[e or "" for e in row] for row in entries])


def _approx_tex(cells: Sequence[Sequence[_Cell]]) -> str:
    return _bmatrix([[c.approx for c in row] for row in cells])


def _approx_piece(cells: Sequence[Sequence[_Cell]]) -> _Piece:
    return _Piece(f"= {_approx_tex(cells)}", 2 + _width(cells, approx=True), True)


def _align_item(lhs: str, pieces: Sequence[_Piece]) -> str:
    """One ``align*`` item: ``lhs &= …`` and continuation lines ``&= …``, packed to the width."""
    lines = _pack([_Piece("", 4), *pieces])
    return r" \\ ".join(
        (rf"{lhs} &{line}" if i == 0 else f"&{line}") for i, line in enumerate(lines)
    )


def _transpose(m: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [list(col) for col in zip(*m, strict=True)]


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# ---- the ŷ formula, printed by hand so that a long one breaks across lines


def _formula_pieces(factor: Factor, depth: int = 0) -> list[_Piece]:
    """``f(…)`` with parentheses growing with the nesting, its argument's terms between."""
    # memoized (by the text, which tells factors apart): the formulas of a class share
    # many inner f(…)
    key = (factor.text, depth)
    pieces = _PIECES.get(key)
    if pieces is None:
        left, right = _PARENS[min(factor.height, len(_PARENS) - 1)]
        inner = _sum_pieces(factor.terms, depth + 1)
        pieces = _PIECES.keep(key, (_Piece(FORMULA_FUNCTION + left, 2), *inner, _Piece(right, 1)))
    return list(pieces)


_PIECES: BoundedMemo[tuple[str, int], tuple[_Piece, ...]] = BoundedMemo(_MEMO_LIMIT)


def _sum_pieces(terms: Sequence[Term], depth: int) -> list[_Piece]:
    """The terms of a sum, each with its sign (the first only when negative), or 0."""
    if not terms:
        return [_Piece("0", 1)]
    out: list[_Piece] = []
    for i, term in enumerate(terms):
        if i > 0:
            out.append(_Piece("-" if term.coeff < 0 else "+", 2, breakable=True, depth=depth))
        elif term.coeff < 0:
            out.append(_Piece("-", 1))
        out += _term_pieces(abs(term.coeff), term.factor, depth)
    return out


def _term_pieces(q: Fraction, factor: Factor, depth: int) -> list[_Piece]:
    """``q·factor`` for a positive rational: ``\\tfrac{3}{2}\\, f(…)``, ``x_{1}``."""
    head = []
    if q != 1:
        number = (
            str(q.numerator)
            if q.denominator == 1
            else rf"\tfrac{{{q.numerator}}}{{{q.denominator}}}"
        )
        head = [_Piece(number + r"\,", len(str(q.numerator)) + 1)]
    if factor.height >= 0:  # f(…)
        return head + _formula_pieces(factor, depth)
    return [*head, _Piece(f"x_{{{factor.text[1:]}}}", 2)]


def _formula_body(formula: Factor) -> str:
    r"""``\hat y &= f\bigl(… \\ &\quad + …\bigr)``: the formula broken where it is too wide."""
    lines = _pack(_formula_pieces(formula))
    return r" \\ ".join(
        (rf"\hat y &= {line}" if i == 0 else rf"&\quad {line}") for i, line in enumerate(lines)
    )


# ---- the whole view


def _latex_view(p: MlpMatrixParams, solution: Solution) -> dict[str, Any]:
    sizes, n = p.sizes(), len(p.x)
    big_l = len(sizes) - 1
    ws = p.layer_weights()
    activation, derivative = _ACTIVATION_TEX[p.activation]
    half = r"\frac{1}{2} " if p.loss == "half_mse" else ""
    forward = []
    for l in range(1, big_l + 1):
        forward += [rf"h_{l} = {_o(l - 1)} W_{l}", rf"O_{l} = f(h_{l})"]
    forward.append(rf"\hat y = O_{big_l}")
    backward = [
        rf"{_delta_formula(p, l, big_l, lhs=True)}, \qquad {_grad(l)} = {_o(l - 1)}^\top \delta_{l}"
        for l in range(big_l, 0, -1)
    ]
    rounding = "all" if p.rounding.mode == "all" else None
    if rounding is None and p.activation in TRANSCENDENTAL:
        rounding = p.rounding.mode
    return {
        "network": Tex(r" \to ".join(str(s) for s in sizes)),
        "layers": big_l,
        "n": n,
        "activation": Tex(activation),
        "derivative": Tex(derivative),
        "loss": Tex(rf"L = {half}\sum_{{i=1}}^{{{n}}} (y_i - \hat y_i)^2"),
        "X": Tex(_given_matrix(p.x)),
        "y": Tex(_given_matrix(p.y)),
        "weights_lines": [
            Tex(r", \qquad ".join(rf"W_{l} = {_given_matrix(ws[l - 1])}" for l in chunk))
            for chunk in _chunks(list(range(1, big_l + 1)), 3)
        ],
        "gamma": Tex(tex_frac(p.learning_rate)),
        "variables": Tex(", ".join(f"x_{{{j + 1}}}" for j in range(sizes[0]))),
        "formula_example": Tex(
            rf"{FORMULA_FUNCTION}\bigl(2\,{FORMULA_FUNCTION}(x_1 - x_2) + \dots\bigr)"
        ),
        "forward_steps": Tex(",\n".join(f"    ${s}$" for s in forward)),
        "backward_lines": Tex(r" \\ ".join(backward)),
        "update_step": Tex(
            rf"W_l \leftarrow W_l - \gamma\,\frac{{\partial L}}{{\partial W_l}}, \quad l = 1, \dots, {big_l}"
        ),
        "fields": _fields_tex(tuple(answer_shapes(p))),
        "rounding": rounding,
        "formula_lines": Tex(_formula_body(yhat(p))),
        **_key_view(p, solution),
    }


def _delta_formula(p: MlpMatrixParams, l: int, big_l: int, *, lhs: bool) -> str:
    two = "" if p.loss == "half_mse" else r"2\,"
    if l == big_l:
        rhs = rf"{two}(O_{l} - y) \odot f'(h_{l})"
        return rf"\delta_{l} = \frac{{\partial L}}{{\partial h_{l}}} = {rhs}" if lhs else rhs
    rhs = rf"(\delta_{l + 1} W_{l + 1}^\top) \odot f'(h_{l})"
    return rf"\delta_{l} = {rhs}" if lhs else rhs


@functools.lru_cache(maxsize=64)
def _fields_tex(names: tuple[str, ...]) -> Tex:
    """What each answer field is, one per line: ``\\texttt{h1}~{is}~$h_1$;`` (the sheet
    puts its word for "is" in place of ``{is}``)."""
    return Tex(";\n".join(rf"{_tt_name(n)}~{{is}}~${_field_symbol(n)}$" for n in names) + ".")


def _tt_name(name: str) -> str:
    """An answer field name in typewriter type (names are ours: letters, digits, _)."""
    return r"\texttt{" + name.replace("_", r"\_") + "}"


def _o(layer: int) -> str:
    return "X" if layer == 0 else f"O_{layer}"


def _grad(layer: int | str) -> str:
    return rf"\frac{{\partial L}}{{\partial W_{layer}}}"


def _field_symbol(name: str) -> str:
    """The course's symbol for an answer field: ``grad_W2`` → ∂L/∂W₂."""
    if name == "yhat_formula":
        return r"\hat y"
    if name == "loss":
        return "L"
    kind = _field_kind(name)
    l = name.removesuffix("_new")[len(kind.removesuffix("_new")) :]
    return {
        "h": f"h_{l}",
        "O": f"O_{l}",
        "delta": rf"\delta_{l}",
        "grad_W": _grad(l),
        "W_new": rf"W_{l}^{{\mathrm{{new}}}}",
    }[kind]


def _key_view(p: MlpMatrixParams, solution: Solution) -> dict[str, Any]:
    """The key, step by step: one ``align*`` body per section, with the intermediate
    products a student writes down (δ·Wᵀ, f′(h), Oᵀ·δ) before each result."""
    step = solution.trace.steps[0]
    ops = FractionOps(p.rounding.rule())
    big_l = len(step.h)
    ws = p.layer_weights()
    half = r"\frac{1}{2} " if p.loss == "half_mse" else ""
    factor = 1 if p.loss == "half_mse" else 2
    fmt = _KeyFormat(decimal=p.rounding.mode == "all" or p.activation in TRANSCENDENTAL)
    # ≈ marks what was rounded: every value in mode all; otherwise σ/tanh of a non-zero h
    # (to the rule's decimals, or to 30 in mode exact: an irrational value)
    everything = p.rounding.mode == "all"
    rounds_f = p.activation in TRANSCENDENTAL

    def fprime(l: int) -> list[list[Fraction]]:
        return [
            [
                engine.activation_derivative(ops, engine.CORRECT, p.activation, h, o)
                for h, o in zip(h_row, o_row, strict=True)
            ]
            for h_row, o_row in zip(step.h[l - 1], step.o[l], strict=True)
        ]

    def formula(tex: str) -> _Piece:
        return _Piece(f"= {tex}", 12, True)

    forward = []
    for l in range(1, big_l + 1):
        forward.append(
            _align_item(
                f"h_{l}",
                [formula(f"{_o(l - 1)} W_{l}"), *fmt.result(step.h[l - 1], rounded=everything)],
            )
        )
        f_rounded = everything or (rounds_f and any(h != 0 for row in step.h[l - 1] for h in row))
        forward.append(
            _align_item(f"O_{l}", [formula(f"f(h_{l})"), *fmt.result(step.o[l], rounded=f_rounded)])
        )
    loss = _align_item(
        "L",
        [
            formula(rf"{half}\sum_{{i}} (y_i - \hat y_i)^2"),
            *fmt.scalar(step.loss, rounded=everything),
        ],
    )
    backward = []
    for l in range(big_l, 0, -1):
        if l == big_l:
            first = [
                [factor * (o - t) for o, t in zip(o_row, y_row, strict=True)]
                for o_row, y_row in zip(step.o[l], step.y, strict=True)
            ]
        else:
            first = engine.matmul(step.delta[l], engine.transpose(ws[l]))
        backward.append(
            _align_item(
                rf"\delta_{l}",
                [
                    formula(_delta_formula(p, l, big_l, lhs=False)),
                    fmt.product((first, r"\odot"), (fprime(l), "")),
                    *fmt.result(step.delta[l - 1], rounded=everything),
                ],
            )
        )
        backward.append(
            _align_item(
                _grad(l),
                [
                    formula(rf"{_o(l - 1)}^\top \delta_{l}"),
                    fmt.product((_transpose(step.o[l - 1]), ""), (step.delta[l - 1], "")),
                    *fmt.result(step.grad_w[l - 1], rounded=everything),
                ],
            )
        )
    update = [
        _align_item(
            rf"W_{l}^{{\mathrm{{new}}}}",
            [
                formula(rf"W_{l} - \gamma\,{_grad(l)}"),
                _Piece(
                    rf"= {_given_matrix(ws[l - 1])} - {tex_frac(p.learning_rate)} {fmt.operand(step.grad_w[l - 1])[0]}",
                    2 * fmt.width(ws[l - 1]) + 6,
                    True,
                ),
                *fmt.result(step.layers_after[l - 1].w, rounded=everything),
            ],
        )
        for l in range(1, big_l + 1)
    ]
    gap = r" \\[1ex] "
    return {
        "key_forward": Tex(gap.join(forward)),
        "key_loss": Tex(loss),
        "key_backward": Tex(gap.join(backward)),
        "key_update": Tex(gap.join(update)),
        "key_cut": any(r"\ldots" in text for text in (*forward, loss, *backward, *update)),
        "key_approx": everything or rounds_f,
    }


# ------------------------------------------------------------ the answer page's given data


def given_data(p: MlpMatrixParams, words: Mapping[str, Any], language: str) -> GivenData:
    """The network, its activation, loss, learning rate and rounding, then X, y and the
    weights as on the sheet (``words``: this family's ``given_data:`` words)."""
    lines = [
        network_line(" → ".join(str(s) for s in p.sizes()), language),
        activation_line(p.activation, language),
        loss_line(words["losses"][p.loss].replace("{n}", str(len(p.x))), language),
        learning_rate_line(p.learning_rate, language),
    ]
    # the rounding rule matters only where something is rounded
    rules = given_words(language)["rounding"]
    if p.rounding.mode == "all":
        lines.append(rounding_line(rules["all"], p.rounding.decimals, language))
    elif p.activation in TRANSCENDENTAL:
        lines.append(rounding_line(rules[p.rounding.mode], p.rounding.decimals, language))
    tables = [matrix_table("X", p.x), matrix_table("y", p.y)]
    tables += [matrix_table(subscript("W", l + 1), m) for l, m in enumerate(p.layer_weights())]
    return GivenData(lines, tables)
