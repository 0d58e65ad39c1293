"""The LaTeX view of a ``chain_rule`` variant: the pieces its sheet and key templates print
(``templates/chain_rule/{sheet,key}.tex.j2``), as TeX our own code built, and the
given data its answer page shows (plain text)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from grader.core.given import GivenData, GivenLine, num
from grader.core.latex import Tex
from grader.core.numbers import tex_frac
from grader.exercises.base import Solution
from grader.exercises.chain_rule.fields import (
    ChainRuleTrace,
    PathTerm,
    _Printer,
    _tex_bar,
    _tex_partial,
    function_text,
    local_rule,
    tex_name,
)
from grader.exercises.chain_rule.graph_layout import (
    CIRCLE,
    DOUBLE,
    SQUARE,
    Drawing,
    layout,
    pdf_picture,
    tikz_path,
)
from grader.exercises.chain_rule.params import ChainRuleParams, NodeSpec

# ------------------------------------------------------------ LaTeX view

_FRACTIONS_PER_LINE = 9  # ∂-fractions on one displayed line of a path sum
_CHARS_PER_LINE = 70  # TeX source characters of a formula on one displayed line


def _latex_view(p: ChainRuleParams, solution: Solution) -> dict[str, Any]:
    tex = _Printer(p, tex=True)
    trace: ChainRuleTrace = solution.trace
    out = p.output
    values: dict[str, Fraction] = {**p.point, **solution.answers["values"]}
    adjoints = {
        **solution.answers["adjoints"],
        **{v: solution.answers["partials"][v]["value"] for v in p.variables},
    }
    names = [*p.variables, *(n.name for n in p.nodes)]
    partials = [_partial_view(p, tex, v, trace.paths[v], adjoints[v]) for v in p.variables]
    rows = [
        {
            "name": Tex(tex_name(name)),
            "rhs": Tex("" if name in p.variables else tex.definition(p.node(name))),
            "is_variable": name in p.variables,
            "value": Tex(tex_frac(values[name])),
            "adjoint": Tex(tex_frac(adjoints[name])),
        }
        for name in names
    ]
    return {
        "output": Tex(tex_name(out)),
        "function": Tex(f"{tex_name(out)}({', '.join(p.variables)}) = {tex.expr(out)[0]}"),
        # a gather* body: four definitions a row
        "definitions": Tex(
            r"\\".join(
                r",\qquad ".join(f"{tex_name(n.name)} = {tex.definition(n)}" for n in row)
                for row in _even_parts(p.nodes, 4, even=False)
            )
        ),
        "point": Tex(r",\ ".join(f"{v} = {tex_frac(p.point[v])}" for v in p.variables)),
        "partial_names": [Tex(_tex_partial(out, v)) for v in p.variables],
        "graph": _graph(p, tex),
        # the answer table, in parts of at most 8 columns of even width
        "row_parts": [_table_part(part) for part in _even_parts(rows, _TABLE_COLUMNS)],
        # the key's align* bodies
        "forward": Tex(
            r"\\".join(
                f"{tex_name(n.name)} &= "
                + _equalities(tex.definition(n), _substituted(n, values), tex_frac(values[n.name]))
                for n in p.nodes
            )
        ),
        "locals": Tex(
            r"\\".join(
                ", & ".join(row)
                for row in _even_parts(
                    [_local_line(n, arg, values) for n in p.nodes for arg in n.args], 3, even=False
                )
            )
        ),
        "backward": Tex(
            r"\\".join(
                _backward_line(p, name, trace.adjoint_terms[name], adjoints[name])
                for name in [*(n.name for n in reversed(p.nodes)), *p.variables]
            )
        ),
        "partials": partials,
        "derivations": Tex(r"\\[6pt]".join(_derivation(part) for part in partials)),
    }


_TABLE_COLUMNS = 8


def _table_part(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One part of the answer table: its columns, and its rows of math as ``& cell`` runs
    (the sheet shows only the variables' values and leaves the adjoints blank)."""

    def cells(texts: Sequence[str]) -> Tex:
        return Tex("".join(f" & {text}" for text in texts))

    return {
        "columns": rows,
        "name_cells": cells([f"${r['name']}$" for r in rows]),
        "value_cells": cells([f"${r['value']}$" for r in rows]),
        "given_value_cells": cells([f"${r['value']}$" if r["is_variable"] else "" for r in rows]),
        "adjoint_cells": cells([f"${r['adjoint']}$" for r in rows]),
        "blank_cells": cells([""] * len(rows)),
    }


