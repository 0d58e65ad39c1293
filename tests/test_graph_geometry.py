"""The chain-rule drawing's geometry, measured as TeX draws it (issue 18, item 1).

1 000 graphs (drawn variants of both variant-search versions, and stress graphs with the
most variables and nodes the family allows, wide names and fraction constants): from each
graph's TikZ code (``view.tikz_graph``, what the sheet's drawing draws, see
test_pdf_one_run) we read where every node and label is put and every edge's path; TeX
measures each distinct node and label (one run for all of them: a node's extent around
the point it is put at, as TikZ draws it), and sampled points of every edge must stay
out of every other node, out of every label, and out of their own nodes but at their
ends.  Edges of one node must leave (and arrive) apart, and no two boxes may overlap.
Nothing here uses the layout's own idea of sizes.
"""

from __future__ import annotations

import random
import re
import string
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from grader.exercises.chain_rule import EXERCISE
from grader.exercises.chain_rule.params import ChainRuleParams
from grader.exercises.chain_rule.view import TIKZ_STYLES, tikz_graph

PT_PER_CM = 72.27 / 2.54
CLEARANCE = 0.5 / PT_PER_CM  # cm: an edge keeps at least half a point from any box
TEXT_WIDTH = 17.0  # cm: a4paper with 2 cm margins
MIN_PORT_DISTANCE = 0.05  # cm between two edges where they leave or enter one node (11 of x)

_NODE = re.compile(r"\\node\[(cr\w+)\](?: \((cr\w+)\))? at \((-?[\d.]+),(-?[\d.]+)\) \{\$(.*)\$\};")
_DRAW = re.compile(r"\\draw\[crarrow\] (.*);")
_POINT = re.compile(r"\((-?[\d.]+),(-?[\d.]+)\)")


# ------------------------------------------------------------ the 1 000 graphs


def _drawn(count: int) -> list[ChainRuleParams]:
    """Variants the family draws (version 1's search draws these, version 2 keeps the
    textbook-like ones among them)."""
    rng = random.Random(20261204)
    out = []
    while len(out) < count:
        try:
            p = EXERCISE.sample(rng, {})
        except ValueError:
            continue
        assert isinstance(p, ChainRuleParams)
        out.append(p)
    return out


_CONSTS = [Fraction(2), Fraction(-3), Fraction(1, 2), Fraction(-7, 3), Fraction(-999, 1000)]


def _stress(count: int) -> list[ChainRuleParams]:
    """Graphs at the family's limits: 3 variables, 12 nodes, two-digit names, fraction
    constants (the validator decides what is allowed)."""
    rng = random.Random(18)
    out: list[ChainRuleParams] = []
    ops = ["add", "sub", "mul", "square", "neg", "scale"]
    while len(out) < count:
        variables = ["x", "y", "z"]
        names = [f"h{i}" if i % 3 else chr(ord("a") + i) for i in range(11)] + ["h99"]
        nodes, unused, available = [], list(variables), list(variables)
        for name in names[:-1]:
            op = rng.choice(ops)
            k = 2 if op in ("add", "sub", "mul") else 1
            pool = unused if len(unused) >= k and rng.random() < 0.7 else available
            args = rng.sample(pool, k)
            const = str(rng.choice(_CONSTS)) if op == "scale" else None
            nodes.append({"name": name, "op": op, "args": args, "const": const})
            unused = [u for u in unused if u not in args] + [name]
            available.append(name)
        if len(unused) > 2:
            continue
        args = unused if len(unused) == 2 else [unused[0], rng.choice(available[:-1])]
        nodes.append({"name": names[-1], "op": rng.choice(["add", "mul"]), "args": args})
        try:
            out.append(
                ChainRuleParams.model_validate(
                    {"variables": variables, "nodes": nodes, "point": dict.fromkeys(variables, 1)}
                )
            )
        except ValueError:
            continue
    return out


def _chain() -> ChainRuleParams:
    """The deepest graph: 12 nodes in a row, each also taking a variable (long edges)."""
    nodes = [{"name": "a", "op": "add", "args": ["x", "y"]}]
    for i, name in enumerate("bcdghkmnpqr"):
        nodes.append(
            {
                "name": name,
                "op": "mul" if i % 2 else "add",
                "args": [nodes[-1]["name"], "xy"[i % 2]],
            }
        )
    return ChainRuleParams.model_validate(
        {"variables": ["x", "y"], "nodes": nodes, "point": {"x": 1, "y": 1}}
    )


