"""Realistic students of every family, graded field by field as a careful TA would (issue 13).

Each family has a small variant worked by hand (the comments) and a reference computation
written here, importing nothing from the grader: plain Fractions, the textbook formulas.
A student is the reference run with *their* slips: ``edit`` replaces what they wrote at
some fields, and everything after it is computed from their own values, as a student
does.  The expected grade of a field is written out for the fields the student got wrong
on purpose (status and diagnosis), and for every other field follows the TA's rule:
right when it equals the key, else carried forward from the student's own work — or, for
the classes that must earn nothing downstream (a zero written by hand, a classmate's
data), incorrect.

Each rule of issue 13 has a student here whose test fails when the rule is switched off
(tried by hand while writing them; see the names in the test ids):
explained zero, transposed products, rounding, formula left-hand sides and activation
names, repeated mistakes, copied work.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction as F
from typing import Any

import pytest

from grader.course.assignment import Assignment
from grader.course.variants import Variant
from grader.exercises import get_exercise
from grader.grade.grading import GradingCache, Report, grade_submission
from grader.grade.peers import PeerIndex

Matrix = list[list[F]]
Edit = Callable[[str, Any], Any]


def keep(name: str, value: Any) -> Any:
    return value


def edits(**wrote: Callable[[Any], Any]) -> Edit:
    """An ``edit``: at field group ``name`` the student wrote ``wrote[name](right value)``."""

    def edit(name: str, value: Any) -> Any:
        return wrote[name](value) if name in wrote else value

    return edit


def at(m: Matrix, i: int, j: int, v: Any) -> Matrix:
    out = [list(row) for row in m]
    out[i][j] = F(v)
    return out


def text(v: F) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


# ---------------------------------------------------------------- the references


def mm(a: Matrix, b: Matrix) -> Matrix:
    return [[sum((a[i][k] * b[k][j] for k in range(len(b))), F(0)) for j in range(len(b[0]))]
            for i in range(len(a))]  # fmt: skip


def tr(a: Matrix) -> Matrix:
    return [list(col) for col in zip(*a, strict=True)]


def relu(v: F) -> F:
    return v if v > 0 else F(0)


def relu_prime(v: F) -> F:
    return F(1) if v > 0 else F(0)


def mlp_reference(p: dict[str, Any], edit: Edit = keep) -> dict[str, Any]:
    """relu layers, L = ½Σ(y − ŷ)², W ← W − γ·Oᵀδ; each named matrix as the student wrote it."""
    v: dict[str, Any] = {}

    def put(name: str, value: Any) -> Any:
        v[name] = edit(name, value)
        return v[name]

    ws = [[[F(x) for x in row] for row in w] for w in p["weights"]]
    o: Matrix = [[F(x) for x in row] for row in p["x"]]
    os, hs = [o], []
    for layer, w in enumerate(ws, 1):
        h = put(f"h{layer}", mm(o, w))
        o = put(f"O{layer}", [[relu(x) for x in row] for row in h])
        hs.append(h)
        os.append(o)
    y = [[F(t) for t in row] for row in p["y"]]
    put("loss", sum(((a[0] - t[0]) ** 2 for a, t in zip(o, y, strict=True)), F(0)) / 2)
    big_l = len(ws)
    delta = put(f"delta{big_l}", [[(a[0] - t[0]) * relu_prime(h[0])] for a, t, h in
                                  zip(o, y, hs[-1], strict=True)])  # fmt: skip
    for layer in range(big_l, 0, -1):
        if layer < big_l:
            back = mm(delta, tr(ws[layer]))
            delta = put(
                f"delta{layer}",
                [
                    [g * relu_prime(h) for g, h in zip(gr, hr, strict=True)]
                    for gr, hr in zip(back, hs[layer - 1], strict=True)
                ],  # fmt: skip
            )
        put(f"grad_W{layer}", mm(tr(os[layer - 1]), delta))
    rate = F(p["learning_rate"])
    for layer, w in enumerate(ws, 1):
        g = v[f"grad_W{layer}"]
        put(f"W{layer}_new", [[a - rate * b for a, b in zip(wr, gr, strict=True)]
                              for wr, gr in zip(w, g, strict=True)])  # fmt: skip
    return v


def mlp_fields(v: dict[str, Any]) -> dict[str, F]:
    out = {}
    for name, value in v.items():
        if isinstance(value, F):
            out[f"/answers/ex/{name}"] = value
        else:
            for i, row in enumerate(value):
                for j, x in enumerate(row):
                    out[f"/answers/ex/{name}/{i}/{j}"] = x
    return out


def mlp_answers(v: dict[str, Any], formula: str) -> dict[str, Any]:
    out: dict[str, Any] = {"yhat_formula": formula}
    for name, value in v.items():
        out[name] = (
            written(value) if isinstance(value, F) else [[written(x) for x in r] for r in value]
        )
    return out


def chain_reference(point: dict[str, Any], edit: Edit = keep) -> dict[str, F]:
    """f = x² + xy + (x + y)² through a = x², b = xy, c = x + y, d = a + b, e = c², f = d + e
    (the canonical graph of tests/test_chain_rule.py), adjoints backwards."""
    x, y = F(point["x"]), F(point["y"])
    v: dict[str, F] = {}

    def put(name: str, value: F) -> F:
        v[name] = edit(name, value)
        return v[name]

    a, b, c = put("values/a", x * x), put("values/b", x * y), put("values/c", x + y)
    d = put("values/d", a + b)
    e = put("values/e", c * c)
    put("values/f", d + e)
    fb = put("adjoints/f", F(1))
    eb = put("adjoints/e", fb)
    db = put("adjoints/d", fb)
    cb = put("adjoints/c", 2 * c * eb)
    bb = put("adjoints/b", db)
    ab = put("adjoints/a", db)
    put("partials/x/value", ab * 2 * x + bb * y + cb)
    put("partials/y/value", bb * x + cb)
    return v


def chain_answers(v: dict[str, F], formulas: tuple[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"values": {}, "adjoints": {}, "partials": {}}
    for name, value in v.items():
        group, rest = name.split("/", 1)
        if group == "partials":
            var = rest.split("/")[0]
            out["partials"].setdefault(var, {})["value"] = written(value)
        else:
            out[group][rest] = written(value)
    out["partials"]["x"]["formula"], out["partials"]["y"]["formula"] = formulas
    return out


def sgd_reference(p: dict[str, Any], edit: Edit = keep) -> dict[str, F]:
    """Depth 2, relu, L = (y − ŷ)²: per step o_i = relu(w_i·o_{i−1} + b_i),
    δ2 = 2(o2 − y)·relu′(h2), δ1 = δ2·w2·relu′(h1), ∂/∂b_i = δ_i, ∂/∂w_i = δ_i·o_{i−1},
    then b, w ← b, w − γ·gradient."""
    b = [F(t) for t in p["init"][0]]
    w = [F(t) for t in p["init"][1]]
    rate = F(p["learning_rate"])
    v: dict[str, F] = {}

    def put(name: str, value: F) -> F:
        v[name] = edit(name, value)
        return v[name]

    for s, k in enumerate(p["order"]):
        x, y = (F(t) for t in p["data"][k - 1])
        o0 = put(f"steps/{s}/forward/0", x)
        h1 = w[0] * o0 + b[0]
        o1 = put(f"steps/{s}/forward/1", relu(h1))
        h2 = w[1] * o1 + b[1]
        o2 = put(f"steps/{s}/forward/2", relu(h2))
        d2 = put(f"steps/{s}/deltas/1", 2 * (o2 - y) * relu_prime(h2))
        d1 = put(f"steps/{s}/deltas/0", d2 * w[1] * relu_prime(h1))
        gb = [put(f"steps/{s}/gradient/0/0", d1), put(f"steps/{s}/gradient/0/1", d2)]
        gw = [put(f"steps/{s}/gradient/1/0", d1 * o0), put(f"steps/{s}/gradient/1/1", d2 * o1)]
        b = [put(f"steps/{s}/weights/0/{i}", b[i] - rate * gb[i]) for i in range(2)]
        w = [put(f"steps/{s}/weights/1/{i}", w[i] - rate * gw[i]) for i in range(2)]
    return v


def sgd_answers(v: dict[str, F], steps: int) -> dict[str, Any]:
    out = []
    for s in range(steps):

        def get(name: str, s: int = s) -> str:
            return written(v[f"steps/{s}/{name}"])

        out.append(
            {
                "forward": [get(f"forward/{i}") for i in range(3)],
                "deltas": [get(f"deltas/{i}") for i in range(2)],
                "gradient": [[get(f"gradient/{r}/{i}") for i in range(2)] for r in range(2)],
                "weights": [[get(f"weights/{r}/{i}") for i in range(2)] for r in range(2)],
            }
        )
    return {"steps": out}


class Decimal(F):
    """A value the student wrote as a decimal with ``places`` digits (a rounding student)."""

    places: int

    def __new__(cls, value: F, places: int) -> Decimal:
        scaled = abs(value) * 10**places
        q = int(scaled + F(1, 2))  # half away from zero, as by hand
        self = super().__new__(cls, (q if value >= 0 else -q), 10**places)
        self.places = places
        return self


def written(v: F) -> str:
    if isinstance(v, Decimal):
        sign = "-" if v < 0 else ""
        q = abs(v.numerator) * 10**v.places // v.denominator
        whole, frac = divmod(q, 10**v.places)
        return f"{sign}{whole}.{frac:0{v.places}d}"
    return text(v)


def rounded(places: int) -> Callable[[F], F]:
    return lambda value: Decimal(value, places)


# ---------------------------------------------------------------- grading


def variant(kind: str, params: dict[str, Any], **options: Any) -> Variant:
    assignment = Assignment.model_validate(
        {"id": "hw", "exercises": [{"id": "ex", "type": kind, "params": params, **options}]}
    )
    spec = assignment.exercises[0]
    exercise = get_exercise(kind)
    model = exercise.Params.model_validate(params)
    return Variant(spec, model, exercise.solve(model, "ex"))


def grade(v: Variant, answers: dict[str, Any], peers: PeerIndex | None = None) -> Report:
    assignment = Assignment.model_validate(
        {"id": "hw", "exercises": [v.exercise.model_dump(mode="json")]}
    )
    submission = {"assignment": "hw", "student": "s1", "answers": {"ex": answers}}
    return grade_submission(assignment, "s1", [v], submission, GradingCache(peers=peers))


Expected = dict[str, tuple[str, str | None]]  # pointer -> (status, first diagnosis or None)


def expect(
    key: dict[str, F],
    student: dict[str, F],
    explicit: Expected,
    otherwise: str = "carried_forward",
) -> Expected:
    """The TA's grade of every number field: ``explicit`` where given, else right when
    equal to the key, else ``otherwise`` (carried forward, or incorrect for work that
    must earn nothing downstream)."""
    out: Expected = {}
    for ptr, value in student.items():
        if ptr in explicit:
            out[ptr] = explicit[ptr]
        elif value == key[ptr]:
            out[ptr] = ("correct", None)
        else:
            out[ptr] = (otherwise, None)
    return out


def check(report: Report, expected: Expected) -> None:
    got = {f.pointer: f for f in report.fields}
    wrong = []
    for ptr, (status, diagnosis) in expected.items():
        f = got[ptr]
        first = f.diagnosis[0].id if f.diagnosis else None
        if f.status != status or (diagnosis is not None and first != diagnosis):
            wrong.append((ptr, f.given, (status, diagnosis), (f.status, first), f.feedback))
    assert not wrong, "\n".join(map(str, wrong))


# ---------------------------------------------------------------- mlp_matrix
# x = [[1, 2], [2, −1]], y = [[2], [1]], W1 = [[1, −1], [1, 2]], W2 = [[1, 0], [−1, 1]],
# W3 = [[2], [1]], relu, L = ½Σ(y − ŷ)², γ = 1/3 (so that updates have thirds):
#   h1 = [[3, 3], [1, −4]]  O1 = [[3, 3], [1, 0]]   h2 = O1·W2 = [[0, 3], [1, 0]] = O2
#   h3 = O2·W3 = [[3], [2]] = O3   L = ½(1 + 1) = 1   δ3 = [[1], [1]]   ∂L/∂W3 = [[1], [3]]
#   δ2 = (δ3·W3ᵀ) ⊙ relu′(h2) = [[2, 1], [2, 1]] ⊙ [[0, 1], [1, 0]] = [[0, 1], [2, 0]]
#   ∂L/∂W2 = O1ᵀ·δ2 = [[2, 3], [0, 3]]; δ1 = [[0, 1], [2, −2]] ⊙ [[1, 1], [1, 0]] = [[0, 1], [2, 0]]
#   ∂L/∂W1 = Xᵀ·δ1 = [[4, 1], [−2, 2]];  W3_new = [[2 − 1/3], [1 − 1]] = [[5/3], [0]]
MLP = {
    "x": [[1, 2], [2, -1]],
    "y": [[2], [1]],
    "weights": [[[1, -1], [1, 2]], [[1, 0], [-1, 1]], [[2], [1]]],
    "activation": "relu",
    "loss": "half_mse",
    "learning_rate": "1/3",
}
MLP_FORMULA = "f(2*f(-f(-x1 + 2*x2) + f(x1 + x2)) + f(f(-x1 + 2*x2)))"
H = "/answers/ex/"


def test_mlp_reference_is_the_key() -> None:
    v = variant("mlp_matrix", MLP)
    key = mlp_fields(mlp_reference(MLP))
    assert key[H + "W3_new/0/0"] == F(5, 3) and key[H + "grad_W1/1/0"] == -2  # by hand above
    assert {p: v.solution.values[p] for p in key} == key


def _mlp_case(edit: Edit) -> tuple[dict[str, F], dict[str, F], dict[str, Any]]:
    key = mlp_fields(mlp_reference(MLP))
    mine = mlp_reference(MLP, edit)
    return key, mlp_fields(mine), mine


MLP_STUDENTS: dict[str, Callable[[], tuple[Any, ...]]] = {}


def mlp_student(fn: Callable[[], tuple[Any, ...]]) -> Callable[[], tuple[Any, ...]]:
    MLP_STUDENTS[fn.__name__] = fn
    return fn


@mlp_student
def perfect() -> tuple[Any, ...]:
    key, mine, raw = _mlp_case(keep)
    return raw, MLP_FORMULA, expect(key, mine, {}), {}


@mlp_student
def explained_zero() -> tuple[Any, ...]:
    # h1[0][0] = 1·1 + 2·1 = 3, written −3 (a sign slip): relu gives 0, the right
    # computation on their own number, and everything after it follows from it
    key, mine, raw = _mlp_case(edits(h1=lambda m: at(m, 0, 0, -3)))
    assert mine[H + "O1/0/0"] == 0 and key[H + "O1/0/0"] == 3
    return raw, MLP_FORMULA, expect(key, mine, {H + "h1/0/0": ("incorrect", "arithmetic")}), {}


@mlp_student
def zero_by_hand() -> tuple[Any, ...]:
    # O1[0][0] written 0 while their own h1[0][0] is 3: a shortcut, nothing built on it counts
    key, mine, raw = _mlp_case(edits(O1=lambda m: at(m, 0, 0, 0)))
    explicit = {H + "O1/0/0": ("incorrect", "arithmetic")}
    return raw, MLP_FORMULA, expect(key, mine, explicit, otherwise="incorrect"), {}


@mlp_student
def transposed_gradient() -> tuple[Any, ...]:
    # ∂L/∂W2 as O1·δ2 (no ᵀ) = [[3, 3], [1, 0]]·[[0, 1], [2, 0]] = [[6, 3], [0, 1]]
    key, mine, raw = _mlp_case(edits(grad_W2=lambda m: [[F(6), F(3)], [F(0), F(1)]]))
    explicit = {
        H + "grad_W2/0/0": ("incorrect", "transposed"),
        H + "grad_W2/1/1": ("incorrect", "transposed"),
    }
    return raw, MLP_FORMULA, expect(key, mine, explicit), {}


@mlp_student
def rounds_the_update() -> tuple[Any, ...]:
    # W3_new[0][0] = 5/3 written 1.67: right, rounded where the sheet asks exact values
    key, mine, raw = _mlp_case(edits(W3_new=lambda m: [[Decimal(m[0][0], 2)], m[1]]))
    return raw, MLP_FORMULA, expect(key, mine, {H + "W3_new/0/0": ("incorrect", "rounding")}), {}


@mlp_student
def activation_by_name() -> tuple[Any, ...]:
    # ŷ written with relu for the sheet's f, and with a left-hand side
    key, mine, raw = _mlp_case(keep)
    formula = "ŷ = relu(2 relu(relu(x1 + x2) – relu(2x2 − x1)) + relu(relu(−x1 + 2x2)))"
    return raw, formula, expect(key, mine, {}), {"formula": ("correct", None)}


@mlp_student
def tanh_for_relu() -> tuple[Any, ...]:
    # another activation's name is that function: graded (wrong), not refused
    key, mine, raw = _mlp_case(keep)
    formula = "tanh(2*tanh(-tanh(-x1 + 2*x2) + tanh(x1 + x2)) + tanh(tanh(-x1 + 2*x2)))"
    return raw, formula, expect(key, mine, {}), {"formula": ("incorrect", "arithmetic")}


@mlp_student
def lhs_of_another_quantity() -> tuple[Any, ...]:
    key, mine, raw = _mlp_case(keep)
    formula = f"df/dx1 = {MLP_FORMULA}"
    return raw, formula, expect(key, mine, {}), {"formula": ("incorrect", None)}


@pytest.mark.parametrize("name", list(MLP_STUDENTS))
def test_mlp_students(name: str) -> None:
    raw, formula, expected, formula_expected = MLP_STUDENTS[name]()
    report = grade(variant("mlp_matrix", MLP), mlp_answers(raw, formula))
    check(report, expected)
    f = next(f for f in report.fields if f.pointer == H + "yhat_formula")
    want = formula_expected.get("formula", ("correct", None))
    assert (f.status, f.diagnosis[0].id if f.diagnosis else None) == want, f.feedback


def test_mlp_explained_zero_keeps_full_credit() -> None:
    """One sign slip costs one field, not the rest of the exercise (the issue's 2.92/8)."""
    raw, formula, _, _ = explained_zero()
    report = grade(variant("mlp_matrix", MLP), mlp_answers(raw, formula))
    assert report.count("incorrect") == 1
    assert report.score == report.max_score - report.fields[0].max_points


def test_mlp_rounding_credit_and_words() -> None:
    raw, formula, _, _ = rounds_the_update()
    half = variant("mlp_matrix", MLP, rounding_credit="1/2")
    f = next(f for f in grade(half, mlp_answers(raw, formula)).fields if "W3_new/0/0" in f.pointer)
    assert f.status == "incorrect" and f.points == f.max_points / 2
    assert "you wrote 1.67 for 5/3; this exercise asks for exact values" in f.feedback
    nothing = variant("mlp_matrix", MLP)
    f = next(
        f for f in grade(nothing, mlp_answers(raw, formula)).fields if "W3_new/0/0" in f.pointer
    )
    assert f.points == 0


def test_mlp_repeated_mistake_once() -> None:
    """Gradient ascent in every update: with ``once`` only W1_new (the first update)
    costs points; W2_new and W3_new are carried forward with a note."""
    edit = edits(
        W1_new=lambda m: _ascent(m, 1),
        W2_new=lambda m: _ascent(m, 2),
        W3_new=lambda m: _ascent(m, 3),
    )
    key, mine, raw = _mlp_case(edit)
    for option, later in (("each", "incorrect"), ("once", "carried_forward")):
        report = grade(
            variant("mlp_matrix", MLP, repeated_mistakes=option), mlp_answers(raw, MLP_FORMULA)
        )
        explicit: Expected = {}
        for p in mine:
            if "_new" in p and mine[p] != key[p]:
                explicit[p] = ("incorrect" if "W1_new" in p else later, "gradient_ascent")
        check(report, expect(key, mine, explicit))
        if option == "once":
            f = next(f for f in report.fields if f.pointer == H + "W2_new/0/1")
            assert "Same mistake as in W1 after the step, not deducted again." in f.feedback
            assert f.points == f.max_points


def _ascent(m: Matrix, layer: int) -> Matrix:
    """W + γ·∂L/∂W for the reference's layer (the key's gradients: they are all right)."""
    grads = mlp_reference(MLP)[f"grad_W{layer}"]
    w = MLP["weights"][layer - 1]
    return [
        [F(a) + F(1, 3) * g for a, g in zip(wr, gr, strict=True)]
        for wr, gr in zip(w, grads, strict=True)
    ]


# s017: another first observation, the same weights: h1 = [[2, 1], [1, −4]] (no zero where
# s1's key has none: a copied zero would be denied as a shortcut anyway)
MLP_CLASSMATE = {**MLP, "x": [[1, 1], [2, -1]]}


def test_mlp_copied_work_earns_nothing_and_is_flagged() -> None:
    own, theirs = variant("mlp_matrix", MLP), variant("mlp_matrix", MLP_CLASSMATE)
    peers = PeerIndex()
    peers.add("s1", [own])
    peers.add("s017", [theirs])
    copied = mlp_reference(MLP_CLASSMATE)  # their perfect work, handed in as s1's
    key = mlp_fields(mlp_reference(MLP))
    mine = mlp_fields(copied)
    report = grade(own, mlp_answers(copied, MLP_FORMULA), peers)
    check(report, expect(key, mine, {}, otherwise="incorrect"))
    flags = {flag for f in report.fields for flag in f.flags}
    assert flags == {"copied_from:s017"}
    # their h1[0][0] = 1·1 + 1·1 = 2 where s1's is 3
    h1 = next(f for f in report.fields if f.pointer == H + "h1/0/0")
    assert h1.given == "2" and h1.status == "incorrect"
    assert "These values follow from data that is not on your sheet." in h1.feedback
    # without the roster's data it would have been "consistent" (the 2.52 of 6)
    loose = grade(own, mlp_answers(copied, MLP_FORMULA))
    assert loose.count("carried_forward") > 0


def test_mlp_honest_slip_keeps_credit_with_the_roster_known() -> None:
    own, theirs = variant("mlp_matrix", MLP), variant("mlp_matrix", MLP_CLASSMATE)
    peers = PeerIndex()
    peers.add("s1", [own])
    peers.add("s017", [theirs])
    raw, formula, expected, _ = explained_zero()
    report = grade(own, mlp_answers(raw, formula), peers)
    check(report, expected)
    assert not any(f.flags for f in report.fields)


# ---------------------------------------------------------------- chain_rule
# f = x² + xy + (x + y)² at (1, 2): a = 1, b = 2, c = 3, d = 3, e = 9, f = 12;
# adjoints f̄ = ē = d̄ = b̄ = ā = 1, c̄ = 2c·ē = 6; ∂f/∂x = 2x·ā + y·b̄ + c̄ = 10, ∂f/∂y = x·b̄ + c̄ = 7.
GRAPH = {
    "nodes": [
        {"name": "a", "op": "square", "args": ["x"]},
        {"name": "b", "op": "mul", "args": ["x", "y"]},
        {"name": "c", "op": "add", "args": ["x", "y"]},
        {"name": "d", "op": "add", "args": ["a", "b"]},
        {"name": "e", "op": "square", "args": ["c"]},
        {"name": "f", "op": "add", "args": ["d", "e"]},
    ],
    "point": {"x": 1, "y": 2},
}
GOOD_FORMULAS = ("2x + y + 2(x + y)", "x + 2(x + y)")


def chain_fields(v: dict[str, F]) -> dict[str, F]:
    return {H + k: x for k, x in v.items()}


def _chain(params: dict[str, Any], edit: Edit = keep) -> tuple[dict[str, F], dict[str, F], Any]:
    raw = chain_reference(params["point"], edit)
    return chain_fields(chain_reference(params["point"])), chain_fields(raw), raw


def test_chain_reference_is_the_key() -> None:
    v = variant("chain_rule", GRAPH)
    key = chain_fields(chain_reference(GRAPH["point"]))
    assert key[H + "partials/x/value"] == 10 and key[H + "partials/y/value"] == 7
    assert {p: v.solution.values[p] for p in key} == key


CHAIN_STUDENTS: dict[str, Callable[[], tuple[Any, ...]]] = {}


def chain_student(fn: Callable[[], tuple[Any, ...]]) -> Callable[[], tuple[Any, ...]]:
    CHAIN_STUDENTS[fn.__name__] = fn
    return fn


@chain_student
def chain_perfect() -> tuple[Any, ...]:
    key, mine, raw = _chain(GRAPH)
    return GRAPH, raw, GOOD_FORMULAS, expect(key, mine, {}), ("correct", "correct")


@chain_student
def chain_explained_zero() -> tuple[Any, ...]:
    # a = x² = 1 written −2: d = a + b = −2 + 2 = 0, their own right sum; f = 0 + 9 = 9
    key, mine, raw = _chain(GRAPH, edits(**{"values/a": lambda _: F(-2)}))
    assert mine[H + "values/d"] == 0
    explicit = {H + "values/a": ("incorrect", "arithmetic")}
    return GRAPH, raw, GOOD_FORMULAS, expect(key, mine, explicit), ("correct", "correct")


@chain_student
def chain_zero_by_hand() -> tuple[Any, ...]:
    # d written 0 although a + b = 3: f = 0 + 9 = 9 builds on a shortcut
    key, mine, raw = _chain(GRAPH, edits(**{"values/d": lambda _: F(0)}))
    explicit = {H + "values/d": ("incorrect", "arithmetic")}
    expected = expect(key, mine, explicit, otherwise="incorrect")
    return GRAPH, raw, GOOD_FORMULAS, expected, ("correct", "correct")


@chain_student
def chain_missing_path() -> tuple[Any, ...]:
    # the path through c forgotten: ∂f/∂x = 2x + y (value 2 + 2 = 4), ∂f/∂y = x (value 1)
    key, mine, raw = _chain(
        GRAPH,
        edits(**{"partials/x/value": lambda _: F(4), "partials/y/value": lambda _: F(1)}),
    )
    explicit = {
        H + "partials/x/value": ("incorrect", "missing_path"),
        H + "partials/y/value": ("incorrect", "missing_path"),
    }
    formulas = ("2x + y", "x")
    expected = expect(key, mine, explicit)
    return GRAPH, raw, formulas, expected, (("incorrect", "missing_path"),) * 2


@chain_student
def chain_left_hand_sides() -> tuple[Any, ...]:
    # a TA reads "df/dx = …" as the answer; fullwidth and en-dash forms as plain ASCII
    key, mine, raw = _chain(GRAPH)
    formulas = ("df/dx = ４x + 3y", "∂f/∂y = 3x + 2y – 0")
    return GRAPH, raw, formulas, expect(key, mine, {}), ("correct", "correct")


@chain_student
def chain_swapped_left_hand_side() -> tuple[Any, ...]:
    # ∂f/∂y's formula given as the answer for ∂f/∂x, named as such: incorrect, with a note
    key, mine, raw = _chain(GRAPH)
    formulas = ("∂f/∂y = 3x + 2y", "x + 2(x + y)")
    return GRAPH, raw, formulas, expect(key, mine, {}), (("incorrect", None), ("correct", None))


GRAPH_THIRD = {**GRAPH, "point": {"x": "1/3", "y": 2}}


@chain_student
def chain_rounds() -> tuple[Any, ...]:
    # at (1/3, 2): d = 1/9 + 2/3 = 7/9, e = (7/3)² = 49/9, f = 56/9 written 6.22
    key, mine, raw = _chain(GRAPH_THIRD, edits(**{"values/f": rounded(2)}))
    explicit = {H + "values/f": ("incorrect", "rounding")}
    return GRAPH_THIRD, raw, GOOD_FORMULAS, expect(key, mine, explicit), ("correct", "correct")


@pytest.mark.parametrize("name", list(CHAIN_STUDENTS))
def test_chain_students(name: str) -> None:
    params, raw, formulas, expected, formula_expected = CHAIN_STUDENTS[name]()
    report = grade(variant("chain_rule", params), chain_answers(raw, formulas))
    check(report, expected)
    for var, want in zip("xy", formula_expected, strict=True):
        want = want if isinstance(want, tuple) else (want, None)
        f = next(f for f in report.fields if f.pointer == H + f"partials/{var}/formula")
        got = (f.status, f.diagnosis[0].id if f.diagnosis else None)
        assert got[0] == want[0] and (want[1] is None or got[1] == want[1]), f.feedback


def test_chain_rounding_words() -> None:
    params, raw, formulas, _, _ = chain_rounds()
    report = grade(variant("chain_rule", params), chain_answers(raw, formulas))
    f = next(f for f in report.fields if f.pointer == H + "values/f")
    assert "you wrote 6.22 for 56/9; this exercise asks for exact values" in f.feedback


GRAPH_CLASSMATE = {**GRAPH, "point": {"x": 3, "y": -1}}


def test_chain_copied_work() -> None:
    own, theirs = variant("chain_rule", GRAPH), variant("chain_rule", GRAPH_CLASSMATE)
    peers = PeerIndex()
    peers.add("s1", [own])
    peers.add("s017", [theirs])
    copied = chain_reference(GRAPH_CLASSMATE["point"])
    report = grade(own, chain_answers(copied, GOOD_FORMULAS), peers)
    key = chain_fields(chain_reference(GRAPH["point"]))
    check(report, expect(key, chain_fields(copied), {}, otherwise="incorrect"))
    assert {flag for f in report.fields for flag in f.flags} == {"copied_from:s017"}
    # honest work keeps its credit with the same index
    params, raw, formulas, expected, _ = chain_explained_zero()
    check(grade(own, chain_answers(raw, formulas), peers), expected)


# ---------------------------------------------------------------- sgd_chain
# depth 2, relu, L = (y − ŷ)², γ = 1/4, b = [0, 1], w = [1, 1]; data (1, 1) then (2, 1).
# Step 1, x = 1: h1 = 1, o1 = 1; h2 = 1 + 1 = 2, o2 = 2; δ2 = 2(2 − 1) = 2; δ1 = 2·1·1 = 2;
#   gradients b: [2, 2], w: [2·1, 2·1] = [2, 2]; b = [−1/2, 1/2], w = [1/2, 1/2].
# Step 2, x = 2: h1 = 1 − 1/2 = 1/2 = o1; h2 = 1/4 + 1/2 = 3/4 = o2; δ2 = 2(3/4 − 1) = −1/2;
#   δ1 = −1/2·1/2 = −1/4; gradients b: [−1/4, −1/2], w: [−1/2, −1/4];
#   b = [−1/2 + 1/16, 1/2 + 1/8] = [−7/16, 5/8], w = [1/2 + 1/8, 1/2 + 1/16] = [5/8, 9/16].
SGD = {
    "data": [[1, 1], [2, 1]],
    "order": [1, 2],
    "learning_rate": "1/4",
    "depth": 2,
    "init": [[0, 1], [1, 1]],
    "activation": "relu",
    "loss": "mse",
}


def sgd_fields(v: dict[str, F]) -> dict[str, F]:
    return {H + k: x for k, x in v.items()}


def _sgd(params: dict[str, Any], edit: Edit = keep) -> tuple[dict[str, F], dict[str, F], Any]:
    raw = sgd_reference(params, edit)
    return sgd_fields(sgd_reference(params)), sgd_fields(raw), raw


def test_sgd_reference_is_the_key() -> None:
    v = variant("sgd_chain", SGD)
    key = sgd_fields(sgd_reference(SGD))
    assert key[H + "steps/1/weights/0/0"] == F(-7, 16) and key[H + "steps/1/weights/1/1"] == F(
        9, 16
    )
    assert {p: v.solution.values[p] for p in key} == key


SGD_STUDENTS: dict[str, Callable[[], tuple[Any, ...]]] = {}


def sgd_student(fn: Callable[[], tuple[Any, ...]]) -> Callable[[], tuple[Any, ...]]:
    SGD_STUDENTS[fn.__name__] = fn
    return fn


@sgd_student
def sgd_perfect() -> tuple[Any, ...]:
    key, mine, raw = _sgd(SGD)
    return raw, expect(key, mine, {}), {}


@sgd_student
def sgd_explained_zero() -> tuple[Any, ...]:
    # new b1 of step 1 = 0 − 1/4·2 = −1/2, written −7/3 (no plausible rate gives that: a
    # slip): in step 2, h1 = 1/2·2 − 7/3 = −4/3, so o1 = relu(−4/3) = 0: their own right
    # value, and so is all that follows.  (−3/2 would be read as γ = 3/4, fairly.)
    key, mine, raw = _sgd(SGD, edits(**{"steps/0/weights/0/0": lambda _: F(-7, 3)}))
    assert mine[H + "steps/1/forward/1"] == 0
    explicit = {H + "steps/0/weights/0/0": ("incorrect", "arithmetic")}
    return raw, expect(key, mine, explicit), {}


@sgd_student
def sgd_zero_by_hand() -> tuple[Any, ...]:
    # o1 of step 2 written 0 although w1·x + b1 = 1/2 > 0
    key, mine, raw = _sgd(SGD, edits(**{"steps/1/forward/1": lambda _: F(0)}))
    explicit = {H + "steps/1/forward/1": ("incorrect", "arithmetic")}
    return raw, expect(key, mine, explicit, otherwise="incorrect"), {}


@sgd_student
def sgd_rounds() -> tuple[Any, ...]:
    # the last updates to two places: −7/16 → −0.44, 5/8 → 0.63, 9/16 → 0.56
    key, mine, raw = _sgd(
        SGD,
        edits(
            **{
                "steps/1/weights/0/0": rounded(2),
                "steps/1/weights/0/1": rounded(2),
                "steps/1/weights/1/1": rounded(2),
            }
        ),
    )
    explicit = {
        H + "steps/1/weights/0/0": ("incorrect", "rounding"),
        H + "steps/1/weights/0/1": ("incorrect", "rounding"),
        H + "steps/1/weights/1/1": ("incorrect", "rounding"),
    }
    return raw, expect(key, mine, explicit), {}


@sgd_student
def sgd_sign_of_delta() -> tuple[Any, ...]:
    # δ2 of step 1 as 2(y − ŷ) = −2: a catalogue mistake, then consistent work
    key, mine, raw = _sgd(SGD, edits(**{"steps/0/deltas/1": lambda _: F(-2)}))
    explicit = {H + "steps/0/deltas/1": ("incorrect", "sign_flip")}
    return raw, expect(key, mine, explicit), {}


@sgd_student
def sgd_ascent_twice() -> tuple[Any, ...]:
    # every update of step 1 with + (b = [1/2, 3/2], w = [3/2, 3/2]); with
    # repeated_mistakes: once only the first one costs points
    def up(r: int, i: int) -> Callable[[F], F]:
        start = SGD["init"][r][i]
        return lambda new: 2 * F(start) - new  # w + γg = 2w − (w − γg)

    edit = edits(**{f"steps/0/weights/{r}/{i}": up(r, i) for r in range(2) for i in range(2)})
    key, mine, raw = _sgd(SGD, edit)
    first = H + "steps/0/weights/0/0"
    explicit: Expected = {first: ("incorrect", "gradient_ascent")}
    for r in range(2):
        for i in range(2):
            p = H + f"steps/0/weights/{r}/{i}"
            if p != first:
                explicit[p] = ("carried_forward", "gradient_ascent")
    return raw, expect(key, mine, explicit), {"repeated_mistakes": "once"}


@pytest.mark.parametrize("name", list(SGD_STUDENTS))
def test_sgd_students(name: str) -> None:
    raw, expected, options = SGD_STUDENTS[name]()
    report = grade(variant("sgd_chain", SGD, **options), sgd_answers(raw, 2))
    check(report, expected)


def test_sgd_ascent_is_deducted_each_time_by_default() -> None:
    raw, expected, _ = sgd_ascent_twice()
    report = grade(variant("sgd_chain", SGD), sgd_answers(raw, 2))
    each = {
        p: ("incorrect", d) if s == "carried_forward" and d else (s, d)
        for p, (s, d) in expected.items()
    }
    check(report, each)


SGD_CLASSMATE = {**SGD, "data": [[2, 1], [3, 1]]}


def test_sgd_copied_work() -> None:
    own, theirs = variant("sgd_chain", SGD), variant("sgd_chain", SGD_CLASSMATE)
    peers = PeerIndex()
    peers.add("s1", [own])
    peers.add("s017", [theirs])
    copied = sgd_reference(SGD_CLASSMATE)
    report = grade(own, sgd_answers(copied, 2), peers)
    key = sgd_fields(sgd_reference(SGD))
    check(report, expect(key, sgd_fields(copied), {}, otherwise="incorrect"))
    assert {flag for f in report.fields for flag in f.flags} == {"copied_from:s017"}
    raw, expected, _ = sgd_explained_zero()
    honest = grade(own, sgd_answers(raw, 2), peers)
    check(honest, expected)
    assert not any(f.flags for f in honest.fields)


def test_chain_ambiguous_division_is_reported_and_flagged() -> None:
    """∂f/∂x = 4x + 3y written "8/2x + 3y": read as 4x + 3y (right); read as 8/(2x) + 3y
    it would be wrong, so the report says which reading was used and the field is flagged."""
    key, mine, raw = _chain(GRAPH)
    report = grade(variant("chain_rule", GRAPH), chain_answers(raw, ("8/2x + 3y", "3x + 2y")))
    f = next(f for f in report.fields if f.pointer == H + "partials/x/formula")
    assert f.status == "correct"
    assert (
        "Read as 4*x + 3*y: a '/' followed by a product divides by the first factor" in f.feedback
    )
    assert "read as 3*y + 4/x it would be wrong" in f.feedback
    assert f.flags == (f"ambiguous_division:{H}partials/x/formula",)
    plain = next(f for f in report.fields if f.pointer == H + "partials/y/formula")
    assert plain.flags == () and plain.feedback == "Correct: x + 2*(x + y)."


# ---------------------------------------------------------------- a batch


def test_batch_flags_copied_work_in_gradebook_and_summary(tmp_path: Any, monkeypatch: Any) -> None:
    """``grader grade`` derives the roster's variants once: s001's copy of s002's key is
    flagged for the instructor (gradebook ``flags``, summary section), s001's report does
    not name the classmate, and s003's own perfect work has no flag."""
    import csv
    import json

    from grader.course.assignment import load_assignment
    from grader.course.keys import key_json
    from grader.course.variants import make_variants
    from grader.grade.batch import grade_command

    monkeypatch.setenv("GRADER_SECRET", "fidelity-test-secret-7Qx")
    path = tmp_path / "hw.yaml"
    nodes = "".join(
        f"\n          - {{name: {n['name']}, op: {n['op']}, args: [{', '.join(n['args'])}]}}"
        for n in GRAPH["nodes"]
    )
    path.write_text(
        f"id: hw\nexercises:\n  - id: ex\n    type: chain_rule\n    params:\n      nodes:{nodes}\n",
        encoding="utf-8",
    )
    assignment = load_assignment(path)
    secret = b"fidelity-test-secret-7Qx"
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns001,Ada\ns002,Bo\ns003,Cy\n", encoding="utf-8")
    subs = tmp_path / "subs"
    subs.mkdir()

    def perfect(of: str, by: str) -> None:
        data = key_json(assignment, of, make_variants(assignment, of, secret))
        submission = {"assignment": "hw", "student": by, "answers": data["answers"]}
        (subs / f"{by}.json").write_text(json.dumps(submission), encoding="utf-8")

    perfect("s002", by="s001")  # the copy
    perfect("s002", by="s002")
    perfect("s003", by="s003")
    out = tmp_path / "out"
    grade_command(str(path), [str(subs)], str(roster), str(out), lms=None, jobs=1)
    rows = {
        r["student"]: r
        for r in csv.DictReader((out / "gradebook.csv").read_text(encoding="utf-8").splitlines())
    }
    assert rows["s001"]["flags"] == "copied_from:s002"
    assert rows["s002"]["flags"] == "" and rows["s003"]["flags"] == ""
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert "copied_from:s002" in summary
    report = (out / "reports" / "s001.json").read_text(encoding="utf-8")
    assert "s002" not in report and "data that is not on your sheet" in report
