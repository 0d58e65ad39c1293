"""The Gradescope autograder (issue 14, item 3), against a fake ``/autograder`` root.

Gradescope's autograder specification (gradescope-autograders.readthedocs.io, "Autograder
Specifications"): the submission in ``<root>/submission/``, ``submission_metadata.json``
with ``users[]`` (``email``, ``sid``), the result in ``<root>/results/results.json`` with
``score``, ``output``, ``output_format``, ``tests[]`` (``name``, ``score``, ``max_score``,
``status`` "passed"/"failed", ``output``, ``visibility``); ``setup.sh`` and
``run_autograder`` at the top of the bundle.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.grade.autograde import autograde_command
from grader.grade.lms_words import words

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "grader" / "samples"
CANONICAL = SAMPLES / "canonical.yaml"
PERFECT = json.loads((SAMPLES / "submissions" / "perfect.json").read_text(encoding="utf-8"))
SIGN_FLIP = json.loads((SAMPLES / "submissions" / "sign_flip.json").read_text(encoding="utf-8"))
ROSTER = (
    "id,name,email,sid\ns001,Ada Lovelace,ada@example.org,1001\ns002,Blaise Pascal,b@example.org,\n"
)


def fake_root(tmp_path: Path, users: list[dict], files: dict[str, bytes]) -> Path:
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    for name, data in files.items():
        (root / "submission" / name).write_bytes(data)
    meta = {"users": users, "created_at": "2026-12-01T10:00:00Z", "assignment": {}}
    (root / "submission_metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    return root


def run(tmp_path: Path, users: list[dict], files: dict[str, bytes], **kw: object) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    root = fake_root(tmp_path, users, files)
    assignment = kw.pop("assignment", CANONICAL)
    assert autograde_command(str(assignment), str(roster), str(root), **kw) == 0  # type: ignore[arg-type]
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


ADA = {"email": "ada@example.org", "name": "Ada", "id": 1}
BLAISE = {"email": "B@Example.org", "name": "Blaise", "id": 2}


def test_perfect_and_wrong_submissions(tmp_path: Path) -> None:
    result = run(tmp_path / "a", [ADA], {"answers.json": json.dumps(PERFECT).encode()})
    assert result["score"] == 10 and result["output_format"] == "md"
    assert len(result["tests"]) == 38
    assert all(t["status"] == "passed" and t["visibility"] == "visible" for t in result["tests"])
    assert {"name", "score", "max_score", "status", "output"} <= set(result["tests"][0])
    assert result["tests"][0]["name"] == "sgd: x of step 1"
    wrong = run(tmp_path / "b", [BLAISE], {"a.json": json.dumps(SIGN_FLIP).encode()})
    assert 0 < wrong["score"] < 10
    failed = [t for t in wrong["tests"] if t["status"] == "failed"]
    assert failed and all(t["score"] < t["max_score"] for t in failed)
    assert "sign of δ flipped" in wrong["output"]


@pytest.mark.parametrize(
    ("users", "files", "expected"),
    [
        ([ADA], {"a.json": b'{"student": "s001", "answers": {'}, "could not be read"),
        ([ADA], {"notes.txt": b"hello"}, "No .json answer file"),
        ([{"email": "nobody@example.org"}], {"a.json": b"{}"}, "not on this course's roster"),
        (
            [ADA],
            {"a.json": json.dumps(dict(PERFECT, assignment="other-hw")).encode()},
            "other-hw",
        ),
    ],
)
def test_never_a_crash_always_a_result(
    tmp_path: Path, users: list[dict], files: dict[str, bytes], expected: str
) -> None:
    result = run(tmp_path, users, files)
    assert result["score"] == 0 and result["tests"] == []
    assert expected in result["output"]


def test_groups_graded_for_the_named_member(tmp_path: Path) -> None:
    two = [ADA, {"sid": "1001x", "email": "b@example.org"}]
    named = run(tmp_path / "a", two, {"a.json": json.dumps(dict(PERFECT, student="s002")).encode()})
    assert named["score"] == 10  # the canonical assignment: the same key for every member
    stranger = run(
        tmp_path / "b", two, {"a.json": json.dumps(dict(PERFECT, student="s777")).encode()}
    )
    assert stranger["score"] == 0 and "s777" in stranger["output"]
    assert "not a member" in stranger["output"]


def test_russian_output_visibility_and_steps(tmp_path: Path) -> None:
    ru = tmp_path / "ru.yaml"
    ru.write_text(
        CANONICAL.read_text(encoding="utf-8").replace(
            "language: en", "language: ru\nfeedback: after_due_date"
        ),
        encoding="utf-8",
    )
    result = run(
        tmp_path,
        [ADA],
        {"a.json": json.dumps(dict(SIGN_FLIP, student="s001")).encode()},
        assignment=ru,
        tests_per="step",
    )
    assert result["output"].startswith("**Баллы:**")
    assert words("ru")["gs_hidden_until_due"] in result["output"]
    assert "перепутан знак δ" in result["output"]
    assert {t["visibility"] for t in result["tests"]} == {"after_due_date"}
    assert result["visibility"] == "after_due_date"
    assert [t["name"] for t in result["tests"]] == ["sgd: шаг 1", "sgd: шаг 2"]
    broken = run(tmp_path / "b", [ADA], {"a.json": b"[1,"}, assignment=ru)
    assert broken["output"].startswith("**" + words("ru")["gs_problem_title"])


def test_bundle_setup_and_run_autograder_in_a_fresh_venv(tmp_path: Path) -> None:
    """The bundle end to end: a wheel built from this checkout, ``setup.sh`` in a fresh
    venv (pip only), then ``run_autograder`` on a fake root."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        timeout=600,
    )
    (wheel,) = wheels.glob("backprop_grader-*.whl")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    bundle = tmp_path / "autograder.zip"
    env = dict(os.environ, GRADER_SECRET="Bundle-Secret-0123456789abcdef")
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "export", "gradescope", str(CANONICAL),
         "--roster", str(roster), "--out", str(bundle), "--wheel", str(wheel)],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert "secret" in done.stdout
    assert oct(bundle.stat().st_mode & 0o777) == "0o600"
    root = fake_root(tmp_path, [ADA], {"answers.json": json.dumps(PERFECT).encode()})
    with zipfile.ZipFile(bundle) as zf:
        assert {"setup.sh", "run_autograder", "secret.txt", "assignment.yaml", "roster.csv"} <= set(
            zf.namelist()
        )
        assert zf.read("secret.txt") == b"Bundle-Secret-0123456789abcdef"
        zf.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    clean = {k: v for k, v in os.environ.items() if k not in ("GRADER_SECRET", "PYTHONPATH")}
    clean["PYTHON"] = str(venv / "bin" / "python")
    subprocess.run(["bash", str(root / "source" / "setup.sh")], env=clean, check=True, timeout=900)
    clean["AUTOGRADER_ROOT"] = str(root)
    subprocess.run(
        ["bash", str(root / "source" / "run_autograder")], env=clean, check=True, timeout=120
    )
    result = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert result["score"] == 10 and len(result["tests"]) == 38


