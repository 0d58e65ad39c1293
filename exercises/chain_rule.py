"""``chain_rule``: the chain rule on a small computational graph (spec §1).

A graph is a list of nodes in evaluation order; each node applies one operation of a
small fixed set (add, sub, mul, square, neg, scale) to variables or earlier nodes, and
the last node is the output.  Canonical instance: a = x², b = x·y, c = x + y, d = a + b,
e = c², f = d + e, so ∂f/∂x = 2x + y + 2(x + y) and ∂f/∂y = x + 2(x + y).

Answer layout (this exercise's part of a submission)::

    {"values":   {"a": "1", ..., "f": "12"},                 # every node, forward pass
     "adjoints": {"f": "1", "e": "1", ..., "a": "1"},         # ∂f/∂node, backward pass
     "partials": {"x": {"formula": "2*x + y + 2*(x + y)",     # in the variables
                        "value": "10"}, "y": {...}}}          # ∂f/∂x at the point

A variable's adjoint *is* its partial derivative's value, so it is asked once, under
``partials``.  Every local derivative ∂child/∂arg is a constant times at most one value
(:func:`local_rule`): the numbers (sums of adjoint · local derivative) and the formulas
(sums over paths of products of local derivatives) are both built from it, while
:meth:`ChainRule.check_independently` re-derives everything with ``sympy.diff``.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from typing import Any, Literal

import sympy
from pydantic import BaseModel, Field, field_validator, model_validator

from grader.core.engine import CORRECT, FractionOps, Ops, Rules
from grader.core.latex import Tex
from grader.core.memo import BoundedMemo
from grader.core.models import ExactNumber, StrictModel
from grader.core.numbers import NumberError, fmt_frac, parse_number, tex_frac
from grader.exercises.base import Computation, Exercise, MistakeId, Solution, pointer
from grader.exercises.graph_layout import layout, tikz_path

# Answer pointers are built for every field of every candidate variant: memoized (the
# same few hundred strings across a build).
_pointer = functools.lru_cache(maxsize=1 << 16, typed=True)(pointer)

Op = Literal["add", "sub", "mul", "square", "neg", "scale"]
ARITY: dict[str, int] = {"add": 2, "sub": 2, "mul": 2, "square": 1, "neg": 1, "scale": 1}

MAX_NODES = 12
MAX_VARIABLES = 3
MAX_PATHS = 32  # per variable: beyond this the chain-rule sum is no longer a hand exercise
MAX_ABS_NUMBER = 1000  # bound on point values and constants (and their denominators)

# The search draws the graph and the point unless the instructor fixed them.
RANDOMIZED = ("nodes", "point")

_NODE_NAME_RE = re.compile(r"[A-Za-z][0-9]{0,2}", re.ASCII)
_VARIABLE_RE = re.compile(r"[A-Za-z]", re.ASCII)
# Variables are single letters, so a student's "2xy" (implicit multiplication) is
# unambiguous.  In formulas e is Euler's number and f a function (mlp_matrix's
# activation); i and I are kept out so nobody reads them as the imaginary unit.
RESERVED_VARIABLES = frozenset({"e", "E", "f", "i", "I"})


# ------------------------------------------------------------ parameters


class NodeSpec(BaseModel):
    """One node ``name = op(args)``; ``const`` is the factor of ``scale``."""

    model_config = StrictModel
    name: str
    op: Op
    args: list[str]
    const: ExactNumber | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NODE_NAME_RE.fullmatch(value):
            raise ValueError(
                f"node name {value[:20]!r} is not allowed: use a letter, optionally followed "
                "by up to two digits (a, b, h1)"
            )
        return value

    @model_validator(mode="after")
    def _valid_args(self) -> NodeSpec:
        n = ARITY[self.op]
        if len(self.args) != n:
            plural = "s" if n > 1 else ""
            raise ValueError(
                f"node {self.name!r}: {self.op} takes {n} argument{plural}, got {len(self.args)}"
            )
        if len(set(self.args)) != len(self.args):
            raise ValueError(
                f"node {self.name!r} uses {self.args[0]!r} twice; write square or scale instead"
            )
        if self.op == "scale":
            c = self.const
            if c is None or c == 0:
                raise ValueError(f"node {self.name!r}: scale needs a non-zero const")
            if abs(c) > MAX_ABS_NUMBER or c.denominator > MAX_ABS_NUMBER:
                raise ValueError(f"node {self.name!r}: const must be small (within ±1000)")
        elif self.const is not None:
            raise ValueError(f"node {self.name!r}: only op 'scale' takes a const")
        return self


class ChainRuleParams(BaseModel):
    """``nodes`` in evaluation order (the last one is the output), over ``variables``,
    evaluated at ``point``."""

    model_config = StrictModel
    variables: list[str] = Field(default_factory=lambda: ["x", "y"])
    nodes: list[NodeSpec]
    point: dict[str, ExactNumber]

    @model_validator(mode="after")
    def _valid_graph(self) -> ChainRuleParams:
        _check_variables(self.variables)
        _check_nodes(self.variables, self.nodes)
        _check_point(self.variables, self.point)
        return self

    @property
    def output(self) -> str:
        return self.nodes[-1].name

    def node(self, name: str) -> NodeSpec:
        return next(n for n in self.nodes if n.name == name)


def _check_variables(variables: Sequence[str]) -> None:
    if not 1 <= len(variables) <= MAX_VARIABLES:
        raise ValueError(f"give 1 to {MAX_VARIABLES} variables, got {len(variables)}")
    for v in variables:
        if not _VARIABLE_RE.fullmatch(v) or v in RESERVED_VARIABLES:
            raise ValueError(
                f"variable name {v[:20]!r} is not allowed: use a single letter other than "
                "e, E, f, i, I (formulas use those for constants and functions)"
            )
    if len(set(variables)) != len(variables):
        raise ValueError("variable names must be distinct")


def _check_nodes(variables: Sequence[str], nodes: Sequence[NodeSpec]) -> None:
    if not 1 <= len(nodes) <= MAX_NODES:
        raise ValueError(f"a graph has 1 to {MAX_NODES} nodes, got {len(nodes)}")
    names = [n.name for n in nodes]
    known = set(variables)
    for i, node in enumerate(nodes):
        if node.name in variables:
            raise ValueError(f"node {node.name!r} has the name of a variable")
        if node.name in known:
            raise ValueError(f"node name {node.name!r} is used twice")
        for arg in node.args:
            if arg in known:
                continue
            if arg in names[i:]:
                raise ValueError(
                    f"node {node.name!r}: argument {arg!r} is defined later; "
                    "list the nodes in evaluation order"
                )
            raise ValueError(
                f"node {node.name!r}: argument {arg!r} is neither a variable "
                f"({', '.join(variables)}) nor an earlier node"
            )
        known.add(node.name)
    used = {a for n in nodes for a in n.args}
    for v in variables:
        if v not in used:
            raise ValueError(f"variable {v!r} is not used by any node")
    for node in nodes[:-1]:
        if node.name not in used:
            raise ValueError(
                f"node {node.name!r} is not used by any later node "
                f"(every node must lead to the output {nodes[-1].name!r})"
            )
    counts = _path_counts(nodes)
    if max(counts[v] for v in variables) < 2:
        raise ValueError(
            "no variable reaches the output along two or more paths; the exercise is about "
            "the multi-path chain rule, so let some variable feed two nodes"
        )
    for v in variables:
        if counts[v] > MAX_PATHS:
            raise ValueError(
                f"variable {v!r} reaches the output along {counts[v]} paths; "
                f"at most {MAX_PATHS} keep the chain rule writable by hand"
            )


def _check_point(variables: Sequence[str], point: Mapping[str, Fraction]) -> None:
    missing = [v for v in variables if v not in point]
    if missing:
        raise ValueError(f"point gives no value for {', '.join(map(repr, missing))}")
    for name, value in point.items():
        if name not in variables:
            raise ValueError(f"point gives {name[:20]!r}, which is not a variable")
        if abs(value) > MAX_ABS_NUMBER or value.denominator > MAX_ABS_NUMBER:
            raise ValueError(f"point value of {name!r} must be small (within ±1000)")


# ------------------------------------------------------------ graph structure


def _path_counts(nodes: Sequence[NodeSpec]) -> dict[str, int]:
    """How many paths lead from each name to the output (the last node)."""
    counts: dict[str, int] = {nodes[-1].name: 1}
    for node in reversed(nodes):
        for arg in node.args:
            counts[arg] = counts.get(arg, 0) + counts.get(node.name, 0)
    return counts


def _children(p: ChainRuleParams) -> dict[str, tuple[NodeSpec, ...]]:
    """The nodes that use each variable or node, in evaluation order."""
    names = [*p.variables, *(n.name for n in p.nodes)]
    return {name: tuple(n for n in p.nodes if name in n.args) for name in names}


def _depths(p: ChainRuleParams) -> dict[str, int]:
    depth = dict.fromkeys(p.variables, 0)
    for n in p.nodes:
        depth[n.name] = 1 + max(depth[a] for a in n.args)
    return depth


_ONE, _TWO, _MINUS_ONE = Fraction(1), Fraction(2), Fraction(-1)  # made once (called per path)


def local_rule(child: NodeSpec, arg: str) -> tuple[Fraction, str | None]:
    """∂child/∂arg as (constant, factor): the constant times the value of ``factor``
    (a variable or node name), or the constant alone when ``factor`` is None."""
    op = child.op
    if op == "add":
        return _ONE, None
    if op == "sub":
        return (_ONE if arg == child.args[0] else _MINUS_ONE), None
    if op == "mul":
        return _ONE, child.args[1] if arg == child.args[0] else child.args[0]
    if op == "square":
        return _TWO, arg
    if op == "neg":
        return _MINUS_ONE, None
    assert child.const is not None  # validated: scale always has its const
    return child.const, None


@dataclass(frozen=True)
class PathTerm:
    """One path output → … → variable: the product of its local derivatives,
    ``coeff`` times the values of ``factors``."""

    path: tuple[str, ...]
    coeff: Fraction
    factors: tuple[str, ...]


def path_terms(p: ChainRuleParams, var: str) -> list[PathTerm]:
    """Every path from the output down to ``var``, depth first over each node's arguments
    in order (so the canonical ∂f/∂x reads f→d→a→x, f→d→b→x, f→e→c→x)."""
    # solving, checking and printing a variant ask for the same paths many times
    terms = _PATHS.make((_structure(p), var), lambda: tuple(_walk_paths(p, var)))
    return list(terms)


_PATHS_LIMIT = 4096  # graph structures kept by each memo below
_PATHS: BoundedMemo[tuple[Any, str], tuple[PathTerm, ...]] = BoundedMemo(_PATHS_LIMIT)
# sympy expressions are immutable: one formula serves every variant of a structure
_FORMULAS: BoundedMemo[tuple[Any, str, int | None], Any] = BoundedMemo(_PATHS_LIMIT)


def _structure(p: ChainRuleParams) -> tuple[Any, ...]:
    """The graph as a hashable value: what paths and formulas depend on (not the point)."""
    return (tuple(p.variables), tuple((n.name, n.op, tuple(n.args), n.const) for n in p.nodes))


def _walk_paths(p: ChainRuleParams, var: str) -> list[PathTerm]:
    terms: list[PathTerm] = []

    def walk(name: str, path: tuple[str, ...], coeff: Fraction, factors: tuple[str, ...]) -> None:
        if name == var:
            terms.append(PathTerm(path, coeff, factors))
            return
        if name in p.variables:
            return
        node = p.node(name)
        for arg in node.args:
            c, factor = local_rule(node, arg)
            product = coeff if c is _ONE else coeff * c  # most local derivatives are 1
            walk(arg, (*path, arg), product, factors + ((factor,) if factor else ()))

    walk(p.output, (p.output,), Fraction(1), ())
    return terms


def _apply(node: NodeSpec, args: Sequence[Any], const: Callable[[Fraction], Any]) -> Any:
    """The node's operation on its arguments' values, with ``+ - *`` only (generic)."""
    a = args[0]
    if node.op == "add":
        return a + args[1]
    if node.op == "sub":
        return a - args[1]
    if node.op == "mul":
        return a * args[1]
    if node.op == "square":
        return a * a
    if node.op == "neg":
        return const(Fraction(0)) - a
    assert node.const is not None
    return const(node.const) * a


def _sum_omitting(terms: Sequence[Any], omit: int | None, zero: Any) -> Any:
    """Σ terms, leaving out term ``omit`` (a path forgotten among several) when it exists;
    a single term stays: dropping the only path is not the chain rule's mistake."""
    kept = [t for i, t in enumerate(terms) if i != omit or len(terms) < 2]
    if not kept:
        return zero
    total = kept[0]
    for t in kept[1:]:
        total = total + t
    return total


