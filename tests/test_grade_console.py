"""What ``grade`` and ``solve`` say on the console and how their files are made: a
mistyped path is bad usage, every invalid or unmatched file is named with why, output
files follow the umask, and ``solve … | head`` ends quietly."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "grader" / "samples"
CANONICAL = SAMPLES / "canonical.yaml"
SECRET = "console-test-secret-5kZq"  # >= 16 bytes, >= 8 distinct characters


def grader(*args: str, cwd: Path, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GRADER_SECRET": SECRET}

    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=set_umask,
    )


@pytest.fixture
def course(tmp_path: Path) -> Path:
    subs = tmp_path / "subs"
    subs.mkdir()
    perfect = json.loads((SAMPLES / "submissions" / "perfect.json").read_text(encoding="utf-8"))
    (subs / "s001.json").write_text(json.dumps(perfect), encoding="utf-8")
    (subs / "s002.json").write_text('{"student": "s002", "answers": {},}', encoding="utf-8")
    (subs / "x.json").write_text(json.dumps(dict(perfect, student="zz9")), encoding="utf-8")
    (tmp_path / "roster.csv").write_text("id,name\ns001,Ada\ns002,Ben\n", encoding="utf-8")
    return tmp_path


def test_a_path_that_does_not_exist_is_bad_usage(course: Path) -> None:
    result = grader(
        "grade",
        str(CANONICAL),
        "subs",
        "nope",
        "--roster",
        "roster.csv",
        "--out",
        "out",
        cwd=course,
    )
    assert result.returncode == 2
    assert result.stderr == "error: nope: no such file or directory\n"
    assert not (course / "out").exists()


def test_the_console_names_each_invalid_and_unmatched_file(course: Path) -> None:
    result = grader(
        "grade", str(CANONICAL), "subs", "--roster", "roster.csv", "--out", "out", cwd=course
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert (
        "  invalid: s002: subs/s002.json: not valid JSON: a comma before '}': delete this comma "
        "(JSON allows no comma after the last item) (line 1, column 34)"
    ) in lines
    assert "  unmatched: zz9: subs/x.json: student id 'zz9' is not on the roster" in lines


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(course: Path, umask: int, mode: int) -> None:
    grader(
        "grade", str(CANONICAL), "subs", "--roster", "roster.csv", "--out", "out",
        cwd=course, umask=umask,
    )  # fmt: skip
    written = [p for p in (course / "out").rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"gradebook.csv", "summary.html", "s001.json", "s001.md"}
    for p in written:
        assert stat.S_IMODE(p.stat().st_mode) == mode, p


def test_solve_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # `grader solve … | head`: the reader is gone before solve writes (closed at once,
    # while Python is still starting), so every write meets a closed pipe
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader", "solve", str(CANONICAL)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "GRADER_SECRET": SECRET},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert err == b"", err.decode(errors="replace")
    assert proc.returncode == 1
