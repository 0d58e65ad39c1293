"""The independent check of a ``chain_rule`` key: every value and formula re-derived with
``sympy.diff``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import sympy
from pydantic import BaseModel

from grader.core.engine import CORRECT, FractionOps
from grader.core.numbers import NumberError, fmt_frac, parse_number
from grader.exercises.chain_rule.fields import _Fields, formula_text
from grader.exercises.chain_rule.params import ChainRuleParams, _params


def check_independently(params: BaseModel, answers: Any) -> list[str]:
    return sympy_mismatches(_params(params), answers)


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
