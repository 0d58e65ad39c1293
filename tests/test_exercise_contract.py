"""The exercise contract: what the core asks of a family, and nothing else.

Every registered family is held to :class:`grader.exercises.base.Exercise` (no abstract
hook left, hooks returning what they declare, templates and words where the family says),
and a test-only family (``tests/toy_family``), registered for this process only, runs
``generate``, ``grade`` and ``check`` through the contract and the registry alone.
"""

from __future__ import annotations

import inspect
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel

from grader.cli import main
from grader.core.engine import Rounding
from grader.core.given import GivenData, num
from grader.course.assignment import ExerciseSpec
from grader.exercises import EXERCISE_MODULES, get_exercise
from grader.exercises.base import Computation, Exercise, MistakeContext, Solution
from grader.make import answer_page, rendering
from tests.toy_mistake import install_toy_family

FAMILIES = sorted(EXERCISE_MODULES)
SECRET = "contract-test-secret-8f3a9c2e71d4"


@pytest.mark.parametrize("type_name", FAMILIES)
def test_a_family_answers_every_hook_of_the_contract(type_name: str) -> None:
    family = get_exercise(type_name)
    assert isinstance(family, Exercise) and not inspect.isabstract(type(family))
    assert family.type_name == type_name
    assert issubclass(family.Params, BaseModel)
    assert set(family.title) == {"en", "ru"}
    assert set(family.randomized) <= set(family.Params.model_fields), "randomizes unknown params"

    rng = random.Random(3)
    for _ in range(200):
        try:
            params = family.sample(rng, {})
            solution = family.solve(params, "ex")
        except (ValueError, ArithmeticError):
            continue
        if family.is_nice(params, solution, {}):
            break
    else:
        pytest.fail(f"no nice {type_name} variant in 200 draws")
    assert isinstance(solution, Solution)
    # every answer leaf is a computation's output, in the template's layout
    assert sorted(_leaf_pointers(family.template_answers(params), "/answers/ex")) == sorted(
        solution.leaves()
    )
    assert family.rounding(params) is None or isinstance(family.rounding(params), Rounding)
    assert isinstance(family.mistake_context(params), MistakeContext)
    assert all(isinstance(v, str) for v in family.formula_variables(params))
    assert family.check_independently(params, solution.answers) == []
    assert family.describe_text(params, solution).strip()
    assert isinstance(family.latex_view(params, solution, "en"), dict)
    schema = family.json_schema(params)
    assert schema["type"] == "object"
    # the fields, from the parameters alone: those the solution lists, label for label
    assert [_described(c) for c in family.fields(params, "ex")] == [
        _described(c) for c in solution.computations
    ]
    # the answer page's given data: from the parameters alone, in each language the same
    # lines and the same numbers (only the words differ)
    en, ru = (family.given_data(params, language) for language in ("en", "ru"))
    assert isinstance(en, GivenData) and isinstance(ru, GivenData)
    assert en.lines, "a family shows the student's given data on the answer page"
    assert [(g.fixed, g.math) for g in en.lines] == [(g.fixed, g.math) for g in ru.lines]
    assert [[c for _, c in t.rows] for t in en.tables] == [
        [c for _, c in t.rows] for t in ru.tables
    ]
    assert all(g.label and g.text for g in en.lines + ru.lines)


def test_a_family_without_given_data_shows_none() -> None:
    """The hook's default: a family that says nothing shows no given box (its sheet still
    shows the data)."""
    family = get_exercise("sgd_chain")
    params = family.sample(random.Random(1), {})
    assert Exercise.given_data(family, params, "en") == GivenData()


@pytest.mark.parametrize("type_name", FAMILIES)
def test_a_family_keeps_its_templates_and_words_in_its_folder(type_name: str) -> None:
    folder = get_exercise(type_name).template_folder()
    assert folder.joinpath("sheet.tex.j2").is_file() and folder.joinpath("key.tex.j2").is_file()
    words = yaml.safe_load(folder.joinpath("words.yaml").read_text("utf-8"))
    assert set(words) == {"en", "ru"} and set(words["en"]) == set(words["ru"])
    assert rendering.words("ru", [type_name])[type_name] == words["ru"]


def _described(c: Computation) -> tuple[Any, ...]:
    return (c.label, c.outputs, c.inputs, c.kind, c.mistakes, c.given, c.quantity, c.words)


def _leaf_pointers(layout: Any, at: str) -> list[str]:
    if isinstance(layout, dict):
        return [p for k, v in layout.items() for p in _leaf_pointers(v, f"{at}/{k}")]
    if isinstance(layout, list):
        return [p for i, v in enumerate(layout) for p in _leaf_pointers(v, f"{at}/{i}")]
    return [at]


# ---------------------------------------------------------------- a family from outside


@pytest.fixture
def toy_family(monkeypatch: pytest.MonkeyPatch) -> Any:
    yield install_toy_family(monkeypatch)  # the family, and its mistake's record and words
    rendering._words.cache_clear()