def _graphs() -> list[ChainRuleParams]:
    return [_chain(), *_stress(149), *_drawn(850)]


def _tikz(p: ChainRuleParams) -> str:
    return tikz_graph(p)


# ------------------------------------------------------------ TeX's measurements


def _measure(kinds: list[tuple[str, str]], tmp: Path) -> dict[tuple[str, str], tuple[float, ...]]:
    """(west, east, south, north) in cm around the point each (style, math) node is put at,
    the border's ink included, from one pdflatex run."""
    body = "\n".join(
        rf"\measure{{{style}}}{{{text}}}{{{i}}}" for i, (style, text) in enumerate(kinds)
    )
    doc = (
        r"""\documentclass{article}
\usepackage{amsmath,tikz}
\usetikzlibrary{arrows.meta}
\makeatletter
\newcommand{\measure}[3]{\begin{tikzpicture}[STYLES]
  \node[#1] (m) at (0,0) {$#2$};
  \pgfpointanchor{m}{west}\xdef\W{\the\pgf@x}\pgfpointanchor{m}{east}\xdef\E{\the\pgf@x}
  \pgfpointanchor{m}{south}\xdef\S{\the\pgf@y}\pgfpointanchor{m}{north}\xdef\N{\the\pgf@y}
  \typeout{BOX #3 \W\space\E\space\S\space\N\space\the\pgflinewidth}
\end{tikzpicture}}
\makeatother
\begin{document}
""".replace("STYLES", TIKZ_STYLES)
        + body
        + "\n\\end{document}\n"
    )
    (tmp / "measure.tex").write_text(doc, "utf-8")
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "measure.tex"],
        cwd=tmp,
        capture_output=True,
        timeout=300,
        check=True,
    )
    log = (tmp / "measure.log").read_text("latin-1")
    boxes: dict[tuple[str, str], tuple[float, ...]] = {}
    for m in re.finditer(r"BOX (\d+) (\S+)pt (\S+)pt (\S+)pt (\S+)pt (\S+)pt", log):
        w, e, s, n, line = (float(v) for v in m.groups()[1:])
        style, _ = kinds[int(m.group(1))]
        # anchors lie half a line outside the path, where a single border's ink ends; a
        # double border (two lines 0.6 pt apart) reaches half a line and 0.3 pt further
        out = line / 2 + 0.3 if style == "crout" else 0.0
        boxes[kinds[int(m.group(1))]] = tuple(
            v / PT_PER_CM for v in (w - out, e + out, s - out, n + out)
        )
    assert len(boxes) == len(kinds), "TeX measured fewer boxes than asked"
    return boxes


# ------------------------------------------------------------ sampling edges


def _samples(path: str) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """Points along the drawn path, about 0.2 mm apart, and its two ends."""
    tokens = re.findall(r"--|\.\. controls|and|\.\.|\((?:-?[\d.]+),(?:-?[\d.]+)\)", path)
    points = [tuple(map(float, _POINT.match(t).groups())) for t in tokens if t.startswith("(")]  # type: ignore[union-attr]
    ops = [t for t in tokens if not t.startswith("(")]
    out = [np.array([points[0]])]
    here, i, j = np.array(points[0]), 1, 0
    while j < len(ops):
        if ops[j] == "--":
            end = np.array(points[i])
            n = max(2, int(np.linalg.norm(end - here) / 0.02) + 1)
            out.append(here + np.linspace(0, 1, n)[:, None] * (end - here))
            here, i, j = end, i + 1, j + 1
        else:  # ".. controls", "and", ".."
            c1, c2, end = (np.array(points[i + k]) for k in range(3))
            t = np.linspace(0, 1, 200)[:, None]
            out.append(
                (1 - t) ** 3 * here
                + 3 * (1 - t) ** 2 * t * c1
                + 3 * (1 - t) * t**2 * c2
                + t**3 * end
            )
            here, i, j = end, i + 3, j + 3
    return np.concatenate(out), points[0], points[-1]


