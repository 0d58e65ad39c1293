"""Run every benchmark in turn and print everything (``make bench``).

    python bench/run_all.py [--quick]

Each benchmark runs as its own process (a fresh interpreter: no benchmark warms another's
caches), with its default figures; ``--quick`` passes smaller sizes for a fast look (the
figures are then not the ones bench/README.md reports).  Long: the PDF comparison alone
compiles 200 files one by one (about five minutes); the whole run takes ten to fifteen.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.machine import DEFAULT_SCRATCH  # noqa: E402

# the scripts that write files (see machine.scratch_dir): they keep them until the end
WRITERS = {"bench_generate.py", "bench_pdf.py", "bench_grade.py"}

BENCHMARKS: tuple[tuple[str, list[str], list[str]], ...] = (
    # (script, default arguments, --quick arguments)
    ("bench_startup.py", [], ["--runs", "5"]),
    ("bench_generate.py", [], ["--students", "200"]),
    ("bench_generate_memory.py", [], ["--students", "200,1000"]),
    ("bench_pdf.py", [], ["--students", "20", "--one-by-one", "5"]),
    ("bench_grade.py", [], ["--submissions", "300", "--course-submissions", "100", "--top", "0"]),
    ("bench_engine.py", [], ["--steps", "20"]),
    ("bench_autograde.py", [], ["--runs", "3"]),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a fast look")
    args = parser.parse_args()
    failed = []
    started = time.monotonic()
    DEFAULT_SCRATCH.mkdir(parents=True, exist_ok=True)
    # One directory for every benchmark's files, removed only after the last one: a
    # benchmark deleting its files would slow the next one's file creation (machine.py).
    scratch = Path(tempfile.mkdtemp(prefix="run-all-", dir=DEFAULT_SCRATCH))
    try:
        for script, default, quick in BENCHMARKS:
            command = [sys.executable, str(HERE / script), *(quick if args.quick else default)]
            if script in WRITERS:
                command += ["--scratch", str(scratch), "--keep-scratch"]
            print(f"\n=== {script} {' '.join(command[2:])}".rstrip(), flush=True)
            start = time.monotonic()
            code = subprocess.run(command, check=False).returncode
            print(
                f"=== {script}: {time.monotonic() - start:.0f} s"
                + (f", exit {code}" if code else "")
            )
            if code:
                failed.append(script)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(
        f"\nall benchmarks: {time.monotonic() - started:.0f} s"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
