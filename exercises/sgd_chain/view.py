"""The LaTeX view of an sgd_chain variant: the math its sheet and key print.

Everything here is built from numbers by our own formatters (no user text), so it is
returned as :class:`grader.core.latex.Tex`.  Layout and words stay in the templates
(``templates/sgd_chain/{sheet,key}.tex.j2``); this module only knows the math.  At its end:
the given data the answer page shows (plain text).

A derivation line shows the formula, the numbers substituted (the values the key itself
recorded: rounded σ outputs, the weights from before the step) and the result, with ``≈``
exactly where the recorded value is a rounding of what the line computes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from grader.core.activations import REGISTRY
from grader.core.engine import FractionOps, Rounding
from grader.core.given import (
    GivenData,
    GivenTable,
    activation_line,
    given_words,
    learning_rate_line,
    loss_line,
    network_line,
    rounding_line,
    schedule_line,
    subscript,
)
from grader.core.given import num as plain_num
from grader.core.latex import Tex, cut_decimal, num
from grader.core.numbers import fmt_dec, is_finite_decimal, tex_frac
from grader.exercises.base import Solution
from grader.exercises.sgd_chain.params import SgdChainParams

# How each activation is written in formulas (the registry's symbol), and its definition
# with its derivative (written as a student computes it by hand: from the output for σ and tanh).
SYMBOL = {name: a.symbol for name, a in REGISTRY.items()}
DEFINITION = {
    "sigmoid": r"\sigma(t) = \frac{e^{t}}{1 + e^{t}}, \qquad \sigma'(t) = \sigma(t)\bigl(1 - \sigma(t)\bigr)",
    "tanh": r"\tanh t = \frac{e^{t} - e^{-t}}{e^{t} + e^{-t}}, \qquad \tanh'(t) = 1 - \tanh^2 t",
    "relu": r"\operatorname{relu}(t) = \max(t, 0), \qquad \operatorname{relu}'(t) = \begin{cases} 1, & t > 0,\\ 0, & t \le 0 \end{cases}",
    "identity": r"\operatorname{id}(t) = t, \qquad \operatorname{id}'(t) = 1",
    "hard_sigmoid": r"\operatorname{hsig}(t) = \min\bigl(\max(\tfrac{t}{4} + \tfrac12,\, 0),\, 1\bigr), \qquad \operatorname{hsig}'(t) = \begin{cases} \tfrac14, & -2 < t < 2,\\ 0, & \text{otherwise} \end{cases}",
    "softsign": r"\operatorname{softsign}(t) = \frac{t}{1 + |t|}, \qquad \operatorname{softsign}'(t) = \frac{1}{(1 + |t|)^2}",
}
SUBST_PLACES = 12  # a number put into a formula: terminating decimals up to this many places
RESULT_PLACES = 12  # the result of a line: terminating decimals up to this many places
APPROX_PLACES = 7  # decimals shown (cut short, then an ellipsis) beside long exact values
SHOWN_PLACES = 10  # digits kept (then an ellipsis) of a number too long to show exactly
_EXACT = FractionOps(Rounding("exact"))


# ------------------------------------------------------------ numbers


def _places(x: Fraction) -> int | None:
    """Decimal places of a terminating decimal (None when it does not terminate): with the
    denominator 2^a·5^b (lowest terms), x·10^p is whole exactly from p = max(a, b) on."""
    d = x.denominator
    twos = (d & -d).bit_length() - 1
    d >>= twos
    fives = 0
    while d % 5 == 0:
        d //= 5
        fives += 1
    return max(twos, fives) if d == 1 else None


def _truncated(x: Fraction) -> str:
    """The first SHOWN_PLACES decimals and an ellipsis (the digits really go on)."""
    sign = "-" if x < 0 else ""
    scaled = abs(x.numerator) * 10**SHOWN_PLACES // x.denominator
    digits = str(scaled).rjust(SHOWN_PLACES + 1, "0")
    return rf"{sign}{digits[:-SHOWN_PLACES]}.{digits[-SHOWN_PLACES:]}\ldots"


def _decimal(x: Fraction, max_places: int = SUBST_PLACES) -> str:
    """A terminating decimal in full, anything longer cut with an ellipsis."""
    places = _places(x)
    return fmt_dec(x, places) if places is not None and places <= max_places else _truncated(x)


def _short_decimal(x: Fraction) -> bool:
    """Whether ``x`` is a decimal with at most APPROX_PLACES places (shown exactly as such)."""
    places = _places(x)
    return places is not None and places <= APPROX_PLACES


@dataclass(frozen=True)
class Numbers:
    """How numbers are printed in one variant's key.

    ``decimal_first``: every recorded value is a k-decimal (rounding mode ``all``), so
    0.02 reads better than 1/50.
    """

    decimal_first: bool = False

    def small(self, x: Fraction) -> bool:
        """An integer or a fraction a reader takes in at a glance (5/8, 25/16, 1/3); a
        rounded value such as 0.0975 = 39/400 reads better as a decimal."""
        return _small(x, self.decimal_first)

    def value(self, x: Fraction) -> str:
        """A number inside a formula: ``3``, ``\\frac{5}{8}``, ``0.8267``, ``0.0370121624\\ldots``."""
        return _value(x.numerator, x.denominator, self.decimal_first)

    def paren(self, x: Fraction) -> str:
        """The value, in parentheses when negative (it follows an operator)."""
        return rf"\left({self.value(x)}\right)" if x.numerator < 0 else self.value(x)

    def result(
        self, x: Fraction, computed: Fraction | None = None, *, rounded: bool = False
    ) -> str:
        """The end of a derivation line: ``= \\frac{5}{4} = 1.25``, ``= 0.236877839674``,
        ``= 0.0011193882\\ldots`` (exact, too long to print), or ``≈ 0.8267`` only where the
        value is a rounding of what the line computes (and is used rounded from then on)."""
        if rounded or (computed is not None and computed != x):
            return _rounded_result(x.numerator, x.denominator)
        return _exact_result(x.numerator, x.denominator, self.decimal_first)

    def cell(self, x: Fraction, *, exact: bool) -> str:
        return _cell(x.numerator, x.denominator, exact, self.decimal_first)

    def matrix(self, rows: Sequence[Sequence[Fraction]], *, exact: bool = True) -> Tex:
        """A pmatrix of exact values, or of decimals to APPROX_PLACES (``exact=False``)."""
        body = r" \\ ".join(" & ".join(self.cell(v, exact=exact) for v in row) for row in rows)
        # fractions need a little more room between the rows
        stretch = r"\renewcommand{\arraystretch}{1.3}" if r"\tfrac" in body else ""
        return Tex(rf"{{{stretch}\begin{{pmatrix}} {body} \end{{pmatrix}}}}")

    def matrix_lines(self, rows: Sequence[Sequence[Fraction]]) -> list[Tex]:
        """Lines of an ``align*``: ``&= exact``, then the decimals where they add something
        (a fraction to read as a decimal, or decimals too long to take in), cut short with
        an ellipsis (``≈`` is kept for values rounded by the rounding rule)."""
        cells = [v for row in rows for v in row]
        lines = [Tex(f"&= {self.matrix(rows)}")]
        # the exact matrix shows long values cut short already: decimals only for fractions
        if any(self.small(v) and v.denominator != 1 and not _short_decimal(v) for v in cells):
            lines.append(Tex("&= " + self.matrix(rows, exact=False)))
        return lines

    def vector(self, values: Sequence[Fraction]) -> Tex:
        """A row of results (long ones cut to APPROX_PLACES: a row holds up to five)."""
        shown = [self.value(v) if self.small(v) else cut_decimal(v, APPROX_PLACES) for v in values]
        return Tex(r"\left[" + ",\\ ".join(shown) + r"\right]")


# A key prints a value several times (a line's result, then inside later lines and in the
# matrices), and the values of a class repeat: each text is memoized across a build, by
# numerator and denominator (hashing a Fraction costs more than formatting it).


def _small(x: Fraction, decimal_first: bool) -> bool:
    if x.denominator == 1:
        return True
    if is_finite_decimal(x):
        return not decimal_first and x.denominator < 100
    return x.denominator < 1000


@functools.lru_cache(maxsize=1 << 14)
def _value(numerator: int, denominator: int, decimal_first: bool) -> str:
    x = Fraction(numerator, denominator)
    return tex_frac(x) if _small(x, decimal_first) else _decimal(x)


@functools.lru_cache(maxsize=1 << 14)
def _rounded_result(numerator: int, denominator: int) -> str:
    return rf"\approx {_decimal(Fraction(numerator, denominator), RESULT_PLACES)}"


@functools.lru_cache(maxsize=1 << 14)
def _exact_result(numerator: int, denominator: int, decimal_first: bool) -> str:
    x = Fraction(numerator, denominator)
    if _small(x, decimal_first):
        return f"= {num(x, APPROX_PLACES)}"
    if _places(x) is None and len(str(x.numerator)) + len(str(x.denominator)) <= 24:
        return rf"= {tex_frac(x)} = {cut_decimal(x, APPROX_PLACES)}"
    return f"= {_decimal(x, RESULT_PLACES)}"


@functools.lru_cache(maxsize=1 << 14)
def _cell(numerator: int, denominator: int, exact: bool, decimal_first: bool) -> str:
    """A matrix entry: the exact value (``exact``), else decimals to APPROX_PLACES (cut)."""
    if denominator == 1:
        return str(numerator)
    x = Fraction(numerator, denominator)
    if not exact:
        return cut_decimal(x, APPROX_PLACES)
    if _small(x, decimal_first):
        return tex_frac(x).replace(r"\frac", r"\tfrac")
    return _decimal(x, RESULT_PLACES)


# ------------------------------------------------------------ long lines

LINE_BUDGET = 66  # printed symbols (roughly) of one displayed line of the key
_RELATION = re.compile(r" (?==|\\approx )")  # where a derivation line may break
_COMMAND = re.compile(r"\\(?:left|right|,|quad)|\\[A-Za-z]+")


def printed_width(tex: str) -> int:
    """Roughly how many symbols ``tex`` prints: a command is one symbol (``\\left``,
    ``\\,`` none), braces and scripts' marks nothing, a fraction its longer part."""
    tex = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: max(m[1], m[2], key=len), tex)
    tex = tex.replace(r"\ldots", "...")
    tex = _COMMAND.sub(lambda m: "" if m[0] in (r"\left", r"\right", r"\,", r"\quad") else "x", tex)
    return sum(1 for ch in tex if ch not in "{}^_ ")


