"""chain_rule: the canonical graph from the worksheet (facts typed in by hand), and every
sampled variant against an oracle written here with sympy (``sympy.diff``), sharing no
code with the exercise."""

from __future__ import annotations

import random
from fractions import Fraction as F
from pathlib import Path
from types import SimpleNamespace

import pytest
import sympy
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from grader.core.engine import CORRECT, FractionOps, Rules
from grader.course.assignment import Assignment
from grader.course.keys import exact_text, map_leaves
from grader.course.variants import make_variant, student_rng
from grader.exercises.base import pointer
from grader.exercises.chain_rule import EXERCISE
from grader.exercises.chain_rule.params import RANDOMIZED, ChainRuleParams
from grader.grade.formulas import parse_formula
from grader.make.rendering import render, words
from tests.helpers import assert_partials_compile

CANONICAL_YAML = """
nodes:
  - {name: a, op: square, args: [x]}
  - {name: b, op: mul, args: [x, y]}
  - {name: c, op: add, args: [x, y]}
  - {name: d, op: add, args: [a, b]}
  - {name: e, op: square, args: [c]}
  - {name: f, op: add, args: [d, e]}
point: {x: 1, y: 2}
"""
CANONICAL = yaml.safe_load(CANONICAL_YAML)
EX = "cr"


def canonical(**point: F | int) -> ChainRuleParams:
    return ChainRuleParams.model_validate({**CANONICAL, "point": point or CANONICAL["point"]})


def key_json(params: ChainRuleParams) -> dict:
    """The key as grader/keys.py writes it ("p/q" strings, formula text)."""
    return map_leaves(EXERCISE.solve(params, EX).answers, exact_text)


def sampled(seed: int, fixed: dict | None = None, *, nice: bool = True) -> ChainRuleParams:
    rng = random.Random(seed)
    fixed = fixed or {}
    while True:
        params = EXERCISE.sample(rng, fixed)
        if not nice or EXERCISE.is_nice(params, EXERCISE.solve(params, EX), fixed):
            return params


# ------------------------------------------------------------ the oracle (sympy.diff)

OPS = {
    "add": lambda a, c: a[0] + a[1],
    "sub": lambda a, c: a[0] - a[1],
    "mul": lambda a, c: a[0] * a[1],
    "square": lambda a, c: a[0] ** 2,
    "neg": lambda a, c: -a[0],
    "scale": lambda a, c: sympy.Rational(c.numerator, c.denominator) * a[0],
}


def oracle(params: ChainRuleParams) -> dict:
    """Values, adjoints (∂f/∂node with the node cut loose as a symbol), and the partial
    derivatives of f, from sympy alone."""
    raw = params.model_dump(mode="json")  # the graph as data: no exercise code below
    xs = {v: sympy.Symbol(v) for v in raw["variables"]}
    at = {xs[v]: sympy.Rational(str(q)) for v, q in raw["point"].items()}

    def build(cut: str | None = None, t: sympy.Symbol | None = None) -> dict:
        env = dict(xs)
        for n in raw["nodes"]:
            const = F(n["const"]) if n["const"] is not None else None
            env[n["name"]] = (
                t if n["name"] == cut else OPS[n["op"]]([env[a] for a in n["args"]], const)
            )
        return env

    env = build()
    f = env[raw["nodes"][-1]["name"]]
    values = {n["name"]: env[n["name"]].subs(at) for n in raw["nodes"]}
    t = sympy.Symbol("t_cut")
    adjoints = {}
    for n in raw["nodes"]:
        g = build(cut=n["name"], t=t)[raw["nodes"][-1]["name"]]
        adjoints[n["name"]] = sympy.diff(g, t).subs({t: values[n["name"]], **at})
    derivatives = {v: sympy.diff(f, xs[v]) for v in raw["variables"]}
    return {
        "f": f,
        "values": {k: F(str(v)) for k, v in values.items()},
        "adjoints": {k: F(str(v)) for k, v in adjoints.items()},
        "derivatives": derivatives,
        "partial_values": {v: F(str(d.subs(at))) for v, d in derivatives.items()},
    }