def _symbol(name: str) -> sympy.Symbol:
    # Plain symbols (no assumptions) compare equal to those of the formula parser.
    return sympy.Symbol(name)


def _node_expressions(p: ChainRuleParams) -> Mapping[str, Any]:
    """Each variable, and each node the path terms have as a factor, as a sympy expression
    in the variables (built once per graph structure: every variable's formula needs
    them).  The other nodes, the output among them (the largest expression), are no
    factor of any term: sympy's arithmetic is the formulas' whole cost."""
    key = _structure(p)
    exprs = _EXPRESSIONS.get(key)
    if exprs is None:
        needed = _factor_names(p)
        exprs = {v: _symbol(v) for v in p.variables}
        for n in p.nodes:
            if n.name in needed:
                exprs[n.name] = _node_expression(n, tuple(exprs[a] for a in n.args))
        _EXPRESSIONS.keep(key, exprs)
    return exprs


def _factor_names(p: ChainRuleParams) -> set[str]:
    """The names the path terms have as factors, and the arguments those are made of."""
    needed = {f for v in p.variables for t in path_terms(p, v) for f in t.factors}
    for n in reversed(p.nodes):  # evaluation order reversed: a node before its arguments
        if n.name in needed:
            needed.update(n.args)
    return needed


_EXPRESSIONS: BoundedMemo[tuple[Any, ...], dict[str, Any]] = BoundedMemo(_PATHS_LIMIT)
# Sympy expressions of operations and of path terms by value: shared by many graphs of a
# build, and sympy's arithmetic is the formulas' whole cost.
_OPERATIONS: BoundedMemo[tuple[Any, ...], Any] = BoundedMemo(_PATHS_LIMIT)
_TERMS: BoundedMemo[tuple[Any, ...], Any] = BoundedMemo(_PATHS_LIMIT)


