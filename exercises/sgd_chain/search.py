"""The variant search of ``sgd_chain``: drawing a candidate, the screen before solving and
what makes a variant fit to hand out."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from pydantic import BaseModel

from grader.core import engine
from grader.exercises.base import REFUSED, Screened, Solution
from grader.exercises.sgd_chain.fields import _flat, _step_answers, _train
from grader.exercises.sgd_chain.params import SgdChainParams, _params


def sample(rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
    depth = fixed.get("depth", 3)
    activation = fixed.get("activation", "sigmoid")
    n_obs = len(fixed["data"]) if "data" in fixed else 2
    xs = [Fraction(v) for v in (-3, -2, -1, 1, 2, 3, 4, 5)] + [Fraction(1, 2), Fraction(-1, 2)]
    if activation in ("sigmoid", "hard_sigmoid"):
        ys = [Fraction(0), Fraction(1), Fraction(1, 2)]
    elif activation in ("tanh", "softsign"):
        ys = [Fraction(-1), Fraction(0), Fraction(1), Fraction(1, 2)]
    else:
        ys = [Fraction(v) for v in (-2, -1, 0, 1, 2, 3)]
    data = fixed.get("data") or [(rng.choice(xs), rng.choice(ys)) for _ in range(n_obs)]
    order = fixed.get("order") or rng.sample(range(1, len(data) + 1), len(data))
    rates = [
        Fraction(1, 2),
        Fraction(1),
        Fraction(2),
        Fraction(3),
        Fraction(4),
        Fraction(5),
        Fraction(10),
    ]
    if activation not in ("sigmoid", "hard_sigmoid", "tanh", "softsign"):
        rates = [Fraction(1, 10), Fraction(1, 4), Fraction(1, 2)]
    rate = fixed.get("learning_rate") or rng.choice(rates)
    if "init" in fixed:
        init: Any = fixed["init"]
    else:
        choices = [Fraction(v, 2) for v in range(-2, 3)]
        init = [[rng.choice(choices) for _ in range(depth)] for _ in range(2)]
    values = dict(fixed)
    values.update(
        data=data,
        order=order,
        learning_rate=rate,
        init=init,
        depth=depth,
        activation=activation,
    )
    return SgdChainParams.model_validate(values)


def is_nice(params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
    return not _unfit(_params(params), fixed, solution.trace, solution.values.values())


def screen(params: BaseModel, fixed: Mapping[str, Any]) -> Screened:
    """The variant search's first look: :meth:`is_nice`'s verdict from the training
    trace alone (a third of the candidates are rejected), before :meth:`solve` makes
    the answer fields; :meth:`solve` reuses the trace of an accepted candidate."""
    p = _params(params)
    trace = _train(p)
    numbers = [
        v
        for st in trace.steps
        for answers in _step_answers(st, p.depth).values()
        for v in _flat(answers)
    ]
    if _unfit(p, fixed, trace, numbers):
        return REFUSED
    return Screened(True, trace)  # solve reuses the training


def _unfit(
    p: SgdChainParams, fixed: Mapping[str, Any], trace: engine.Trace, numbers: Iterable[Fraction]
) -> bool:
    """Whether a variant is no good for a student (:meth:`SgdChain.is_nice`'s rules), on
    its trace and every number of its answers."""
    # (|v| > c as |numerator| > c·denominator: integer comparisons, for every candidate)
    for st in trace.steps:
        for h in st.h:
            v = h[0][0]
            if abs(v.numerator) > 4 * v.denominator:  # saturated σ/tanh, or too large by hand
                return True
    if "init" not in fixed:
        for l in range(p.depth):
            if all(st.grad_b[l] == [0] and st.grad_w[l] == [[0]] for st in trace.steps):
                return True
    if "data" not in fixed:
        if len(set(p.data)) < len(p.data):
            return True  # a repeated observation teaches nothing new
        for st in trace.steps:  # a step whose output is already right updates nothing
            if all(g == [0] for g in st.grad_b):
                return True
    exact_numbers = p.rounding.mode != "transcendental" and p.activation not in ("sigmoid", "tanh")
    for v in numbers:
        if abs(v.numerator) > 50 * v.denominator:
            return True
        if exact_numbers and len(str(v.denominator)) > 4:
            return True
    return False
