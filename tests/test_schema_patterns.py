"""schema.json's patterns against the parsers (on the shared grammar corpus), and answer
templates that name the schema, carry the rules in ``_help`` and still grade as before."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from grader.core.numbers import NumberError, parse_number
from grader.course.assignment import load_assignment
from grader.course.submission import read_answers
from grader.course.variants import make_variants
from grader.grade.formulas import FormulaError, read_formula
from grader.grade.lhs import LhsError, split_lhs
from grader.make.build import template_json
from grader.make.schema import FORMULA_PATTERN, NUMBER_PATTERN, submission_schema
from tests.browser import chromium  # noqa: F401 - a fixture
from tests.grammar_kinds import NUMBER_KINDS, kind_of

ROOT = Path(__file__).resolve().parent.parent
CORPUS = json.loads((ROOT / "tests" / "data" / "grammar_corpus.json").read_text("utf-8"))
CANONICAL = ROOT / "grader" / "samples" / "canonical.yaml"
SECRET = "schema-pattern-secret-77"

# What the number pattern cannot see (a regex does not count or divide): the parser's
# limits and zero denominators, and a decimal comma set against the other part.
BEYOND_A_REGEX = {"digits", "exponent", "zero_division", "too_long"}


def number_verdict(text: str) -> str | None:
    """None when the parser reads ``text``, else the kind of its error."""
    try:
        parse_number(text)
    except NumberError as e:
        return kind_of(e.message, NUMBER_KINDS)
    return None


def _comma_across_parts(text: str) -> bool:
    parts = re.split(r"[/\u2044]|\}\s*\{", text)
    return text.count(",") > 1 or ("," in text and "." in text and len(parts) > 1)


def test_number_pattern_accepts_every_number_the_parser_reads() -> None:
    pattern = re.compile(NUMBER_PATTERN)
    valid = [t for t in CORPUS["numbers"] if number_verdict(t) is None]
    assert len(valid) > 100
    assert [t for t in valid if not pattern.search(t)] == []


def test_number_pattern_refuses_most_of_what_the_parser_refuses() -> None:
    pattern = re.compile(NUMBER_PATTERN)
    invalid = [(t, number_verdict(t)) for t in CORPUS["numbers"] if number_verdict(t)]
    beyond = [
        t
        for t, kind in invalid
        if kind in BEYOND_A_REGEX or (kind == "comma" and _comma_across_parts(t))
    ]
    # everything else the pattern refuses, as the parser does
    assert [t for t, _ in invalid if t not in beyond and pattern.search(t)] == []
    assert len(invalid) - len(beyond) > 100
    # and of what only the parser can refuse, the pattern still refuses some (the long ones)
    assert any(not pattern.search(t) for t in beyond)


def test_formula_pattern_admits_the_parser_vocabulary() -> None:
    pattern = re.compile(FORMULA_PATTERN)
    readable, characters = [], []
    for entry in CORPUS["formulas"]:
        text, offset = entry["text"], 0
        try:
            if entry["lhs"]:
                _, text, offset = split_lhs(text)
            aliases = [(a, b) for a, b in entry["aliases"]]
            read_formula(text, entry["variables"], entry["functions"], entry["generic"], aliases)
            readable.append(entry["text"])
        except LhsError:
            pass
        except FormulaError as e:
            bad = entry["text"][e.position + offset : e.position + offset + 1]
            # (a look-alike of an ASCII character is admitted: the parser reads it as ASCII)
            if e.message.startswith(("unexpected character", "a formula has no")) and bad.isascii():
                characters.append(entry["text"])
    assert [t for t in readable if not pattern.search(t)] == []
    assert len(characters) >= 8
    assert [t for t in characters if pattern.search(t)] == []


def test_browser_regex_engine_agrees_with_python_on_the_patterns(chromium: Any) -> None:  # noqa: F811
    """JSON Schema's ``pattern`` is ECMA-262: the same verdicts as Python's ``re``."""
    chromium.get("about:blank")
    texts = CORPUS["numbers"]
    got = chromium.execute_script(
        "const p = new RegExp(arguments[0], 'u'); return arguments[1].map(t => p.test(t));",
        NUMBER_PATTERN,
        texts,
    )
    assert got == [bool(re.search(NUMBER_PATTERN, t)) for t in texts]
    formulas = [e["text"] for e in CORPUS["formulas"]]
    got = chromium.execute_script(
        "const p = new RegExp(arguments[0], 'u'); return arguments[1].map(t => p.test(t));",
        FORMULA_PATTERN,
        formulas,
    )
    assert got == [bool(re.search(FORMULA_PATTERN, t)) for t in formulas]


@pytest.fixture
def canonical(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GRADER_SECRET", SECRET)
    assignment = load_assignment(str(CANONICAL))
    return assignment, make_variants(assignment, "s01", SECRET.encode())


def test_template_names_the_schema_and_validates_against_it(canonical: Any) -> None:
    assignment, variants = canonical
    template = template_json(assignment, "s01", variants)
    assert list(template)[:2] == ["$schema", "_help"]
    assert template["$schema"] == "../schema.json"
    assert '"1/4"' in template["_help"] and "0,25" in template["_help"]
    assert "grader validate s01.json" in template["_help"]
    schema = submission_schema(assignment)
    jsonschema.validate(template, schema)  # nulls, _help and $schema are allowed
    answers = json.dumps(template["answers"])
    filled = {**template, "answers": json.loads(answers.replace("null", '"0,25"'))}
    jsonschema.validate(filled, schema)
    wrong = {**template, "answers": json.loads(answers.replace("null", '"0,25,1"', 1))}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(wrong, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**template, "_extra": 1}, schema)


def test_grading_ignores_help_and_schema(canonical: Any) -> None:
    assignment, variants = canonical
    template = template_json(assignment, "s01", variants)
    read = read_answers(template, variants)
    assert read.problems == []
    without = {k: v for k, v in template.items() if k not in ("$schema", "_help")}
    assert read_answers(without, variants).problems == []
    assert read_answers({**template, "_helps": "x"}, variants).problems != []


def test_russian_template_help(canonical: Any) -> None:
    assignment, variants = canonical
    ru = assignment.model_copy(update={"language": "ru"})
    help_text = template_json(ru, "s01", variants)["_help"]
    assert "Замените" in help_text and "0,25" in help_text and "s01.json" in help_text