def _node_expression(node: NodeSpec, args: tuple[Any, ...]) -> Any:
    """``node``'s operation on its arguments' sympy expressions (a graph is new, its
    nodes much less so: x + y, x·y, 2·x …)."""
    return _OPERATIONS.make((node.op, node.const, args), lambda: _apply(node, args, _rational))


def _term_expression(coeff: Fraction, factors: tuple[Any, ...]) -> Any:
    """A path term, ``coeff`` times the product of ``factors``, as a sympy expression."""
    return _TERMS.make((coeff, factors), lambda: _rational(coeff) * sympy.Mul(*factors))


def _rational(q: Fraction) -> sympy.Rational:
    return sympy.Rational(q.numerator, q.denominator)


# ------------------------------------------------------------ answer fields


@dataclass(frozen=True)
class _Fields:
    """The answer fields and how each is computed from earlier ones.

    Every compute method has the :data:`grader.exercises.base.ComputeFn` signature and uses only
    ``+ - *`` and ``ops.const``, so it runs on Fractions (the key, a student's own values)
    and on intervals alike.
    """

    p: ChainRuleParams
    ex: str
    children: Mapping[str, tuple[NodeSpec, ...]]

    @classmethod
    def of(cls, p: ChainRuleParams, ex: str) -> _Fields:
        return cls(p, ex, _children(p))

    def value_ptr(self, name: str) -> str:
        return _pointer("answers", self.ex, "values", name)

    def adjoint_ptr(self, name: str) -> str:
        if name in self.p.variables:
            return _pointer("answers", self.ex, "partials", name, "value")
        return _pointer("answers", self.ex, "adjoints", name)

    def formula_ptr(self, var: str) -> str:
        return _pointer("answers", self.ex, "partials", var, "formula")

    def value(self, v: Mapping[str, Any], ops: Ops, name: str) -> Any:
        """A value inside a computation: given (variables) or an earlier answer (nodes)."""
        if name in self.p.variables:
            return ops.const(self.p.point[name])
        return v[self.value_ptr(name)]

    def value_inputs(self, name: str) -> tuple[str, ...]:
        return () if name in self.p.variables else (self.value_ptr(name),)

    def local(self, v: Mapping[str, Any], ops: Ops, child: NodeSpec, arg: str) -> Any:
        c, factor = local_rule(child, arg)
        return ops.const(c) if factor is None else ops.const(c) * self.value(v, ops, factor)

    def local_inputs(self, child: NodeSpec, arg: str) -> tuple[str, ...]:
        factor = local_rule(child, arg)[1]
        return () if factor is None else self.value_inputs(factor)

    # ---- compute functions

    def node_value(
        self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, node: NodeSpec
    ) -> list[Any]:
        return [ops.record(_apply(node, [self.value(v, ops, a) for a in node.args], ops.const))]

    def adjoint(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, name: str) -> list[Any]:
        """∂f/∂name = Σ over the children c of ∂f/∂c · ∂c/∂name (one term per child)."""
        if name == self.p.output:
            return [ops.const(1)]
        terms = [
            v[self.adjoint_ptr(c.name)] * self.local(v, ops, c, name) for c in self.children[name]
        ]
        return [ops.record(_sum_omitting(terms, rules.omit_term, ops.const(0)))]

    def formula(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, var: str) -> list[Any]:
        """∂f/∂var as a sympy expression: Σ over paths of the product of local derivatives."""
        key = (_structure(self.p), var, rules.omit_term)  # all the formula depends on
        formula = _FORMULAS.get(key)
        if formula is None:
            exprs = _node_expressions(self.p)
            terms = [
                _term_expression(t.coeff, tuple(exprs[f] for f in t.factors))
                for t in path_terms(self.p, var)
            ]
            formula = _FORMULAS.keep(key, _sum_omitting(terms, rules.omit_term, sympy.Integer(0)))
        return [formula]

    def numbers(self) -> dict[str, Fraction]:
        """The key's numeric fields (values, then adjoints) by pointer, computed as
        :meth:`computations` computes them, without making the computations."""
        ops = FractionOps()
        values: dict[str, Fraction] = {}
        for node in self.p.nodes:
            values[self.value_ptr(node.name)] = self.node_value(values, ops, CORRECT, node=node)[0]
        for name in [*_names(self.p.nodes)[::-1], *self.p.variables]:
            values[self.adjoint_ptr(name)] = self.adjoint(values, ops, CORRECT, name=name)[0]
        return values

    # ---- the fields, in the order of the sheet's tasks

    def computations(self) -> list[Computation]:
        out = [self._formula_field(var) for var in self.p.variables]
        for node in self.p.nodes:
            inputs = tuple(dict.fromkeys(p for a in node.args for p in self.value_inputs(a)))
            out.append(
                Computation(
                    f"value of {node.name}",
                    (self.value_ptr(node.name),),
                    inputs,
                    partial(self.node_value, node=node),
                )
            )
        for node in reversed(self.p.nodes):
            out.append(self._adjoint_field(node.name, f"∂{self.p.output}/∂{node.name}"))
        for var in self.p.variables:
            out.append(self._adjoint_field(var, f"∂{self.p.output}/∂{var} at the point"))
        return out

    def _formula_field(self, var: str) -> Computation:
        paths = len(path_terms(self.p, var))
        mistakes: tuple[MistakeId, ...] = ("missing_path",) if paths > 1 else ()
        return Computation(
            f"∂{self.p.output}/∂{var} (formula)",
            (self.formula_ptr(var),),
            (),
            partial(self.formula, var=var),
            mistakes,
            kind="formula",
            quantity=("partial", self.p.output, var),
        )

    def _adjoint_field(self, name: str, label: str) -> Computation:
        children = self.children.get(name, ())
        inputs: list[str] = []
        for c in children:
            inputs += [self.adjoint_ptr(c.name), *self.local_inputs(c, name)]
        mistakes: tuple[MistakeId, ...] = ("missing_path",) if len(children) > 1 else ()
        return Computation(
            label,
            (self.adjoint_ptr(name),),
            tuple(dict.fromkeys(inputs)),
            partial(self.adjoint, name=name),
            mistakes,
        )


