"""PDF production: one batched TeX run per document kind, against one latexmk per file.

Builds the sample course (grader/samples/course.yaml, three exercises) for ``--students``
students with a fixed secret, then typesets it twice in the same run:

* batched, our real path (``grader.make.pdf.typeset``, what ``grader generate`` runs): the
  class's sheets in one document and its keys in another, typeset whole, one per core
  (a document much costlier than the other, or of more than 250 students, is cut into
  parts of consecutive students), in one run each (a drawing several students share drawn once), then each PDF split
  per student with qpdf (pikepdf) and, when a document was cut into parts, the parts
  joined into the class PDF;
* one by one: every per-student ``sheets/<id>.tex`` and ``keys/<id>.tex`` the build
  wrote, compiled in turn with ``latexmk -pdf`` (how one would do it by hand).

It prints both wall times, the ratio, and the CPU time TeX used (wall time credits the
batched path with its two cores; CPU time does not); the PDFs' sizes; and where TeX's
time goes per student (``--breakdown N``, on the first N students, one core): each class
document typeset whole once as built, once without the drawings only one student has
(the chain-rule graphs), once without any drawing; the differences are the drawings'
cost, the rest the text's.

``--course N`` also times ``grader generate`` with PDFs for N students as a user runs it
(a fresh process, ``--jobs 2``), with its peak memory (``wait4``: the largest resident
set of the process and of the TeX runs it waited for).

    python bench/bench_pdf.py [--students 100] [--one-by-one N] [--breakdown N]
                              [--course N] [--scratch DIR]

``--one-by-one N`` compiles only the first N students' files one by one and scales the
time up (the output says so).  Target: batched at least 30x faster; a 1 000-student
course in at most 60 s.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_generate import COURSE, SECRET, quiet, write_roster  # noqa: E402
from bench.machine import add_scratch_option, describe, parallel_capacity, scratch_dir  # noqa: E402

TARGET_RATIO = 30.0
TARGET_COURSE_SECONDS = 60.0


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def class_documents(root: Path) -> list[Any]:
    """The sample course's class documents (sheets, keys) for the roster in ``root``."""
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
    return [
        pdf.ClassDocument(folder, class_head(assignment, kind), bodies[kind], ids)
        for kind, folder in KINDS
    ]