def fold(line: str) -> Tex:
    """An ``align*`` line ``lhs &= a = b = c`` broken before its relations into lines of
    at most LINE_BUDGET symbols (continuation lines ``&= …``), so none runs into the margin."""
    head, sep, rest = line.partition("&")
    if not sep:
        return Tex(line)
    pieces = _RELATION.split(rest.strip())
    lines = [[pieces[0]]]
    used = printed_width(head) + printed_width(pieces[0])
    for piece in pieces[1:]:
        width = printed_width(piece)
        if used + width > LINE_BUDGET:
            lines.append([])
            used = printed_width(head)
        lines[-1].append(piece)
        used += width
    return Tex(f"{head}&" + "\\\\\n&".join(" ".join(part) for part in lines))


def symbols(prefix: str, names: Sequence[str]) -> Tex:
    """``[x, o_1, o_2, o_3]``; with more than four entries ``[x, o_1, \\dots, o_5]``."""
    items = [prefix] if prefix else []
    items += list(names) if len(names) <= 4 else [names[0], r"\dots", names[-1]]
    return Tex("[" + ", ".join(items) + "]")


def count_text(n: int) -> Tex:
    """``1``, ``1, 2``, ``1, 2, 3`` or ``1, \\dots, n``: the steps s of a task."""
    return Tex(", ".join(str(i) for i in range(1, n + 1)) if n <= 3 else rf"1, \dots, {n}")