# ------------------------------------------------------------ printing formulas

SUM, NEG, PROD, POW, ATOM = range(5)  # precedence of a printed expression


def tex_name(name: str) -> str:
    """``h1`` → ``h_{1}``: names are a letter and digits (validated), safe in TeX."""
    return name[0] + (f"_{{{name[1:]}}}" if len(name) > 1 else "")


def _tex_bar(name: str) -> str:
    return rf"\bar{{{name[0]}}}" + (f"_{{{name[1:]}}}" if len(name) > 1 else "")


def _tex_partial(num: str, den: str) -> str:
    return rf"\frac{{\partial {tex_name(num)}}}{{\partial {tex_name(den)}}}"


@dataclass
class _Printer:
    """Expressions in the variables as text (``2*(x + y)``, ``x^2``) or TeX (``2(x + y)``)."""

    p: ChainRuleParams
    tex: bool
    # a node shared by several paths is printed once (the recursion would be exponential)
    _cache: dict[str, tuple[str, int]] = field(default_factory=dict)

    def coef(self, c: Fraction) -> str:
        """A positive constant: ``3``, ``(1/2)`` / ``\\frac{1}{2}``."""
        if c.denominator == 1:
            return str(c.numerator)
        return tex_frac(c) if self.tex else f"({fmt_frac(c)})"

    def product(self, pieces: Sequence[str]) -> str:
        if not self.tex:
            return "*".join(pieces)
        out = pieces[0]
        for piece in pieces[1:]:
            # juxtaposition reads as a product, except before a number
            out += r" \cdot " if piece[0].isdigit() or piece.startswith(("\\frac", "-")) else " "
            out += piece
        return out

    def power(self, base: str, n: int) -> str:
        return f"{base}^{{{n}}}" if self.tex else f"{base}^{n}"

    def expr(self, name: str) -> tuple[str, int]:
        """(text, precedence) of a variable or node, in the variables."""
        if name not in self._cache:
            self._cache[name] = self._expr(name)
        return self._cache[name]

    def _expr(self, name: str) -> tuple[str, int]:
        if name in self.p.variables:
            return name, ATOM
        node = self.p.node(name)
        a = node.args
        if node.op in ("add", "sub"):
            sign = "+" if node.op == "add" else "-"
            right, prec = self.expr(a[1])
            if prec == NEG:  # x + (-y) reads x - y; a NEG text is "-" and a product
                sign, right = ("-" if sign == "+" else "+"), right[1:]
            elif node.op == "sub" and prec == SUM:
                right = f"({right})"
            return f"{self.at(a[0], SUM)} {sign} {right}", SUM
        if node.op == "mul":
            factors = [
                (self.at(a[0], PROD), self.prec(a[0])),
                (self.at(a[1], PROD), self.prec(a[1])),
            ]
            if self.tex:  # printed as a textbook would: x y, x (x + y), x^{2} y
                factors.sort(key=lambda f: (f[1] < PROD, f[0]))
            return self.product([text for text, _ in factors]), PROD
        if node.op == "square":
            return self.power(self.at(a[0], ATOM), 2), POW
        if node.op == "neg":
            return f"-{self.at(a[0], PROD)}", NEG
        assert node.const is not None
        body = self.product([self.coef(abs(node.const)), self.at(a[0], PROD)])
        return (f"-{body}", NEG) if node.const < 0 else (body, PROD)

    def prec(self, name: str) -> int:
        return self.expr(name)[1]

    def at(self, name: str, min_prec: int) -> str:
        text, prec = self.expr(name)
        return f"({text})" if prec < min_prec else text

    def term(self, t: PathTerm) -> str:
        """|term|: the constant (unless 1) times its factors, repeated factors as powers."""
        counts: dict[str, int] = {}
        for f in t.factors:
            counts[f] = counts.get(f, 0) + 1
        pieces = [
            self.at(f, PROD) if n == 1 else self.power(self.at(f, ATOM), n)
            for f, n in counts.items()
        ]
        c = abs(t.coeff)
        if c != 1 or not pieces:
            pieces.insert(0, self.coef(c))
        return self.product(pieces)

    def signed_terms(self, terms: Sequence[PathTerm]) -> list[str]:
        """Each term with its sign: ``2*x``, ``+ y``, ``- 2*(x + y)`` (the first unsigned
        unless negative)."""
        out = []
        for i, t in enumerate(terms):
            sign = "-" if t.coeff < 0 else "+"
            body = self.term(t)
            out.append((f"-{body}" if sign == "-" else body) if i == 0 else f"{sign} {body}")
        return out

    def sum(self, terms: Sequence[PathTerm]) -> str:
        return " ".join(self.signed_terms(terms)) or "0"

    def definition(self, node: NodeSpec) -> str:
        """The node in terms of its arguments: ``x^2``, ``x*y`` / ``x \\cdot y``."""
        names = [tex_name(a) if self.tex else a for a in node.args]
        times = r" \cdot " if self.tex else "*"
        if node.op == "add":
            return f"{names[0]} + {names[1]}"
        if node.op == "sub":
            return f"{names[0]} - {names[1]}"
        if node.op == "mul":
            return f"{names[0]}{times}{names[1]}"
        if node.op == "square":
            return self.power(names[0], 2)
        if node.op == "neg":
            return f"-{names[0]}"
        assert node.const is not None
        body = f"{self.coef(abs(node.const))}{times}{names[0]}"
        return f"-{body}" if node.const < 0 else body


