"""Generation throughput: variants, keys and LaTeX sources per student (no PDF).

Runs the real ``grader generate --no-pdf`` path in-process (``grader.make.build.generate_command``)
on the sample course (grader/samples/course.yaml: chain_rule, mlp_matrix and sgd_chain)
with a generated roster and a fixed secret, once per ``--jobs`` value, then once more with
every stage timed to show where a student's time goes: the variant search of each exercise,
the exercises' LaTeX views, the template rendering, the key and template JSON, and writing
the files.  Imports (sympy, jinja2, pydantic …) are paid by a small warm-up build first and
are not part of the per-student figures.

    python bench/bench_generate.py [--students 1000] [--jobs 1,2] [--breakdown 1000] [--scratch DIR]

Target: at most 5 ms per student for all three exercises.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import (  # noqa: E402
    add_scratch_option,
    describe,
    file_creation_note,
    parallel_capacity,
    scratch_dir,
)

COURSE = ROOT / "grader" / "samples" / "course.yaml"
SECRET = "bench-secret-not-for-courses"
TARGET_MS = 5.0
# Names as a real class has them: accents, Cyrillic, an apostrophe, a long one.
NAMES = (
    "Alice Martin",
    "Иванов Иван",
    "Zoë Dupont",
    "José Álvarez",
    "Małgorzata Nowak",
    "Siobhán O'Brien",
    "Ahmed Benali",
    "Petrova-Smirnova Maria Alexandrovna",
)


def write_roster(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "email"])
        for i in range(1, count + 1):
            writer.writerow([f"s{i:05d}", f"{NAMES[i % len(NAMES)]} {i}", f"s{i}@example.edu"])


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow the command's summary (and a progress bar, when stderr is a terminal)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the --jobs workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def generate(roster: Path, out: Path, jobs: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one ``generate --no-pdf``."""
    from grader.make.build import generate_command

    cpu = cpu_seconds()
    start = time.perf_counter()
    with quiet():
        code = generate_command(str(COURSE), str(roster), str(out), pdf=False, jobs=jobs)
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"generate failed with exit code {code}")
    return elapsed, cpu_seconds() - cpu


# ------------------------------------------------------------ the per-stage breakdown


class Stages:
    """Wraps module-level functions of the build so each call adds to a named total."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, module: Any, name: str, label: Callable[..., str] | str) -> None:
        original = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            key = label(*args, **kwargs) if callable(label) else label
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[key] += time.perf_counter() - start
                self.calls[key] += 1

        setattr(module, name, timed)
        self._undo.append((module, name, original))

    def restore(self) -> None:
        for module, name, original in reversed(self._undo):
            setattr(module, name, original)
        self._undo.clear()


def breakdown(roster: Path, out: Path, students: int) -> tuple[float, Stages]:
    from grader.course import variants
    from grader.make import build, documents

    stages = Stages()

    def variant_label(assignment: Any, index: int, *_: Any) -> str:
        spec = assignment.exercises[index]
        return f"variant search: {spec.id} ({spec.type})"

    stages.wrap(variants, "make_variant", variant_label)
    stages.wrap(documents, "exercise_doc", "LaTeX views (exercises' math)")
    for name in ("render_student", "render_document"):
        if hasattr(build, name):
            stages.wrap(build, name, "LaTeX rendering (templates)")
    for name in ("key_json", "template_json", "dump_json"):
        if hasattr(build, name):
            stages.wrap(build, name, "key and template JSON")
    stages.wrap(build, "_write", "file writing")
    stages.wrap(build, "make_manifest", "manifest (sha256 of every file)")
    # another secret: other variants, so nothing is reused from the builds timed before
    os.environ["GRADER_SECRET"] = SECRET + "-breakdown"
    try:
        total = generate(roster, out, jobs=1)[0]
    finally:
        stages.restore()
        os.environ["GRADER_SECRET"] = SECRET
    return total, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to time")
    parser.add_argument(
        "--breakdown", type=int, default=None, help="students in the timed-stage run (default: all)"
    )
    add_scratch_option(parser)
    args = parser.parse_args()
    jobs_list = [int(j) for j in args.jobs.split(",") if j.strip()]
    n = args.students
    print(describe())
    print(
        f"generate --no-pdf: {n} students x 3 exercises (chain_rule, mlp_matrix, sgd_chain), "
        f"grader/samples/course.yaml, fixed secret"
    )
    os.environ["GRADER_SECRET"] = SECRET
    with scratch_dir("bench-generate-", args) as root:
        print(f"  files: {file_creation_note(root)}")
        roster = root / "roster.csv"
        write_roster(roster, n)
        warm = root / "warm.csv"
        write_roster(warm, 3)
        start = time.perf_counter()
        generate(warm, root / "warm", jobs=1)  # imports sympy, jinja2, pydantic models …
        print(f"  warm-up (imports and a 3-student build): {time.perf_counter() - start:.2f} s")

        per_job: dict[int, float] = {}
        for jobs in jobs_list:
            elapsed, cpu = generate(roster, root / f"out-{jobs}", jobs)
            per_job[jobs] = elapsed
            speedup = (
                f"  ({per_job[jobs_list[0]] / elapsed:.2f}x jobs={jobs_list[0]})"
                if jobs != jobs_list[0]
                else ""
            )
            print(
                f"  --jobs {jobs}: {elapsed:7.2f} s  {elapsed / n * 1000:7.2f} ms/student"
                f"  {n / elapsed:7.0f} students/s  (CPU {cpu / n * 1000:.2f} ms/student){speedup}"
            )
        if max(jobs_list) > 1:
            print(f"  free cores now: {parallel_capacity(max(jobs_list))} (a busy loop)")
        outs = [root / f"out-{jobs}" for jobs in jobs_list]
        if len(outs) > 1 and not all(_same_tree(outs[0], o) for o in outs[1:]):
            print("  WARNING: the builds with different --jobs differ")
        best = min(per_job.values()) / n * 1000
        verdict = "met" if best <= TARGET_MS else "NOT met"
        print(f"  target <= {TARGET_MS:.0f} ms/student: {verdict} (best {best:.2f} ms/student)")

        count = args.breakdown or n
        b_roster = roster
        if count != n:
            b_roster = root / "breakdown.csv"
            write_roster(b_roster, count)
        total, stages = breakdown(b_roster, root / "out-breakdown", count)
        print(f"per-student breakdown (--jobs 1, {count} students, every stage timed):")
        accounted = 0.0
        for key, seconds in sorted(stages.seconds.items(), key=lambda kv: -kv[1]):
            accounted += seconds
            calls = stages.calls[key] / count
            note = f"{calls:.2f} calls/student" if calls >= 0.5 else "once per build"
            print(f"  {key:44s} {seconds / count * 1000:7.3f} ms  ({note})")
        rest = total - accounted
        print(f"  {'other (roster, schema, staging, swap)':44s} {rest / count * 1000:7.3f} ms")
        print(f"  {'total':44s} {total / count * 1000:7.3f} ms")


def _same_tree(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return files_a == files_b and all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)


if __name__ == "__main__":
    main()
