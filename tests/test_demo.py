"""`grader demo` and `grader init`: what a new user runs first."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.demo import demo_command
from tests.conftest import under_ci
from tests.helpers import STRONG_SECRET


def test_demo_without_pdf_does_the_whole_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert demo_command(str(out), pdf=False) == 0
    printed = capsys.readouterr().out
    assert "DEMO secret" in printed and "all 10 keys agree" in printed
    assert len(list((out / "build" / "sheets").glob("s*.tex"))) == 10
    rows = list(csv.DictReader((out / "graded" / "gradebook.csv").open(encoding="utf-8")))
    by_id = {r["student"]: r for r in rows}
    assert by_id["s001"]["score"] == by_id["s001"]["max_score"] == "24"
    assert by_id["s002"]["score"] == "24"  # rounded decimals are accepted
    assert by_id["s009"]["status"] == "missing" and by_id["s010"]["status"] == "invalid"
    # each synthetic student's mistake is named in their report
    expected = {
        "s003": "sign_flip",
        "s004": "learning_rate",
        "s005": "missing_factor_2",
        "s006": "wrong_activation_derivative",
        "s007": "gradient_ascent",
        "s008": "missing_path",
    }
    for sid, mistake in expected.items():
        report = json.loads(
            (out / "graded" / "reports" / f"{sid}.json").read_text(encoding="utf-8")
        )
        ids = {d["id"] for f in report["fields"] for d in f["diagnosis"]}
        assert mistake in ids, (sid, ids)
        assert report["score"] < report["max_score"]
    s008 = json.loads((out / "graded" / "reports" / "s008.json").read_text(encoding="utf-8"))
    assert "transposed" in {d["id"] for f in s008["fields"] for d in f["diagnosis"]}
    assert (out / "graded" / "summary.html").exists() and (
        out / "graded" / "gradebook-moodle.csv"
    ).exists()
    # a second run replaces the first; a foreign directory is refused
    assert demo_command(str(out), pdf=False) == 0
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    from grader.core.errors import UserError

    with pytest.raises(UserError, match="not made by `grader demo`"):
        demo_command(str(foreign), pdf=False)
    assert (foreign / "thesis.tex").read_text() == "precious"


def test_demo_with_pdfs(tmp_path: Path, require_tex: None) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for sid in ("s001", "s010"):
        assert (out / "build" / "sheets" / f"{sid}.pdf").stat().st_size > 1000
        assert (out / "build" / "keys" / f"{sid}.pdf").stat().st_size > 1000
    assert (out / "build" / "sheets" / "all.pdf").exists()
    assert (out / "graded" / "reports" / "s003.md").exists()
    assert (out / "graded" / "gradebook.csv").exists() and (
        out / "graded" / "summary.html"
    ).exists()


def chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


def test_summary_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = chromium()
    if browser is None:
        if under_ci():
            pytest.fail("chromium is not installed, and under CI=true this test must run")
        pytest.skip("chromium is not installed")
    out = tmp_path / "demo"
    assert demo_command(str(out), pdf=False) == 0
    page = out / "graded" / "summary.html"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    assert "Score histogram" in text and "Item analysis" in text and "Most common mistakes" in text
    assert text.count("<rect") >= 10  # the histogram's bars were parsed as SVG
    assert "steps/0/deltas/2" in text  # an item-analysis row
    shot = tmp_path / "summary.png"
    subprocess.run(
        [browser, *flags, "--window-size=1000,1400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 10_000  # a real, non-blank rendering


def test_init_writes_a_starter_that_generates(tmp_path: Path) -> None:
    course = tmp_path / "course"
    proc = subprocess.run(
        [sys.executable, "-m", "grader", "init", str(course)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "grader generate" in proc.stdout
    text = (course / "assignment.yaml").read_text(encoding="utf-8")
    assert "fixed" in text and "randomized" in text
    env = {**os.environ, "GRADER_SECRET": STRONG_SECRET}
    gen = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "generate",
            str(course / "assignment.yaml"),
            "--roster",
            str(course / "roster.csv"),
            "--out",
            str(course / "build"),
            "--no-pdf",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert gen.returncode == 0, gen.stderr
    assert (course / "build" / "keys" / "s002.json").exists()
    again = subprocess.run(
        [sys.executable, "-m", "grader", "init", str(course)], capture_output=True, text=True
    )
    assert again.returncode == 2 and "will not overwrite" in again.stderr
