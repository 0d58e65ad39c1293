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

import random
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core.given import GivenData
from grader.core.numbers import fmt_frac
from grader.exercises.base import Computation, Exercise, Screened, Solution
from grader.exercises.chain_rule.fields import (
    ChainRuleTrace,
    _evaluate,
    _Fields,
    _Printer,
    _trace,
    formula_text,
    function_text,
)
from grader.exercises.chain_rule.oracle import check_independently
from grader.exercises.chain_rule.params import RANDOMIZED, ChainRuleParams, _params
from grader.exercises.chain_rule.search import is_nice, reads_well, sample, screen
from grader.exercises.chain_rule.view import _latex_view, given_data


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

    def solve(
        self,
        params: BaseModel,
        exercise_id: str,
        *,
        formulas: bool = True,
        screened: Screened | None = None,
    ) -> Solution:
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

    def fields(self, params: BaseModel, exercise_id: str) -> list[Computation]:
        return _Fields.of(_params(params), exercise_id).computations()

    # ------------------------------------------------------------ variants

    def sample(self, rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
        return sample(rng, fixed)

    def reads_well(self, params: BaseModel) -> bool:
        return reads_well(params)

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        return is_nice(params, solution, fixed)

    def screen(self, params: BaseModel, fixed: Mapping[str, Any]) -> Screened:
        return Screened(screen(params, fixed))  # nothing computed for solve to reuse

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

    def given_data(self, params: BaseModel, language: str) -> GivenData:
        return given_data(_params(params), self.words(language)["given_data"])

    # ------------------------------------------------------------ independent check

    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        return check_independently(params, answers)


EXERCISE = ChainRule()


def _adjoint_text(out: str, name: str, terms: Sequence[tuple[str, Fraction, Fraction]]) -> str:
    if not terms:
        return "1"
    symbolic = " + ".join(f"∂{out}/∂{c}·∂{c}/∂{name}" for c, _, _ in terms)
    numeric = " + ".join(f"{_paren(a)}·{_paren(loc)}" for _, a, loc in terms)
    total = sum((a * loc for _, a, loc in terms), Fraction(0))
    return f"{symbolic} = {numeric} = {fmt_frac(total)}"


def _paren(x: Fraction) -> str:
    return f"({fmt_frac(x)})" if x < 0 else fmt_frac(x)
