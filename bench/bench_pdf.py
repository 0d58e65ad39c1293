"""PDF production: one batched TeX run per document kind, against one latexmk per file.

Builds the sample course (grader/samples/course.yaml, three exercises) for ``--students``
students with a fixed secret, then typesets it twice in the same run:

* batched, our real path (``grader.make.pdf.typeset``, what ``grader generate`` runs): the
  class's sheets in one document and its keys in another, each cut into parts of
  consecutive students so that both cores get the same TeX work (the sheets' drawings
  make them three times as slow as the keys), every part typeset in two runs (the first
  in draft mode), then each part's PDF split per student with pypdf and the parts
  joined into the class PDF;
* one by one: every per-student ``sheets/<id>.tex`` and ``keys/<id>.tex`` the build
  wrote, compiled in turn with ``latexmk -pdf`` (how one would do it by hand).

It prints both wall times, the ratio, and the CPU time TeX used (wall time credits the
batched path with its two cores; CPU time does not).

    python bench/bench_pdf.py [--students 100] [--one-by-one N] [--scratch DIR]

``--one-by-one N`` compiles only the first N students' files one by one and scales the
time up (the output says so).  Target: batched at least 10x faster.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_generate import COURSE, SECRET, quiet, write_roster  # noqa: E402
from bench.machine import add_scratch_option, describe, parallel_capacity, scratch_dir  # noqa: E402

TARGET_RATIO = 10.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def batched(root: Path, students: int) -> tuple[float, float, dict[str, float]]:
    """(wall seconds, TeX CPU seconds, stage times) of our real typesetting path."""
    from grader.course.assignment import load_assignment, load_roster
    from grader.make import pdf
    from grader.make.build import KINDS, class_head, student_output

    assignment = load_assignment(COURSE)
    roster = load_roster(root / "roster.csv")
    secret = SECRET.encode()
    bodies: dict[str, list[str]] = {kind: [] for kind, _ in KINDS}
    for index, student in enumerate(roster, start=1):
        for kind, body in student_output(assignment, student, index, secret).bodies.items():
            bodies[kind].append(body)
    ids = [s.id for s in roster]
    documents = [
        pdf.ClassDocument(folder, class_head(assignment, kind), bodies[kind], ids)
        for kind, folder in KINDS
    ]
    engine = pdf.find_engine()
    assert engine is not None

    stages: dict[str, float] = {}
    compile_one, split_pdf = pdf.compile_one, pdf.split_pdf

    parts: dict[str, int] = {}  # TeX jobs per document kind
    tex_seconds: dict[str, float] = {}

    def timed_compile(job: pdf.TexJob, workdir: Path, engine: str) -> bytes:
        start = time.perf_counter()
        try:
            return compile_one(job, workdir, engine)
        finally:
            parts[job.name] = parts.get(job.name, 0) + 1
            tex_seconds[job.name] = tex_seconds.get(job.name, 0.0) + time.perf_counter() - start

    def timed_split(data: bytes, count: int, first: int = 1) -> list[bytes]:
        start = time.perf_counter()
        try:
            return split_pdf(data, count, first)
        finally:
            stages["split per student (pypdf, total)"] = (
                stages.get("split per student (pypdf, total)", 0.0) + time.perf_counter() - start
            )

    pdf.compile_one, pdf.split_pdf = timed_compile, timed_split  # type: ignore[assignment]
    cpu = children_cpu()
    start = time.perf_counter()
    try:
        results = pdf.typeset(documents, root / "batched", engine)
    finally:
        pdf.compile_one, pdf.split_pdf = compile_one, split_pdf  # type: ignore[assignment]
    wall = time.perf_counter() - start
    assert all(len(r.per_student) == students for r in results.values())
    for name, seconds in tex_seconds.items():
        stages[f"TeX: {name}, {parts[name]} part(s) x {pdf.RUNS} runs"] = seconds
    return wall, children_cpu() - cpu, stages


def one_by_one(build: Path, ids: list[str], root: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``latexmk -pdf`` on each student's .tex in turn."""
    from grader.make.pdf import tex_environment

    env = tex_environment()
    cpu = children_cpu()
    start = time.perf_counter()
    for folder in ("sheets", "keys"):
        for sid in ids:
            work = root / "single" / folder / sid
            work.mkdir(parents=True)
            shutil.copy(build / folder / f"{sid}.tex", work / "doc.tex")
            subprocess.run(
                [
                    "latexmk",
                    "-pdf",
                    "-interaction=nonstopmode",
                    "-halt-on-error",
                    "-quiet",
                    "doc.tex",
                ],
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=True,
            )
            assert (work / "doc.pdf").is_file()
    return time.perf_counter() - start, children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument(
        "--one-by-one",
        type=int,
        default=None,
        metavar="N",
        help="compile only N students' files one by one and scale up (default: all)",
    )
    add_scratch_option(parser)
    args = parser.parse_args()
    n = args.students
    print(describe())
    print(f"PDFs for {n} students x 3 exercises (sample course): a sheet and a key each")
    if shutil.which("pdflatex") is None or shutil.which("latexmk") is None:
        print("  skipped: pdflatex and latexmk are needed (see the README for TeX)")
        return
    os.environ["GRADER_SECRET"] = SECRET
    with scratch_dir("bench-pdf-", args) as root:
        write_roster(root / "roster.csv", n)
        from grader.make.build import generate_command

        with quiet():  # the per-student .tex files that latexmk gets
            generate_command(
                str(COURSE), str(root / "roster.csv"), str(root / "build"), pdf=False, jobs=1
            )

        print(f"  free cores now: {parallel_capacity()} (a busy loop)")
        wall_b, cpu_b, stages = batched(root, n)
        print(
            f"  batched (class documents in parts shared by the cores): {wall_b:7.1f} s wall, "
            f"{cpu_b:7.1f} s CPU  ({wall_b / n * 1000:.0f} ms/student)"
        )
        for name, seconds in stages.items():
            print(f"      {name:32s} {seconds:7.1f} s")

        ids = [f"s{i:05d}" for i in range(1, n + 1)]
        count = min(args.one_by_one or n, n)
        wall_s, cpu_s = one_by_one(root / "build", ids[:count], root)
        scale = n / count
        note = f" (measured on {count} students, scaled x{scale:.1f})" if count < n else ""
        print(
            f"  one by one (latexmk -pdf per file, {2 * count} files):       "
            f"{wall_s * scale:7.1f} s wall, {cpu_s * scale:7.1f} s CPU{note}"
        )
        ratio = wall_s * scale / wall_b
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(
            f"  batched is {ratio:.1f}x faster (wall), {cpu_s * scale / cpu_b:.1f}x less CPU; "
            f"target >= {TARGET_RATIO:.0f}x: {verdict}"
        )


if __name__ == "__main__":
    main()