# ------------------------------------------------------------ derivation


def _f_prime_symbolic(activation: str, l: int) -> str:
    """f′(h_l) as the course writes it by hand."""
    return {
        "sigmoid": rf"o_{l}(1 - o_{l})",
        "tanh": rf"(1 - o_{l}^2)",
        "relu": rf"\operatorname{{relu}}'(h_{l})",
        "identity": r"\operatorname{id}'(h_{" + str(l) + "})",
        "hard_sigmoid": rf"\operatorname{{hsig}}'(h_{l})",
        "softsign": rf"\frac{{1}}{{(1 + |h_{l}|)^2}}",
    }[activation]


def _f_prime_numbers(nf: Numbers, activation: str, h: Fraction, o: Fraction) -> str:
    """f′(h) with the numbers put in (σ′ from the recorded, rounded output)."""
    if activation == "sigmoid":
        return rf"{nf.value(o)}\left(1 - {nf.value(o)}\right)"
    if activation == "tanh":
        return rf"\left(1 - {nf.paren(o)}^2\right)"
    if activation == "softsign":
        return rf"\frac{{1}}{{(1 + |{nf.value(h)}|)^2}}"
    return nf.value(_EXACT.derivative(activation, h, o))


def _step_view(
    nf: Numbers, p: SgdChainParams, st: Any, answers: dict[str, Any], s: int, obs: int
) -> dict[str, Any]:
    d = p.depth
    f = SYMBOL[p.activation]
    x, y = p.data[obs - 1]
    before = st.layers_before
    w_old = [[layer.b[0] for layer in before], [layer.w[0][0] for layer in before]]
    o = [st.o[l][0][0] for l in range(d + 1)]
    h = [st.h[l][0][0] for l in range(d)]
    delta = [st.delta[l][0][0] for l in range(d)]

    forward = []
    for l in range(1, d + 1):
        w, b = w_old[1][l - 1], w_old[0][l - 1]
        h_line = (
            rf"h_{l} &= w_{l}\, o_{l - 1} + b_{l} = {nf.paren(w)} \cdot {nf.paren(o[l - 1])} + {nf.paren(b)} "
            + nf.result(h[l - 1], w * o[l - 1] + b)
        )
        transcendental = p.activation in ("sigmoid", "tanh") and h[l - 1] != 0
        o_line = rf"o_{l} &= {f}(h_{l}) = {f}\left({nf.value(h[l - 1])}\right) " + nf.result(
            o[l], _EXACT.activate(p.activation, h[l - 1]), rounded=transcendental
        )
        forward += [fold(h_line), fold(o_line)]

    half = p.loss == "half_mse"
    half_tex = r"\tfrac12 " if half else ""
    loss_exact = (y - o[d]) ** 2 * (Fraction(1, 2) if half else 1)
    loss = fold(
        rf"L &= {half_tex}(y - o_{d})^2 = {half_tex}\left({nf.value(y)} - {nf.paren(o[d])}\right)^2 "
        + nf.result(st.loss, loss_exact)
    )

    factor, factor_times = ("", "") if half else ("2", r"2 \cdot ")
    fprime = _EXACT.derivative(p.activation, h[d - 1], o[d])
    deltas = [
        fold(
            rf"\delta_{d} &= {factor}(o_{d} - y)\, {_f_prime_symbolic(p.activation, d)}"
            rf" = {factor_times}\left({nf.value(o[d])} - {nf.paren(y)}\right) \cdot "
            + _f_prime_numbers(nf, p.activation, h[d - 1], o[d])
            + " "
            + nf.result(delta[d - 1], (1 if half else 2) * (o[d] - y) * fprime)
        )
    ]
    for l in range(d - 1, 0, -1):
        w_next = w_old[1][l]
        computed = delta[l] * w_next * _EXACT.derivative(p.activation, h[l - 1], o[l])
        deltas.append(
            fold(
                rf"\delta_{l} &= \delta_{l + 1}\, w_{l + 1}\, {_f_prime_symbolic(p.activation, l)}"
                rf" = {nf.paren(delta[l])} \cdot {nf.paren(w_next)} \cdot "
                + _f_prime_numbers(nf, p.activation, h[l - 1], o[l])
                + " "
                + nf.result(delta[l - 1], computed)
            )
        )

    n = s + 1
    grad = answers["gradient"]
    rate = nf.value(p.learning_rate)
    return {
        "number": n,
        "observation": obs,
        "x": Tex(nf.value(x)),
        "y": Tex(nf.value(y)),
        "forward": forward,
        "loss": loss,
        "deltas": deltas,
        "gradient_lines": [
            Tex(
                r"\frac{\partial L}{\partial W} &= "
                + _matrix_symbols(d, ("\\delta_{l}", "\\delta_{l}\\, o_{m}"))
            ),
            *nf.matrix_lines(grad),
        ],
        "update_lines": [
            Tex(rf"W^{{{n}}} &= W^{{{n - 1}}} - {rate} \cdot \frac{{\partial L}}{{\partial W}}"),
            *nf.matrix_lines(answers["weights"]),
        ],
        "forward_vector": nf.vector(o),
        "delta_vector": nf.vector(delta),
    }


