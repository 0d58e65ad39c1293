"""``sgd_chain``: SGD steps by hand on a chain of single neurons (the worksheet's main exercise).

Network x → neuron 1 → … → neuron D with h_l = w_l·o_{l−1} + b_l, o_l = f(h_l), o_0 = x.
W is a 2×D matrix: column l is layer l, row 0 the biases, row 1 the weights.
Per step the student gives forward [x, o_1..o_D], deltas [δ_1..δ_D] (δ_l = ∂loss/∂h_l),
the gradient (layout of W) and the updated W.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from grader.core import engine
from grader.core.engine import EXACT_MODE_DECIMALS, FractionOps, Layer, Ops, Rounding, Rules
from grader.core.models import ExactNumber, RoundingSpec, StrictModel
from grader.core.numbers import (
    MAX_DIGITS,
    NumberError,
    fmt_dec,
    fmt_frac,
    parse_number,
    round_half_away,
)
from grader.exercises.base import (
    Computation,
    Exercise,
    MistakeContext,
    ScreenedWork,
    Solution,
    pointer,
)

# Answer pointers are built for every field of every candidate variant: memoized (the
# same few hundred strings across a build).
_pointer = functools.lru_cache(maxsize=1 << 16, typed=True)(pointer)

Activation = Literal["sigmoid", "tanh", "relu", "identity", "hard_sigmoid", "softsign"]

# Parameters that shape the task stay at their defaults unless the instructor sets them;
# the numbers (data, order, rate, initial weights) are what varies between students.
RANDOMIZED = ("data", "order", "learning_rate", "init")


class SgdChainParams(BaseModel):
    model_config = StrictModel
    data: list[tuple[ExactNumber, ExactNumber]] = Field(min_length=1, max_length=8)
    order: list[int] = Field(min_length=1, max_length=12)
    learning_rate: ExactNumber
    depth: int = Field(default=3, ge=2, le=4)
    init: Literal["zeros"] | list[list[ExactNumber]] = "zeros"
    activation: Activation = "sigmoid"
    loss: Literal["mse", "half_mse"] = "mse"
    rounding: RoundingSpec = RoundingSpec()

    @model_validator(mode="after")
    def _consistent(self) -> SgdChainParams:
        for i, k in enumerate(self.order):
            if not 1 <= k <= len(self.data):
                raise ValueError(
                    f"order[{i}] = {k} is not an observation number 1..{len(self.data)}"
                )
        if not 0 < self.learning_rate <= 1000:
            raise ValueError("learning_rate must be positive and at most 1000")
        for x, y in self.data:
            if abs(x) > 1000 or abs(y) > 1000:
                raise ValueError("data values must lie within ±1000")
        if self.init != "zeros":
            if len(self.init) != 2 or any(len(row) != self.depth for row in self.init):
                raise ValueError(
                    f"init must be 'zeros' or a 2×{self.depth} matrix [[biases], [weights]]"
                )
            if any(abs(v) > 1000 for row in self.init for v in row):
                raise ValueError("init values must lie within ±1000")
        return self

    def initial_matrix(self) -> list[list[Fraction]]:
        if self.init == "zeros":
            return [[Fraction(0)] * self.depth for _ in range(2)]
        return [list(row) for row in self.init]


class SgdChain(Exercise):
    type_name = "sgd_chain"
    Params = SgdChainParams
    title = {"en": "SGD on a chain of neurons", "ru": "SGD для цепочки нейронов"}
    randomized = RANDOMIZED

    # ------------------------------------------------------------ what grading asks

    def rounding(self, params: BaseModel) -> Rounding:
        p = _params(params)
        return p.rounding.rule()

    def mistake_context(self, params: BaseModel) -> MistakeContext:
        p = _params(params)
        return MistakeContext(
            learning_rate=p.learning_rate,
            observations=tuple(tuple(row) for row in p.data),
            loss=p.loss,
            activation=p.activation,
        )

    # ------------------------------------------------------------ solving

    def solve(self, params: BaseModel, exercise_id: str, *, formulas: bool = True) -> Solution:
        # (no formula leaves: ``formulas`` changes nothing)
        p = _params(params)
        trace = _SCREENED.take(p) or _train(p)
        steps_answers = []
        values: dict[str, Any] = {}
        for s, st in enumerate(trace.steps):
            steps_answers.append(_step_answers(st, p.depth))
            base = ("answers", exercise_id, "steps", s)
            for name in ("forward", "deltas"):
                for i, v in enumerate(steps_answers[-1][name]):
                    values[_pointer(*base, name, i)] = v
            for name in ("gradient", "weights"):
                for r in range(2):
                    for c in range(p.depth):
                        values[_pointer(*base, name, r, c)] = steps_answers[-1][name][r][c]
        computations = _computations(p, exercise_id)
        return Solution(
            computations=computations,
            values=values,
            answers={"steps": steps_answers},
            rounded=_rounded_leaves(p, exercise_id, values),
            decimals=p.rounding.decimals,
            trace=trace,
        )

    # ------------------------------------------------------------ variants

    def sample(self, rng: random.Random, fixed: Mapping[str, Any]) -> BaseModel:
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

    def is_nice(self, params: BaseModel, solution: Solution, fixed: Mapping[str, Any]) -> bool:
        return not _unfit(_params(params), fixed, solution.trace, solution.values.values())

    def screen(self, params: BaseModel, fixed: Mapping[str, Any]) -> bool:
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
            return False
        _SCREENED.keep(p, trace)  # solve's next call needs it
        return True

    # ------------------------------------------------------------ formats

    def template_answers(self, params: BaseModel) -> Any:
        p = _params(params)
        d = p.depth
        return {
            "steps": [
                {
                    "forward": [None] * (d + 1),
                    "deltas": [None] * d,
                    "gradient": [[None] * d, [None] * d],
                    "weights": [[None] * d, [None] * d],
                }
                for _ in p.order
            ]
        }

    def json_schema(self, params: BaseModel | None) -> dict[str, Any]:
        number = {"$ref": "#/$defs/number"}
        depth = _params(params).depth if params is not None else None
        steps = len(_params(params).order) if params is not None else None

        def vec(n: int | None) -> dict[str, Any]:
            out: dict[str, Any] = {"type": "array", "items": number}
            if n is not None:
                out.update(minItems=n, maxItems=n)
            return out

        def mat(n: int | None) -> dict[str, Any]:
            return {"type": "array", "items": vec(n), "minItems": 2, "maxItems": 2}

        step = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "forward": vec(depth + 1 if depth else None) | {"description": "[x, o1, ..., oD]"},
                "deltas": vec(depth) | {"description": "[δ1, ..., δD], δl = ∂loss/∂hl"},
                "gradient": mat(depth) | {"description": "[[∂/∂b1..], [∂/∂w1..]]"},
                "weights": mat(depth) | {"description": "W after the step: [[b1..], [w1..]]"},
            },
        }
        steps_schema: dict[str, Any] = {"type": "array", "items": step}
        if steps is not None:
            steps_schema.update(minItems=steps, maxItems=steps)
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {"steps": steps_schema},
            "required": ["steps"],
        }

    def describe_text(self, params: BaseModel, solution: Solution) -> str:
        p = _params(params)
        lines = [
            f"network: {p.depth} neurons, activation {p.activation}, loss {p.loss}, "
            f"learning rate {fmt_frac(p.learning_rate)}, rounding {p.rounding.mode} ({p.rounding.decimals} decimals)",
            "data: "
            + ", ".join(
                f"obs {i + 1} = ({fmt_frac(x)}, {fmt_frac(y)})" for i, (x, y) in enumerate(p.data)
            ),
            "W0 = " + _matrix_text(p.initial_matrix()),
        ]
        for s, step in enumerate(solution.answers["steps"]):
            lines.append(f"\nstep {s + 1} (observation {p.order[s]})")
            for name in ("forward", "deltas"):
                lines.append(f"  {name:9s} " + "  ".join(_num_text(v) for v in step[name]))
            for name in ("gradient", "weights"):
                for r, label in enumerate(("b", "w")):
                    head = f"  {name:9s}" if r == 0 else " " * 11
                    lines.append(
                        f"{head} {label}: " + "  ".join(_num_text(v) for v in step[name][r])
                    )
        return "\n".join(lines)

    # ------------------------------------------------------------ documents

    def latex_view(self, params: BaseModel, solution: Solution, language: str) -> dict[str, Any]:
        """The math the sheet and key partials print (see grader.exercises.sgd_chain_view)."""
        from grader.exercises.sgd_chain_view import latex_view

        return latex_view(_params(params), solution, language)

    # ------------------------------------------------------------ independent check

    def check_independently(self, params: BaseModel, answers: Any) -> list[str]:
        try:
            return float_oracle_mismatches(_params(params), answers)
        except OverflowError:
            return ["a value is beyond the range of float64: the key cannot be recomputed"]


def _train(p: SgdChainParams) -> engine.Trace:
    """Every step of the key (raises NumberGrowthError past MAX_DIGITS)."""
    w0 = p.initial_matrix()
    layers = [Layer(w=[[w0[1][l]]], b=[w0[0][l]], activation=p.activation) for l in range(p.depth)]
    return engine.train(
        FractionOps(p.rounding.rule()),
        layers,
        [[x] for x, _ in p.data],
        [[y] for _, y in p.data],
        [[k - 1] for k in p.order],
        learning_rate=p.learning_rate,
        loss=p.loss,
        max_digits=MAX_DIGITS,  # every key value must stay a readable submission
    )


_SCREENED = ScreenedWork()  # the training of the candidate the screen accepted last


def _step_answers(st: engine.StepTrace, depth: int) -> dict[str, list[Any]]:
    """One step's answer fields: forward, deltas, gradient and weights."""
    # every layer of the chain has a bias, so grad_b and b are never None here
    return {
        "forward": [st.o[l][0][0] for l in range(depth + 1)],
        "deltas": [st.delta[l][0][0] for l in range(depth)],
        "gradient": [
            [g[0] for g in st.grad_b if g is not None],
            [g[0][0] for g in st.grad_w],
        ],
        "weights": [
            [layer.b[0] for layer in st.layers_after if layer.b is not None],
            [layer.w[0][0] for layer in st.layers_after],
        ],
    }


