"""The engine against independent oracles.

* sympy differentiates the symbolic loss of random small networks (exact equality);
* a float64 forward/backward pass written here checks σ and tanh networks;
* mpmath at high precision gives the correctly rounded σ/tanh of the rounding modes,
  and a Fraction re-implementation written here replays ``transcendental`` and ``all``.

Nothing here calls the engine to compute an expected value: the oracles below share no
code with ``grader.core.engine`` (not even the rounding helper of ``grader.core.numbers``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction as F
from typing import Any

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from grader.core import engine, transcendental
from grader.core.engine import CORRECT, FractionOps, Layer, Rounding

RATIONAL_ACTS = ("identity", "relu", "hard_sigmoid", "softsign")
ALL_ACTS = (*RATIONAL_ACTS, "sigmoid", "tanh")
KINKS = {"relu": (0,), "hard_sigmoid": (-2, 2), "softsign": (0,)}

# ------------------------------------------------------------------ random networks


@dataclass(frozen=True)
class Net:
    w: list[list[list[F]]]  # per layer: inputs × units
    b: list[list[F] | None]
    acts: list[str]
    x: list[list[F]]
    y: list[list[F]]
    loss: str
    reduction: str
    lr: F

    def layers(self) -> list[Layer]:
        return [
            Layer(w=[list(r) for r in w], b=None if b is None else list(b), activation=a)
            for w, b, a in zip(self.w, self.b, self.acts, strict=True)
        ]

    def parameters(self) -> list[tuple[str, int, tuple[int, ...]]]:
        out: list[tuple[str, int, tuple[int, ...]]] = []
        for l, w in enumerate(self.w):
            out += [("w", l, (i, j)) for i in range(len(w)) for j in range(len(w[0]))]
            if self.b[l] is not None:
                out += [("b", l, (j,)) for j in range(len(w[0]))]
        return out


def small_rationals(num: int = 4, dens: tuple[int, ...] = (1, 2, 3, 4)) -> st.SearchStrategy[F]:
    return st.builds(F, st.integers(-num, num), st.sampled_from(dens))


@st.composite
def networks(
    draw: Any,
    acts: tuple[str, ...],
    values: st.SearchStrategy[F] | None = None,
    max_width: int = 3,
    max_depth: int = 3,
    max_obs: int = 3,
) -> Net:
    values = values if values is not None else small_rationals()
    depth = draw(st.integers(1, max_depth))
    widths = [draw(st.integers(1, max_width)) for _ in range(depth + 1)]
    n = draw(st.integers(1, max_obs))

    def matrix(rows: int, cols: int) -> list[list[F]]:
        return [[draw(values) for _ in range(cols)] for _ in range(rows)]

    w = [matrix(widths[l], widths[l + 1]) for l in range(depth)]
    b = [matrix(1, widths[l + 1])[0] if draw(st.booleans()) else None for l in range(depth)]
    return Net(
        w=w,
        b=b,
        acts=[draw(st.sampled_from(acts)) for _ in range(depth)],
        x=matrix(n, widths[0]),
        y=matrix(n, widths[-1]),
        loss=draw(st.sampled_from(["mse", "half_mse"])),
        reduction=draw(st.sampled_from(["sum", "mean"])),
        lr=draw(st.sampled_from([F(1, 10), F(1, 2), F(1), F(3, 2), F(5)])),
    )


@st.composite
def with_sigma_or_tanh(draw: Any, nets: st.SearchStrategy[Net]) -> Net:
    """A network with σ or tanh in at least one layer (the others: any activation)."""
    net = draw(nets)
    acts = list(net.acts)
    acts[draw(st.integers(0, len(acts) - 1))] = draw(st.sampled_from(["sigmoid", "tanh"]))
    return replace(net, acts=acts)


def run_engine(net: Net, rounding: Rounding) -> engine.StepTrace:
    return engine.train_step(
        FractionOps(rounding),
        CORRECT,
        net.layers(),
        [list(r) for r in net.x],
        [list(r) for r in net.y],
        loss=net.loss,
        reduction=net.reduction,  # type: ignore[arg-type]
        learning_rate=net.lr,
    )


# ------------------------------------------------------------------ oracle 1: sympy


def sym_act(name: str, t: sp.Expr) -> sp.Expr:
    if name == "identity":
        return t
    if name == "relu":
        return sp.Max(0, t)
    if name == "hard_sigmoid":
        return sp.Min(sp.Max(t / 4 + sp.Rational(1, 2), 0), 1)  # clip(t/4 + 1/2, 0, 1)
    if name == "softsign":
        return t / (1 + sp.Abs(t))
    raise AssertionError(name)


def to_fraction(v: sp.Expr) -> F:
    assert v.is_Rational, f"sympy did not evaluate to a rational: {v}"
    return F(int(v.p), int(v.q))


@dataclass
class SympyResult:
    loss: F
    h: list[list[list[F]]]
    o: list[list[list[F]]]
    delta: list[list[list[F]]]
    grad: dict[tuple[str, int, tuple[int, ...]], F]


def sympy_oracle(net: Net) -> SympyResult:
    """Build the loss symbolically in every weight, bias and a pre-activation offset e
    (δ = ∂L/∂e at e = 0), differentiate with sympy, evaluate at the point."""
    q = sp.Rational
    point: dict[sp.Symbol, sp.Expr] = {}
    params: dict[tuple[str, int, tuple[int, ...]], sp.Symbol] = {}
    n = len(net.x)
    offsets: list[list[list[sp.Symbol]]] = []
    o_rows: list[list[sp.Expr]] = [[q(v.numerator, v.denominator) for v in r] for r in net.x]
    h_exprs, o_exprs = [], []
    for l, (w, b, act) in enumerate(zip(net.w, net.b, net.acts, strict=True)):
        ws = [
            [sp.Symbol(f"w{l}_{i}_{j}", real=True) for j in range(len(w[0]))] for i in range(len(w))
        ]
        for i, row in enumerate(ws):
            for j, s in enumerate(row):
                params[("w", l, (i, j))] = s
                point[s] = q(w[i][j].numerator, w[i][j].denominator)
        bs = None
        if b is not None:
            bs = [sp.Symbol(f"b{l}_{j}", real=True) for j in range(len(b))]
            for j, s in enumerate(bs):
                params[("b", l, (j,))] = s
                point[s] = q(b[j].numerator, b[j].denominator)
        es = [[sp.Symbol(f"e{l}_{r}_{j}", real=True) for j in range(len(w[0]))] for r in range(n)]
        offsets.append(es)
        point.update({s: sp.Integer(0) for row in es for s in row})
        h = [
            [
                sp.Add(*(o_rows[r][i] * ws[i][j] for i in range(len(w))))
                + (bs[j] if bs is not None else 0)
                + es[r][j]
                for j in range(len(w[0]))
            ]
            for r in range(n)
        ]
        o_rows = [[sym_act(act, t) for t in row] for row in h]
        h_exprs.append(h)
        o_exprs.append(o_rows)
    c = sp.Integer(1) if net.loss == "mse" else sp.Rational(1, 2)
    div = n if net.reduction == "mean" else 1
    row_losses = [
        sp.Add(
            *(
                c * (q(t.numerator, t.denominator) - o) ** 2
                for o, t in zip(o_rows[r], net.y[r], strict=True)
            )
        )
        / div
        for r in range(n)
    ]
    total = sp.Add(*row_losses)

    def at(e: sp.Expr) -> F:
        return to_fraction(e.xreplace(point))

    hs = [[[at(v) for v in row] for row in h] for h in h_exprs]
    # the engine's convention at a kink is a choice (tested separately): keep away from kinks
    for act, h in zip(net.acts, hs, strict=True):
        assume(all(v not in KINKS.get(act, ()) for row in h for v in row))
    return SympyResult(
        loss=at(total),
        h=hs,
        o=[[[at(v) for v in row] for row in o] for o in o_exprs],
        delta=[
            [[at(sp.diff(row_losses[r], s)) for s in es[r]] for r in range(n)] for es in offsets
        ],
        grad={key: at(sp.diff(total, s)) for key, s in params.items()},
    )


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(networks(RATIONAL_ACTS))
def test_rational_network_matches_sympy_exactly(net: Net) -> None:
    ref = sympy_oracle(net)
    tr = run_engine(net, Rounding("exact"))
    assert tr.loss == ref.loss
    for l in range(len(net.w)):
        assert tr.h[l] == ref.h[l], f"H{l + 1}"
        assert tr.o[l + 1] == ref.o[l], f"O{l + 1}"
        assert tr.delta[l] == ref.delta[l], f"δ{l + 1}"
    for (kind, l, idx), g in ref.grad.items():
        if kind == "w":
            i, j = idx
            assert tr.grad_w[l][i][j] == g, f"∂L/∂W{l + 1}[{i}][{j}]"
            assert tr.layers_after[l].w[i][j] == net.w[l][i][j] - net.lr * g
        else:
            (j,) = idx
            grad_b = tr.grad_b[l]
            assert grad_b is not None and grad_b[j] == g, f"∂L/∂b{l + 1}[{j}]"
            bias = net.b[l]
            after = tr.layers_after[l].b
            assert bias is not None and after is not None
            assert after[j] == bias[j] - net.lr * g
    for l, b in enumerate(net.b):
        assert (tr.grad_b[l] is None) == (b is None)
        assert (tr.layers_after[l].b is None) == (b is None)


# ---- the engine's conventions at the kinks (a choice, so tested on purpose)


def one_neuron(act: str, h: F, y: F = F(5)) -> engine.StepTrace:
    """x = 1, w = h, no bias: the pre-activation is exactly h."""
    return engine.train_step(
        FractionOps(Rounding("exact")),
        CORRECT,
        [Layer(w=[[h]], b=None, activation=act)],
        [[F(1)]],
        [[y]],
        loss="half_mse",
        reduction="sum",
        learning_rate=F(1),
    )


@pytest.mark.parametrize(
    ("act", "h", "out"),
    [("relu", F(0), F(0)), ("hard_sigmoid", F(-2), F(0)), ("hard_sigmoid", F(2), F(1))],
)
def test_derivative_is_zero_at_the_kinks(act: str, h: F, out: F) -> None:
    tr = one_neuron(act, h)
    assert tr.h[0] == [[h]] and tr.o[1] == [[out]]
    assert tr.delta[0] == [[0]]  # relu′(0) = 0, hard_sigmoid′(±2) = 0
    assert tr.grad_w[0] == [[0]]
    assert tr.layers_after[0].w == [[h]]


def test_softsign_is_differentiable_at_zero() -> None:
    # t/(1+|t|) has derivative 1 at 0 from both sides, although |t| has none there
    t = sp.Symbol("t", real=True)
    f = t / (1 + sp.Abs(t))
    assert sp.limit(f / t, t, 0, "+") == 1 and sp.limit(f / t, t, 0, "-") == 1
    tr = one_neuron("softsign", F(0))
    assert tr.delta[0] == [[F(0) - F(5)]]  # (ŷ − y)·softsign′(0) with softsign′(0) = 1


def test_relu_one_sided_derivatives_bracket_the_convention() -> None:
    # just beside the kink the engine agrees with the true one-sided derivatives
    assert one_neuron("relu", F(1, 1000)).delta[0] == [[F(1, 1000) - 5]]
    assert one_neuron("relu", F(-1, 1000)).delta[0] == [[0]]
    assert one_neuron("hard_sigmoid", F(1999, 1000)).delta[0][0][0] != 0
    assert one_neuron("hard_sigmoid", F(2001, 1000)).delta[0] == [[0]]


# ------------------------------------------------------------------ reference passes
# One forward/backward/update pass written from the course's formulas, generic in the
# number type: with floats it is the float64 oracle, with Fractions (and a rounding
# function) the replay of the rounding modes.


def reference_step(
    net: Net,
    act: Any,
    dact: Any,
    rec: Any,
    num: Any,
    w_in: list[list[list[Any]]] | None = None,
    b_in: list[list[Any] | None] | None = None,
    rows: list[int] | None = None,
) -> dict[str, Any]:
    ws = w_in if w_in is not None else [[[num(v) for v in r] for r in w] for w in net.w]
    bs = b_in if b_in is not None else [None if b is None else [num(v) for v in b] for b in net.b]
    rows = rows if rows is not None else list(range(len(net.x)))
    x = [[num(v) for v in net.x[r]] for r in rows]
    y = [[num(v) for v in net.y[r]] for r in rows]
    n, depth = len(x), len(ws)
    div = n if net.reduction == "mean" else 1
    c = num(1) if net.loss == "mse" else num(1) / 2
    os_, hs = [x], []
    for l in range(depth):
        w, b, prev = ws[l], bs[l], os_[-1]
        h = [
            [
                rec(
                    sum((prev[r][i] * w[i][j] for i in range(len(w))), num(0))
                    + (b[j] if b is not None else 0)
                )
                for j in range(len(w[0]))
            ]
            for r in range(n)
        ]
        hs.append(h)
        os_.append([[act(net.acts[l], v) for v in row] for row in h])
    out = os_[-1]
    loss = rec(
        sum(
            (
                c * (t - o) ** 2
                for orow, trow in zip(out, y, strict=True)
                for o, t in zip(orow, trow, strict=True)
            ),
            num(0),
        )
        / div
    )
    deltas: list[Any] = [None] * depth
    deltas[-1] = [
        [
            rec(2 * c * (out[r][j] - y[r][j]) * dact(net.acts[-1], hs[-1][r][j], out[r][j]) / div)
            for j in range(len(out[0]))
        ]
        for r in range(n)
    ]
    for l in range(depth - 2, -1, -1):
        w_next = ws[l + 1]
        deltas[l] = [
            [
                rec(
                    sum(
                        (deltas[l + 1][r][k] * w_next[i][k] for k in range(len(w_next[0]))),
                        num(0),
                    )
                    * dact(net.acts[l], hs[l][r][i], os_[l + 1][r][i])
                )
                for i in range(len(w_next))
            ]
            for r in range(n)
        ]
    gw = [
        [
            [
                rec(sum((os_[l][r][i] * deltas[l][r][j] for r in range(n)), num(0)))
                for j in range(len(ws[l][0]))
            ]
            for i in range(len(ws[l]))
        ]
        for l in range(depth)
    ]
    gb = [
        None
        if bs[l] is None
        else [rec(sum((deltas[l][r][j] for r in range(n)), num(0))) for j in range(len(ws[l][0]))]
        for l in range(depth)
    ]
    new_w = [
        [
            [rec(ws[l][i][j] - net.lr * gw[l][i][j]) for j in range(len(ws[l][0]))]
            for i in range(len(ws[l]))
        ]
        for l in range(depth)
    ]
    new_b = [
        None if bs[l] is None else [rec(bs[l][j] - net.lr * gb[l][j]) for j in range(len(bs[l]))]  # type: ignore[index]
        for l in range(depth)
    ]
    return dict(h=hs, o=os_, loss=loss, delta=deltas, gw=gw, gb=gb, w=new_w, b=new_b)


# ---- float64


def f_act(name: str, t: float) -> float:
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))
    if name == "tanh":
        return math.tanh(t)
    if name == "identity":
        return t
    if name == "relu":
        return t if t > 0 else 0.0
    if name == "hard_sigmoid":
        return min(max(t / 4 + 0.5, 0.0), 1.0)
    if name == "softsign":
        return t / (1 + abs(t))
    raise AssertionError(name)


def f_dact(name: str, t: float, o: float) -> float:
    return {
        "sigmoid": o * (1 - o),
        "tanh": 1 - o * o,
        "identity": 1.0,
        "relu": 1.0 if t > 0 else 0.0,
        "hard_sigmoid": 0.25 if -2 < t < 2 else 0.0,
        "softsign": 1 / (1 + abs(t)) ** 2,
    }[name]


def close(got: F, want: float) -> bool:
    return abs(float(got) - want) <= 1e-9 * max(1.0, abs(want))


def assert_close_nested(got: Any, want: Any, what: str) -> None:
    if want is None:
        assert got is None, what
    elif isinstance(want, list):
        assert len(got) == len(want), what
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_close_nested(g, w, f"{what}[{i}]")
    else:
        assert close(got, want), f"{what}: engine {float(got)!r}, float64 {want!r}"


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.filter_too_much],
)
@given(with_sigma_or_tanh(networks(ALL_ACTS)))
def test_sigmoid_tanh_networks_match_float64(net: Net) -> None:
    ref = reference_step(net, f_act, f_dact, lambda v: v, float)
    for l, act in enumerate(net.acts):
        for row in ref["h"][l]:
            for v in row:
                assume(all(abs(v - k) > 1e-9 for k in KINKS.get(act, ())))
    tr = run_engine(net, Rounding("exact"))
    assert close(tr.loss, ref["loss"])
    assert_close_nested(tr.h, ref["h"], "H")
    assert_close_nested(tr.o, ref["o"], "O")
    assert_close_nested(tr.delta, ref["delta"], "δ")
    assert_close_nested(tr.grad_w, ref["gw"], "∂L/∂W")
    assert_close_nested(tr.grad_b, ref["gb"], "∂L/∂b")
    assert_close_nested([layer.w for layer in tr.layers_after], ref["w"], "W after")
    assert_close_nested([layer.b for layer in tr.layers_after], ref["b"], "b after")


# ---- rounding modes: mpmath for σ/tanh, exact Fractions for the rest


def round_k(x: F, k: int) -> F:
    """Half away from zero, written independently of grader.core.numbers."""
    n = math.floor(abs(x) * 10**k + F(1, 2))
    return F(n if x >= 0 else -n, 10**k)


def mp_rounded(name: str, q: F, k: int) -> F:
    """f(q) at 60 significant digits (mpmath), rounded half away from zero to k places."""
    with mpmath.workdps(60):
        t = mpmath.mpf(q.numerator) / q.denominator
        v = 1 / (1 + mpmath.exp(-t)) if name == "sigmoid" else mpmath.tanh(t)
        scaled = abs(v) * mpmath.mpf(10) ** k
        n = int(mpmath.floor(scaled + mpmath.mpf(1) / 2))
        # far from a rounding boundary, so 60 digits decide the rounding
        assert abs(scaled - n) < mpmath.mpf(1) / 2 - mpmath.mpf(10) ** -40 or q == 0
    return F(n if v >= 0 else -n, 10**k)


def frac_dact(name: str, t: F, o: F) -> F:
    if name == "sigmoid":
        return o * (1 - o)
    if name == "tanh":
        return 1 - o * o
    if name == "identity":
        return F(1)
    if name == "relu":
        return F(int(t > 0))
    if name == "hard_sigmoid":
        return F(1, 4) if -2 < t < 2 else F(0)
    if name == "softsign":
        return 1 / (1 + abs(t)) ** 2
    raise AssertionError(name)


def frac_act(k: int, rec: Any) -> Any:
    def act(name: str, t: F) -> F:
        if name in ("sigmoid", "tanh"):
            return mp_rounded(name, t, k)
        if name == "identity":
            return rec(t)
        if name == "relu":
            return rec(max(t, F(0)))
        if name == "hard_sigmoid":
            return rec(min(max(t / 4 + F(1, 2), F(0)), F(1)))
        return rec(t / (1 + abs(t)))

    return act


def assert_same_trace(tr: engine.StepTrace, ref: dict[str, Any]) -> None:
    assert tr.loss == ref["loss"]
    assert tr.h == ref["h"]
    assert tr.o == ref["o"]
    assert tr.delta == ref["delta"]
    assert tr.grad_w == ref["gw"]
    assert tr.grad_b == ref["gb"]
    assert [layer.w for layer in tr.layers_after] == ref["w"]
    assert [layer.b for layer in tr.layers_after] == ref["b"]


@settings(max_examples=120, deadline=None, derandomize=True)
@given(with_sigma_or_tanh(networks(ALL_ACTS, values=small_rationals(3))), st.integers(2, 5))
def test_transcendental_mode_rounds_only_sigma_and_tanh(net: Net, k: int) -> None:
    tr = run_engine(net, Rounding("transcendental", k))
    for l, act in enumerate(net.acts):
        for h_row, o_row in zip(tr.h[l], tr.o[l + 1], strict=True):
            for h, o in zip(h_row, o_row, strict=True):
                if act in ("sigmoid", "tanh"):
                    assert o == mp_rounded(act, h, k), f"{act}({h}) at {k} places"
                    assert (o * 10**k).denominator == 1
    ref = reference_step(net, frac_act(k, lambda v: v), frac_dact, lambda v: v, F)
    assert_same_trace(tr, ref)


@settings(max_examples=120, deadline=None, derandomize=True)
@given(with_sigma_or_tanh(networks(ALL_ACTS, values=small_rationals(3))), st.integers(2, 5))
def test_all_mode_rounds_every_recorded_value(net: Net, k: int) -> None:
    tr = run_engine(net, Rounding("all", k))

    def k_decimal(v: F) -> bool:
        return (v * 10**k).denominator == 1

    recorded = [tr.loss]
    for l in range(len(net.w)):
        recorded += [
            v for m in (tr.h[l], tr.o[l + 1], tr.delta[l], tr.grad_w[l]) for r in m for v in r
        ]
        recorded += tr.grad_b[l] or []
        recorded += [v for r in tr.layers_after[l].w for v in r] + (tr.layers_after[l].b or [])
    assert all(k_decimal(v) for v in recorded)
    rec = lambda v: round_k(v, k)  # noqa: E731
    ref = reference_step(net, frac_act(k, rec), frac_dact, rec, F)
    assert_same_trace(tr, ref)


# ------------------------------------------------------------------ SGD order, full-batch GD


@settings(max_examples=60, deadline=None, derandomize=True)
@given(networks(ALL_ACTS, max_obs=1), st.data())
def test_sgd_schedule_is_manual_steps_in_order(net1: Net, data: st.DataObject) -> None:
    extra_x = [data.draw(small_rationals()) for _ in net1.x[0]]
    extra_y = [data.draw(small_rationals()) for _ in net1.y[0]]
    net = replace(net1, x=[net1.x[0], extra_x], y=[net1.y[0], extra_y])
    ops = FractionOps(Rounding("transcendental", 4))
    kw = dict(loss=net.loss, learning_rate=net.lr)
    trace = engine.train(ops, net.layers(), net.x, net.y, [[1], [0]], **kw)  # type: ignore[arg-type]
    s1 = engine.train_step(
        ops,
        CORRECT,
        net.layers(),
        [net.x[1]],
        [net.y[1]],
        reduction="sum",
        observations=(1,),
        **kw,  # type: ignore[arg-type]
    )
    s2 = engine.train_step(
        ops,
        CORRECT,
        s1.layers_after,
        [net.x[0]],
        [net.y[0]],
        reduction="sum",
        observations=(0,),
        **kw,  # type: ignore[arg-type]
    )
    assert trace.steps == (s1, s2)
    assert trace.final_layers == s2.layers_after
    # and independently: the reference pass, observation 2 then observation 1
    act = frac_act(4, lambda v: v)
    sgd = replace(net, reduction="sum")
    r1 = reference_step(sgd, act, frac_dact, lambda v: v, F, rows=[1])
    r2 = reference_step(sgd, act, frac_dact, lambda v: v, F, w_in=r1["w"], b_in=r1["b"], rows=[0])
    assert_same_trace(trace.steps[0], r1)
    assert_same_trace(trace.steps[1], r2)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(networks(ALL_ACTS))
def test_full_batch_mean_is_average_of_per_observation_gradients(net: Net) -> None:
    ops = FractionOps(Rounding("exact"))
    n = len(net.x)
    full = engine.train(
        ops,
        net.layers(),
        net.x,
        net.y,
        [list(range(n))] * 2,
        learning_rate=net.lr,
        loss=net.loss,
        reduction="mean",
    )
    step = full.steps[0]
    singles = [
        engine.train_step(
            ops,
            CORRECT,
            net.layers(),
            [net.x[r]],
            [net.y[r]],
            loss=net.loss,
            reduction="sum",
            learning_rate=net.lr,
        )
        for r in range(n)
    ]
    assert step.observations == tuple(range(n))
    assert step.loss == sum(s.loss for s in singles) / n
    for l in range(len(net.w)):
        avg = [
            [sum(s.grad_w[l][i][j] for s in singles) / n for j in range(len(net.w[l][0]))]
            for i in range(len(net.w[l]))
        ]
        assert step.grad_w[l] == avg
        if net.b[l] is not None:
            gb = [sum(s.grad_b[l][j] for s in singles) / n for j in range(len(net.w[l][0]))]  # type: ignore[index]
            assert step.grad_b[l] == gb
        assert step.layers_after[l].w == [
            [net.w[l][i][j] - net.lr * avg[i][j] for j in range(len(avg[0]))]
            for i in range(len(avg))
        ]
    # the second GD step starts from the first one's weights
    assert full.steps[1].layers_before == step.layers_after


# ------------------------------------------------------------------ σ/tanh rounding


def test_canonical_sigma_rounds_to_0_8267() -> None:
    # the worksheet: σ(25/16) = 0.82674… is written 0.8267
    assert transcendental.rounded("sigmoid", F(25, 16), 4) == F(8267, 10000)
    ops = FractionOps(Rounding("transcendental", 4))
    assert ops.activate("sigmoid", F(25, 16)) == F(8267, 10000)
    assert ops.activate("sigmoid", F(0)) == F(1, 2) and ops.activate("tanh", F(0)) == 0


def decimal_rounding(name: str, q: F, k: int, digits: int = 200) -> F:
    """f(q) with Python's decimal at ``digits`` digits, rounded half up (= away from zero)."""
    with localcontext() as ctx:
        ctx.prec = digits
        t = Decimal(q.numerator) / Decimal(q.denominator)
        if name == "sigmoid":
            v = 1 / (1 + (-t).exp())
        else:
            e2 = (2 * t).exp()
            v = (e2 - 1) / (e2 + 1)
        r = v.quantize(Decimal(1).scaleb(-k), rounding=ROUND_HALF_UP)
        # 200 digits are enough: the value is not within 10^-150 of the boundary
        assert abs(abs(v - r) - Decimal(5).scaleb(-k - 1)) > Decimal(10) ** -150
    return F(r)


