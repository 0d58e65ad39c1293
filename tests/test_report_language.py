"""What a student reads is in the assignment's language: the report's words, the fields'
feedback and every diagnosis (words in templates/feedback.words.yaml, en and ru).

Not translated here (and so not checked): the fields' labels, which the exercise families
write ("new b3 after step 1").  tests/test_russian_reports.py grades students with every
diagnosis and every unreadable kind of answer."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest

from grader.core.intervals import Interval
from grader.core.wording import feedback_words
from grader.exercises.base import MistakeContext as Context
from grader.grade.batch import grade_command
from grader.grade.mistake_catalogue import CATALOGUE, Detail, Diagnosis
from grader.grade.mistakes import explain, variations
from grader.grade.summary_html import FORMAT_PROBLEM, MISTAKE_NAMES

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "grader" / "samples"
# three Latin words in a row: an English phrase (symbols, numbers and formulas are not)
ENGLISH = re.compile(r"[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}[ ,]+[A-Za-z]{2,}")
DIAGNOSES = sorted(set(MISTAKE_NAMES) - {FORMAT_PROBLEM})


def test_every_diagnosis_has_words_in_every_language() -> None:
    for language in ("en", "ru"):
        words = feedback_words(language)
        for mistake in DIAGNOSES:
            assert f"diagnosis_{mistake}" in words, (language, mistake)


def _diagnosis(mistake: str, ctx: Context) -> Diagnosis:
    """The first diagnosis the catalogue makes of ``mistake`` in ``ctx`` (the learning
    rate 1/2 for the rate); a verdict (rounding, arithmetic) with an empty detail."""
    if CATALOGUE[mistake].vary is None:
        return Diagnosis(mistake, Detail(""))
    return next(iter(variations(mistake, ctx, Interval(Fraction(1, 2))))).diagnosis()


@pytest.mark.parametrize("mistake", DIAGNOSES)
@pytest.mark.parametrize("loss", ["mse", "half_mse"])
def test_each_explanation_in_russian_has_no_english_left(mistake: str, loss: str) -> None:
    observations = ((Fraction(5), Fraction(0)),)
    ctx = Context(
        activation="sigmoid",
        loss=loss,
        learning_rate=Fraction(5),
        observations=observations,
        classes=3,
    )
    found = _diagnosis(mistake, ctx)
    ru = explain(found, "δ3 of step 1", ctx, "ru")
    en = explain(found, "δ3 of step 1", ctx, "en")
    assert ru != en
    assert not ENGLISH.search(ru), ru
    assert re.search("[а-яА-Я]{3,}", ru), ru


def test_a_russian_report_has_no_english_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_SECRET", "report-language-secret-3Hq9")
    course = tmp_path / "course.yaml"
    course.write_text(
        (SAMPLES / "canonical.yaml")
        .read_text(encoding="utf-8")
        .replace("language: en", "language: ru"),
        encoding="utf-8",
    )
    subs = tmp_path / "subs"
    subs.mkdir()
    names = ("sign_flip", "learning_rate", "missing_factor_2")
    roster = ["id,name"]
    for i, name in enumerate(names, 1):
        data = json.loads((SAMPLES / "submissions" / f"{name}.json").read_text(encoding="utf-8"))
        data["student"] = f"s00{i}"
        if i == 1:  # one answer missing, one unreadable: their feedback too
            step = data["answers"]["sgd"]["steps"][0]
            step["forward"][1] = None
            step["forward"][2] = "1/2x"
        (subs / f"s00{i}.json").write_text(json.dumps(data), encoding="utf-8")
        roster.append(f"s00{i},Student {i}")
    (tmp_path / "roster.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    grade_command(
        str(course), [str(subs)], str(tmp_path / "roster.csv"), str(out), lms=None, jobs=1
    )
    seen: set[str] = set()
    for i in range(1, len(names) + 1):
        report = json.loads((out / "reports" / f"s00{i}.json").read_text(encoding="utf-8"))
        seen.update(d["id"] for f in report["fields"] for d in f["diagnosis"])
        statuses = {f["status"] for f in report["fields"]}
        for f in report["fields"]:  # the parser's reason for an unreadable answer too
            assert not ENGLISH.search(f["feedback"]), f["feedback"]
        md = (out / "reports" / f"s00{i}.md").read_text(encoding="utf-8")
        prose = re.sub(r"`[^`]*`", "", md)  # code spans: the student's text, pointers
        assert not ENGLISH.search(prose), ENGLISH.search(prose)
        if i == 1:
            assert {"missing", "invalid", "incorrect", "carried_forward"} <= statuses
    assert {"sign_flip", "learning_rate", "missing_factor_2"} <= seen


def test_expected_values_are_decimals_at_the_instructed_places_with_short_fractions() -> None:
    from grader.course.assignment import load_assignment
    from grader.course.submission import parse_submission
    from grader.course.variants import make_variants
    from grader.grade.grading import grade_submission

    spec = load_assignment(str(SAMPLES / "canonical.yaml"))  # rounds σ to 4 decimals
    variants = make_variants(spec, "s001", None)
    data = parse_submission((SAMPLES / "submissions" / "sign_flip.json").read_bytes())
    fields = {f.pointer: f for f in grade_submission(spec, "s001", variants, data).fields}
    late = fields["/answers/sgd/steps/1/deltas/2"]
    # δ₃ of step 2 is 118438919837/500000000000 = 0.236877839674: ≈0.2369 at 4 places
    assert late.expected == "118438919837/500000000000"  # the JSON keeps the exact value
    assert late.feedback.startswith(
        "Expected ≈0.2369. From your own earlier answers it would be ≈0.0497."
    )
    early = fields["/answers/sgd/steps/0/deltas/2"]
    assert early.feedback.startswith("Expected -1/4 (-0.25).")  # short: the fraction too
    for f in fields.values():  # no long fraction in anything a student reads
        assert not re.search(r"\d{7,}/\d|/\d{7,}", f.feedback), f.feedback


def test_an_unexplained_wrong_formula_is_spoken_of_as_a_formula() -> None:
    from grader.grade.mistake_catalogue import (
        ARITHMETIC,
        NO_MISTAKE_FOR_FORMULA,
        NO_MISTAKE_FOR_NUMBER,
    )

    ctx = Context(activation="sigmoid", loss="mse")
    for language in ("en", "ru"):
        words = explain(Diagnosis(ARITHMETIC, NO_MISTAKE_FOR_FORMULA), "f", ctx, language)
        number = explain(Diagnosis(ARITHMETIC, NO_MISTAKE_FOR_NUMBER), "f", ctx, language)
        assert words != number
        assert ("formula" in words) if language == "en" else ("формул" in words)
        assert "arithmetic" not in words


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("δ3 of step 1", "δ₃ of step 1"),
        ("new b3 after step 1", "new b₃ after step 1"),  # one style: b₃ beside ∂/∂b₃
        ("∂/∂b3 of step 1", "∂/∂b₃ of step 1"),
        ("h1 = X·W1 [0][1]", "h₁[1,2] = X·W₁"),  # 1-based, as the sheet numbers entries
        ("δ2 = (δ3·W3ᵀ) ⊙ f′(h2) [1][0]", "δ₂[2,1] = (δ₃·W₃ᵀ) ⊙ f′(h₂)"),
        ("W1 after the step [1][0]", "W₁[2,1] after the step"),
        ("x of step 2", "x of step 2"),
        ("value of a", "value of a"),
    ],
)
def test_labels_are_written_as_on_the_sheet(label: str, shown: str) -> None:
    from grader.grade.reports import symbol_label

    assert symbol_label(label) == shown


def _family_labels() -> list[tuple[str, str, str]]:
    """(family, language, label) for every label word of every family, with sample
    arguments (the labels: section of templates/<family>/words.yaml)."""
    import yaml

    args = {"l": 2, "n": 1, "f": "f", "v": "x", "node": "a", "prev": "O1", "next": 3}
    found = []
    for words_file in sorted((ROOT / "templates").glob("*/words.yaml")):
        for language, words in yaml.safe_load(words_file.read_text(encoding="utf-8")).items():
            for text in (words.get("labels") or {}).values():
                found.append((words_file.parent.name, language, text.format(**args)))
    return found


def test_a_diagnosis_names_the_quantity_not_the_labels_first_word() -> None:
    """{sym} in a diagnosis is the field's symbol whatever words its label opens with
    ("функция потерь L" → L, "new b3 after step 1" → b₃; it was "функция", "new")."""
    from grader.grade.mistakes import symbol

    labels = _family_labels()
    assert len(labels) > 40
    for family, language, label in labels:
        sym = symbol(label)
        assert len(sym) == 1 or not sym.isalpha(), (family, language, label, sym)
    assert symbol("функция потерь L") == "L"
    assert symbol("new b3 after step 1") == "b₃"
    assert symbol("значение a") == "a"
    assert symbol("δ3 of step 2") == "δ₃"
    assert symbol("∂f/∂x (формула)") == "∂f/∂x"