def _matrix_symbols(d: int, patterns: tuple[str, str]) -> Tex:
    """A 2×d pmatrix of symbols; ``{l}`` is the layer (1-based), ``{m}`` = l − 1."""
    rows = [" & ".join(pat.format(l=l, m=l - 1) for l in range(1, d + 1)) for pat in patterns]
    return Tex(rf"\begin{{pmatrix}} {rows[0]} \\ {rows[1]} \end{{pmatrix}}")


@functools.lru_cache(maxsize=64)
def _neurons_tikz(depth: int, symbol: str) -> Tex:
    """The sheet's picture of neurons 1..depth (TikZ): each with its input edge (weight),
    its bias input and its h ↦ o label."""
    lines = []
    for l in range(1, depth + 1):
        lines += [
            rf"  \node[neuron, right=of n{l - 1}] (n{l}) {{${symbol}$}};",
            rf"  \node[io, below=7mm of n{l}] (one{l}) {{$1$}};",
            rf"  \draw[->] (n{l - 1}) -- node[above, font=\small] {{$w_{{{l}}}$}} (n{l});",
            rf"  \draw[->] (one{l}) -- node[right, font=\small] {{$b_{{{l}}}$}} (n{l});",
            rf"  \node[above=0.5mm of n{l}, font=\footnotesize, text=black!60]"
            rf" {{$h_{{{l}}} \mapsto o_{{{l}}}$}};",
        ]
    return Tex("\n".join(lines))