def formula_text(p: ChainRuleParams, var: str) -> str:
    """The key's formula for ∂output/∂var: one product per path, e.g. ``2*x + y + 2*(x + y)``."""
    return _Printer(p, tex=False).sum(path_terms(p, var))


def function_text(p: ChainRuleParams, tex: bool = False) -> str:
    return _Printer(p, tex).expr(p.output)[0]


# ------------------------------------------------------------ the exercise


@dataclass(frozen=True)
class ChainRuleTrace:
    """What the key shows: per variable/node the terms (child, ∂f/∂child, ∂child/∂name)
    of its adjoint, and per variable the path terms of its formula."""

    adjoint_terms: dict[str, list[tuple[str, Fraction, Fraction]]]
    paths: dict[str, list[PathTerm]]


class ChainRule(Exercise):
    type_name = "chain_rule"
    Params = ChainRuleParams
    title = {
        "en": "The chain rule on a computational graph",
        "ru": "Цепное правило на вычислительном графе",
    }
    randomized = RANDOMIZED

    def formula_variables(self, params: BaseModel) -> tuple[str, ...]:
        return tuple(_params(params).variables)

    # ------------------------------------------------------------ solving

    def solve(self, params: BaseModel, exercise_id: str, *, formulas: bool = True) -> Solution:
        p = _params(params)
        fields = _Fields.of(p, exercise_id)
        computations = fields.computations()
        values = _evaluate(computations, formulas=formulas)
        answers = {
            "values": {n.name: values[fields.value_ptr(n.name)] for n in p.nodes},
            "adjoints": {n.name: values[fields.adjoint_ptr(n.name)] for n in reversed(p.nodes)},
            "partials": {
                v: {"formula": formula_text(p, v), "value": values[fields.adjoint_ptr(v)]}
                for v in p.variables
            },
        }
        return Solution(
            computations=computations,
            values=values,
            answers=answers,
            trace=_trace(p, fields, values),
        )

    # ------------------------------------------------------------ variants

    def sample(self, rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
        variables = list(fixed.get("variables") or ["x", "y"])
        nodes = fixed.get("nodes") or _random_nodes(rng, variables)
        point = fixed.get("point") or {v: rng.choice(_POINT_CHOICES) for v in variables}
        return ChainRuleParams.model_validate(
            {**fixed, "variables": variables, "nodes": nodes, "point": point}
        )

    def reads_well(self, params: BaseModel) -> bool:
        return reads_like_a_textbook(_params(params))

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        p = _params(params)
        adjoints = [*solution.answers["adjoints"].values()]
        adjoints += [part["value"] for part in solution.answers["partials"].values()]
        numbers = [x for x in solution.values.values() if isinstance(x, Fraction)]
        return not _unfit(p, numbers, adjoints, solution.trace)

    def screen(self, params: BaseModel, fixed: Mapping[str, Any]) -> bool:
        """The variant search's first look: :meth:`is_nice`'s verdict from the numbers
        alone (about a third of the candidates are rejected), before :meth:`solve` builds
        the formulas (sympy) and the answer fields."""
        p = _params(params)
        fields = _Fields.of(p, "")
        values = fields.numbers()
        adjoints = [values[fields.adjoint_ptr(n)] for n in [*_names(p.nodes), *p.variables]]
        return not _unfit(p, list(values.values()), adjoints, _trace(p, fields, values))

    # ------------------------------------------------------------ formats

    def template_answers(self, params: BaseModel) -> Any:
        p = _params(params)
        return {
            "values": {n.name: None for n in p.nodes},
            "adjoints": {n.name: None for n in reversed(p.nodes)},
            "partials": {v: {"formula": None, "value": None} for v in p.variables},
        }

    def json_schema(self, params: BaseModel | None) -> dict[str, Any]:
        number = {"$ref": "#/$defs/number"}
        formula = {"$ref": "#/$defs/formula"}
        partial_schema = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "formula": formula | {"description": "∂f/∂variable as a formula in the variables"},
                "value": number | {"description": "∂f/∂variable at the given point"},
            },
        }
        p = _params(params) if params is not None else None

        def by_name(names: Sequence[str] | None, leaf: dict[str, Any], what: str) -> dict[str, Any]:
            out: dict[str, Any] = {"type": "object", "description": what}
            if names is None:
                out.update(
                    propertyNames={"pattern": "^[A-Za-z][0-9]{0,2}$"}, additionalProperties=leaf
                )
            else:
                out.update(properties=dict.fromkeys(names, leaf), additionalProperties=False)
            return out

        nodes = [n.name for n in p.nodes] if p else None
        return {
            "type": "object",
            "additionalProperties": False,
            "description": "chain rule on a computational graph: values, adjoints, partials",
            "properties": {
                "values": by_name(nodes, number, "value of every node at the point, by node name"),
                "adjoints": by_name(
                    nodes[::-1] if nodes else None,
                    number,
                    "adjoint ∂f/∂node of every node (f the output), by node name",
                ),
                "partials": by_name(
                    p.variables if p else None,
                    partial_schema,
                    "per variable: the partial derivative as a formula and its value",
                ),
            },
        }

    def describe_text(self, params: BaseModel, solution: Solution) -> str:
        p = _params(params)
        trace: ChainRuleTrace = solution.trace
        printer = _Printer(p, tex=False)
        out, values = p.output, solution.answers["values"]
        lines = [
            f"{out}({', '.join(p.variables)}) = {function_text(p)}",
            "nodes: " + ", ".join(f"{n.name} = {printer.definition(n)}" for n in p.nodes),
            "point: " + ", ".join(f"{v} = {fmt_frac(p.point[v])}" for v in p.variables),
            "\nforward pass (node values)",
        ]
        lines += [
            f"  {n.name} = {printer.definition(n)} = {fmt_frac(values[n.name])}" for n in p.nodes
        ]
        lines.append(f"\nbackward pass (adjoints ∂{out}/∂node)")
        for n in reversed(p.nodes):
            lines.append(f"  {n.name}: " + _adjoint_text(out, n.name, trace.adjoint_terms[n.name]))
        lines.append("\npartial derivatives (one product of local derivatives per path)")
        for v in p.variables:
            part = solution.answers["partials"][v]
            paths = ", ".join("→".join(t.path) for t in trace.paths[v])
            lines.append(f"  ∂{out}/∂{v} = {part['formula']}")
            lines.append(f"      paths: {paths}")
            lines.append("      at the point: " + _adjoint_text(out, v, trace.adjoint_terms[v]))
        return "\n".join(lines)

    def latex_view(self, params: BaseModel, solution: Solution, language: str) -> dict[str, Any]:
        """Everything the LaTeX partials print, as TeX our own code built (names are
        validated letters and digits, numbers are Fractions)."""
        return _latex_view(_params(params), solution)

    # ------------------------------------------------------------ independent check

    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        return sympy_mismatches(_params(params), answers)