def test_score_only_hides_the_tests_and_the_mistakes(tmp_path: Path) -> None:
    only = tmp_path / "only.yaml"
    only.write_text(
        CANONICAL.read_text(encoding="utf-8").replace(
            "language: en", "language: en\nfeedback: score_only"
        ),
        encoding="utf-8",
    )
    result = run(
        tmp_path / "r", [ADA], {"a.json": json.dumps(dict(SIGN_FLIP, student="s001")).encode()},
        assignment=only,
    )  # fmt: skip
    assert result["visibility"] == "visible" and 0 < result["score"] < 10
    assert {t["visibility"] for t in result["tests"]} == {"hidden"}
    assert "sign of" not in result["output"] and words("en")["gs_score_only"] in result["output"]


def test_the_newest_file_is_graded_and_the_others_named(tmp_path: Path) -> None:
    root_files = {
        "old.json": json.dumps(SIGN_FLIP).encode(),
        "new.json": json.dumps(PERFECT).encode(),
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    root = fake_root(tmp_path, [ADA], root_files)
    os.utime(root / "submission" / "old.json", (1_000_000, 1_000_000))
    autograde_command(str(CANONICAL), str(roster), str(root))
    result = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert result["score"] == 10 and "`old.json`" in result["output"]


def test_a_group_is_graded_against_the_named_members_own_variant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With randomized parameters (the sample course) each member has a variant of their own:
    the key of s002 scores full marks only when the file names s002."""
    from grader.course.assignment import load_assignment
    from grader.course.keys import key_json
    from grader.course.variants import make_variants

    secret = "Group-Test-Secret-42xyzQ"
    monkeypatch.setenv("GRADER_SECRET", secret)
    course = SAMPLES / "course.yaml"
    spec = load_assignment(course)
    key = key_json(spec, "s002", make_variants(spec, "s002", secret.encode()))
    answers = {"assignment": spec.id, "answers": key["answers"]}
    two = [ADA, BLAISE]
    own = run(
        tmp_path / "a", two, {"a.json": json.dumps(dict(answers, student="s002")).encode()},
        assignment=course,
    )  # fmt: skip
    assert own["score"] == sum(e.points for e in spec.exercises) == 24
    other = run(
        tmp_path / "b", two, {"a.json": json.dumps(dict(answers, student="s001")).encode()},
        assignment=course,
    )  # fmt: skip
    assert other["score"] < own["score"]


def test_copied_work_is_a_hidden_test_for_the_instructor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the bundle's copy-detection index (grader.grade.peers), work on a classmate's
    data is flagged in a test Gradescope shows to instructors only (visibility hidden)."""
    from grader.course.assignment import load_assignment, load_roster
    from grader.course.keys import key_json
    from grader.course.variants import make_variants
    from grader.grade.peers import build_index

    secret = "Peers-Test-Secret-9kLmN"
    monkeypatch.setenv("GRADER_SECRET", secret)
    course = SAMPLES / "course.yaml"
    spec = load_assignment(course)
    roster = tmp_path / "r.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    index = build_index(load_roster(roster), lambda s: make_variants(spec, s, secret.encode()))
    peers = tmp_path / "peers.json"
    index.save(peers)
    key = key_json(spec, "s001", make_variants(spec, "s001", secret.encode()))
    copied = {"assignment": spec.id, "student": "s002", "answers": key["answers"]}
    root = fake_root(tmp_path, [BLAISE], {"a.json": json.dumps(copied).encode()})
    autograde_command(str(course), str(roster), str(root), peers=str(peers))
    result = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    hidden = [t for t in result["tests"] if t["visibility"] == "hidden"]
    assert [t["name"] for t in hidden] == ["Instructor: flags"]
    assert "copied_from:s001" in hidden[0]["output"]
    visible = json.dumps([t for t in result["tests"] if t not in hidden]) + result["output"]
    assert "s001" not in visible  # the student is never told whose data it was
