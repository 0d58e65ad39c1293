"""Peak memory of ``grader generate --no-pdf`` as the class grows (issue 15, item 8).

Runs the real command in a child process per class size, on the sample course with a
generated roster, and reads the child's peak resident set size from ``wait4`` (the
kernel's own figure, nothing sampled).  Files go to disk as they are made, so the peak
should not grow with the class: the target is a peak at the largest size within 1.3x of
the one at the smallest.

    python bench/bench_generate_memory.py [--students 1000,5000] [--jobs 1] [--scratch DIR]
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
COURSE = ROOT / "grader" / "samples" / "course.yaml"
SECRET = "bench-secret-not-for-courses"
TARGET_RATIO = 1.3


def write_roster(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name"])
        for i in range(1, count + 1):
            writer.writerow([f"s{i:05d}", f"Student {i}"])


def peak_rss(students: int, jobs: int, scratch: Path) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one ``generate --no-pdf`` of ``students``."""
    roster = scratch / f"roster-{students}.csv"
    write_roster(roster, students)
    out = scratch / f"build-{students}"
    command = [sys.executable, "-m", "grader", "generate", str(COURSE), "--roster", str(roster),
               "--out", str(out), "--no-pdf", "--jobs", str(jobs)]  # fmt: skip
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
    parser.add_argument("--students", default="1000,5000")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--scratch", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(x) for x in args.students.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="bench-memory-", dir=args.scratch))
    try:
        figures = {n: peak_rss(n, args.jobs, scratch) for n in sizes}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for n, (mb, seconds) in figures.items():
        print(f"{n:>6} students: peak RSS {mb:7.1f} MB  ({seconds:.1f} s, --jobs {args.jobs})")
    smallest, largest = figures[min(sizes)][0], figures[max(sizes)][0]
    ratio = largest / smallest
    verdict = "ok" if ratio <= TARGET_RATIO else "FAILS"
    print(f"ratio {max(sizes)}/{min(sizes)}: {ratio:.2f} (target <= {TARGET_RATIO}): {verdict}")


if __name__ == "__main__":
    main()
