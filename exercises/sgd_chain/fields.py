"""The answer fields of an ``sgd_chain`` variant as computations: the training trace and
the fields each step asks for, replayed by grading (key, tolerance, carried-forward credit,
diagnosis)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any

from grader.core import engine
from grader.core.engine import FractionOps, Layer, Ops, Rules
from grader.core.numbers import MAX_DIGITS
from grader.exercises.base import Computation, label_words, pointer
from grader.exercises.sgd_chain.params import SgdChainParams

# Answer pointers are built for every field of every candidate variant: memoized (the
# same few hundred strings across a build).
_pointer = functools.lru_cache(maxsize=1 << 16, typed=True)(pointer)


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
                words=label_words("x_of_step", n=n),
            ),
        ]
        for layer in range(d):
            out.append(
                Computation(
                    f"o{layer + 1} of step {n}",
                    (self.at("forward", layer + 1),),
                    (self.at("forward", layer), *self.w_inputs(layer)),
                    partial(self.output, layer=layer),
                    words=label_words("o_of_step", l=layer + 1, n=n),
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
                words=label_words("delta_of_step", l=d, n=n),
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
                    words=label_words("delta_of_step", l=layer + 1, n=n),
                )
            )
        for layer in range(d):
            out.append(
                Computation(
                    f"∂/∂b{layer + 1} of step {n}",
                    (self.at("gradient", 0, layer),),
                    (self.at("deltas", layer),),
                    partial(self.bias_grad, layer=layer),
                    words=label_words("grad_b_of_step", l=layer + 1, n=n),
                )
            )
            out.append(
                Computation(
                    f"∂/∂w{layer + 1} of step {n}",
                    (self.at("gradient", 1, layer),),
                    (self.at("deltas", layer), self.at("forward", layer)),
                    partial(self.weight_grad, layer=layer),
                    words=label_words("grad_w_of_step", l=layer + 1, n=n),
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
                        words=label_words(f"new_{name}_after_step", l=layer + 1, n=n),
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
