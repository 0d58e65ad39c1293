"""The LaTeX pieces of the ``softmax_classifier`` sheet and key (our own math only: every
number goes through :func:`grader.core.numbers.tex_frac` or a decimal formatter), and the
given data its answer page shows (plain text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from grader.core.given import (
    GivenData,
    GivenTable,
    activation_line,
    given_words,
    learning_rate_line,
    loss_line,
    matrix_table,
    network_line,
    num,
    rounding_line,
    schedule_line,
    subscript,
)
from grader.core.latex import Tex, cut_decimal
from grader.core.numbers import fmt_exact_or_dec, fmt_frac, tex_frac
from grader.exercises.base import Solution
from grader.exercises.softmax_classifier.fields import step_fields
from grader.exercises.softmax_classifier.params import SoftmaxClassifierParams

CUT_PLACES = 8  # decimals shown of a long value (the key JSON holds it exactly)
_ACTIVATION_TEX = {
    "relu": (r"f(t) = \max(0, t)", r"f'(t) = [t > 0]"),
    "identity": (r"f(t) = t", r"f'(t) = 1"),
    "sigmoid": (r"f(t) = \frac{1}{1 + e^{-t}}", r"f'(t) = f(t)\bigl(1 - f(t)\bigr)"),
    "tanh": (r"f(t) = \tanh t", r"f'(t) = 1 - f(t)^2"),
    "hard_sigmoid": (
        r"f(t) = \min\bigl(\max(\tfrac{t}{4} + \tfrac12, 0), 1\bigr)",
        r"f'(t) = \tfrac14 \text{ for } |t| < 2,\ 0 \text{ otherwise}",
    ),
    "softsign": (r"f(t) = \frac{t}{1 + |t|}", r"f'(t) = \frac{1}{(1 + |t|)^2}"),
}


def _num(x: Fraction) -> str:
    """A value as a student writes it: an integer, a decimal that ends within 12 places, a
    short fraction, else its first decimals cut short with an ellipsis (not rounded: in a
    key ≈ marks only what the rounding rule rounded)."""
    if x.denominator == 1:
        return str(x.numerator)
    shown = fmt_exact_or_dec(x, 12)
    if not shown.startswith("≈"):
        return shown
    if len(fmt_frac(x)) > 12:
        return cut_decimal(x, CUT_PLACES)
    return tex_frac(x)


def _vector(v: Sequence[Fraction]) -> str:
    return r"\begin{bmatrix} " + " & ".join(_num(x) for x in v) + r" \end{bmatrix}"


def _matrix(m: Sequence[Sequence[Fraction]]) -> str:
    body = r" \\ ".join(" & ".join(_num(x) for x in row) for row in m)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def _definition(name: str, layers: int, label: int) -> str:
    """``symbol &= formula``: what the key line of a field computes (layer numbers from 1,
    ``layers`` the output layer's; ``label`` the observation's class)."""

    def o_prev(l: int) -> str:
        return "x" if l == 1 else f"o_{{{l - 1}}}"

    def delta(l: int) -> str:
        return r"\delta_{\mathrm{out}}" if l == layers else rf"\delta_{{{l}}}"

    if name == "logits":
        return rf"z &= {o_prev(layers)} W_{{{layers}}} + b_{{{layers}}}"
    if name == "probabilities":
        return r"p &= \operatorname{softmax}(z)"
    if name == "loss":
        return rf"L &= -\ln p_{{{label}}}"
    if name == "delta_out":
        return rf"\delta_{{\mathrm{{out}}}} &= p - \mathrm{{onehot}}({label})"
    kind = name.rstrip("0123456789")
    l = int(name[len(kind) :])
    return {
        "h": rf"h_{{{l}}} &= {o_prev(l)} W_{{{l}}} + b_{{{l}}}",
        "o": rf"o_{{{l}}} &= f(h_{{{l}}})",
        "delta": rf"\delta_{{{l}}} &= ({delta(l + 1)} W_{{{l + 1}}}^\top) \odot f'(h_{{{l}}})",
        "grad_W": rf"\frac{{\partial L}}{{\partial W_{{{l}}}}} &= {o_prev(l)}^\top {delta(l)}",
        "grad_b": rf"\frac{{\partial L}}{{\partial b_{{{l}}}}} &= {delta(l)}",
        "W": rf"W_{{{l}}}' &= W_{{{l}}} - \gamma \frac{{\partial L}}{{\partial W_{{{l}}}}}",
        "b": rf"b_{{{l}}}' &= b_{{{l}}} - \gamma \frac{{\partial L}}{{\partial b_{{{l}}}}}",
    }[kind]


def _diagram(p: SoftmaxClassifierParams) -> str:
    """A TikZ drawing: inputs, hidden layers, logits, the softmax box, p and the loss."""
    sizes = p.sizes()
    gap = 1.0
    lines = []

    def column(name: str, x: float, count: int, label: Any) -> None:
        for i in range(count):
            y = (count - 1) / 2 * gap - i * gap
            lines.append(rf"\node[unit] ({name}{i}) at ({x:.1f},{y:.2f}) {{${label(i + 1)}$}};")

    column("in", 0, sizes[0], lambda i: f"x_{{{i}}}")
    x = 0.0
    for l, width in enumerate(sizes[1:-1], start=1):
        x += 2.2
        column(f"hid{l}_", x, width, lambda i, l=l: f"o_{{{l},{i}}}")
    x += 2.2
    k = sizes[-1]
    column("z", x, k, lambda i: f"z_{{{i}}}")
    prev = ["in"] + [f"hid{l}_" for l in range(1, len(sizes) - 1)] + ["z"]
    for a, b, na, nb in zip(prev, prev[1:], sizes, sizes[1:], strict=False):
        for i in range(na):
            for j in range(nb):
                lines.append(rf"\draw[->, black!45] ({a}{i}) -- ({b}{j});")
    height = max(k - 1, 0) * gap + 0.9
    lines.append(
        rf"\node[draw, thick, rounded corners, minimum width=1.6cm, minimum height={height:.2f}cm,"
        rf" fill=black!4] (soft) at ({x + 2.0:.1f},0) {{softmax}};"
    )
    for i in range(k):
        y = (k - 1) / 2 * gap - i * gap
        lines.append(rf"\draw[->] (z{i}) -- ({x + 1.2:.1f},{y:.2f});")
        lines.append(rf"\node[unit] (p{i}) at ({x + 4.0:.1f},{y:.2f}) {{$p_{{{i + 1}}}$}};")
        lines.append(rf"\draw[->] ({x + 2.8:.1f},{y:.2f}) -- (p{i});")
        lines.append(rf"\draw[->] (p{i}) -- (loss);")
    lines.append(
        rf"\node[draw, rounded corners, minimum height=8mm] (loss) at ({x + 6.0:.1f},0)"
        r" {$L = -\ln p_y$};"
    )
    return "\n".join(lines)


def latex_view(p: SoftmaxClassifierParams, solution: Solution, language: str) -> dict[str, Any]:
    ws, bs = p.initial()
    sizes = p.sizes()
    big_l = len(sizes) - 1
    activation, derivative = _ACTIVATION_TEX[p.activation]
    # the diagram's loss node is drawn last but referred to by the arrows before it:
    # TikZ needs it first, so it goes to the front
    diagram = _diagram(p).split("\n")
    diagram = [diagram[-1], *diagram[:-1]]
    steps = []
    fields = step_fields(p)
    # (step, field) of every value the rounding rule rounded: shown with ≈
    rounded = {(int(ptr.split("/")[4]), ptr.split("/")[5]) for ptr in solution.rounded}
    cut = False
    for s, (obs, answers) in enumerate(zip(p.order, solution.answers["steps"], strict=True)):
        rows = []
        for name, shape in fields.items():
            value = answers[name]
            if shape is None:
                shown = _num(value)
            elif isinstance(shape, int):
                shown = _vector(value)
            else:
                shown = _matrix(value)
            rel = r" \approx " if (s, name) in rounded else " = "
            rows.append(Tex(_definition(name, big_l, p.labels[obs - 1]) + rel + shown))
            cut = cut or r"\ldots" in shown
        steps.append(
            {
                "number": s + 1,
                "observation": obs,
                "x": Tex(_vector(p.x[obs - 1])),
                "y": p.labels[obs - 1],
                "rows": rows,
            }
        )
    return {
        "sizes": Tex(r" \to ".join(str(n) for n in sizes)),
        "hidden": bool(p.hidden),
        "layers": big_l,
        "classes": p.classes,
        "diagram": Tex("\n".join(diagram)),
        "activation": Tex(activation),
        "derivative": Tex(derivative),
        "data": [
            (i + 1, Tex(r"(" + r",\ ".join(_num(v) for v in row) + ")"), c)
            for i, (row, c) in enumerate(zip(p.x, p.labels, strict=True))
        ],
        "order": list(p.order),
        "learning_rate": Tex(_num(p.learning_rate)),
        "initial": [
            (l, Tex(_matrix(w)), Tex(_vector(b)))
            for l, (w, b) in enumerate(zip(ws, bs, strict=True), 1)
        ],
        "fields": Tex(", ".join(r"\texttt{" + n.replace("_", r"\_") + "}" for n in fields)),
        "rounding_mode": p.rounding.mode,
        "cut_any": cut,
        "steps": steps,
    }


# ------------------------------------------------------------ the answer page's given data


def given_data(p: SoftmaxClassifierParams, words: Mapping[str, Any], language: str) -> GivenData:
    """The network (and the hidden layers' activation), loss, learning rate, steps and
    rounding, then the data and each layer's initial W and b as on the sheet (``words``:
    this family's ``given_data:`` words)."""
    lines = [network_line(" → ".join(str(s) for s in p.sizes()) + " (softmax)", language)]
    if p.hidden:
        lines.append(activation_line(p.activation, language))
    lines += [
        loss_line(words["losses"]["cross_entropy"], language),
        learning_rate_line(p.learning_rate, language),
        schedule_line(list(p.order), language),
        rounding_line(words["rounding"][p.rounding.mode], p.rounding.decimals, language),
    ]
    data = GivenTable(
        given_words(language)["data"],
        [*(subscript("x", j + 1) for j in range(len(p.x[0]))), "y"],
        [
            (str(i + 1), [*(num(v) for v in row), str(y)])
            for i, (row, y) in enumerate(zip(p.x, p.labels, strict=True))
        ],
    )
    ws, bs = p.initial()
    tables = [data]
    for l, (wl, bl) in enumerate(zip(ws, bs, strict=True)):
        tables.append(matrix_table(subscript("W", l + 1), wl))
        tables.append(matrix_table(subscript("b", l + 1), [bl]))
    return GivenData(lines, tables)
