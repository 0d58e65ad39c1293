"""Field labels come from the families' words (``labels:`` in templates/<type>/words.yaml,
en and ru), so a report says "o₁ на шаге 1" in a Russian course and "o₁ of step 1" in an
English one; a computation without words keeps its own label, and a field with no label at
all is named by its answer path."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from grader.cli import main
from grader.exercises import EXERCISE_MODULES, get_exercise
from grader.exercises.base import Computation
from grader.grade.grading import _field_label
from tests.conftest import SAMPLES
from tests.helpers import nice_variants

SECRET = "field-labels-test-secret-8c2d"
LANGUAGES = ("en", "ru")
# settings that reach every kind of field of each family (hidden layers, several steps)
SETTINGS: dict[str, list[dict[str, Any]]] = {
    "chain_rule": [{}, {"variables": ["x", "y", "z"]}],
    "mlp_matrix": [{"hidden": [2, 2]}, {"hidden": [2], "activation": "sigmoid"}],
    "sgd_chain": [{}, {"depth": 4, "activation": "tanh"}],
    "softmax_classifier": [{}, {"hidden": [2], "order": [1, 2]}],
}


def _labels(type_name: str, language: str) -> dict[str, str]:
    folder = get_exercise(type_name).template_folder()
    words = yaml.safe_load(folder.joinpath("words.yaml").read_text("utf-8"))
    return dict(words[language]["labels"])


def _computations(type_name: str) -> list[Computation]:
    comps = []
    for i, fixed in enumerate(SETTINGS[type_name]):
        for v in nice_variants(type_name, lambda rng, _, f=fixed: dict(f), 3, seed=i):
            comps += v.solution.computations
    return comps


def test_every_family_is_covered() -> None:
    assert set(SETTINGS) == set(EXERCISE_MODULES)


@pytest.mark.parametrize("type_name", sorted(EXERCISE_MODULES))
def test_labels_have_the_same_keys_in_en_and_ru(type_name: str) -> None:
    en, ru = _labels(type_name, "en"), _labels(type_name, "ru")
    assert en and set(en) == set(ru)
    for key in en:  # the same arguments in both languages
        assert set(re.findall(r"\{(\w+)\}", en[key])) == set(re.findall(r"\{(\w+)\}", ru[key]))


@pytest.mark.parametrize("type_name", sorted(EXERCISE_MODULES))
def test_every_field_has_words_and_the_english_words_are_its_label(type_name: str) -> None:
    """Every computation names its label's words, every key it uses exists in both
    languages, and the English words give exactly the label it carries (so English
    reports are what they were)."""
    family = get_exercise(type_name)
    comps = _computations(type_name)
    assert len(comps) > 20
    used = set()
    for comp in comps:
        assert comp.words is not None, comp.label
        used.add(comp.words[0])
        assert family.field_label(comp, "en") == comp.label
        russian = family.field_label(comp, "ru")
        assert russian and not re.search(r"\b(of|after|the|value|formula|point|loss)\b", russian)
    assert used == set(_labels(type_name, "en"))  # and no key is left unused


def test_a_field_without_words_keeps_its_label_and_without_a_label_its_path() -> None:
    family = get_exercise("sgd_chain")
    plain = Computation("o1 of step 1", ("/answers/e/a",), (), lambda v, o, r: [0])
    assert _field_label(plain, "/answers/e/a", family, "ru") == "o1 of step 1"
    unnamed = Computation("", ("/answers/e/a", "/answers/e/b"), (), lambda v, o, r: [0, 0])
    assert _field_label(unnamed, "/answers/e/b", family, "ru") == "/answers/e/b"


def _course(tmp: Path, language: str) -> Path:
    """The sample course and two softmax exercises, in ``language``."""
    text = (
        (SAMPLES / "course.yaml")
        .read_text("utf-8")
        .replace("language: en", f"language: {language}")
    )
    text += (
        "\n  - id: plain\n    type: softmax_classifier\n    points: 6\n"
        "  - id: hidden\n    type: softmax_classifier\n    points: 8\n"
        "    params: {hidden: [2], activation: relu, order: [1, 2]}\n"
    )
    path = tmp / f"course_{language}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _wrong_first_number(answers: Any) -> bool:
    """Make the first non-zero number of an exercise's answers wrong (a report then names it
    under "what went wrong" as well as listing the rest as right)."""
    items = answers.items() if isinstance(answers, dict) else enumerate(answers)
    for key, value in items:
        if isinstance(value, dict | list):
            if _wrong_first_number(value):
                return True
        elif isinstance(value, str) and re.fullmatch(r"-?\d+(/\d+)?", value) and value != "0":
            answers[key] = value + "1" if "/" not in value else "7/3"
            return True
    return False


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_report_names_every_family_s_fields_in_the_course_language(
    language: str, tmp_path: Path
) -> None:
    assignment = _course(tmp_path, language)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns001,Ann\ns002,Bob\n", encoding="utf-8")
    env = {"GRADER_SECRET": SECRET}
    build, out, subs = tmp_path / "build", tmp_path / "out", tmp_path / "subs"
    made = CliRunner().invoke(
        main,
        ["generate", str(assignment), "--roster", str(roster), "--out", str(build), "--no-pdf"],
        env=env,
    )
    assert made.exit_code == 0, made.output
    subs.mkdir()
    key = json.loads((build / "keys" / "s001.json").read_text("utf-8"))
    for answers in key["answers"].values():
        assert _wrong_first_number(answers)
    sub = {k: key[k] for k in ("assignment", "student", "answers")}
    (subs / "s001.json").write_text(json.dumps(sub), encoding="utf-8")
    graded = CliRunner().invoke(
        main,
        ["grade", str(assignment), str(subs), "--roster", str(roster), "--out", str(out)],
        env=env,
    )
    assert graded.exit_code == 0, graded.output
    report = (out / "reports" / "s001.md").read_text("utf-8")
    english = ["of step", "after step", "after the step", "value of", "formula of",
               "at the point", "(formula)", "loss L"]  # fmt: skip
    russian = ["на шаге", "после шага", "значение ", "формула ŷ", "в точке", "(формула)",
               "функция потерь L"]  # fmt: skip
    said, other = (english, russian) if language == "en" else (russian, english)
    for words in said:
        assert words in report, words
    for words in other:
        assert words not in report, words
