"""The worksheet's canonical sgd_chain instance, every value typed in from the spec."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction as F

from grader.core.numbers import fmt_dec
from grader.exercises.sgd_chain import EXERCISE
from grader.exercises.sgd_chain.params import SgdChainParams

CANONICAL = dict(
    data=[[5, 0], [1, 1]],
    order=[2, 1],
    learning_rate=5,
    init="zeros",
    activation="sigmoid",
    loss="mse",
    rounding={"mode": "transcendental", "decimals": 4},
)

STEP1 = {
    "forward": [F(1), F(1, 2), F(1, 2), F(1, 2)],
    "deltas": [F(0), F(0), F(-1, 4)],
    "gradient": [[F(0), F(0), F(-1, 4)], [F(0), F(0), F(-1, 8)]],
    "weights": [[F(0), F(0), F(5, 4)], [F(0), F(0), F(5, 8)]],
}
STEP2 = {
    "forward": [F(5), F(1, 2), F(1, 2), F(8267, 10000)],
    "deltas": [F(0), F(118438919837, 3200000000000), F(118438919837, 500000000000)],
    "weights": [
        [F(0), F(-118438919837, 640000000000), F(6561080163, 100000000000)],
        [F(0), F(-118438919837, 1280000000000), F(6561080163, 200000000000)],
    ],
}


def solve():
    params = SgdChainParams.model_validate(CANONICAL)
    return EXERCISE.solve(params, "sgd")


def test_step1_exact():
    assert solve().answers["steps"][0] == STEP1


def test_step2_exact():
    step = solve().answers["steps"][1]
    assert step["forward"] == STEP2["forward"]
    assert step["deltas"] == STEP2["deltas"]
    assert step["weights"] == STEP2["weights"]


def test_step2_gradient_decimals_from_spec():
    step = solve().answers["steps"][1]
    assert [fmt_dec(v, 7) for v in step["gradient"][0]] == ["0.0000000", "0.0370122", "0.2368778"]
    assert [fmt_dec(v, 7) for v in step["gradient"][1]] == ["0.0000000", "0.0185061", "0.1184389"]
    # the gradient is the δ row and δ·o row exactly
    assert step["gradient"][0] == STEP2["deltas"]
    assert step["gradient"][1][2] == STEP2["deltas"][2] * F(1, 2)


def test_weights_decimals_from_spec():
    w = solve().answers["steps"][1]["weights"]
    assert [fmt_dec(v, 7) for v in w[0]] == ["0.0000000", "-0.1850608", "0.0656108"]
    assert [fmt_dec(v, 7) for v in w[1]] == ["0.0000000", "-0.0925304", "0.0328054"]


def test_only_sigma_of_nonzero_is_rounded():
    assert solve().rounded == frozenset({"/answers/sgd/steps/1/forward/3"})


def test_solve_command_json(canonical_yaml):
    out = subprocess.run(
        [sys.executable, "-m", "grader", "solve", str(canonical_yaml), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    key = json.loads(out)
    assert key["assignment"] == "backprop-hw1"
    steps = key["answers"]["sgd"]["steps"]
    assert steps[0]["weights"] == [["0", "0", "5/4"], ["0", "0", "5/8"]]
    assert steps[1]["forward"] == ["5", "1/2", "1/2", "8267/10000"]
    assert steps[1]["weights"][0][2] == "6561080163/100000000000"
    assert key["params"]["sgd"]["learning_rate"] == "5"


def test_solve_command_text(canonical_yaml):
    out = subprocess.run(
        [sys.executable, "-m", "grader", "solve", str(canonical_yaml)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "8267/10000" in out and "0.2368778" in out and "step 2 (observation 1)" in out
