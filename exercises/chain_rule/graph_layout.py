"""A layered (Sugiyama-style) drawing of a small directed acyclic graph, in plain numbers.

Inputs sit in the leftmost column, every other node one column right of its furthest
argument; an edge that skips columns passes each one through a *waypoint* (a dummy slot of
that column).  Within columns the order comes from barycentre sweeps that keep the order
with the fewest crossings; heights come from least-squares placement under the minimum
gaps (pool adjacent violators).

Why no edge can run through a node or a label: a node's label hangs under it inside the
node's own slot, and slots of a column never overlap vertically.  Each edge leaves its
source horizontally at a *port* inside the node's height (above the label), runs straight
to the edge of the source's column, crosses the empty gap between two columns on a cubic
curve with horizontal tangents (which stays within its end points' box, so inside the
gap), crosses a skipped column straight at its waypoint's height, and enters the target
horizontally at a port of its own.  Edges of one node get distinct ports, so they leave
(and arrive) apart.

Everything is in centimetres, computed in Python (other outputs can reuse the same
drawing).  Sizes of labels are generous estimates (:func:`label_size`): the geometry test
measures the real boxes with TeX.  The sheet gets the drawing's lines and borders as PDF
operators (:func:`pdf_picture`), the numbers TikZ would write for it, so that TeX only sets
the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

NODE_RADIUS = 0.35  # cm: nodes are drawn 7 mm wide (minimum size=7mm)
PORT_SPREAD = 0.27  # cm: ports of one node lie within ±this of its centre height
LABEL_DROP = 0.04  # cm between a node's border and the top of its label
SLOT_GAP = 0.3  # cm between two slots of a column
WAYPOINT_HALF = 0.06  # cm: half the height a waypoint takes in its column
COLUMN_MARGIN = 0.12  # cm between a column's widest box and where curves start
MIN_GAP_X, GAP_X = 0.45, 1.0  # cm between two columns: at least, and when room allows
MAX_WIDTH = 16.0  # cm: the widest drawing that fits the text width (wider ones are scaled)
SWEEPS = 12  # barycentre sweeps (each down and up) of the crossing reduction


@dataclass(frozen=True)
class Box:
    """A node's drawing: centre ``(x, y)``; its label (if any) hangs under it,
    ``label_at`` being the label's top centre."""

    x: float
    y: float
    label_at: tuple[float, float] | None


@dataclass(frozen=True)
class EdgePath:
    """An edge as a start point and pieces: ``("line", (x, y))`` or
    ``("curve", (c1, c2, end))`` (a cubic Bézier), in drawing order."""

    start: tuple[float, float]
    pieces: tuple[tuple[str, tuple[tuple[float, float], ...]], ...]


@dataclass(frozen=True)
class Drawing:
    """Nodes and edges; ``scale`` (at most 1) shrinks a drawing wider than ``MAX_WIDTH``
    as a whole, text included (TikZ: ``scale``, ``transform shape``)."""

    nodes: dict[str, Box]
    edges: dict[tuple[str, str], EdgePath]
    scale: float


_TEX_COMMAND = re.compile(r"\\[A-Za-z]+")


def label_size(tex: str) -> tuple[float, float]:
    """A generous (width, height) in cm of a label set in \\scriptsize math, inner sep
    included: about 0.16 cm a symbol, 0.2 cm more around a binary operator, taller with
    a fraction."""
    operators = len(re.findall(r"(?<![{^_])[+\-=]|\\cdot", tex))
    fractions = tex.count(r"\frac")
    body = _TEX_COMMAND.sub("", tex.replace(r"\cdot", "*"))
    symbols = sum(1 for ch in body if ch not in "{}^_ ")
    width = 0.25 + 0.16 * symbols + 0.2 * operators - 0.08 * fractions * 2
    return max(width, 0.3), 0.45 + 0.3 * min(fractions, 1)


@dataclass
class _Slot:
    name: str  # a node, or "edge:<source>><target>:<column>" for a waypoint
    up: float  # extent above the centre
    down: float  # extent below the centre (the label included)
    half_width: float
    real: bool


