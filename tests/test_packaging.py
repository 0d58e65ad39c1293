"""A plain (non-editable) install: ``exercises/`` and ``templates/`` ship as
``grader.exercises`` and ``grader.templates``, nothing under a generic top-level name, and
the installed package generates a course from its own templates."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{built.stderr[-3000:]}")
    (found,) = out.glob("backprop_grader-*.whl")
    return found


def test_the_wheel_holds_the_package_under_its_own_name(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if "/" in n}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"grader"}
    for must in (
        "grader/exercises/base.py",
        "grader/exercises/sgd_chain/exercise.py",
        "grader/templates/sheet.tex.j2",
        "grader/templates/words.yaml",
        "grader/templates/sgd_chain/sheet.tex.j2",
        "grader/templates/chain_rule/key.tex.j2",
        "grader/templates/mlp_matrix/words.yaml",
        "grader/samples/course.yaml",
        "grader/templates/answer_page.html.j2",  # the answer page and its assets
        "grader/templates/answer_page.js",
        "grader/templates/answer_page.css",
        "grader/templates/answer_page.words.yaml",
    ):
        assert must in names, must


def test_an_installed_copy_generates_from_its_own_templates(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(target), "GRADER_SECRET": "packaging-test-secret-5e1b"}
    probe = subprocess.run(
        [sys.executable, "-c", "import grader.exercises, grader.templates; "
         "print(grader.exercises.__file__); print(grader.templates.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert all(line.startswith(str(target)) for line in probe.stdout.split()), probe.stdout
    made = subprocess.run(
        [sys.executable, "-m", "grader", "generate", str(SAMPLES / "course.yaml"),
         "--roster", str(SAMPLES / "roster.csv"), "--out", str(tmp_path / "build"), "--no-pdf"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    sheet = (tmp_path / "build" / "sheets" / "s001.tex").read_text("utf-8")
    assert "is trained by stochastic gradient descent" in sheet  # templates/sgd_chain/words.yaml
    page = (tmp_path / "build" / "forms" / "s001.html").read_text("utf-8")
    assert "answerPageGrammar" in page and "How to write your answers" in page