EXERCISE = ChainRule()


def _params(params: BaseModel | None) -> ChainRuleParams:
    assert isinstance(params, ChainRuleParams)
    return params


def _evaluate(computations: Sequence[Computation], *, formulas: bool = True) -> dict[str, Any]:
    """The key: every computation run in order on the key's own values (without the
    formulas, which no other computation takes as input, unless ``formulas``)."""
    ops = FractionOps()
    values: dict[str, Any] = {}
    for comp in computations:
        if comp.kind == "formula" and not formulas:
            continue
        got = comp.compute({k: values[k] for k in comp.inputs}, ops, CORRECT)
        values.update(zip(comp.outputs, got, strict=True))
    return values


def _names(nodes: Sequence[NodeSpec]) -> list[str]:
    return [n.name for n in nodes]


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


def _trace(p: ChainRuleParams, fields: _Fields, values: Mapping[str, Any]) -> ChainRuleTrace:
    ops = FractionOps()
    terms = {
        name: [
            (c.name, values[fields.adjoint_ptr(c.name)], fields.local(values, ops, c, name))
            for c in children
        ]
        for name, children in fields.children.items()
    }
    return ChainRuleTrace(terms, {v: path_terms(p, v) for v in p.variables})


def _adjoint_text(out: str, name: str, terms: Sequence[tuple[str, Fraction, Fraction]]) -> str:
    if not terms:
        return "1"
    symbolic = " + ".join(f"∂{out}/∂{c}·∂{c}/∂{name}" for c, _, _ in terms)
    numeric = " + ".join(f"{_paren(a)}·{_paren(loc)}" for _, a, loc in terms)
    total = sum((a * loc for _, a, loc in terms), Fraction(0))
    return f"{symbolic} = {numeric} = {fmt_frac(total)}"