def layout(
    inputs: Sequence[str],
    nodes: Sequence[tuple[str, Sequence[str]]],
    labels: Mapping[str, str],
) -> Drawing:
    """Draw ``inputs`` (squares) and ``nodes`` (circles; name, argument names, in
    evaluation order); a node named in ``labels`` gets that TeX label under it."""
    column = dict.fromkeys(inputs, 0)
    for name, args in nodes:
        column[name] = 1 + max(column[a] for a in args)
    edges = [(a, name) for name, args in nodes for a in args]
    columns = max(column.values()) + 1

    # slots per column: nodes, then a waypoint for every column an edge skips
    slots: list[list[_Slot]] = [[] for _ in range(columns)]
    for name in [*inputs, *(n for n, _ in nodes)]:
        down, width = NODE_RADIUS, NODE_RADIUS
        if name in labels:
            w, h = label_size(labels[name])
            down, width = NODE_RADIUS + LABEL_DROP + h, max(width, w / 2)
        slots[column[name]].append(_Slot(name, NODE_RADIUS, down, width, True))
    chains: dict[tuple[str, str], list[str]] = {}
    for a, b in edges:
        chain = [a]
        for c in range(column[a] + 1, column[b]):
            way = f"edge:{a}>{b}:{c}"
            slots[c].append(_Slot(way, WAYPOINT_HALF, WAYPOINT_HALF, 0.0, False))
            chain.append(way)
        chains[(a, b)] = [*chain, b]
    order = _order(slots, chains)
    y = _heights(order, chains)
    half = [max([s.half_width for s in col], default=0.0) + COLUMN_MARGIN for col in order]
    x = _columns_x(half)
    where = {s.name: c for c, col in enumerate(order) for s in col}

    boxes: dict[str, Box] = {}
    for col in order:
        for s in col:
            if s.real:
                cx, cy = x[where[s.name]], y[s.name]
                label = (cx, cy - NODE_RADIUS - LABEL_DROP) if s.name in labels else None
                boxes[s.name] = Box(round(cx, 3), round(cy, 3), _rounded(label))

    out_port = _ports(chains, y, lambda chain: (chain[0], chain[1]))
    in_port = _ports(chains, y, lambda chain: (chain[-1], chain[-2]))
    paths = {}
    for edge, chain in chains.items():
        paths[edge] = _edge_path(
            chain, out_port[edge], in_port[edge], x, y, half, where, frozenset(inputs)
        )
    width = x[-1] + half[-1] - (x[0] - half[0])
    return Drawing(boxes, paths, 1.0 if width <= MAX_WIDTH else round(MAX_WIDTH / width, 3) - 0.001)


def _rounded(point: tuple[float, float] | None) -> tuple[float, float] | None:
    return None if point is None else (round(point[0], 3), round(point[1], 3))


# ------------------------------------------------------------ order within columns


def _order(
    slots: list[list[_Slot]], chains: Mapping[tuple[str, str], list[str]]
) -> list[list[_Slot]]:
    """The column orders with the fewest crossings barycentre sweeps found."""
    left: dict[str, list[str]] = {}  # slot -> its neighbours one column to the left
    right: dict[str, list[str]] = {}
    for chain in chains.values():
        for u, v in zip(chain, chain[1:], strict=False):
            right.setdefault(u, []).append(v)
            left.setdefault(v, []).append(u)
    order = [list(col) for col in slots]
    best, best_crossings = [list(col) for col in order], _crossings(order, right)
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        indices = range(1, len(order)) if forward else range(len(order) - 2, -1, -1)
        for c in indices:
            fixed = order[c - 1] if forward else order[c + 1]
            order[c] = _by_barycentre(order[c], fixed, left if forward else right)
        crossings = _crossings(order, right)
        if crossings < best_crossings:
            best, best_crossings = [list(col) for col in order], crossings
    return best


def _by_barycentre(
    col: list[_Slot], fixed: list[_Slot], near: Mapping[str, list[str]]
) -> list[_Slot]:
    """``col`` sorted by the mean rank of its neighbours in the column ``fixed`` (a slot
    without any keeps its place; ties keep the present order)."""
    rank = {s.name: i for i, s in enumerate(fixed)}

    def barycentre(item: tuple[int, _Slot]) -> tuple[float, int]:
        i, s = item
        ranks = [rank[n] for n in near.get(s.name, ()) if n in rank]
        return (sum(ranks) / len(ranks) if ranks else float(i), i)

    return [s for _, s in sorted(enumerate(col), key=barycentre)]


