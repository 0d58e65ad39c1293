"""Version 2 of the variant search: chain-rule graphs whose function reads as a person
writes it (the worksheet's f = x² + xy + (x + y)² is the model).  The expected verdicts
are written out by hand from the printed functions, not taken from the code."""

from __future__ import annotations

import re

import pytest

from grader.course.assignment import Assignment
from grader.course.variants import make_variants
from grader.exercises.chain_rule.fields import function_text
from grader.exercises.chain_rule.params import ChainRuleParams, NodeSpec
from grader.exercises.chain_rule.search import reads_like_a_textbook

SECRET = b"textbook-secret-5f2a9c1d"


def graph(*nodes: tuple[str, str, list[str]] | tuple[str, str, list[str], str]) -> ChainRuleParams:
    # not validated as a whole: some of these graphs are too small for an exercise
    specs = [
        NodeSpec.model_validate(
            {"name": n[0], "op": n[1], "args": n[2], "const": n[3] if len(n) > 3 else None}
        )
        for n in nodes
    ]
    return ChainRuleParams.model_construct(variables=["x", "y"], nodes=specs, point={})


CANONICAL = graph(
    ("a", "square", ["x"]),
    ("b", "mul", ["x", "y"]),
    ("c", "add", ["x", "y"]),
    ("d", "add", ["a", "b"]),
    ("e", "square", ["c"]),
    ("f", "add", ["d", "e"]),
)


def test_the_worksheet_function_reads_well() -> None:
    assert function_text(CANONICAL) == "x^2 + x*y + (x + y)^2"
    assert reads_like_a_textbook(CANONICAL)


@pytest.mark.parametrize(
    ("nodes", "printed"),
    [
        # (−y)(−(x² − x)): negations inside a product (the example)
        (
            [
                ("a", "square", ["x"]),
                ("b", "sub", ["a", "x"]),
                ("c", "neg", ["y"]),
                ("d", "neg", ["b"]),
                ("f", "mul", ["c", "d"]),
            ],
            "(-y)*(-(x^2 - x))",
        ),
        # a negative scale squared
        ([("a", "scale", ["x"], "-2"), ("b", "square", ["a"]), ("f", "add", ["b", "y"])], None),
        # a node that cancels: (x + y) − y is x
        ([("a", "add", ["x", "y"]), ("b", "sub", ["a", "y"]), ("f", "mul", ["b", "y"])], None),
        # a node that is a constant: x + (−x)
        (
            [
                ("a", "neg", ["x"]),
                ("b", "add", ["x", "a"]),
                ("c", "mul", ["x", "y"]),
                ("f", "sub", ["c", "b"]),
            ],
            None,
        ),
        # like terms in one sum: x + y + y + x
        ([("a", "add", ["x", "y"]), ("b", "add", ["a", "y"]), ("f", "add", ["b", "x"])], None),
        # like terms once the parentheses are dropped: x − (xy + x)
        ([("a", "mul", ["x", "y"]), ("b", "add", ["a", "x"]), ("f", "sub", ["x", "b"])], None),
        # a factor twice: y·x·y, where a person writes xy²
        ([("a", "mul", ["y", "x"]), ("b", "mul", ["a", "y"]), ("f", "add", ["b", "x"])], None),
    ],
)
def test_graphs_a_person_would_not_write_are_refused(nodes, printed) -> None:
    p = graph(*nodes)
    if printed is not None:
        assert function_text(p) == printed
    assert not reads_like_a_textbook(p)


def test_a_negation_in_a_sum_is_fine_it_prints_as_a_subtraction() -> None:
    p = graph(
        ("a", "neg", ["y"]),
        ("b", "mul", ["x", "y"]),
        ("c", "add", ["b", "a"]),
        ("f", "add", ["c", "x"]),
    )
    assert function_text(p) == "x*y - y + x"
    assert reads_like_a_textbook(p)


def _course() -> Assignment:
    return Assignment.model_validate(
        {
            "id": "textbook-hw",
            "title": "t",
            "exercises": [{"id": "g", "type": "chain_rule", "points": 1, "params": {}}],
        }
    )


def test_version_2_variants_all_read_well_and_version_1_often_did_not() -> None:
    course = _course()
    ids = [f"s{i:03d}" for i in range(60)]
    v1 = [make_variants(course, s, SECRET, formulas=False, version=1)[0].params for s in ids]
    v2 = [make_variants(course, s, SECRET, formulas=False, version=2)[0].params for s in ids]
    assert all(reads_like_a_textbook(p) for p in v2)
    assert sum(not reads_like_a_textbook(p) for p in v1) >= 10
    for p in v2:  # no printed double negation or negated factor survives
        text = function_text(p)
        assert "--" not in text and "(-" not in text and "*-" not in text, text
        assert not re.search(r"-\(-", text), text
