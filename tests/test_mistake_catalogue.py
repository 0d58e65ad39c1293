"""The mistake catalogue is one list: each typical mistake is one record of
``grader/grade/mistake_catalogue.py``, and everything else that names mistakes (the
``MistakeId`` names families declare, the feedback words in every language, the summary
page's names, the README's table, the families' computations) names the same ones.

A new mistake is one record plus its words: a toy family's own mistake, registered as one
record for one test, is diagnosed in a report (and is not, once its record makes nothing).
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any, get_args

import pytest
import sympy
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.core.intervals import Interval
from grader.core.wording import Words, feedback_words
from grader.exercises import EXERCISE_MODULES
from grader.exercises.base import MistakeContext, MistakeId
from grader.grade.mistake_catalogue import (
    ARITHMETIC,
    CATALOGUE,
    NO_MISTAKE_FOR_FORMULA,
    NO_MISTAKE_FOR_NUMBER,
    ROUNDING,
    Detail,
    Diagnosis,
    Evidence,
    Mistake,
    mistake,
    rounded,
)
from grader.grade.mistakes import explain
from grader.grade.summary_html import FORMAT_PROBLEM
from tests.conftest import ROOT
from tests.helpers import nice_variants
from tests.toy_mistake import TOY_MISTAKE_ID, install_toy_family

REPLAYED = {r.id for r in CATALOGUE.values() if r.vary is not None}
VERDICTS = {r.id for r in CATALOGUE.values() if r.vary is None}
LANGUAGES = ("en", "ru")


def test_the_catalogue_holds_the_mistakes_and_the_two_verdicts() -> None:
    assert {"rounding", ARITHMETIC} == VERDICTS
    assert len(REPLAYED) == 13
    assert all(record.id == key for key, record in CATALOGUE.items())


def test_mistake_id_names_the_replayed_records() -> None:
    assert set(get_args(MistakeId)) == REPLAYED


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_feedback_words_have_a_sentence_for_each_record_and_no_other(language: str) -> None:
    words = feedback_words(language)
    claimed = {f"diagnosis_{r.id}" for r in CATALOGUE.values()}
    claimed |= {w for r in CATALOGUE.values() for w in r.words}
    missing = sorted(w for w in claimed if w not in words)
    assert missing == []
    # every sentence of the file belongs to a record (an orphan is a mistake half removed)
    orphans = sorted(k for k in words if k.startswith("diagnosis_") and k not in claimed)
    assert orphans == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_summary_page_names_each_record_and_no_other(language: str) -> None:
    path = ROOT / "templates" / "grade" / "summary.words.yaml"
    table = yaml.safe_load(path.read_text("utf-8"))[language]
    named = {k.removeprefix("mistake_") for k in table if k.startswith("mistake_")}
    assert named == set(CATALOGUE) | {FORMAT_PROBLEM}


def test_the_readme_table_lists_each_record_and_no_other() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("### The mistake catalogue", 1)[1].split("\n#", 1)[0]
    ids = re.findall(r"^\| `([a-z_0-9]+)` \|", section, flags=re.MULTILINE)
    assert len(ids) == len(set(ids))
    assert set(ids) == set(CATALOGUE)


@pytest.mark.parametrize("type_name", sorted(EXERCISE_MODULES))
def test_a_family_declares_only_mistakes_of_the_catalogue(type_name: str) -> None:
    declared = {
        m
        for v in nice_variants(type_name, lambda rng, i: {}, 3, seed=5)
        for c in v.solution.computations
        for m in c.mistakes
    }
    assert declared and declared <= REPLAYED


def test_an_unknown_mistake_is_named_with_the_catalogue() -> None:
    with pytest.raises(KeyError, match="no mistake 'sign_flipp' in the catalogue"):
        mistake("sign_flipp")


# ---------------------------------------------------------------- what records say


def _contexts() -> list[MistakeContext]:
    """Variants of every kind a record branches on: each loss, each activation."""
    rows = ((Fraction(5), Fraction(0)), (Fraction(1), Fraction(-1, 2)))
    return [
        MistakeContext(
            learning_rate=rate,
            observations=rows,
            loss=loss,
            activation=activation,
            classes=3,
        )
        for loss in ("mse", "half_mse", "cross_entropy", None)
        for activation in ("sigmoid", "tanh", "relu", "softsign", None)
        for rate in (Fraction(5), None)
    ]


def _words_in(said: Detail) -> set[str]:
    keys = {said.sentence} if said.sentence else set()
    return keys.union(*(_keys(v) for v in (said.words, *(v for _, v in said.args))))


def _keys(value: Any) -> set[str]:
    """The word keys of a Words value and of the Words among its arguments."""
    if not isinstance(value, Words):
        return set()
    return {value.key}.union(*(_keys(v) for _, v in value.args))


def _said_by_records() -> dict[str, list[Detail]]:
    """Every detail each record gives over the probe contexts (and, for the verdicts, the
    details the grader gives them)."""
    said: dict[str, list[Detail]] = {r: [] for r in CATALOGUE}
    for ctx in _contexts():
        for rates in (Interval(Fraction(1, 2)), None):
            for record in CATALOGUE.values():
                said[record.id] += [v.said for v in record.variations(ctx, Evidence(rates))]
    x, y = sympy.symbols("x y")
    for record in CATALOGUE.values():
        if record.formula_detail is not None:
            said[record.id].append(record.formula_detail(x * y + y, y))
    said[ARITHMETIC] += [NO_MISTAKE_FOR_NUMBER, NO_MISTAKE_FOR_FORMULA]
    exact = Words.of("asks_exact")  # the grader's words for what the sheet asks
    said[ROUNDING] += [rounded("7.31", "117/16", own, exact) for own in (False, True)]
    return said


def test_a_record_says_only_the_words_it_declares_and_every_one_of_them() -> None:
    for mistake_id, details in _said_by_records().items():
        record = CATALOGUE[mistake_id]
        used = set().union(*(_words_in(d) for d in details))
        assert used - {"asks_exact"} == set(record.words), mistake_id
        if record.vary is not None:
            assert details, f"{mistake_id} is never made"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_detail_of_every_record_can_be_said(language: str) -> None:
    """Each sentence gets every argument it uses (a KeyError here is a sentence that
    names an argument its record does not give)."""
    seen = set()
    for mistake_id, details in _said_by_records().items():
        for said in details:
            for ctx in _contexts()[:4]:
                text = explain(Diagnosis(mistake_id, said), "δ3 of step 1", ctx, language)
                assert text and "{" not in text, (mistake_id, text)
                seen.add(mistake_id)
    assert seen == set(CATALOGUE)


def test_the_learning_rate_record_is_said_with_the_rate_used_and_the_one_given() -> None:
    ctx = MistakeContext(learning_rate=Fraction(5), loss="mse", activation="sigmoid")
    [found] = CATALOGUE["learning_rate"].variations(ctx, Evidence(Interval(Fraction(1, 2))))
    assert found.rules.learning_rate == Fraction(1, 2) and found.detail == "1/2"
    text = explain(found.diagnosis(), "W1 after step 1", ctx)
    assert text == "Your update used γ = 1/2 = 0.5 instead of 5."


# ---------------------------------------------------------------- a new mistake: one record

SECRET = "mistake-catalogue-secret-5b1e7d"


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"GRADER_SECRET": SECRET})


def _toy_course(tmp: Path, language: str) -> tuple[Path, Path]:
    assignment = tmp / f"toy_{language}.yaml"
    assignment.write_text(
        f"id: toy-hw\ntitle: Toy\nlanguage: {language}\nsecret_env: GRADER_SECRET\n"
        "exercises:\n  - id: neuron\n    type: toy_neuron\n    points: 6\n",
        encoding="utf-8",
    )
    roster = tmp / "roster.csv"
    roster.write_text("id,name\ns001,Ann\n", encoding="utf-8")
    return assignment, roster


def _uphill_without_rate(build: Path) -> dict[str, Any]:
    """s001's key with the update done as W + ∂L/∂W: uphill, and γ forgotten."""
    key = json.loads((build / "keys" / "s001.json").read_text("utf-8"))
    answers = key["answers"]["neuron"]
    w, b = (Fraction(key["params"]["neuron"][name]) for name in ("w", "b"))
    answers["w_new"] = str(w + Fraction(answers["grad_w"]))
    answers["b_new"] = str(b + Fraction(answers["grad_b"]))
    return {k: key[k] for k in ("assignment", "student", "answers")}