def _crossings(order: list[list[_Slot]], right: Mapping[str, list[str]]) -> int:
    total = 0
    for c in range(len(order) - 1):
        rank = {s.name: i for i, s in enumerate(order[c + 1])}
        pairs = [
            (i, rank[v]) for i, s in enumerate(order[c]) for v in right.get(s.name, ()) if v in rank
        ]
        total += sum(1 for a, b in pairs for p, q in pairs if a < p and b > q)
    return total


# ------------------------------------------------------------ heights


def _heights(
    order: list[list[_Slot]], chains: Mapping[tuple[str, str], list[str]]
) -> dict[str, float]:
    """Centre heights: each slot near the mean height of its neighbours, columns kept in
    order with their gaps (alternating sweeps of least-squares placement)."""
    neighbours: dict[str, list[str]] = {}
    for chain in chains.values():
        for u, v in zip(chain, chain[1:], strict=False):
            neighbours.setdefault(u, []).append(v)
            neighbours.setdefault(v, []).append(u)
    y: dict[str, float] = {}
    for col in order:
        y.update(zip((s.name for s in col), _place(col, [0.0] * len(col)), strict=True))
    for sweep in range(8):
        columns = order if sweep % 2 == 0 else order[::-1]
        for col in columns:
            wanted = []
            for s in col:
                near = [y[n] for n in neighbours.get(s.name, ())]
                wanted.append(sum(near) / len(near) if near else y[s.name])
            y.update(zip((s.name for s in col), _place(col, wanted), strict=True))
    middle = (max(y.values()) + min(y.values())) / 2
    return {name: value - middle for name, value in y.items()}


def _place(col: Sequence[_Slot], wanted: Sequence[float]) -> list[float]:
    """Heights closest (least squares) to ``wanted`` with every slot below the one before
    it by at least their extents and a gap: with offsets ``s_i`` (the gaps summed),
    ``y_i + s_i`` must not increase, a pool-adjacent-violators fit."""
    offsets = [0.0]
    for upper, lower in zip(col, col[1:], strict=False):
        offsets.append(offsets[-1] + upper.down + SLOT_GAP + lower.up)
    target = [w + s for w, s in zip(wanted, offsets, strict=True)]
    blocks: list[list[float]] = []  # [mean, count]
    for t in target:
        blocks.append([t, 1.0])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:  # must not increase
            mean2, n2 = blocks.pop()
            mean1, n1 = blocks.pop()
            blocks.append([(mean1 * n1 + mean2 * n2) / (n1 + n2), n1 + n2])
    fitted = [mean for mean, n in blocks for _ in range(int(n))]
    return [f - s for f, s in zip(fitted, offsets, strict=True)]


# ------------------------------------------------------------ columns, ports, edges


def _columns_x(half: Sequence[float]) -> list[float]:
    """Column centres: widest boxes apart by ``GAP_X``, less (not below ``MIN_GAP_X``)
    when the drawing would be wider than ``MAX_WIDTH``."""
    boxes = 2 * sum(half)
    gaps = max(len(half) - 1, 1)
    gap = max(MIN_GAP_X, min(GAP_X, (MAX_WIDTH - boxes) / gaps))
    x = [half[0]]
    for before, after in zip(half, half[1:], strict=False):
        x.append(x[-1] + before + gap + after)
    return x


def _ports(
    chains: Mapping[tuple[str, str], list[str]],
    y: Mapping[str, float],
    ends: Callable[[list[str]], tuple[str, str]],
) -> dict[tuple[str, str], float]:
    """Each edge's port offset at one of its end nodes (``ends(chain)`` = (the node, the
    next slot along the edge)): a node's edges get distinct offsets, ordered by the
    height of where they go, so they do not cross at the node."""
    at: dict[str, list[tuple[float, tuple[str, str]]]] = {}
    for edge, chain in chains.items():
        node, toward = ends(chain)
        at.setdefault(node, []).append((y[toward], edge))
    offsets: dict[tuple[str, str], float] = {}
    for group in at.values():
        group.sort(key=lambda item: (-item[0], item[1]))
        k = len(group)
        step = 0.0 if k == 1 else min(0.16, 2 * PORT_SPREAD / (k - 1))
        for i, (_, edge) in enumerate(group):
            offsets[edge] = ((k - 1) / 2 - i) * step
    return offsets


