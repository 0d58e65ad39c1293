"""The benchmarks still run (they are no tests of speed: only that each script starts, and
that the grading benchmark's own replay of the course works on a tiny class), so a change of
the library cannot leave ``make bench`` broken unnoticed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPTS = sorted(p.name for p in (ROOT / "bench").glob("bench_*.py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_starts(script: str) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0 and "usage:" in run.stdout, run.stderr[-2000:]


def test_the_grading_benchmark_runs_on_a_tiny_class(tmp_path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_grade.py"), "--assignment", "canonical",
         "--submissions", "30", "--no-memory", "--top", "0", "--scratch", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "submissions/s" in run.stdout
