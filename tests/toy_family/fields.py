"""The answer fields of a ``toy_neuron`` variant as computations of the engine (what grading
replays for the key, tolerance, carried-forward credit and diagnosis)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.core import engine
from grader.core.engine import Ops, Rules
from grader.exercises.base import Computation, label_words, pointer
from tests.toy_family.params import ToyParams

FIELDS = ("yhat", "delta", "grad_w", "grad_b", "w_new", "b_new")


def pointers(exercise_id: str) -> dict[str, str]:
    """Each field's answer pointer."""
    return {name: pointer("answers", exercise_id, name) for name in FIELDS}


def computations(p: ToyParams, exercise_id: str) -> list[Computation]:
    at = pointers(exercise_id)

    def yhat(v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        return [ops.const(p.w) * ops.const(p.x) + ops.const(p.b)]

    def delta(v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        d = engine.output_delta(
            ops, rules, o_out=[[v[at["yhat"]]]], y=[[ops.const(p.y)]],
            h_out=[[v[at["yhat"]]]], activation="identity", loss="half_mse",
        )  # fmt: skip
        return [d[0][0]]

    def grads(v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        return [v[at["delta"]] * ops.const(p.x), v[at["delta"]]]

    def step(v: Mapping[str, Any], ops: Ops, rules: Rules) -> list[Any]:
        w = [[ops.const(p.w), ops.const(p.b)]]
        g = [[v[at["grad_w"]], v[at["grad_b"]]]]
        return list(engine.update(ops, rules, w, g, p.learning_rate)[0])

    # labels: named once, in templates/words.yaml (reports and the answer page say them)
    return [
        Computation("ŷ", (at["yhat"],), (), yhat, words=label_words("yhat")),
        Computation(
            "δ", (at["delta"],), (at["yhat"],), delta, ("sign_flip",), words=label_words("delta")
        ),
        Computation(
            "∂L/∂w, ∂L/∂b",
            (at["grad_w"], at["grad_b"]),
            (at["delta"],),
            grads,
            words=label_words("gradient"),
        ),
        Computation(
            "w, b after the step",
            (at["w_new"], at["b_new"]),
            (at["grad_w"], at["grad_b"]),
            step,
            # the last: the toy family's own mistake, one catalogue record (tests/toy_mistake.py)
            ("learning_rate", "gradient_ascent", "toy_ascent_without_rate"),
            words=label_words("after_step"),
        ),
    ]