def _paren(x: Fraction) -> str:
    return f"({fmt_frac(x)})" if x < 0 else fmt_frac(x)


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


# ------------------------------------------------------------ independent oracle: sympy.diff

_SYMPY_OPS: dict[str, Callable[[list[Any], Any], Any]] = {
    "add": lambda a, c: a[0] + a[1],
    "sub": lambda a, c: a[0] - a[1],
    "mul": lambda a, c: a[0] * a[1],
    "square": lambda a, c: a[0] ** 2,
    "neg": lambda a, c: -a[0],
    "scale": lambda a, c: c * a[0],
}


def _rebuild(p: ChainRuleParams, cut: Any = None) -> dict[str, Any]:
    """Every variable and node as a sympy expression, rebuilt from the graph alone.  With
    ``cut`` (a node name), that node is the free symbol ``CUT`` instead of its definition,
    so the derivative of the output by ``CUT`` is the node's adjoint."""
    env: dict[str, Any] = {v: sympy.Symbol(v) for v in p.variables}
    for n in p.nodes:
        const = (
            sympy.Rational(n.const.numerator, n.const.denominator) if n.const is not None else None
        )
        env[n.name] = _CUT if n.name == cut else _SYMPY_OPS[n.op]([env[a] for a in n.args], const)
    return env