def _even_parts(items: Sequence[Any], most: int, *, even: bool = True) -> list[list[Any]]:
    """``items`` in the fewest parts of at most ``most``, as even as possible (or, not
    ``even``, all of ``most`` items but the last)."""
    parts = -(-len(items) // most)
    size = -(-len(items) // parts) if even else most
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _tex_number(x: Fraction, *, paren_negative: bool = True, paren_fraction: bool = False) -> str:
    text = tex_frac(x)
    if (paren_negative and x < 0) or (paren_fraction and x.denominator != 1):
        return rf"\left({text}\right)"
    return text


def _substituted(node: NodeSpec, values: Mapping[str, Fraction]) -> str:
    r"""The node's definition with its arguments' values: ``1 \cdot 2``, ``3^{2}``."""
    a = [values[arg] for arg in node.args]
    if node.op in ("add", "sub"):
        sign = "+" if node.op == "add" else "-"
        return f"{_tex_number(a[0], paren_negative=False)} {sign} {_tex_number(a[1])}"
    if node.op == "mul":
        return rf"{_tex_number(a[0], paren_negative=False)} \cdot {_tex_number(a[1])}"
    if node.op == "square":
        return _tex_number(a[0], paren_fraction=True) + "^{2}"
    if node.op == "neg":
        return "-" + _tex_number(a[0])
    assert node.const is not None
    return rf"{tex_frac(node.const)} \cdot {_tex_number(a[0])}"


def _local_tex(child: NodeSpec, arg: str) -> str:
    """∂child/∂arg symbolically: ``1``, ``-1``, ``y``, ``2 c``, ``\frac{1}{2}``."""
    c, factor = local_rule(child, arg)
    if factor is None:
        return tex_frac(c)
    name = tex_name(factor)
    if c == 1:
        return name
    if c == -1:
        return "-" + name
    return f"{tex_frac(c)} {name}"


def _local_line(child: NodeSpec, arg: str, values: Mapping[str, Fraction]) -> str:
    """``∂child/∂arg &= symbolic`` (``= value`` when it depends on a value)."""
    c, factor = local_rule(child, arg)
    symbolic = _local_tex(child, arg)
    value = [] if factor is None else [tex_frac(c * values[factor])]
    return f"{_tex_partial(child.name, arg)} &= {_equalities(symbolic, *value)}"


def _equalities(*texts: str) -> str:
    """``a = b = c`` without saying the same thing twice in a row (``-y = -2 = -2``)."""
    kept = [t for i, t in enumerate(texts) if i == 0 or t != texts[i - 1]]
    return " = ".join(kept)


def _backward_line(
    p: ChainRuleParams, name: str, terms: Sequence[tuple[str, Fraction, Fraction]], total: Fraction
) -> str:
    """The adjoint of ``name``: the sum over its children, symbolic, then with numbers."""
    lhs = _tex_bar(name)
    if name in p.variables:
        lhs = f"{_tex_partial(p.output, name)} = {lhs}"
    value = tex_frac(total)
    if not terms:
        return f"{lhs} &= {value}"
    symbolic = [rf"{_tex_bar(c)}\,{_tex_partial(c, name)}" for c, _, _ in terms]
    numeric = [rf"{_tex_number(a)} \cdot {_tex_number(loc)}" for _, a, loc in terms]
    if len(terms) == 1:
        return f"{lhs} &= {_equalities(symbolic[0], numeric[0], value)}"
    return f"{lhs} &= {' + '.join(symbolic)}\\\\\n&= {' + '.join(numeric)} = {value}"


def _partial_view(
    p: ChainRuleParams, tex: _Printer, var: str, terms: Sequence[PathTerm], total: Fraction
) -> dict[str, Any]:
    edges = [list(zip(t.path, t.path[1:], strict=False)) for t in terms]
    chains = [r" \cdot ".join(_tex_partial(c, a) for c, a in path) for path in edges]
    locals_ = [
        r" \cdot ".join(_paren_local(_local_tex(p.node(c), a)) for c, a in path) for path in edges
    ]
    sizes = [len(path) for path in edges]
    signed = tex.signed_terms(terms)
    return {
        "name": Tex(_tex_partial(p.output, var)),
        "chain_lines": _tex_lines(chains, sizes, _FRACTIONS_PER_LINE, "+ "),
        "local_lines": _tex_lines(locals_, [len(s) for s in locals_], _CHARS_PER_LINE, "+ "),
        "formula_lines": _tex_lines(signed, [len(s) for s in signed], _CHARS_PER_LINE, ""),
        "value": Tex(tex_frac(total)),
    }


def _derivation(part: Mapping[str, Any]) -> str:
    """A partial derivative's lines: the chain of ∂-fractions, the local derivatives, the
    formula, the value (continuation lines indented)."""
    lines = []
    for key in ("chain_lines", "local_lines", "formula_lines"):
        lhs = part["name"] if key == "chain_lines" else ""
        lines.append(f"{lhs} &= {part[key][0]}".lstrip())
        lines += [rf"&\quad {line}" for line in part[key][1:]]
    lines.append(f"&= {part['value']}")
    return "\\\\\n".join(lines)


def _paren_local(text: str) -> str:
    """A local derivative as a factor of a product: ``(-1)``, ``(-c)`` in parentheses."""
    return f"({text})" if text.startswith("-") else text


def _tex_lines(pieces: Sequence[str], sizes: Sequence[int], budget: int, joiner: str) -> list[Any]:
    return [Tex(line) for line in _lines(pieces, sizes, budget, joiner)]


def _lines(pieces: Sequence[str], sizes: Sequence[int], budget: int, joiner: str) -> list[str]:
    """Pieces of a sum broken into display lines of at most ``budget`` (at least one piece
    per line); continuation lines start with ``joiner`` (or the piece's own sign)."""
    lines: list[list[str]] = [[]]
    used = 0
    for piece, size in zip(pieces, sizes, strict=True):
        if lines[-1] and used + size > budget:
            lines.append([])
            used = 0
        lines[-1].append(piece)
        used += size
    sep = f" {joiner}" if joiner else " "
    text = [sep.join(line) for line in lines]
    return [text[0], *(joiner + t for t in text[1:])]


def _graph(p: ChainRuleParams, tex: _Printer) -> Tex:
    """The graph's picture (:mod:`grader.exercises.chain_rule.graph_layout`) for the sheet's
    drawing macros (``templates/chain_rule/sheet.tex.j2``): edges and node borders as ready
    PDF operators (``\\crpaths``) with the box TikZ would give them (``\\crbox``), then the
    names and the labels, which TeX sets and puts where TikZ's nodes put their text (in
    sp).  It draws what :func:`tikz_graph` draws with :data:`TIKZ_STYLES` (the tests compare
    them as images) without TikZ's parser, shapes and arrow tips."""
    drawing, labels = _layout(p, tex)
    edges = [(arg, n.name) for n in p.nodes for arg in n.args]
    # PGF's shapes draw the nodes whose border depends on their text: a name of several
    # characters may widen its circle (one letter always fits 7 mm: tested); a scaled
    # square's corners move with its letter's size by TeX's rounding (TikZ scales the
    # square around the text's centre, not around the node's)
    by_tex = {
        name
        for name in drawing.nodes
        if len(name) > 1 or (drawing.scale < 1 and name in p.variables)
    }
    borders = {
        name: SQUARE if name in p.variables else DOUBLE if name == p.output else CIRCLE
        for name in drawing.nodes
        if name not in by_tex
    }
    picture = pdf_picture(drawing, edges, borders)
    lines = [] if drawing.scale == 1 else [rf"\crscale{{{drawing.scale:.3f}}}"]
    lines.append(rf"\crpaths{{{picture.operators}}}")
    lines.append(r"\crbox" + "".join(f"{{{v}}}" for v in picture.box))
    for name, (x, y) in picture.centres.items():
        if name in by_tex:
            style = "crvar" if name in p.variables else "crout" if name == p.output else "crop"
            lines.append(rf"\crshape{{{style}}}{{{x}}}{{{y}}}{{{tex_name(name)}}}")
        else:
            lines.append(rf"\crname{{{x}}}{{{y}}}{{{tex_name(name)}}}")
    lines.append(r"\crlabels{%")
    lines += [rf"\crlabel{{{x}}}{{{y}}}{{{labels[n]}}}" for n, (x, y) in picture.label_tops.items()]
    lines.append("}")
    return Tex("\n".join(lines))


def _layout(p: ChainRuleParams, tex: _Printer) -> tuple[Drawing, dict[str, str]]:
    """The graph's drawing, each node's definition as a label under it."""
    labels = {n.name: tex.definition(n) for n in p.nodes}
    return layout(p.variables, [(n.name, n.args) for n in p.nodes], labels), labels


# What the sheet's picture looks like: the TikZ styles that draw :func:`tikz_graph`, the
# reference the sheet's cheaper drawing is compared with (sizes the layout counts on: 7 mm
# nodes, labels hanging from their top centre).
TIKZ_STYLES = r"""crop/.style={draw, circle, minimum size=7mm, inner sep=1pt, fill=white},
    crout/.style={crop, double},
    crvar/.style={draw, rounded corners, minimum size=7mm, inner sep=2pt, fill=black!5},
    crlab/.style={font=\scriptsize, text=black!60, anchor=north},
    crarrow/.style={-{Stealth}},"""


def tikz_graph(p: ChainRuleParams) -> str:
    """The graph's picture as a TikZ picture in plain coordinates, with
    :data:`TIKZ_STYLES`: edges first, so that the filled nodes cover nothing of them, then
    the nodes, then each node's definition as a label under it (the order the sheet's
    drawing puts its text in: pdfTeX rounds where text goes by the way it got there)."""
    drawing, labels = _layout(p, _Printer(p, tex=True))
    lines = [
        rf"  \draw[crarrow] {tikz_path(drawing.edges[(arg, n.name)])};"
        for n in p.nodes
        for arg in n.args
    ]
    for name, box in drawing.nodes.items():
        style = "crvar" if name in p.variables else "crout" if name == p.output else "crop"
        lines.append(
            rf"  \node[{style}] (cr{name}) at ({box.x:.3f},{box.y:.3f}) {{${tex_name(name)}$}};"
        )
    for name, box in drawing.nodes.items():
        if box.label_at is not None:
            lx, ly = box.label_at
            lines.append(rf"  \node[crlab] at ({lx:.3f},{ly:.3f}) {{${labels[name]}$}};")
    if drawing.scale < 1:  # a graph too deep for the text width, shrunk as a whole
        lines = [
            rf"\begin{{scope}}[scale={drawing.scale:.3f}, transform shape]",
            *lines,
            r"\end{scope}",
        ]
    body = "\n".join(lines)
    return f"\\begin{{tikzpicture}}[\n    {TIKZ_STYLES}\n  ]\n{body}\n\\end{{tikzpicture}}"


# ------------------------------------------------------------ the answer page's given data

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def given_data(p: ChainRuleParams, words: Mapping[str, Any]) -> GivenData:
    """The function, its graph's nodes and the point, as the sheet prints them (``words``:
    the ``given_data:`` words of this family in the page's language)."""
    variables = ", ".join(p.variables)
    function = plain_math(function_text(p, tex=True))
    definitions = ",  ".join(f"{node.name} = {_node_definition(node)}" for node in p.nodes)
    point = ",  ".join(f"{v} = {num(p.point[v])}" for v in p.variables)
    return GivenData(
        [
            GivenLine(words["function"], f"{p.output}({variables}) = {function}"),
            GivenLine(words["nodes"], definitions),
            GivenLine(words["point"], point),
        ]
    )


def plain_math(tex: str) -> str:
    """The sheet's TeX of a chain-rule function in plain text, as the sheet reads:
    ``(x y)^{2} x y + \\frac{1}{2} y`` → ``(xy)²xy + (1/2)y`` (juxtaposition is a product;
    the variables are single letters, so it reads as on the sheet and as the grader reads it)."""
    text = re.sub(r"\\frac\{([0-9]+)\}\{([0-9]+)\}", r"(\1/\2)", tex)
    text = text.replace(r" \cdot ", "·")
    text = re.sub(r"\^\{([0-9]+)\}", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    return re.sub(r"(?<=[^\s+\-]) (?=[^\s+\-])", "", text)


def _node_definition(node: NodeSpec) -> str:
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
    const = node.const  # scale: a non-zero factor (the model checks it)
    if const is None:
        raise ValueError(f"node {node.name!r}: scale needs a const")
    factor = num(const) if const.denominator == 1 else f"({num(const)})"
    return f"{factor}·{a[0]}"