def _edge_path(
    chain: Sequence[str],
    out_offset: float,
    in_offset: float,
    x: Sequence[float],
    y: Mapping[str, float],
    half: Sequence[float],
    where: Mapping[str, int],
    squares: frozenset[str],
) -> EdgePath:
    """Straight across columns (ports and waypoints), curved across the gaps between them."""
    first, last = where[chain[0]], where[chain[-1]]
    y0 = y[chain[0]] + out_offset
    start = (_r(x[first] + _border_x(out_offset, chain[0] in squares)), _r(y0))
    pieces: list[tuple[str, tuple[tuple[float, float], ...]]] = []
    here = (x[first] + half[first], y0)
    pieces.append(("line", ((_r(here[0]), _r(here[1])),)))
    for k, name in enumerate(chain[1:], start=1):
        c = where[name]
        target_y = y[name] if k < len(chain) - 1 else y[name] + in_offset
        arrive = (x[c] - half[c], target_y)
        middle = (here[0] + arrive[0]) / 2
        pieces.append(
            (
                "curve",
                tuple((_r(a), _r(b)) for a, b in ((middle, here[1]), (middle, arrive[1]), arrive)),
            )
        )
        if k < len(chain) - 1:
            here = (x[c] + half[c], target_y)
            pieces.append(("line", ((_r(here[0]), _r(here[1])),)))
    end_x = x[last] - _border_x(in_offset, False)  # a target is never an input
    pieces.append(("line", ((_r(end_x), _r(y[chain[-1]] + in_offset)),)))
    return EdgePath(start, tuple(pieces))


def _border_x(offset: float, square: bool) -> float:
    """How far right of a node's centre its border is at ``offset`` above the centre
    (inputs are squares, the other nodes circles)."""
    return NODE_RADIUS if square else (NODE_RADIUS**2 - offset**2) ** 0.5


def _r(v: float) -> float:
    return round(v, 3)


def tikz_path(path: EdgePath) -> str:
    """``(x,y) -- (x,y) .. controls (…) and (…) .. (x,y) …`` of an edge."""

    def point(p: tuple[float, float]) -> str:
        return f"({p[0]:.3f},{p[1]:.3f})"

    out = point(path.start)
    for kind, points in path.pieces:
        if kind == "line":
            out += f" -- {point(points[0])}"
        else:
            out += f" .. controls {point(points[0])} and {point(points[1])} .. {point(points[2])}"
    return out


# ------------------------------------------------------------ the drawing as PDF path operators

# The sheet draws the graph as TikZ would with the styles of ``view.TIKZ_STYLES`` (its
# reference, which the tests compare it with as images), without asking TeX to compute
# anything but its text: the lines and borders come as PDF operators, with the very
# numbers TikZ writes (PGF's steps in TeX's arithmetic, below), so the pages are the same
# to the pixel.  Lengths in sp (TeX's scaled points, 65 536 to the pt).

SQUARE, CIRCLE, DOUBLE = "square", "circle", "double"  # how a node's border is drawn
_CM = 1864679  # sp: TikZ's unit vector, 1 cm
_HALF_NODE = 652637  # sp: half of a node's 7 mm (minimum size), its border's path
_LINE = 26214  # sp: TikZ's line width, 0.4 pt
_DOUBLE_LINE, _DOUBLE_GAP = 91750, 39322  # sp: the output's double line, 2 x 0.4 + 0.6 pt,
# drawn as a white line of the gap's width over a black one of the whole width
_CORNER = 262144  # sp: the squares' rounded corners, 4 pt (not scaled with the drawing)
# arrows.meta's Stealth at 0.4 pt lines (not scaled with the drawing either): the line
# stops _STEALTH_SHORT before the edge's end; the tip, drawn from _STEALTH_LENGTH behind
# the end, is _STEALTH_HALF_WIDTH wide either side (its hull counts for the bounding box)
_STEALTH_SHORT = 201547
_STEALTH_LENGTH = 314571
_STEALTH_HALF_WIDTH = 117964
_STEALTH_TIP = "4.21463 0.0 m 0.64343 1.34572 l 1.8178 0.0 l 0.64343 -1.34572 l h B"


