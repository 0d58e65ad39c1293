"""``grader check``: a fresh build agrees; every kind of tampering is named; the
independent recomputation catches a wrong key even when the regeneration is wrong too.

Builds here are ``--no-pdf`` (no TeX); a PDF's hash check is exercised on a stand-in file.
"""

from __future__ import annotations

import json
import random
import shutil
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from pydantic import ValidationError

from grader.cli import main
from grader.course.keys import exact_text, map_leaves
from grader.exercises import get_exercise
from grader.exercises.sgd_chain import EXERCISE as SGD
from grader.exercises.sgd_chain.params import SgdChainParams
from grader.make.build import generate_command
from grader.make.manifest import sha256
from tests.helpers import CANONICAL_SGD, OTHER_STRONG_SECRET

SAMPLES = Path(__file__).resolve().parent.parent / "grader" / "samples"
COURSE = SAMPLES / "course.yaml"
SECRET = "test-secret-for-check"
IDS = ["s01", "s02", "s03", "s04"]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("check")
    roster = tmp / "roster.csv"
    roster.write_text(
        "id,name\n" + "".join(f"{sid},Student {sid} Иванов\n" for sid in IDS), encoding="utf-8"
    )
    out = tmp / "build"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_SECRET", SECRET)
        assert generate_command(str(COURSE), str(roster), str(out), pdf=False, jobs=1) == 0
    return out


@pytest.fixture
def build(pristine, tmp_path) -> Path:
    """A private copy to tamper with."""
    copy = tmp_path / "build"
    shutil.copytree(pristine, copy)
    return copy


def check(build: Path, secret: str | None = SECRET):
    return CliRunner().invoke(
        main, ["check", str(COURSE), str(build)], env={"GRADER_SECRET": secret}
    )


def test_fresh_build_agrees(build):
    result = check(build)
    assert result.exit_code == 0, result.output
    assert f"all {len(IDS)} keys agree" in result.output


def test_changed_key_value_is_named(build):
    path = build / "keys" / "s03.json"
    key = json.loads(path.read_text())
    key["answers"]["sgd"]["steps"][0]["deltas"][2] = "-1/3"
    path.write_text(json.dumps(key, indent=2, ensure_ascii=False) + "\n")
    result = check(build)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    # the regeneration names the pointer and both values …
    assert any(
        line.startswith('student s03: keys/s03.json /answers/sgd/steps/0/deltas/2: file has "-1/3"')
        for line in lines
    ), result.output
    # … and the independent float64 recomputation disagrees as well
    assert any(
        "student s03" in line and "steps/0/deltas/2" in line and "independent" in line
        for line in lines
    ), result.output
    assert not any("s01" in line or "s02" in line for line in lines)


def test_changed_tex_is_named(build):
    path = build / "sheets" / "s02.tex"
    text = path.read_text().replace(r"\gamma =", r"\gamma = 1 +", 1)
    path.write_text(text)
    result = check(build)
    assert result.exit_code == 1
    assert "student s02: sheets/s02.tex: line" in result.output


def test_missing_file_is_named(build):
    (build / "templates" / "s04.json").unlink()
    result = check(build)
    assert result.exit_code == 1
    assert "student s04: templates/s04.json is missing" in result.output


def test_wrong_secret(build):
    result = check(build, secret=OTHER_STRONG_SECRET)
    assert result.exit_code == 1
    assert "wrong secret" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_secret_exit_2(build):
    result = check(build, secret=None)
    assert result.exit_code == 2
    assert "GRADER_SECRET" in result.output and "Traceback" not in result.output


def test_extra_student_is_named(build):
    shutil.copy(build / "keys" / "s01.json", build / "keys" / "s99.json")
    result = check(build)
    assert result.exit_code == 1
    assert "extra student 's99': keys/s99.json" in result.output