def assert_matches_oracle(params: ChainRuleParams) -> None:
    solution = EXERCISE.solve(params, EX)
    want = oracle(params)
    answers = solution.answers
    assert answers["values"] == want["values"]
    assert answers["adjoints"] == want["adjoints"]
    for v in params.variables:
        assert answers["partials"][v]["value"] == want["partial_values"][v]
        # what grading compares against, and the key text a student could hand in
        graded = solution.values[pointer("answers", EX, "partials", v, "formula")]
        assert sympy.expand(graded - want["derivatives"][v]) == 0
        text = answers["partials"][v]["formula"]
        parsed = parse_formula(text, params.variables)
        assert sympy.expand(parsed - want["derivatives"][v]) == 0, text


# ------------------------------------------------------------ the canonical instance


def test_canonical_yaml_and_formulas_from_the_worksheet():
    key = EXERCISE.solve(canonical(), EX).answers
    assert key["partials"]["x"]["formula"] == "2*x + y + 2*(x + y)"
    assert key["partials"]["y"]["formula"] == "x + 2*(x + y)"
    x, y = sympy.symbols("x y")
    f = x**2 + x * y + (x + y) ** 2  # typed in from the worksheet
    assert sympy.expand(sympy.diff(f, x) - (2 * x + y + 2 * (x + y))) == 0
    assert sympy.expand(sympy.diff(f, y) - (x + 2 * (x + y))) == 0
    for v, derivative in (("x", sympy.diff(f, x)), ("y", sympy.diff(f, y))):
        text = key["partials"][v]["formula"]
        assert sympy.expand(parse_formula(text, ["x", "y"]) - derivative) == 0


def test_canonical_values_by_hand_at_1_2():
    # a = 1, b = 2, c = 3, d = 3, e = 9, f = 12; backward: ē = d̄ = 1, c̄ = 2c = 6,
    # ā = b̄ = 1; ∂f/∂x = 2x + y + 2(x+y) = 10, ∂f/∂y = x + 2(x+y) = 7
    key = EXERCISE.solve(canonical(), EX).answers
    assert key["values"] == {"a": 1, "b": 2, "c": 3, "d": 3, "e": 9, "f": 12}
    assert key["adjoints"] == {"f": 1, "e": 1, "d": 1, "c": 6, "b": 1, "a": 1}
    assert key["partials"]["x"]["value"] == 10
    assert key["partials"]["y"]["value"] == 7
    assert list(key["adjoints"]) == ["f", "e", "d", "c", "b", "a"]  # backward order


def test_canonical_values_by_hand_at_a_fraction():
    # x = -1/2, y = 3: a = 1/4, b = -3/2, c = 5/2, d = -5/4, e = 25/4, f = 5;
    # c̄ = 2c = 5; ∂f/∂x = -1 + 3 + 5 = 7, ∂f/∂y = -1/2 + 5 = 9/2
    key = EXERCISE.solve(canonical(x=F(-1, 2), y=3), EX).answers
    assert key["values"] == {
        "a": F(1, 4),
        "b": F(-3, 2),
        "c": F(5, 2),
        "d": F(-5, 4),
        "e": F(25, 4),
        "f": F(5),
    }
    assert key["adjoints"]["c"] == 5
    assert key["partials"]["x"]["value"] == 7
    assert key["partials"]["y"]["value"] == F(9, 2)


def test_canonical_key_json_is_exact_text():
    key = key_json(canonical(x=F(-1, 2), y=3))
    assert key["values"]["d"] == "-5/4"
    assert key["partials"]["y"] == {"formula": "x + 2*(x + y)", "value": "9/2"}


def test_canonical_assignment_is_fully_fixed_and_needs_no_secret():
    assignment = Assignment.model_validate(
        {"id": "hw", "exercises": [{"id": EX, "type": "chain_rule", "params": CANONICAL}]}
    )
    assert set(RANDOMIZED) <= set(CANONICAL)
    variant = make_variant(assignment, 0, "s1", secret=None)
    assert variant.solution.answers["partials"]["x"]["value"] == 10


# ------------------------------------------------------------ every variant vs sympy


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 10**6),
    point=st.lists(
        st.fractions(min_value=-5, max_value=5, max_denominator=6), min_size=2, max_size=2
    ),
)
def test_any_graph_at_any_point_matches_sympy(seed: int, point: list[F]):
    # any valid graph (nice or not) and any rational point: exact agreement
    graph = sampled(seed, nice=False)
    params = graph.model_copy(update={"point": dict(zip(graph.variables, point, strict=True))})
    assert_matches_oracle(params)


