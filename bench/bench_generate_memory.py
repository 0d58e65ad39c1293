"""Peak memory of ``grader generate`` as the class grows (issue 15, item 8; with
``--pdf``, issue 19).

Runs the real command in a child process per class size, on the sample course with a
generated roster, and reads the peak resident set size from ``wait4`` (the kernel's own
figure, nothing sampled: the largest of the command and the TeX runs it waited for).
Files go to disk as they are made, so the peak should not grow with the class: the
target is a peak at the largest size within 1.3x of the one at the smallest.  The growth
per student is printed too (what the largest class adds over the smallest, per student).

    python bench/bench_generate_memory.py [--students 1000,5000] [--jobs 1] [--scratch DIR]
    python bench/bench_generate_memory.py --pdf [--students 250,1000,2000] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

COURSE = ROOT / "grader" / "samples" / "course.yaml"
SECRET = "bench-secret-not-for-courses"
TARGET_RATIO = 1.3


def write_roster(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name"])
        for i in range(1, count + 1):
            writer.writerow([f"s{i:05d}", f"Student {i}"])


def peak_rss(students: int, jobs: int, scratch: Path, pdf: bool) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one ``generate`` of ``students`` (``--no-pdf`` unless
    ``pdf``)."""
    roster = scratch / f"roster-{students}.csv"
    write_roster(roster, students)
    out = scratch / f"build-{students}"
    command = [sys.executable, "-m", "grader", "generate", str(COURSE), "--roster", str(roster),
               "--out", str(out), "--jobs", str(jobs)]  # fmt: skip
    if not pdf:
        command.append("--no-pdf")
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        env=dict(os.environ, GRADER_SECRET=SECRET),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"generate failed for {students} students: {proc.stderr.read()!r}")  # type: ignore[union-attr]
    shutil.rmtree(out)
    return usage.ru_maxrss / 1024, seconds  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", default=None, help="default 1000,5000; --pdf: 250,1000,2000")
    parser.add_argument("--jobs", type=int, default=None, help="default 1; --pdf: 2")
    parser.add_argument("--pdf", action="store_true", help="with PDFs (TeX on PATH)")
    parser.add_argument("--scratch", type=Path, default=None)
    args = parser.parse_args()
    students = args.students or ("250,1000,2000" if args.pdf else "1000,5000")
    jobs = args.jobs or (2 if args.pdf else 1)
    sizes = [int(x) for x in students.split(",")]
    if args.pdf and shutil.which("pdflatex") is None:
        raise SystemExit("--pdf needs pdflatex on PATH")
    print(describe())
    kind = "with PDFs" if args.pdf else "--no-pdf"
    scratch = Path(tempfile.mkdtemp(prefix="bench-memory-", dir=args.scratch))
    try:
        figures = {n: peak_rss(n, jobs, scratch, args.pdf) for n in sizes}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for n, (mb, seconds) in figures.items():
        print(f"{n:>6} students {kind}: peak RSS {mb:7.1f} MB  ({seconds:.1f} s, --jobs {jobs})")
    smallest, largest = figures[min(sizes)][0], figures[max(sizes)][0]
    ratio = largest / smallest
    verdict = "ok" if ratio <= TARGET_RATIO else "FAILS"
    growth = (largest - smallest) / (max(sizes) - min(sizes)) * 1024
    print(
        f"ratio {max(sizes)}/{min(sizes)}: {ratio:.2f} (target <= {TARGET_RATIO}): {verdict}; "
        f"{growth:.0f} KB more a student"
    )


if __name__ == "__main__":
    main()
