"""The variant search of ``chain_rule``: random graphs, the screen before solving, what reads
like a textbook and what makes a variant fit to hand out."""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.exercises.base import Solution
from grader.exercises.chain_rule.fields import (
    ChainRuleTrace,
    _children,
    _depths,
    _Fields,
    _Printer,
    _trace,
    path_terms,
)
from grader.exercises.chain_rule.params import (
    ARITY,
    ChainRuleParams,
    NodeSpec,
    _check_nodes,
    _names,
    _params,
    _path_counts,
)


def sample(rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
    variables = list(fixed.get("variables") or ["x", "y"])
    nodes = fixed.get("nodes") or _random_nodes(rng, variables)
    point = fixed.get("point") or {v: rng.choice(_POINT_CHOICES) for v in variables}
    return ChainRuleParams.model_validate(
        {**fixed, "variables": variables, "nodes": nodes, "point": point}
    )


def reads_well(params: BaseModel) -> bool:
    return reads_like_a_textbook(_params(params))


def is_nice(params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
    p = _params(params)
    adjoints = [*solution.answers["adjoints"].values()]
    adjoints += [part["value"] for part in solution.answers["partials"].values()]
    numbers = [x for x in solution.values.values() if isinstance(x, Fraction)]
    return not _unfit(p, numbers, adjoints, solution.trace)


def screen(params: BaseModel, fixed: Mapping[str, Any]) -> bool:
    """The variant search's first look: :meth:`is_nice`'s verdict from the numbers
    alone (about a third of the candidates are rejected), before :meth:`solve` builds
    the formulas (sympy) and the answer fields."""
    p = _params(params)
    fields = _Fields.of(p, "")
    values = fields.numbers()
    adjoints = [values[fields.adjoint_ptr(n)] for n in [*_names(p.nodes), *p.variables]]
    return not _unfit(p, list(values.values()), adjoints, _trace(p, fields, values))


def _unfit(
    p: ChainRuleParams,
    numbers: Sequence[Fraction],
    adjoints: Sequence[Fraction],
    trace: ChainRuleTrace,
) -> bool:
    """Whether a variant is no good for a student (:meth:`ChainRule.is_nice`'s rules): on
    every number of the key, the adjoints (nodes' and variables') and the trace."""
    if any(abs(x) > 100 or x.denominator > 8 for x in numbers):
        return True
    if 0 in adjoints:  # no zero partial derivative, nor a node that does not matter
        return True
    for terms in trace.adjoint_terms.values():
        # a zero term in a sum would make a forgotten path invisible
        if any(adj * loc == 0 for _, adj, loc in terms):
            return True
    counts = _path_counts(p.nodes)
    return max(counts[v] for v in p.variables) < 2


# ------------------------------------------------------------ textbook-like graphs

# A polynomial in the variables: exponents (one per variable) -> coefficient.
_Poly = dict[tuple[int, ...], Fraction]
# Operations whose argument is printed as a factor: a negative one there reads (−y)(…).
_FACTOR_OPS = frozenset({"mul", "square", "neg", "scale"})


def reads_like_a_textbook(p: ChainRuleParams) -> bool:
    """Whether f prints the way a person writes it (version 2 of the variant search):
    no negated node inside a product, a square, a scale or another negation (``(−y)(−(…))``,
    ``−(−x)``) or opening a sum (``−x + y``); no node that cancels out, i.e. is a constant or equals a variable or an
    earlier node as a polynomial (``(x + y) − y``, ``x + (−x)``); no printed sum with two
    like terms, parentheses dropped (``x + y + y + x``, ``x − (y + x)``) and no printed product with a factor
    twice (``y x y``, where a person writes ``x y^2``)."""
    negative = {
        n.name for n in p.nodes if n.op == "neg" or (n.op == "scale" and (n.const or 0) < 0)
    }
    if any(a in negative for n in p.nodes if n.op in _FACTOR_OPS for a in n.args):
        return False
    # a sum that opens with a negation (−x + y): a person writes y − x
    if any(n.args[0] in negative for n in p.nodes if n.op in ("add", "sub")):
        return False
    polys: dict[str, _Poly] = {}
    for i, v in enumerate(p.variables):
        polys[v] = {tuple(int(j == i) for j in range(len(p.variables))): Fraction(1)}
    seen = [polys[v] for v in p.variables]
    for n in p.nodes:
        poly = _poly_apply(n, [polys[a] for a in n.args])
        if all(sum(e) == 0 for e in poly) or poly in seen:
            return False
        polys[n.name] = poly
        seen.append(poly)
    for n in p.nodes:
        if n.op in ("add", "sub") and _has_like(_summands(p, n.name), polys):
            return False
        if n.op == "mul" and _has_like(_factors(p, n.name), polys):
            return False
    return True


def _summands(p: ChainRuleParams, name: str) -> list[str]:
    """The terms of the sum ``name`` once its parentheses are dropped (sign aside):
    through additions, subtractions and negations."""
    if name in p.variables:
        return [name]
    node = p.node(name)
    if node.op in ("add", "sub", "neg"):
        return [t for a in node.args for t in _summands(p, a)]
    return [name]


def _factors(p: ChainRuleParams, name: str) -> list[str]:
    """The factors the printer juxtaposes in one flat product for ``name``."""
    if name in p.variables or p.node(name).op != "mul":
        return [name]
    return [f for a in p.node(name).args for f in _factors(p, a)]


def _has_like(names: Sequence[str], polys: Mapping[str, _Poly]) -> bool:
    """Whether two of ``names`` are the same polynomial up to a constant factor."""
    shapes = []
    for name in names:
        poly = polys[name]
        lead = poly[min(poly)]  # polys of nodes are never zero (checked before)
        shapes.append(sorted((e, c / lead) for e, c in poly.items()))
    return len(shapes) != len({tuple(s) for s in shapes})


def _poly_apply(node: NodeSpec, args: Sequence[_Poly]) -> _Poly:
    if node.op in ("add", "sub"):
        sign = 1 if node.op == "add" else -1
        return _poly_sum(args[0], {e: sign * c for e, c in args[1].items()})
    if node.op in ("mul", "square"):
        return _poly_product(args[0], args[-1])
    factor = Fraction(-1) if node.op == "neg" else Fraction(node.const or 0)
    return {e: factor * c for e, c in args[0].items()}


def _poly_sum(a: _Poly, b: _Poly) -> _Poly:
    out = dict(a)
    for e, c in b.items():
        out[e] = out.get(e, Fraction(0)) + c
    return {e: c for e, c in out.items() if c != 0}


def _poly_product(a: _Poly, b: _Poly) -> _Poly:
    out: _Poly = {}
    for ea, ca in a.items():
        for eb, cb in b.items():
            e = tuple(x + y for x, y in zip(ea, eb, strict=True))
            out = _poly_sum(out, {e: ca * cb})
    return out


# ------------------------------------------------------------ random variants

_INTERMEDIATE_NAMES = "abcdeghkmnpqrstuvw"
_OP_WEIGHTS: dict[str, float] = {
    "add": 4,
    "sub": 2,
    "mul": 3,
    "square": 2,
    "neg": 0.5,
    "scale": 1,
}
# what ``choices(weights=…)`` computes on every call (the same draws: it accumulates them so)
_OPS = tuple(_OP_WEIGHTS)
_OP_CUM_WEIGHTS = tuple(itertools.accumulate(_OP_WEIGHTS.values()))
_SCALES = (Fraction(2), Fraction(3), Fraction(-2), Fraction(1, 2))
# Small non-zero integers, twice as likely as halves (0 would make many paths vanish).
_POINT_CHOICES = tuple(
    [Fraction(v) for v in (-3, -2, -1, 1, 2, 3)] * 2 + [Fraction(v, 2) for v in (-3, -1, 1, 3)]
)
_UNUSED_BIAS = 0.6  # chance to feed an argument from a not-yet-used name: keeps graphs connected


def _random_nodes(rng: random.Random, variables: Sequence[str]) -> list[NodeSpec]:
    """A random valid, hand-sized graph with 4–7 intermediate nodes and the output ``f``."""
    for _ in range(1000):
        nodes = _try_random_nodes(rng, variables)
        if nodes is None:
            continue
        try:
            _check_nodes(variables, nodes)
        except ValueError:
            continue
        if _good_shape(variables, nodes):
            return nodes
    raise ValueError("could not draw a graph with the multi-path property")  # pragma: no cover


def _try_random_nodes(rng: random.Random, variables: Sequence[str]) -> list[NodeSpec] | None:
    n_inner = rng.randint(4, 7)
    names = [c for c in _INTERMEDIATE_NAMES if c not in variables][:n_inner] + ["f"]
    available, unused = list(variables), list(variables)
    unary_nodes: set[str] = set()
    nodes: list[NodeSpec] = []
    for name in names[:-1]:
        op = rng.choices(_OPS, cum_weights=_OP_CUM_WEIGHTS)[0]
        # -(-a) or 2·(-a) only make the formulas harder to read
        candidates = [a for a in available if ARITY[op] == 2 or a not in unary_nodes]
        args: list[str] = []
        while len(args) < ARITY[op]:
            fresh = [u for u in unused if u in candidates and u not in args]
            pool = fresh if fresh and rng.random() < _UNUSED_BIAS else candidates
            choice = rng.choice(pool)
            if choice not in args:
                args.append(choice)
        nodes.append(_node(rng, name, op, args))
        if ARITY[op] == 1 and op != "square":
            unary_nodes.add(name)
        unused = [u for u in unused if u not in args] + [name]
        available.append(name)
    # the output combines what is still unused (at most two names)
    if len(unused) > 2:
        return None
    op = rng.choice(["add", "add", "sub", "mul"])
    args = list(unused)
    if len(args) == 1:
        args.append(rng.choice([a for a in available if a != args[0]]))
        rng.shuffle(args)
    nodes.append(_node(rng, "f", op, args))
    return nodes


_MAX_SAMPLED_DEPTH = 5
_MAX_SAMPLED_PATHS = 4
_MAX_SAMPLED_FORMULA = 60  # characters of a partial derivative's formula


def _good_shape(variables: Sequence[str], nodes: list[NodeSpec]) -> bool:
    """A graph a student can do by hand: shallow, few paths per variable, short formulas,
    and some variable feeding two nodes directly (the canonical picture of two paths)."""
    # the nodes passed _check_nodes and the shape has nothing to do with the point: no
    # validation here (the variant's parameters are validated once its point is drawn)
    p = ChainRuleParams.model_construct(variables=list(variables), nodes=nodes, point={})
    if max(_depths(p).values()) > _MAX_SAMPLED_DEPTH:
        return False
    if max(_path_counts(nodes)[v] for v in variables) > _MAX_SAMPLED_PATHS:
        return False
    children = _children(p)
    if not any(len(children[v]) >= 2 for v in variables):
        return False
    printer = _Printer(p, tex=False)  # formula_text's, shared: the formulas share nodes
    return all(len(printer.sum(path_terms(p, v))) <= _MAX_SAMPLED_FORMULA for v in variables)


def _node(rng: random.Random, name: str, op: str, args: list[str]) -> NodeSpec:
    const = rng.choice(_SCALES) if op == "scale" else None
    return _valid_node(name, op, tuple(args), const)


# Drawn graphs are made of the same few thousand nodes (x + y, a·b, 2·c …), and most are
# dropped: each node is validated once per build (the model is frozen: graphs share it).
@functools.lru_cache(maxsize=1 << 14)
def _valid_node(name: str, op: str, args: tuple[str, ...], const: Fraction | None) -> NodeSpec:
    return NodeSpec.model_validate({"name": name, "op": op, "args": list(args), "const": const})