@pytest.mark.parametrize("seed", range(25))
def test_nice_variants_match_sympy(seed: int):
    assert_matches_oracle(sampled(seed))


def test_other_variable_names_and_three_variables():
    for seed in range(5):
        assert_matches_oracle(sampled(seed, {"variables": ["u", "v", "w"]}))


def test_scale_neg_and_sub_against_sympy():
    params = ChainRuleParams.model_validate(
        {
            "variables": ["p", "q"],
            "nodes": [
                {"name": "a", "op": "sub", "args": ["q", "p"]},
                {"name": "b", "op": "neg", "args": ["a"]},
                {"name": "c", "op": "scale", "args": ["p"], "const": "-3/2"},
                {"name": "h1", "op": "mul", "args": ["b", "c"]},
                {"name": "h2", "op": "square", "args": ["h1"]},
                {"name": "f", "op": "sub", "args": ["h2", "b"]},
            ],
            "point": {"p": "1/2", "q": -2},
        }
    )
    assert_matches_oracle(params)
    text = EXERCISE.solve(params, EX).answers["partials"]["p"]["formula"]
    assert "(3/2)" in text  # a fractional constant is bracketed, never "3/2*p"


# ------------------------------------------------------------ computations (ECF, diagnosis)


def run(comp, values, rules: Rules = CORRECT) -> list:
    return list(comp.compute({k: values[k] for k in comp.inputs}, FractionOps(), rules))


@pytest.mark.parametrize("seed", range(20))
def test_every_computation_reproduces_the_key(seed: int):
    params = canonical() if seed == 0 else sampled(seed)
    solution = EXERCISE.solve(params, EX)
    assert sorted(solution.leaves()) == sorted(solution.values)
    template_pointers = {
        pointer("answers", EX, *path) for path in _leaf_paths(EXERCISE.template_answers(params))
    }
    assert template_pointers == set(solution.leaves())
    seen: set[str] = set()
    for comp in solution.computations:
        assert set(comp.inputs) <= seen, f"{comp.label} reads a later field"
        got = run(comp, solution.values)
        if comp.kind == "formula":
            assert sympy.expand(got[0] - solution.values[comp.outputs[0]]) == 0
        else:
            assert got == [solution.values[p] for p in comp.outputs], comp.label
        seen.update(comp.outputs)


def _leaf_paths(layout, prefix=()):
    if isinstance(layout, dict):
        for k, v in layout.items():
            yield from _leaf_paths(v, (*prefix, k))
    else:
        yield prefix


def test_carried_forward_uses_the_students_own_values():
    solution = EXERCISE.solve(canonical(), EX)
    own = dict(solution.values)
    own[pointer("answers", EX, "values", "c")] = F(4)  # a wrong c ...
    comp = next(c for c in solution.computations if c.label == "∂f/∂c")
    assert run(comp, own) == [8]  # ... gives c̄ = 2c = 8 from the student's own c


def test_omit_term_drops_one_path_of_a_multi_path_sum():
    solution = EXERCISE.solve(canonical(), EX)
    comp = next(c for c in solution.computations if c.label == "∂f/∂x at the point")
    assert comp.mistakes == ("missing_path",)
    # terms ā·2x = 2, b̄·y = 2, c̄·1 = 6 (children a, b, c in order)
    assert [run(comp, solution.values, Rules(omit_term=i))[0] for i in range(3)] == [8, 8, 4]
    formula = next(c for c in solution.computations if c.label == "∂f/∂x (formula)")
    x, y = sympy.symbols("x y")
    without_c_path = run(formula, solution.values, Rules(omit_term=2))[0]
    assert sympy.expand(without_c_path - (2 * x + y)) == 0


