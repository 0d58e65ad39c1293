"""The answer fields of a ``chain_rule`` variant as computations: the graph's structure and
paths, the node values, adjoints and partial derivatives (numbers and formulas), and the
formulas' text; replayed by grading (key, tolerance, carried-forward credit, diagnosis)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from typing import Any

import sympy

from grader.core.engine import CORRECT, FractionOps, Ops, Rules
from grader.core.memo import BoundedMemo
from grader.core.numbers import fmt_frac, tex_frac
from grader.exercises.base import Computation, LabelWords, MistakeId, label_words, pointer
from grader.exercises.chain_rule.params import ChainRuleParams, NodeSpec, _names

# Answer pointers are built for every field of every candidate variant: memoized (the
# same few hundred strings across a build).
_pointer = functools.lru_cache(maxsize=1 << 16, typed=True)(pointer)


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
                    words=label_words("value", node=node.name),
                )
            )
        for node in reversed(self.p.nodes):
            out.append(
                self._adjoint_field(
                    node.name,
                    f"∂{self.p.output}/∂{node.name}",
                    label_words("adjoint", f=self.p.output, node=node.name),
                )
            )
        for var in self.p.variables:
            out.append(
                self._adjoint_field(
                    var,
                    f"∂{self.p.output}/∂{var} at the point",
                    label_words("partial_value", f=self.p.output, v=var),
                )
            )
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
            words=label_words("partial_formula", f=self.p.output, v=var),
        )

    def _adjoint_field(self, name: str, label: str, words: LabelWords) -> Computation:
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
            words=words,
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