def test_pdf_hash_is_checked(build):
    pdf = build / "sheets" / "s01.pdf"
    pdf.write_bytes(b"%PDF-1.5 stand-in\n")
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["files"]["sheets/s01.pdf"] = sha256(pdf.read_bytes())
    manifest["pdf"] = True  # a build with PDFs says so
    (build / "manifest.json").write_text(json.dumps(manifest, indent=2))
    assert check(build).exit_code == 0
    pdf.write_bytes(b"%PDF-1.5 changed\n")
    result = check(build)
    assert result.exit_code == 1
    assert "student s01: sheets/s01.pdf does not match its sha256" in result.output


def test_not_a_build_exit_2(tmp_path):
    result = check(tmp_path)
    assert result.exit_code == 2
    assert "no manifest.json" in result.output


def test_tampered_manifest_paths_are_refused(build):
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["files"]["../../etc/passwd"] = "0" * 64
    (build / "manifest.json").write_text(json.dumps(manifest, indent=2))
    result = check(build)
    assert result.exit_code == 1
    assert "unexpected path '../../etc/passwd'" in result.output


def test_oracle_catches_a_wrong_key_that_regenerates_identically(build, monkeypatch):
    """A bug in the exact engine would make the key and its regeneration agree; the
    independent recomputation must still object."""
    import grader.make.check

    path = build / "keys" / "s02.json"
    key = json.loads(path.read_text())
    key["answers"]["sgd"]["steps"][1]["weights"][1][2] = "7/3"
    wrong = (json.dumps(key, indent=2, ensure_ascii=False) + "\n").encode()
    path.write_bytes(wrong)
    real = grader.make.check.student_files

    def buggy_regeneration(assignment, student, variants, doc):
        files = real(assignment, student, variants, doc)
        if student.id == "s02":
            files["keys/s02.json"] = wrong
        return files

    monkeypatch.setattr(grader.make.check, "student_files", buggy_regeneration)
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["files"]["keys/s02.json"] = sha256(wrong)
    (build / "manifest.json").write_text(json.dumps(manifest, indent=2))
    result = check(build)
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 2, result.output  # one finding and the count
    assert "student s02: keys/s02.json /answers/sgd/steps/1/weights/1/2" in result.output


# ------------------------------------------------------------ the oracles directly

CANONICAL = CANONICAL_SGD


def key_answers(exercise, params):
    return map_leaves(exercise.solve(params, "x").answers, exact_text)


def test_sgd_oracle_agrees_with_the_canonical_key_and_rejects_wrong_ones():
    params = SgdChainParams.model_validate(CANONICAL)
    answers = key_answers(SGD, params)
    assert SGD.check_independently(params, answers) == []
    answers["steps"][1]["deltas"][2] = "-118438919837/500000000000"  # sign flipped
    assert any("steps/1/deltas/2" in p for p in SGD.check_independently(params, answers))
    answers = key_answers(SGD, params)
    answers["steps"][0]["forward"][3] = "0.5001"
    assert any("steps/0/forward/3" in p for p in SGD.check_independently(params, answers))


def _mutate_one_number(layout, rng):
    """Change one numeric leaf of an answer layout; its pointer-ish path."""
    leaves = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))
        elif isinstance(node, str):
            try:
                Fraction(node)
            except ValueError:
                return
            leaves.append(path)

    walk(layout, ())
    path = rng.choice(leaves)
    target = layout
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = str(Fraction(target[path[-1]]) + Fraction(7, 3))
    return path


@pytest.mark.parametrize("type_name", ["sgd_chain", "mlp_matrix", "chain_rule"])
def test_every_family_oracle_rejects_a_changed_value(type_name):
    try:
        exercise = get_exercise(type_name)
    except ModuleNotFoundError:
        pytest.skip(f"{type_name} is not written yet")
    rng = random.Random(type_name)
    params = exercise.sample(rng, {})
    answers = key_answers(exercise, params)
    assert exercise.check_independently(params, answers) == []
    _mutate_one_number(answers, rng)
    assert exercise.check_independently(params, answers) != []


