"""Engine scaling: 100 SGD steps on a 2-8-8-1 network in each rounding mode.

Exact arithmetic can blow up: in ``exact`` mode every σ value carries 30 decimals, and
products of them enter every weight.  This prints the time per mode and the largest
denominator (in decimal digits) among the final weights, so nobody is surprised.

    python bench/bench_engine.py [--steps 100]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import describe  # noqa: E402
from grader.core import engine  # noqa: E402
from grader.core.engine import FractionOps, Layer, Rounding  # noqa: E402


def network(rng: random.Random, activation: str) -> list[Layer]:
    sizes = [2, 8, 8, 1]
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        w = [[Fraction(rng.randint(-4, 4), 4) for _ in range(n_out)] for _ in range(n_in)]
        b = [Fraction(rng.randint(-2, 2), 4) for _ in range(n_out)]
        layers.append(Layer(w=w, b=b, activation=activation))
    return layers


def run(mode: str, activation: str, steps: int) -> tuple[float, int]:
    rng = random.Random(7)
    layers = network(rng, activation)
    xs = [[Fraction(rng.randint(-4, 4), 2), Fraction(rng.randint(-4, 4), 2)] for _ in range(4)]
    ys = [[Fraction(rng.randint(0, 2), 2)] for _ in range(4)]
    schedule = [[i % 4] for i in range(steps)]
    ops = FractionOps(Rounding(mode, 4))  # type: ignore[arg-type]
    start = time.perf_counter()
    trace = engine.train(ops, layers, xs, ys, schedule, learning_rate=Fraction(1, 2), loss="mse")
    elapsed = time.perf_counter() - start
    digits = max(
        len(str(v.denominator))
        for layer in trace.final_layers
        for v in [x for row in layer.w for x in row] + list(layer.b or [])
    )
    return elapsed, digits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    print(describe())
    print(f"engine: {args.steps} SGD steps, 2-8-8-1 network with biases, mse, γ = 1/2")
    print(
        f"{'activation':10s} {'mode':15s} {'time':>9s} {'per step':>10s} {'max denominator':>16s}"
    )
    for activation in ("relu", "sigmoid"):
        for mode in ("exact", "transcendental", "all"):
            elapsed, digits = run(mode, activation, args.steps)
            per_step = elapsed / args.steps * 1000
            print(
                f"{activation:10s} {mode:15s} {elapsed:8.3f}s {per_step:8.2f}ms {digits:>12d} digits"
            )


if __name__ == "__main__":
    main()