@dataclass(frozen=True)
class PdfPicture:
    """A drawing for the sheet's macros: its lines and borders as PDF operators; the
    bounding box TikZ gives them (``min x, min y, max x, max y``, sp); where each node's
    centre and each label's top centre are (sp, the drawing's scale applied)."""

    operators: str
    box: tuple[int, int, int, int]
    centres: dict[str, tuple[int, int]]
    label_tops: dict[str, tuple[int, int]]


def pdf_picture(
    drawing: Drawing, edges: Sequence[tuple[str, str]], borders: Mapping[str, str]
) -> PdfPicture:
    """``edges`` (in drawing order) with their arrow tips, then the borders of the nodes in
    ``borders`` (``SQUARE``: an input's rounded square, light grey; ``CIRCLE``: a circle
    filled white; ``DOUBLE``: the same circle with a double line), all scaled by the
    drawing's scale as TikZ's ``scale, transform shape`` does (line widths, rounded
    corners and arrow tips keep their size)."""
    scale = _tex_print(_tex_pt(f"{drawing.scale:.3f}"))  # TikZ's factor, as PGF holds it

    def at(point: tuple[float, float]) -> tuple[int, int]:
        """A layout point where TikZ puts ``(x,y)`` (3 decimals, cm)."""
        return _tex_times(scale, _tikz_cm(point[0])), _tex_times(scale, _tikz_cm(point[1]))

    ops: list[str] = []
    box = _Extent()
    for edge in edges:
        path = drawing.edges[edge]
        (last, (end,)), (_, before) = path.pieces[-1], path.pieces[-2]
        if not (last == "line" and end[1] == before[-1][1] and end[0] > before[-1][0]):
            raise ValueError(f"edge {edge} does not end level and rightwards: its tip would turn")
        line = _Extent()  # PGF counts a stroked path's points (before the tip shortens
        # it) and half the line width around them
        ops.append(f"{line.add(at(path.start))} m")
        for kind, points in path.pieces[:-1]:
            corners = " ".join(line.add(at(p)) for p in points)
            ops.append(f"{corners} {'l' if kind == 'line' else 'c'}")
        end_x, end_y = at(end)
        line.add((end_x, end_y))
        box.grown(line, _LINE // 2)
        ops.append(f"{_bp(end_x - _STEALTH_SHORT)} {_bp(end_y)} l S")
        back = end_x - _STEALTH_LENGTH
        box.add((back, end_y - _STEALTH_HALF_WIDTH))
        box.add((end_x, end_y + _STEALTH_HALF_WIDTH))
        ops.append(f"q 1 0 0 1 {_bp(back)} {_bp(end_y)} cm {_STEALTH_TIP} Q")
    half = _tex_times(scale, _HALF_NODE)
    for name, border in borders.items():
        x, y = at((drawing.nodes[name].x, drawing.nodes[name].y))
        width = _DOUBLE_LINE if border == DOUBLE else _LINE
        shape = _Extent()
        if border == SQUARE:
            ops.append(f"q 0.95 g {_rounded_square(x, y, half, shape)} B Q")
        else:
            circle = _circle(x, y, half, shape)
            if border == CIRCLE:
                ops.append(f"q 1 g {circle} B Q")
            else:
                double = f"{_bp(width)} w {circle} B {_bp(_DOUBLE_GAP)} w 1 G {circle} S"
                ops.append(f"q 1 g {double} Q")
        box.grown(shape, width // 2)
    return PdfPicture(
        " ".join(ops),
        (box.min_x, box.min_y, box.max_x, box.max_y),
        {name: at((b.x, b.y)) for name, b in drawing.nodes.items()},
        {name: at(b.label_at) for name, b in drawing.nodes.items() if b.label_at is not None},
    )


@dataclass
class _Extent:
    """The smallest box around points (sp), as PGF's bounding box grows."""

    min_x: int = 2**31
    min_y: int = 2**31
    max_x: int = -(2**31)
    max_y: int = -(2**31)

    def add(self, point: tuple[int, int]) -> str:
        """Counts ``point``; returns it as PDF operands."""
        x, y = point
        self.min_x, self.max_x = min(self.min_x, x), max(self.max_x, x)
        self.min_y, self.max_y = min(self.min_y, y), max(self.max_y, y)
        return f"{_bp(x)} {_bp(y)}"

    def grown(self, other: _Extent, margin: int) -> None:
        """Counts ``other``'s box grown by ``margin`` on every side."""
        self.add((other.min_x - margin, other.min_y - margin))
        self.add((other.max_x + margin, other.max_y + margin))


def _circle(x: int, y: int, r: int, shape: _Extent) -> str:
    """PGF's circle (``\\pgfpathellipse``): four quarters from the east point,
    counter-clockwise, then a move to the centre."""
    k = _tex_times("0.55228475", r)
    quarters = [
        ((x + r, y + k), (x + k, y + r), (x, y + r)),
        ((x - k, y + r), (x - r, y + k), (x - r, y)),
        ((x - r, y - k), (x - k, y - r), (x, y - r)),
        ((x + k, y - r), (x + r, y - k), (x + r, y)),
    ]
    curves = " ".join(" ".join(shape.add(p) for p in q) + " c" for q in quarters)
    return f"{shape.add((x + r, y))} m {curves} h {shape.add((x, y))} m"


def _rounded_square(x: int, y: int, half: int, shape: _Extent) -> str:
    """PGF's rectangle with ``rounded corners``: from the top edge's right end,
    counter-clockwise, each corner a quarter circle of radius ``_CORNER``, then a move
    to the lower left corner."""
    left, right, bottom, top = x - half, x + half, y - half, y + half
    c = _CORNER
    k = c - _tex_times("0.5522847", c)  # a corner's control points, from its ends

    def p(a: int, b: int) -> str:
        return shape.add((a, b))

    return (
        f"{p(right - c, top)} m {p(left + c, top)} l "
        f"{p(left + k, top)} {p(left, top - k)} {p(left, top - c)} c {p(left, bottom + c)} l "
        f"{p(left, bottom + k)} {p(left + k, bottom)} {p(left + c, bottom)} c "
        f"{p(right - c, bottom)} l "
        f"{p(right - k, bottom)} {p(right, bottom + k)} {p(right, bottom + c)} c "
        f"{p(right, top - c)} l "
        f"{p(right, top - k)} {p(right - k, top)} {p(right - c, top)} c h {p(left, bottom)} m"
    )


# ------------------------------------------------------------ TeX's arithmetic (tex.web)

_UNITY = 65536  # sp to the pt


def _tikz_cm(cm: float) -> int:
    """Where TikZ puts the coordinate ``cm`` (printed with 3 decimals): PGF's math reads it
    as a length in pt and prints it back, then multiplies 1 cm by it."""
    return _tex_times(_tex_print(_tex_pt(f"{cm:.3f}")), _CM)


def _bp(sp: int) -> str:
    """A length as PGF's PDF driver writes it: in bp (times 0.99627), as ``\\the`` prints."""
    return _tex_print(_tex_times("0.99627", sp))


def _tex_pt(text: str) -> int:
    """``text`` (a decimal) pt in sp."""
    negative, whole, fraction = _tex_decimal(text)
    value = whole * _UNITY + fraction
    return -value if negative else value


def _tex_decimal(text: str) -> tuple[bool, int, int]:
    """A decimal as TeX reads it: its sign, whole part and fraction in 65 536ths, rounded
    from at most 17 digits (``round_decimals``)."""
    negative = text.startswith("-")
    whole, _, digits = text.lstrip("+-").partition(".")
    a = 0
    for d in reversed(digits[:17]):
        a = (a + int(d) * 2 * _UNITY) // 10
    return negative, int(whole or 0), (a + 1) // 2


def _tex_times(factor: str, sp: int) -> int:
    """``factor\\dimen``: the whole part times the length, plus the fraction's share of it
    truncated (``xn_over_d``), the sign applied last."""
    negative, whole, fraction = _tex_decimal(factor)
    size = abs(sp)
    value = whole * size + size * fraction // _UNITY
    value = value if sp >= 0 else -value
    return -value if negative else value


def _tex_print(sp: int) -> str:
    """``\\the`` of a length without its ``pt`` (``print_scaled``: the fewest digits, at
    most five, that read back as the same length)."""
    sign, sp = ("-", -sp) if sp < 0 else ("", sp)
    out = f"{sign}{sp // _UNITY}."
    s, delta = 10 * (sp % _UNITY) + 5, 10
    while True:
        if delta > _UNITY:
            s += 0o100000 - 50000  # round the last digit
        out += str(s // _UNITY)
        s, delta = 10 * (s % _UNITY), delta * 10
        if s <= delta:
            return out