def _flat(answers: list[Any]) -> list[Any]:
    """A field's numbers: a vector's, or a 2×D matrix's row by row."""
    return [v for row in answers for v in row] if isinstance(answers[0], list) else answers


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


def _params(params: BaseModel | None) -> SgdChainParams:
    assert isinstance(params, SgdChainParams)
    return params


def _num_text(v: Fraction) -> str:
    exact = fmt_frac(v)
    if v.denominator == 1:
        return exact
    return (
        f"{exact} (≈{fmt_dec(v, 7)})"
        if len(exact) > 12
        else f"{exact} ({fmt_dec(v, 7).rstrip('0')})"
    )


def _matrix_text(m: list[list[Fraction]]) -> str:
    return "[" + "; ".join(" ".join(fmt_frac(v) for v in row) for row in m) + "]"


# ------------------------------------------------------------ field graph


@dataclass(frozen=True)
class _StepGraph:
    """The answer fields of one SGD step and how each is computed from earlier fields.

    Every compute method has the :data:`grader.exercises.base.ComputeFn` signature and calls
    the engine on 1×1 matrices, so replaying it under other ``Rules`` or on intervals
    is the engine's own behaviour.
    """

    p: SgdChainParams
    ex: str
    s: int  # 0-based step
    obs: int  # 1-based observation of this step
    init: tuple[tuple[Fraction, ...], ...]

    def at(self, *parts: str | int) -> str:
        return _pointer("answers", self.ex, "steps", self.s, *parts)

    def prev_ptr(self, r: int, c: int) -> str | None:
        """Pointer of W[r][c] before this step (None in step 1: the given initial W)."""
        return (
            _pointer("answers", self.ex, "steps", self.s - 1, "weights", r, c)
            if self.s > 0
            else None
        )

    def prev(self, v: Mapping[str, Any], ops: Ops, r: int, c: int) -> Any:
        ptr = self.prev_ptr(r, c)
        return v[ptr] if ptr is not None else ops.const(self.init[r][c])

    def w_inputs(self, c: int) -> tuple[str, ...]:
        return tuple(x for x in (self.prev_ptr(0, c), self.prev_ptr(1, c)) if x is not None)

    def observation(self, rules: Rules) -> tuple[Fraction, Fraction]:
        idx = rules.observation if rules.observation is not None else self.obs - 1
        return self.p.data[idx]

    def h(self, v: Mapping[str, Any], ops: Ops, layer: int) -> Any:
        """h of ``layer`` (0-based) from the given o_layer and the previous W."""
        o_prev = v[self.at("forward", layer)]
        w, b = self.prev(v, ops, 1, layer), self.prev(v, ops, 0, layer)
        return engine.pre_activation(ops, [[o_prev]], [[w]], [b])[0][0]

    # ---- compute functions

    def x(self, v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        return [ops.const(self.observation(rules)[0])]

    def output(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        return [engine.activate(ops, self.p.activation, [[self.h(v, ops, layer)]])[0][0]]

    def output_delta(self, v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        d = self.p.depth
        delta = engine.output_delta(
            ops,
            rules,
            o_out=[[v[self.at("forward", d)]]],
            y=[[ops.const(self.observation(rules)[1])]],
            h_out=[[self.h(v, ops, d - 1)]],
            activation=self.p.activation,
            loss=self.p.loss,
        )
        return [delta[0][0]]

    def hidden_delta(
        self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int
    ) -> list[Any]:
        delta = engine.hidden_delta(
            ops,
            rules,
            delta_next=[[v[self.at("deltas", layer + 1)]]],
            w_next=[[self.prev(v, ops, 1, layer + 1)]],
            h=[[self.h(v, ops, layer)]],
            o=[[v[self.at("forward", layer + 1)]]],
            activation=self.p.activation,
        )
        return [delta[0][0]]

    def bias_grad(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        return [engine.bias_gradient(ops, [[v[self.at("deltas", layer)]]])[0]]

    def weight_grad(self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, layer: int) -> list[Any]:
        o_prev, delta = v[self.at("forward", layer)], v[self.at("deltas", layer)]
        return [engine.weight_gradient(ops, [[o_prev]], [[delta]])[0][0]]

    def new_weight(
        self, v: Mapping[str, Any], ops: Ops, rules: Rules, *, r: int, layer: int
    ) -> list[Any]:
        old, grad = self.prev(v, ops, r, layer), v[self.at("gradient", r, layer)]
        return [engine.update(ops, rules, [[old]], [[grad]], self.p.learning_rate)[0][0]]

    # ---- the fields, in the order a student computes them

    def computations(self) -> list[Computation]:
        d, n = self.p.depth, self.s + 1
        out = [
            Computation(
                f"x of step {n}",
                (self.at("forward", 0),),
                (),
                self.x,
                ("wrong_observation",),
                given=True,
            ),
        ]
        for layer in range(d):
            out.append(
                Computation(
                    f"o{layer + 1} of step {n}",
                    (self.at("forward", layer + 1),),
                    (self.at("forward", layer), *self.w_inputs(layer)),
                    partial(self.output, layer=layer),
                )
            )
        out.append(
            Computation(
                f"δ{d} of step {n}",
                (self.at("deltas", d - 1),),
                (self.at("forward", d - 1), self.at("forward", d), *self.w_inputs(d - 1)),
                self.output_delta,
                (
                    "sign_flip",
                    "missing_factor_2",
                    "missing_activation_derivative",
                    "wrong_activation_derivative",
                    "wrong_observation",
                ),
            )
        )
        for layer in range(d - 2, -1, -1):
            out.append(
                Computation(
                    f"δ{layer + 1} of step {n}",
                    (self.at("deltas", layer),),
                    (
                        self.at("deltas", layer + 1),
                        self.at("forward", layer),
                        self.at("forward", layer + 1),
                        *self.w_inputs(layer),
                        *self.w_inputs(layer + 1),
                    ),
                    partial(self.hidden_delta, layer=layer),
                    ("missing_activation_derivative", "wrong_activation_derivative"),
                )
            )
        for layer in range(d):
            out.append(
                Computation(
                    f"∂/∂b{layer + 1} of step {n}",
                    (self.at("gradient", 0, layer),),
                    (self.at("deltas", layer),),
                    partial(self.bias_grad, layer=layer),
                )
            )
            out.append(
                Computation(
                    f"∂/∂w{layer + 1} of step {n}",
                    (self.at("gradient", 1, layer),),
                    (self.at("deltas", layer), self.at("forward", layer)),
                    partial(self.weight_grad, layer=layer),
                )
            )
        for layer in range(d):
            for r, name in ((0, "b"), (1, "w")):
                prev = self.prev_ptr(r, layer)
                out.append(
                    Computation(
                        f"new {name}{layer + 1} after step {n}",
                        (self.at("weights", r, layer),),
                        (self.at("gradient", r, layer), *((prev,) if prev else ())),
                        partial(self.new_weight, r=r, layer=layer),
                        ("learning_rate", "gradient_ascent"),
                    )
                )
        return out


def _computations(p: SgdChainParams, ex: str) -> list[Computation]:
    init = tuple(tuple(row) for row in p.initial_matrix())
    graphs = [_StepGraph(p, ex, s, obs, init) for s, obs in enumerate(p.order)]
    return [c for g in graphs for c in g.computations()]


def _rounded_leaves(p: SgdChainParams, ex: str, values: Mapping[str, Fraction]) -> frozenset[str]:
    """Leaves whose key value was rounded: σ/tanh outputs (unless σ(0)), or all in mode ``all``."""
    rounded = set()
    for ptr in values:
        parts = ptr.split("/")
        is_output = parts[5] == "forward" and parts[6] != "0"
        if p.rounding.mode == "all" and not (parts[5] == "forward" and parts[6] == "0"):
            rounded.add(ptr)
        elif is_output and p.activation in ("sigmoid", "tanh"):
            # σ(0) = 1/2 and tanh(0) = 0 are exact; every other σ/tanh value was rounded
            exact_values = (Fraction(1, 2),) if p.activation == "sigmoid" else (Fraction(0),)
            if values[ptr] not in exact_values:
                rounded.add(ptr)
    return frozenset(rounded)


# ------------------------------------------------------------ float64 oracle


def float_oracle_mismatches(p: SgdChainParams, answers: Any) -> list[str]:
    """Recompute every value of the key in float64, from the key's own earlier values,
    with no code shared with the engine; list each value that disagrees.

    Each value is recomputed locally (from the key's previous weights and this step's
    key values), so a rounded value may differ from the float only by the rounding.
    The pre-activation h, which the key does not hold, is computed exactly from the key's
    rational values (and rounded in mode ``all``, as it is recorded there): a float h
    cannot tell on which side of a relu/hard_sigmoid kink it lies.
    """
    mode = p.rounding.mode
    # in exact mode only σ/tanh are rounded, and to EXACT_MODE_DECIMALS, not to `decimals`
    k = EXACT_MODE_DECIMALS if mode == "exact" else p.rounding.decimals
    problems: list[str] = []
    d = p.depth
    w_prev = [[float(v) for v in row] for row in p.initial_matrix()]
    w_prev_q: list[list[Fraction | None]] = [list(row) for row in p.initial_matrix()]

    def sig(t: float) -> float:
        return 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))

    f = {
        "sigmoid": sig,
        "tanh": math.tanh,
        "relu": lambda t: max(t, 0.0),
        "identity": lambda t: t,
        "hard_sigmoid": lambda t: min(max(t / 4 + 0.5, 0.0), 1.0),
        "softsign": lambda t: t / (1 + abs(t)),
    }[p.activation]

    def fprime(t: Any, o: float) -> float:
        return {
            "sigmoid": o * (1 - o),
            "tanh": 1 - o * o,
            "relu": 1.0 if t > 0 else 0.0,
            "identity": 1.0,
            "hard_sigmoid": 0.25 if -2 < t < 2 else 0.0,
            "softsign": 1 / (1 + abs(t)) ** 2,
        }[p.activation]

    def agree(where: str, key_value: Any, expected: float, rounded: bool) -> None:
        try:
            kv = parse_number(key_value)
        except NumberError:
            problems.append(f"{where}: key value {key_value!r} is not a number")
            return
        slack = 1e-9 * max(1.0, abs(expected))
        if rounded:
            slack += 0.5 * 10.0**-k
            if kv != round_half_away(kv, k):
                problems.append(f"{where}: {fmt_frac(kv)} should be rounded to {k} decimals")
        if abs(float(kv) - expected) > slack:
            problems.append(
                f"{where}: key has {float(kv):.10g}, float64 recomputation gives {expected:.10g}"
            )

    steps = answers.get("steps", []) if isinstance(answers, dict) else []
    if len(steps) != len(p.order):
        return [f"key has {len(steps)} steps, expected {len(p.order)}"]
    factor = 2.0 if p.loss == "mse" else 1.0
    all_mode = mode == "all"
    for s, (step, obs) in enumerate(zip(steps, p.order, strict=True)):
        x, y = (float(v) for v in p.data[obs - 1])
        fw = [_as_float(v) for v in step["forward"]]
        fq = [_as_fraction(v) for v in step["forward"]]
        de = [_as_float(v) for v in step["deltas"]]
        gr = [[_as_float(v) for v in row] for row in step["gradient"]]
        where = f"steps/{s}"
        agree(f"{where}/forward/0", step["forward"][0], x, False)
        hs: list[Fraction | float] = []
        for l in range(d):
            wq, bq, oq = w_prev_q[1][l], w_prev_q[0][l], fq[l]
            h: Fraction | float = math.nan
            if wq is not None and bq is not None and oq is not None:
                h = round_half_away(wq * oq + bq, k) if all_mode else wq * oq + bq
            hs.append(h)
            o = f(float(h))
            transcend = p.activation in ("sigmoid", "tanh") and h != 0
            agree(f"{where}/forward/{l + 1}", step["forward"][l + 1], o, transcend or all_mode)
        for l in range(d - 1, -1, -1):
            if l == d - 1:
                expected = factor * (fw[d] - y) * fprime(hs[l], fw[l + 1])
            else:
                expected = de[l + 1] * w_prev[1][l + 1] * fprime(hs[l], fw[l + 1])
            agree(f"{where}/deltas/{l}", step["deltas"][l], expected, all_mode)
        for l in range(d):
            agree(f"{where}/gradient/0/{l}", step["gradient"][0][l], de[l], all_mode)
            agree(f"{where}/gradient/1/{l}", step["gradient"][1][l], de[l] * fw[l], all_mode)
        new_w = [[_as_float(v) for v in row] for row in step["weights"]]
        lr = float(p.learning_rate)
        for r in range(2):
            for l in range(d):
                agree(
                    f"{where}/weights/{r}/{l}",
                    step["weights"][r][l],
                    w_prev[r][l] - lr * gr[r][l],
                    all_mode,
                )
        w_prev = new_w
        w_prev_q = [[_as_fraction(v) for v in row] for row in step["weights"]]
    return problems


def _as_fraction(text: Any) -> Fraction | None:
    try:
        return parse_number(text)
    except NumberError:
        return None


def _as_float(text: Any) -> float:
    try:
        return float(parse_number(text))
    except NumberError:
        return math.nan


EXERCISE = SgdChain()