def latex_view(p: SgdChainParams, solution: Solution, language: str) -> dict[str, Any]:
    """What ``sgd_chain/sheet.tex.j2`` and ``sgd_chain/key.tex.j2`` print.

    The math is the same in every language; ``language`` is part of the contract that
    every family's ``latex_view`` follows.
    """
    d = p.depth
    nf = Numbers(decimal_first=p.rounding.mode == "all")
    steps = [
        _step_view(nf, p, st, solution.answers["steps"][s], s, obs)
        for s, (st, obs) in enumerate(zip(solution.trace.steps, p.order, strict=True))
    ]
    loss = rf"(y - o_{d})^2" if p.loss == "mse" else rf"\tfrac12 (y - o_{d})^2"
    return {
        "depth": d,
        "steps": steps,
        "step_numbers": count_text(len(steps)),
        "symbol": Tex(SYMBOL[p.activation]),
        "neurons": _neurons_tikz(d, SYMBOL[p.activation]),
        "definition": Tex(DEFINITION[p.activation]),
        "loss": Tex(rf"L = {loss}"),
        "data": [(i + 1, Tex(nf.value(x)), Tex(nf.value(y))) for i, (x, y) in enumerate(p.data)],
        "order": list(p.order),
        "learning_rate": Tex(nf.value(p.learning_rate)),
        "w0": nf.matrix(p.initial_matrix()),
        "w_layout": _matrix_symbols(d, ("b_{l}", "w_{l}")),
        "forward_symbols": symbols("x", [f"o_{l}" for l in range(1, d + 1)]),
        "delta_symbols": symbols("", [rf"\delta_{l}" for l in range(1, d + 1)]),
        "rounding_mode": p.rounding.mode,
        "rounded_any": bool(solution.rounded),
    }


# ------------------------------------------------------------ the answer page's given data


def given_data(p: SgdChainParams, words: Mapping[str, Any], language: str) -> GivenData:
    """The chain, its activation, loss, learning rate, steps and rounding, then the data and
    the initial weights as on the sheet (``words``: this family's ``given_data:`` words)."""
    shared = given_words(language)
    loss = words["losses"][p.loss].replace("{o}", subscript("o", p.depth))
    lines = [
        network_line(words["chain"].format(D=p.depth), language),
        activation_line(p.activation, language),
        loss_line(loss, language, fixed=False),  # o_D holds the student's depth
        learning_rate_line(p.learning_rate, language),
        schedule_line(list(p.order), language),
        rounding_line(shared["rounding"][p.rounding.mode], p.rounding.decimals, language),
    ]
    initial = p.initial_matrix()
    weights = GivenTable(
        words["initial_chain"],
        [f"{words['neuron']} {j + 1}" for j in range(p.depth)],
        [(f"{r}: {symbol}", [plain_num(v) for v in initial[r]]) for r, symbol in enumerate("bw")],
    )
    data = GivenTable(
        shared["data"],
        ["x", "y"],
        [(str(i + 1), [plain_num(x), plain_num(y)]) for i, (x, y) in enumerate(p.data)],
    )
    return GivenData(lines, [data, weights])
