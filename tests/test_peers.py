"""The roster index of given data (grader.grade.peers): lookups, the file, the options."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from grader.core.errors import UserError
from grader.course.assignment import Assignment
from grader.grade.peers import PeerIndex, entry_pointers, load_index
from tests.test_careful_ta import GRAPH, GRAPH_CLASSMATE, MLP, variant


def _index() -> PeerIndex:
    index = PeerIndex()
    index.add("s1", [variant("chain_rule", GRAPH)])
    index.add("s017", [variant("chain_rule", GRAPH_CLASSMATE)])
    return index


def test_entry_fields_are_those_computed_from_the_given_data_alone() -> None:
    chain = entry_pointers(variant("chain_rule", GRAPH).solution)
    assert chain == tuple(
        f"/answers/ex/{p}" for p in ("values/a", "values/b", "values/c", "adjoints/f")
    )
    mlp = entry_pointers(variant("mlp_matrix", MLP).solution)
    assert mlp == tuple(f"/answers/ex/h1/{i}/{j}" for i in range(2) for j in range(2))


def test_classmate_needs_two_matches_and_a_majority() -> None:
    index = _index()
    a, b, c = (f"/answers/ex/values/{n}" for n in "abc")
    # (3, −1): a = 9, b = −3, c = 2
    assert index.classmate("ex", {a: Fraction(9), b: Fraction(-3)}, 4) == "s017"
    assert index.classmate("ex", {a: Fraction(9)}, 4) is None  # one slip is no evidence
    assert index.classmate("ex", {a: Fraction(9), b: Fraction(5), c: Fraction(7)}, 4) is None
    # the adjoint of the output is 1 for everybody: never evidence
    assert index.lookup("ex", "/answers/ex/adjoints/f", Fraction(1)) == {"s1", "s017"}


def test_index_file_round_trip_is_byte_stable(tmp_path: Path) -> None:
    index = _index()
    first = tmp_path / "peers.json"
    index.save(first)
    again = load_index(first)
    second = tmp_path / "again.json"
    again.save(second)
    assert first.read_bytes() == second.read_bytes()
    a, b = "/answers/ex/values/a", "/answers/ex/values/b"
    assert again.classmate("ex", {a: Fraction(9), b: Fraction(-3)}, 4) == "s017"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "peer index is not JSON"),
        (b'{"version": 9, "entries": []}', "expected a peer index of version 1"),
        (b'{"version": 1, "entries": {}}', "expected a list"),
        (b'{"version": 1, "entries": [["ex", "/p", "1/0", ["s1"]]]}', "/entries/0"),
    ],
)
def test_bad_index_files_are_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "peers.json"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        load_index(path)
    assert message in err.value.line() and str(path) in err.value.line()


def test_top_level_defaults_of_the_new_options() -> None:
    assignment = Assignment.model_validate(
        {
            "id": "hw",
            "rounding_credit": "1/4",
            "repeated_mistakes": "once",
            "exercises": [
                {"id": "a", "type": "sgd_chain"},
                {"id": "b", "type": "sgd_chain", "rounding_credit": 0, "repeated_mistakes": "each"},
            ],
        }
    )
    a, b = assignment.exercises
    assert (a.rounding_credit, a.repeated_mistakes) == (Fraction(1, 4), "once")
    assert (b.rounding_credit, b.repeated_mistakes) == (0, "each")
    with pytest.raises(ValueError, match="rounding_credit must be between 0 and 1"):
        Assignment.model_validate(
            {
                "id": "hw",
                "rounding_credit": 2,
                "exercises": [{"id": "a", "type": "sgd_chain"}],
            }
        )