@pytest.mark.parametrize("seed", range(1, 16))
def test_omit_term_changes_every_multi_path_adjoint(seed: int):
    params = sampled(seed)
    solution = EXERCISE.solve(params, EX)
    multi = [c for c in solution.computations if "missing_path" in c.mistakes]
    assert multi, "every variant has the multi-path property"
    for comp in multi:
        parts = comp.outputs[0].split("/")  # .../adjoints/<n>, .../partials/<v>/value|formula
        name = parts[4]
        key = solution.values[comp.outputs[0]]
        if comp.kind == "formula":
            terms = _path_count(params, name)
        else:
            terms = sum(name in n.args for n in params.nodes)
        assert terms >= 2, comp.label
        for i in range(terms):
            alt = run(comp, solution.values, Rules(omit_term=i))[0]
            if comp.kind == "formula":
                assert sympy.expand(alt - key) != 0, comp.label
            else:
                assert alt != key, comp.label
        # a term index past the last leaves the sum whole (nothing to omit)
        assert run(comp, solution.values, Rules(omit_term=terms))[0] == key
    for comp in solution.computations:
        if comp.kind == "number" and not comp.mistakes:
            assert run(comp, solution.values, Rules(omit_term=0)) == run(comp, solution.values)


def _path_count(params: ChainRuleParams, var: str) -> int:
    """Paths var → output, counted from the output down (independent of the exercise)."""
    by_name = {n.name: n for n in params.nodes}

    def count(name: str) -> int:
        if name == var:
            return 1
        if name not in by_name:
            return 0
        return sum(count(a) for a in by_name[name].args)

    return count(params.nodes[-1].name)


# ------------------------------------------------------------ check_independently


@pytest.mark.parametrize("seed", range(12))
def test_check_independently_accepts_the_key(seed: int):
    params = canonical() if seed == 0 else sampled(seed)
    assert EXERCISE.check_independently(params, key_json(params)) == []
    # the in-memory layout (Fractions) is accepted too
    assert EXERCISE.check_independently(params, EXERCISE.solve(params, EX).answers) == []


@pytest.mark.parametrize(
    ("path", "bad", "complaint"),
    [
        (("values", "e"), "10", "values/e"),
        (("adjoints", "c"), "5", "adjoints/c"),
        (("adjoints", "f"), "-1", "adjoints/f"),
        (("partials", "x", "value"), "9", "partials/x/value"),
        (("partials", "y", "formula"), "x + (x + y)", "partials/y/formula"),
        (("values", "a"), "one", "not a number"),
    ],
)
def test_check_independently_catches_a_changed_key(path, bad, complaint):
    params = canonical()
    key = key_json(params)
    node = key
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = bad
    problems = EXERCISE.check_independently(params, key)
    assert len(problems) == 1 and complaint in problems[0], problems


def test_check_independently_reports_a_missing_layout():
    params = canonical()
    assert EXERCISE.check_independently(params, None)
    problems = EXERCISE.check_independently(params, {"values": {}})
    assert any("values/a" in p for p in problems)
    assert any("partials/x/formula" in p for p in problems)


# ------------------------------------------------------------ variants


def test_students_get_different_nice_variants():
    secret = b"test-secret"
    seen = set()
    for i in range(25):
        rng = student_rng(secret, "hw", EX, f"s{i:03d}")
        while True:
            params = EXERCISE.sample(rng, {})
            solution = EXERCISE.solve(params, EX)
            if EXERCISE.is_nice(params, solution, {}):
                break
        _assert_nice(params, solution)
        seen.add(params.model_dump_json())
    assert len(seen) >= 22


def _assert_nice(params: ChainRuleParams, solution) -> None:
    numbers = [v for v in solution.values.values() if isinstance(v, F)]
    assert all(abs(v) <= 100 and v.denominator <= 8 for v in numbers)
    assert all(v != 0 for v in solution.answers["adjoints"].values())
    assert all(p["value"] != 0 for p in solution.answers["partials"].values())
    assert 4 <= len(params.nodes) - 1 <= 7
    assert all(-3 <= q <= 3 for q in params.point.values())


def test_make_variant_draws_per_student_and_keeps_fixed_params():
    fixed_point = {"x": 2, "y": -1}
    assignment = Assignment.model_validate(
        {
            "id": "hw",
            "exercises": [{"id": EX, "type": "chain_rule", "params": {"point": fixed_point}}],
        }
    )
    a = make_variant(assignment, 0, "s1", b"secret")
    b = make_variant(assignment, 0, "s2", b"secret")
    again = make_variant(assignment, 0, "s1", b"secret")
    assert a.params == again.params  # deterministic
    assert a.params.nodes != b.params.nodes
    assert a.params.point == b.params.point == {"x": 2, "y": -1}