_CUT = sympy.Dummy("cut")


def sympy_mismatches(p: ChainRuleParams, answers: Any) -> list[str]:
    """Recompute the key with sympy (build f from the graph, ``sympy.diff``, substitute the
    point) and list every disagreement with ``answers`` (numbers as text or Fractions).

    The key's formula text must be the one :func:`formula_text` derives, and the formula
    solve grades against must equal ``sympy.diff`` of f symbolically.
    """
    if not isinstance(answers, Mapping):
        return ["answers: expected an object with values, adjoints, partials"]
    problems: list[str] = []
    at = {sympy.Symbol(v): sympy.Rational(q.numerator, q.denominator) for v, q in p.point.items()}
    env = _rebuild(p)
    f = env[p.output]

    def agree(where: str, given: Any, expected: Any) -> None:
        try:
            got = parse_number(given)
        except NumberError:
            problems.append(f"{where}: key value {given!r} is not a number")
            return
        want = Fraction(int(sympy.numer(expected)), int(sympy.denom(expected)))
        if got != want:
            problems.append(f"{where}: key has {fmt_frac(got)}, sympy gives {fmt_frac(want)}")

    values, adjoints = answers.get("values"), answers.get("adjoints")
    for n in p.nodes:
        value = env[n.name].subs(at)
        agree(f"values/{n.name}", _get(values, n.name), value)
        adjoint = sympy.diff(_rebuild(p, cut=n.name)[p.output], _CUT).subs({_CUT: value, **at})
        agree(f"adjoints/{n.name}", _get(adjoints, n.name), adjoint)
    for v in p.variables:
        derivative = sympy.diff(f, sympy.Symbol(v))
        entry = _get(answers.get("partials"), v)
        entry = entry if isinstance(entry, Mapping) else {}
        agree(f"partials/{v}/value", entry.get("value"), derivative.subs(at))
        expected_text = formula_text(p, v)
        if entry.get("formula") != expected_text:
            problems.append(
                f"partials/{v}/formula: key has {entry.get('formula')!r}, "
                f"expected {expected_text!r}"
            )
        if sympy.expand(solved_formula(p, v) - derivative) != 0:
            problems.append(
                f"partials/{v}/formula: {expected_text} is not sympy's derivative {derivative}"
            )
    return problems


def _get(layout: Any, key: str) -> Any:
    return layout.get(key) if isinstance(layout, Mapping) else None


def solved_formula(p: ChainRuleParams, var: str) -> Any:
    """solve's formula for ∂output/∂var as a sympy expression (what grading compares to)."""
    return _Fields.of(p, "").formula({}, FractionOps(), CORRECT, var=var)[0]


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
        "graph": _tikz_graph(p, tex),
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


def _tikz_graph(p: ChainRuleParams, tex: _Printer) -> Tex:
    """The graph's TikZ picture in plain coordinates (:mod:`grader.exercises.graph_layout`):
    edges first, so that the filled nodes cover nothing of them; each node's definition
    as a label under it."""
    labels = {n.name: tex.definition(n) for n in p.nodes}
    drawing = layout(p.variables, [(n.name, n.args) for n in p.nodes], labels)
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
        if box.label_at is not None:
            lx, ly = box.label_at
            lines.append(rf"  \node[crlab] at ({lx:.3f},{ly:.3f}) {{${labels[name]}$}};")
    if drawing.scale < 1:  # a graph too deep for the text width, shrunk as a whole
        lines = [
            rf"\begin{{scope}}[scale={drawing.scale:.3f}, transform shape]",
            *lines,
            r"\end{scope}",
        ]
    return Tex("\n".join(lines))