def _inside(points: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    w, e, s, n = box
    return (
        (points[:, 0] > w - CLEARANCE)
        & (points[:, 0] < e + CLEARANCE)
        & (points[:, 1] > s - CLEARANCE)
        & (points[:, 1] < n + CLEARANCE)
    )


# ------------------------------------------------------------ the test


@pytest.mark.tex
def test_no_edge_runs_through_a_node_or_label_on_1000_graphs(require_tex, tmp_path) -> None:
    graphs = _graphs()
    assert len(graphs) == 1000
    assert max(len(p.nodes) for p in graphs) == 12 and max(len(p.variables) for p in graphs) == 3
    pictures, tikz = [], [_tikz(p) for p in graphs]
    for p, code in zip(graphs, tikz, strict=True):
        nodes = [m.groups() for m in _NODE.finditer(code)]
        assert len(nodes) == len(p.variables) + 2 * len(p.nodes), code
        draws = _DRAW.findall(code)
        assert len(draws) == sum(len(n.args) for n in p.nodes)
        pictures.append((p, nodes, draws))
    kinds = sorted({(style, text) for _, nodes, _ in pictures for style, _, _, _, text in nodes})
    size = _measure(kinds, tmp_path)

    problems: list[str] = []
    for number, (p, nodes, draws) in enumerate(pictures):
        boxes: list[tuple[str, tuple[float, float, float, float]]] = []
        for style, name, x, y, text in nodes:
            w, e, s, n = size[(style, text)]
            what = name[2:] if name else f"label {text}"
            boxes.append((what, (float(x) + w, float(x) + e, float(y) + s, float(y) + n)))
        where = f"graph {number} ({[(n.name, n.op, n.args) for n in p.nodes]})"
        lefts = [b[0] for _, b in boxes]
        rights = [b[1] for _, b in boxes]
        # a too deep graph is scaled as a whole (text too): the geometry is the same
        scale = re.search(r"\\begin\{scope\}\[scale=([\d.]+), transform shape\]", tikz[number])
        width = (max(rights) - min(lefts)) * (float(scale.group(1)) if scale else 1.0)
        if width > TEXT_WIDTH:
            problems.append(f"{where}: {width:.2f} cm wide")
        for i, (a, box_a) in enumerate(boxes):
            for b, box_b in boxes[i + 1 :]:
                if (
                    box_a[0] < box_b[1]
                    and box_b[0] < box_a[1]
                    and box_a[2] < box_b[3]
                    and box_b[2] < box_a[3]
                ):
                    problems.append(f"{where}: {a} overlaps {b}")
        starts: dict[str, list[tuple[float, float]]] = {}
        ends: dict[str, list[tuple[float, float]]] = {}
        edges = [(arg, n.name) for n in p.nodes for arg in n.args]
        for (src, dst), path in zip(edges, draws, strict=True):
            points, start, end = _samples(path)
            starts.setdefault(src, []).append(start)
            ends.setdefault(dst, []).append(end)
            for what, box in boxes:
                hit = _inside(points, box)
                if what in (src, dst):
                    # its own node: touched at the end only (the first / last millimetre)
                    centre = np.array([(box[0] + box[1]) / 2, (box[2] + box[3]) / 2])
                    far = np.linalg.norm(points - (start if what == src else end), axis=1) > 0.1
                    radius = (box[1] - box[0]) / 2 - CLEARANCE
                    hit = far & (np.linalg.norm(points - centre, axis=1) < radius)
                if hit.any():
                    problems.append(f"{where}: edge {src}→{dst} runs through {what}")
        for name, group in [*starts.items(), *ends.items()]:
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    if np.hypot(a[0] - b[0], a[1] - b[1]) < MIN_PORT_DISTANCE:
                        problems.append(f"{where}: two edges of {name} meet at {a}")
    assert problems == [], "\n".join(problems[:20])


@pytest.mark.tex
def test_any_one_letter_name_keeps_its_node_at_7_mm(require_tex, tmp_path) -> None:
    """The sheet draws the circle or square of a one-letter node at the minimum size without
    TeX measuring the letter (``graph_layout.pdf_picture``; longer names go to PGF's shapes,
    which may grow): TikZ's shapes around every letter are exactly that size."""
    kinds = [(style, letter) for style in ("crop", "crvar") for letter in string.ascii_letters]
    size = _measure(kinds, tmp_path)
    side = 0.7 + 2 * 0.2 / PT_PER_CM  # 7 mm, and the outer sep (half a 0.4 pt line) each side
    for kind, (w, e, s, n) in size.items():
        assert (e - w, n - s) == pytest.approx((side, side), abs=1e-5), kind