def test_sample_keeps_fixed_nodes_and_draws_the_point():
    graph = canonical().nodes
    params = EXERCISE.sample(random.Random(3), {"nodes": graph})
    assert params.nodes == graph
    assert set(params.point) == {"x", "y"}


def test_is_nice_rejects_a_zero_partial_and_big_numbers():
    # at x = y = 0 every partial derivative of the canonical f vanishes
    zero = canonical(x=0, y=0)
    assert not EXERCISE.is_nice(zero, EXERCISE.solve(zero, EX), {})
    big = canonical(x=10, y=3)
    assert not EXERCISE.is_nice(big, EXERCISE.solve(big, EX), {})
    assert EXERCISE.is_nice(canonical(), EXERCISE.solve(canonical(), EX), {})


# ------------------------------------------------------------ parameter validation


def graph_with(**changes) -> dict:
    data = yaml.safe_load(CANONICAL_YAML)
    data.update(changes)
    return data


NODES = CANONICAL["nodes"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            graph_with(nodes=[*NODES[:5], {"name": "f", "op": "add", "args": ["d", "z"]}]),
            "argument 'z' is neither a variable (x, y) nor an earlier node",
        ),
        (
            graph_with(nodes=[{"name": "a", "op": "add", "args": ["x", "b"]}, *NODES[1:]]),
            "argument 'b' is defined later",
        ),
        (
            graph_with(nodes=[*NODES, {"name": "g", "op": "neg", "args": ["a"]}]),
            "node 'f' is not used by any later node",
        ),
        (
            graph_with(
                nodes=[
                    {"name": "a", "op": "mul", "args": ["x", "y"]},
                    {"name": "f", "op": "square", "args": ["a"]},
                ]
            ),
            "no variable reaches the output along two or more paths",
        ),
        (graph_with(nodes=[{"name": "a", "op": "add", "args": ["x", "x"]}]), "uses 'x' twice"),
        (
            graph_with(nodes=[{"name": "a", "op": "square", "args": ["x", "y"]}]),
            "square takes 1 argument, got 2",
        ),
        (
            graph_with(nodes=[{"name": "a", "op": "scale", "args": ["x"]}]),
            "scale needs a non-zero const",
        ),
        (
            graph_with(nodes=[{"name": "a", "op": "add", "args": ["x", "y"], "const": 2}]),
            "only op 'scale' takes a const",
        ),
        (
            graph_with(nodes=[{"name": "a b", "op": "add", "args": ["x", "y"]}]),
            "node name 'a b' is not allowed",
        ),
        (graph_with(nodes=[{"name": "a", "op": "exp", "args": ["x"]}]), "Input should be"),
        (
            graph_with(
                nodes=[*NODES[:3], {"name": "c", "op": "add", "args": ["a", "b"]}, *NODES[4:]]
            ),
            "node name 'c' is used twice",
        ),
        (
            graph_with(nodes=[{"name": "x", "op": "square", "args": ["y"]}, *NODES]),
            "node 'x' has the name of a variable",
        ),
        (
            graph_with(nodes=[{"name": f"n{i}", "op": "neg", "args": ["x"]} for i in range(13)]),
            "a graph has 1 to 12 nodes, got 13",
        ),
        (graph_with(variables=["x", "e"]), "variable name 'e' is not allowed"),
        (graph_with(variables=["xy"]), "variable name 'xy' is not allowed"),
        (graph_with(variables=["x", "y", "z"]), "variable 'z' is not used by any node"),
        (graph_with(point={"x": 1}), "point gives no value for 'y'"),
        (graph_with(point={"x": 1, "y": 2, "z": 3}), "point gives 'z', which is not a variable"),
        (graph_with(point={"x": "1e9", "y": 2}), "must be small"),
        (graph_with(point={"x": "1/0", "y": 2}), "division by zero"),
        (graph_with(extra=1), "Extra inputs are not permitted"),
    ],
)
def test_params_validation_errors_are_clear(data, message):
    with pytest.raises(ValidationError) as info:
        ChainRuleParams.model_validate(data)
    assert message in str(info.value)