# ------------------------------------------------------------ variant search versions


def test_a_build_records_the_newest_variant_search(pristine) -> None:
    from grader.course.variants import VARIANT_SEARCH_VERSION

    manifest = json.loads((pristine / "manifest.json").read_text("utf-8"))
    assert manifest["variant_search_version"] == VARIANT_SEARCH_VERSION == 2


@pytest.fixture(scope="module")
def version_1_build(tmp_path_factory) -> Path:
    """A build made as the releases before version 2 made it: version 1's variants, and a
    manifest without ``variant_search_version``."""
    tmp = tmp_path_factory.mktemp("check-v1")
    roster = tmp / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{sid},Student {sid}\n" for sid in IDS), "utf-8")
    out = tmp / "build"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_SECRET", SECRET)
        mp.setattr("grader.course.variants.VARIANT_SEARCH_VERSION", 1)  # the old newest
        assert generate_command(str(COURSE), str(roster), str(out), pdf=False, jobs=1) == 0
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest.pop("variant_search_version") == 1
    (out / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return out


def test_a_version_1_build_checks_once_its_assignment_pins_the_search(
    version_1_build, pristine, tmp_path
) -> None:
    differ = [
        sid
        for sid in IDS
        if json.loads((version_1_build / f"keys/{sid}.json").read_text("utf-8"))
        != json.loads((pristine / f"keys/{sid}.json").read_text("utf-8"))
    ]
    assert differ  # version 2 draws other graphs for some of these students
    # Unpinned, the assignment draws by the newest search: grading would use other variants
    # than these students' sheets, and check says how to fix it.
    result = check(version_1_build)
    assert result.exit_code == 1
    assert "add 'variant_search: 1' to the assignment file" in result.output, result.output
    # Pinned: every key agrees, and the pin is no change to what the build was made from.
    pinned = tmp_path / "course.yaml"
    pinned.write_text(
        COURSE.read_text("utf-8") + "variant_search: 1  # the search this course was made with\n",
        "utf-8",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_SECRET", SECRET)
        result = CliRunner().invoke(main, ["check", str(pinned), str(version_1_build)])
    assert result.exit_code == 0, result.output
    assert f"all {len(IDS)} keys agree" in result.output


def test_a_pinned_search_is_what_every_command_draws_by() -> None:
    from grader.course.assignment import Assignment
    from grader.course.variants import make_variants

    data = yaml.safe_load(COURSE.read_text("utf-8"))
    old = Assignment.model_validate({**data, "variant_search": 1})
    new = Assignment.model_validate(data)
    secret = SECRET.encode()
    assert [v.params for v in make_variants(old, "s001", secret)] == [
        v.params for v in make_variants(new, "s001", secret, version=1)
    ]
    with pytest.raises(ValidationError):
        Assignment.model_validate({**data, "variant_search": 3})


def test_check_uses_the_recorded_version_not_the_newest(pristine, tmp_path) -> None:
    copy = tmp_path / "build"
    shutil.copytree(pristine, copy)
    manifest = json.loads((copy / "manifest.json").read_text("utf-8"))
    manifest["variant_search_version"] = 1  # a v2 build claiming v1: its graphs are not v1's
    (copy / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    result = check(copy)
    assert result.exit_code == 1
    assert any(
        line.startswith("student s0") and "keys/" in line for line in result.output.splitlines()
    ), result.output


@pytest.mark.parametrize("bad", [99, "2", 0, None])
def test_an_unknown_variant_search_version_is_refused_by_name(pristine, tmp_path, bad) -> None:
    copy = tmp_path / "build"
    shutil.copytree(pristine, copy)
    manifest = json.loads((copy / "manifest.json").read_text("utf-8"))
    manifest["variant_search_version"] = bad
    (copy / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    result = check(copy)
    assert result.exit_code == 2, result.output
    assert "variant search version" in result.output
    assert "/variant_search_version" in result.output
    assert "Traceback" not in result.output