def _grade(assignment: Path, roster: Path, subs: Path, out: Path) -> dict[str, Any]:
    graded = _run("grade", str(assignment), str(subs), "--roster", str(roster), "--out", str(out))
    assert graded.exit_code == 0, graded.output
    report = json.loads((out / "reports" / "s001.json").read_text("utf-8"))
    return {f["pointer"].rsplit("/", 1)[1]: f for f in report["fields"]}


def test_a_new_mistake_is_one_record_and_its_words(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    install_toy_family(monkeypatch)  # the family, its one record, the record's words
    assignment, roster = _toy_course(tmp_path, "en")
    build = tmp_path / "build"
    made = _run(
        "generate", str(assignment), "--roster", str(roster), "--out", str(build), "--no-pdf"
    )
    assert made.exit_code == 0, made.output
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "s001.json").write_text(json.dumps(_uphill_without_rate(build)), encoding="utf-8")

    fields = _grade(assignment, roster, subs, tmp_path / "en")
    assert fields["grad_w"]["status"] == "correct"
    for name in ("w_new", "b_new"):
        assert fields[name]["status"] == "incorrect"
        assert fields[name]["diagnosis"] == [{"id": TOY_MISTAKE_ID, "detail": "W + ∂L/∂W"}]
        assert "went uphill and without the rate" in fields[name]["feedback"]
    md = (tmp_path / "en" / "reports" / "s001.md").read_text("utf-8")
    assert "went uphill and without the rate" in md

    ru_assignment, _ = _toy_course(tmp_path, "ru")  # the same variants, said in Russian
    fields = _grade(ru_assignment, roster, subs, tmp_path / "ru")
    assert "шаг сделан в сторону роста функции потерь и без γ" in fields["w_new"]["feedback"]

    # the record is what diagnoses it: one that makes nothing leaves an arithmetic slip
    monkeypatch.setitem(CATALOGUE, TOY_MISTAKE_ID, Mistake(TOY_MISTAKE_ID, lambda ctx, e: ()))
    fields = _grade(assignment, roster, subs, tmp_path / "none")
    assert [d["id"] for d in fields["w_new"]["diagnosis"]] == [ARITHMETIC]