def test_too_many_paths_is_refused():
    # a ladder: every node adds the previous two, so the paths from x double each time
    nodes = [
        {"name": "a", "op": "add", "args": ["x", "y"]},
        {"name": "b", "op": "add", "args": ["a", "x"]},
    ]
    names = ["a", "b"]
    for i in range(8):
        name = f"h{i}"
        nodes.append({"name": name, "op": "add", "args": [names[-1], names[-2]]})
        names.append(name)
    with pytest.raises(ValidationError, match="paths; at most 32"):
        ChainRuleParams.model_validate({"nodes": nodes, "point": {"x": 1, "y": 1}})


# ------------------------------------------------------------ formats


def test_template_and_schema_follow_the_layout():
    params = canonical()
    template = EXERCISE.template_answers(params)
    assert template["partials"] == {
        "x": {"formula": None, "value": None},
        "y": {"formula": None, "value": None},
    }
    schema = EXERCISE.json_schema(params)
    props = schema["properties"]
    assert list(props["values"]["properties"]) == list(template["values"])
    assert list(props["adjoints"]["properties"]) == list(template["adjoints"])
    x_schema = props["partials"]["properties"]["x"]["properties"]
    assert x_schema["formula"]["$ref"] == "#/$defs/formula"
    assert x_schema["value"]["$ref"] == "#/$defs/number"
    generic = EXERCISE.json_schema(None)["properties"]["values"]
    assert generic["additionalProperties"] == {"$ref": "#/$defs/number"}


def test_describe_text_shows_the_steps():
    params = canonical()
    text = EXERCISE.describe_text(params, EXERCISE.solve(params, EX))
    assert "f(x, y) = x^2 + x*y + (x + y)^2" in text
    assert "c: ∂f/∂e·∂e/∂c = 1·6 = 6" in text
    assert "∂f/∂x = 2*x + y + 2*(x + y)" in text
    assert "paths: f→d→a→x, f→d→b→x, f→e→c→x" in text
    assert "= 1·2 + 1·2 + 6·1 = 10" in text


def test_output_is_deterministic():
    first = sampled(7)
    second = sampled(7)
    assert first == second
    s1, s2 = EXERCISE.solve(first, EX), EXERCISE.solve(second, EX)
    assert EXERCISE.describe_text(first, s1) == EXERCISE.describe_text(second, s2)
    assert _render(first, "sheet", "en") == _render(second, "sheet", "en")


# ------------------------------------------------------------ LaTeX partials


def _render(params: ChainRuleParams, kind: str, language: str) -> str:
    solution = EXERCISE.solve(params, EX)
    return render(
        f"chain_rule/{kind}.tex.j2",
        ex=SimpleNamespace(id=EX, points=10, title=None, type="chain_rule"),
        number=1,
        p=params,
        s=solution,
        view=EXERCISE.latex_view(params, solution, language),
        w=words(language),
        k=4,
    )


def test_partials_render_the_canonical_sheet_and_key():
    sheet = _render(canonical(), "sheet", "en")
    assert r"f(x, y) = x^{2} + x y + (x + y)^{2}" in sheet
    assert r"b = x \cdot y" in sheet and r"\begin{tikzpicture}" in sheet
    # 8 nodes (2 variables), 6 labels, 10 edges (x², x·y, x + y, a + b, c², d + e), each
    # edge a stroked path and an arrow tip in the PDF operators
    assert sheet.count(r"\crname{") == 8 and sheet.count(r"\crlabel{") == 6
    assert sheet.count(" l S q 1 0 0 1 ") == 10
    assert "x = 1,\\ y = 2" in sheet
    key = _render(canonical(), "key", "en")
    assert r"&= 2 x + y + 2 (x + y)" in key
    assert r"\bar{c} &= \bar{e}\,\frac{\partial e}{\partial c} = 1 \cdot 6 = 6" in key
    assert r"e &= c^{2} = 3^{2} = 9" in key
    ru = _render(canonical(), "sheet", "ru")
    assert "Найдите" in ru and "Вычисления проводятся в точке" in ru


@pytest.mark.tex
def test_partials_compile(require_tex, tmp_path: Path):
    params = [canonical(x=F(-1, 2), y=3), sampled(3), sampled(11)]
    assert_partials_compile(tmp_path, _render, params)