def batched(
    root: Path, documents: list[Any], students: int
) -> tuple[float, float, dict[str, float], dict[str, Any]]:
    """(wall seconds, TeX CPU seconds, stage times, results) of our real typesetting path."""
    from grader.make import pdf

    engine = pdf.find_engine()
    assert engine is not None

    stages: dict[str, float] = {}
    compile_one, split_pdf = pdf.compile_one, pdf.split_pdf

    parts: dict[str, int] = {}  # TeX jobs per document kind
    tex_seconds: dict[str, float] = {}

    def timed_compile(job: pdf.TexJob, workdir: Path, engine: str) -> Path:
        start = time.perf_counter()
        try:
            return compile_one(job, workdir, engine)
        finally:
            parts[job.name] = parts.get(job.name, 0) + 1
            tex_seconds[job.name] = tex_seconds.get(job.name, 0.0) + time.perf_counter() - start

    def timed_split(data: Path, count: int, first: int = 1) -> list[bytes]:
        start = time.perf_counter()
        try:
            return split_pdf(data, count, first)
        finally:
            stages["split per student (qpdf, total)"] = (
                stages.get("split per student (qpdf, total)", 0.0) + time.perf_counter() - start
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
        runs = "1 run" if pdf.RUNS == 1 else f"{pdf.RUNS} runs"
        stages[f"TeX: {name}, {parts[name]} part(s) x {runs}"] = seconds
    return wall, children_cpu() - cpu, stages, results


def sizes(results: dict[str, Any]) -> None:
    """The PDFs' sizes: per student (mean, largest) and the class PDF, per kind."""
    for name, result in results.items():
        each = [len(data) for data in result.per_student.values()]
        print(
            f"      {name}: per student {sum(each) / len(each) / 1024:7.1f} KiB mean, "
            f"{max(each) / 1024:7.1f} KiB largest; all.pdf {result.all_pdf.stat().st_size / 1024:8.1f} KiB"
        )


def breakdown(root: Path, documents: list[Any], count: int) -> None:
    """TeX's CPU time per student, split into drawings and text (see the module's doc)."""
    from collections import Counter

    from grader.make import pdf
    from grader.make.shared_pictures import distinct_pictures, pictures

    engine = pdf.find_engine()
    assert engine is not None
    print(f"  where TeX's time goes, per student (the first {count} students, one core):")
    totals: dict[str, float] = {}
    for document in documents:
        bodies = list(document.bodies[:count])
        counts = Counter(p for body in bodies for p in pictures(body))
        alone = {p for p, n in counts.items() if n == 1}

        cpu: dict[str, float] = {}
        for label, texts in (
            ("as built", bodies),
            ("without own", without_pictures(bodies, alone)),
            ("without any", without_pictures(bodies, set(counts))),
        ):
            part = pdf.ClassDocument(
                document.name, document.head, texts, document.student_ids[:count]
            )
            before = children_cpu()
            pdf.compile_one(
                part.parts(1)[0], root / "breakdown" / f"{document.name}-{len(cpu)}", engine
            )
            cpu[label] = (children_cpu() - before) / count * 1000
        # a document without drawings was typeset three times alike: the differences
        # would be the machine's noise, not a drawing's cost
        own = cpu["as built"] - cpu["without own"] if alone else 0.0
        shared = cpu["without own"] - cpu["without any"] if len(counts) > len(alone) else 0.0
        text = cpu["as built"] - own - shared
        for key, value in (("own", own), ("shared", shared), ("text", text)):
            totals[key] = totals.get(key, 0.0) + value
        print(
            f"      {document.name}: {cpu['as built']:6.1f} ms = drawings each student has alone "
            f"{own:5.1f} ms ({len(alone)} drawings) + drawings students share {shared:5.1f} ms "
            f"({distinct_pictures(bodies) - len(alone)} distinct of "
            f"{sum(counts.values()) - len(alone)} drawn) + text {text:5.1f} ms"
        )
    drawings = totals["own"] + totals["shared"]
    print(
        f"      both: drawings {drawings:5.1f} ms/student, text {totals['text']:5.1f} ms/student "
        "(the text includes each TeX job's start-up, shared by its students)"
    )


def without_pictures(bodies: list[str], drop: set[str]) -> list[str]:
    """``bodies`` with the pictures in ``drop`` left out."""
    from grader.make.shared_pictures import PICTURE_RE

    return [PICTURE_RE.sub(lambda m: "" if m.group(0) in drop else m.group(0), b) for b in bodies]


def course_build(root: Path, students: int) -> None:
    """``grader generate`` with PDFs for ``students``, as a user runs it: wall time and
    peak memory (``wait4``)."""
    write_roster(root / f"roster-{students}.csv", students)
    command = [sys.executable, "-m", "grader", "generate", str(COURSE), "--roster",
               str(root / f"roster-{students}.csv"), "--out", str(root / f"course-{students}"),
               "--jobs", "2"]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        env=dict(os.environ, GRADER_SECRET=SECRET),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"generate failed: {proc.stderr.read()!r}")  # type: ignore[union-attr]
    pdfs = list((root / f"course-{students}").rglob("*.pdf"))
    verdict = "met" if wall <= TARGET_COURSE_SECONDS or students < 1000 else "NOT met"
    print(
        f"  grader generate with PDFs, {students} students (--jobs 2, a fresh process): "
        f"{wall:.1f} s wall, {usage.ru_utime + usage.ru_stime:.1f} s CPU, peak memory "
        f"{usage.ru_maxrss / 1024:.0f} MiB, {len(pdfs)} PDFs "
        f"({sum(p.stat().st_size for p in pdfs) / 2**20:.0f} MiB)"
        + (
            f"; target <= {TARGET_COURSE_SECONDS:.0f} s for 1 000: {verdict}"
            if students >= 1000
            else ""
        )
    )


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
        "--breakdown",
        type=int,
        default=100,
        metavar="N",
        help="split TeX's time per student into drawings and text on the first N students "
        "(0: no breakdown; default 100)",
    )
    parser.add_argument(
        "--course",
        type=int,
        default=0,
        metavar="N",
        help="also time grader generate with PDFs for N students, with its peak memory",
    )
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
        documents = class_documents(root)
        wall_b, cpu_b, stages, results = batched(root, documents, n)
        print(
            f"  batched (class documents in parts shared by the cores): {wall_b:7.1f} s wall, "
            f"{cpu_b:7.1f} s CPU  ({wall_b / n * 1000:.0f} ms/student)"
        )
        for name, seconds in stages.items():
            print(f"      {name:32s} {seconds:7.1f} s")
        print("    PDF sizes:")
        sizes(results)
        del results
        if args.breakdown:
            breakdown(root, documents, min(args.breakdown, n))

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
        if args.course:
            course_build(root, args.course)


if __name__ == "__main__":
    main()