def _course(tmp: Path) -> tuple[Path, Path]:
    assignment = tmp / "toy.yaml"
    assignment.write_text(
        "id: toy-hw\ntitle: Toy\nlanguage: en\nsecret_env: GRADER_SECRET\n"
        "exercises:\n  - id: neuron\n    type: toy_neuron\n    points: 6\n"
        "  - id: sgd\n    type: sgd_chain\n    points: 4\n",
        encoding="utf-8",
    )
    roster = tmp / "roster.csv"
    roster.write_text("id,name\ns001,Ann\ns002,Bob\ns003,Cy\n", encoding="utf-8")
    return assignment, roster


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"GRADER_SECRET": SECRET})


def test_a_family_added_through_the_contract_alone_runs_generate_grade_and_check(
    toy_family: Exercise, tmp_path: Path
) -> None:
    assignment, roster = _course(tmp_path)
    build = tmp_path / "build"
    made = _run(
        "generate", str(assignment), "--roster", str(roster), "--out", str(build), "--no-pdf"
    )
    assert made.exit_code == 0, made.output
    sheet = (build / "sheets" / "s001.tex").read_text("utf-8")
    assert "One linear neuron, one SGD step:" in sheet  # the family's own template and words
    # the answer page shows the family's given data (its hook, its words)
    page = (build / "forms" / "s001.html").read_text("utf-8")
    given = json.loads((build / "keys" / "s001.json").read_text("utf-8"))["params"]["neuron"]
    assert f'Observation:</span> <span class="math">x = {num(given["x"])},  y = ' in page

    checked = _run("check", str(assignment), str(build))
    assert checked.exit_code == 0, checked.output

    subs = tmp_path / "subs"
    subs.mkdir()
    keys = {
        sid: json.loads((build / "keys" / f"{sid}.json").read_text("utf-8"))
        for sid in ("s001", "s002")
    }
    perfect = {k: keys["s001"][k] for k in ("assignment", "student", "answers")}
    (subs / "s001.json").write_text(json.dumps(perfect), encoding="utf-8")
    # s002 flips the sign of δ: δ is wrong, and what follows is right given that δ
    slipped = {k: keys["s002"][k] for k in ("assignment", "student", "answers")}
    toy = slipped["answers"]["neuron"]
    params = toy_family.Params.model_validate(keys["s002"]["params"]["neuron"])
    from fractions import Fraction

    delta = -Fraction(toy["delta"])
    toy["delta"] = str(delta)
    toy["grad_w"], toy["grad_b"] = str(delta * params.x), str(delta)
    toy["w_new"] = str(params.w - params.learning_rate * delta * params.x)
    toy["b_new"] = str(params.b - params.learning_rate * delta)
    (subs / "s002.json").write_text(json.dumps(slipped), encoding="utf-8")

    out = tmp_path / "graded"
    graded = _run("grade", str(assignment), str(subs), "--roster", str(roster), "--out", str(out))
    assert graded.exit_code == 0, graded.output
    report = json.loads((out / "reports" / "s001.json").read_text("utf-8"))
    toy_fields = [f for f in report["fields"] if f["pointer"].startswith("/answers/neuron/")]
    assert len(toy_fields) == 6 and all(f["status"] == "correct" for f in toy_fields)

    report = json.loads((out / "reports" / "s002.json").read_text("utf-8"))
    status = {
        f["pointer"].rsplit("/", 1)[1]: f for f in report["fields"] if "/neuron/" in f["pointer"]
    }
    assert status["yhat"]["status"] == "correct"
    assert status["delta"]["status"] == "incorrect"
    assert [d["id"] for d in status["delta"]["diagnosis"]] == ["sign_flip"]
    for name in ("grad_w", "grad_b", "w_new", "b_new"):
        assert status[name]["status"] == "carried_forward", (name, status[name])


@pytest.mark.parametrize(
    ("language", "after_step"), [("en", "w, b after the step"), ("ru", "w, b после шага")]
)
def test_a_new_family_names_its_page_labels_once(
    toy_family: Exercise, language: str, after_step: str
) -> None:
    """A family without a page layout of its own: the answer page labels its fields with the
    words its reports use (``labels:``), in the page's language, a computation of several
    outputs as a grid (it showed the answer pointers: "w_new")."""
    params = toy_family.sample(random.Random(5), {})
    spec = ExerciseSpec(id="neuron", type="toy_neuron")
    form = answer_page.form_exercise(spec, params, language, "")
    (section,) = form.sections
    assert [(f.pointer, f.label) for f in section.fields] == [
        ("/answers/neuron/yhat", "ŷ"),
        ("/answers/neuron/delta", "δ"),
    ]
    assert [(g.title, g.columns) for g in section.grids] == [
        ("∂L/∂w, ∂L/∂b", ["grad_w", "grad_b"]),
        (after_step, ["w_new", "b_new"]),
    ]
    cells = [f for g in section.grids for _, row in g.rows for f in row]
    assert [f.label for f in cells][2:] == [f"{after_step} [w_new]", f"{after_step} [b_new]"]
    assert {f.kind for f in [*section.fields, *cells]} == {"number"}