def near_boundary(name: str, k: int, m: int, digits: int) -> F:
    """A rational q with f(q) within about 10^-digits of the boundary (m + ½)·10^-k."""
    with mpmath.workdps(digits + 20):
        b = (mpmath.mpf(m) + mpmath.mpf(1) / 2) / mpmath.mpf(10) ** k
        t = mpmath.log(b / (1 - b)) if name == "sigmoid" else mpmath.atanh(b)
        return F(mpmath.nstr(t, digits + 5, min_fixed=-50, max_fixed=50))


@pytest.mark.parametrize(
    ("name", "k", "m"),
    [
        ("sigmoid", 4, 8267),
        ("sigmoid", 2, 3),
        ("sigmoid", 3, 999),
        ("sigmoid", 5, 50000),
        ("tanh", 4, 1234),
        ("tanh", 2, 97),
        ("tanh", 5, 7),
    ],
)
def test_rounding_near_a_boundary_terminates_and_is_correct(name: str, k: int, m: int) -> None:
    boundary = (m + 0.5) * 10.0**-k
    # within 1e-12 of the boundary (float64 finds it), and within ~1e-40 (needs doubling)
    for digits in (15, 45):
        q = near_boundary(name, k, m, digits)
        assert abs(f_act(name, float(q)) - boundary) < 1e-12
        got = transcendental.rounded(name, q, k)
        assert got == decimal_rounding(name, q, k)
        assert got in (F(m, 10**k), F(m + 1, 10**k))
        # its negative rounds symmetrically (half away from zero)
        neg = transcendental.rounded(name, -q, k)
        assert neg == (1 - got if name == "sigmoid" else -got)
