"""Grading throughput: ``grader grade`` on a class of submissions, against just reading them.

Makes ``--submissions`` submissions, one per student, from the students' own keys: a third
are perfect (the key itself), the rest carry mistakes, so carried-forward credit and the
diagnosis both run:

* ``sign``: one δ with its sign flipped, nothing recomputed;
* ``rate``: the weight updates done with twice the learning rate, everything after them
  recomputed from the student's own numbers (carried forward);
* ``factor2``: the factor 2 of the loss derivative dropped (or added) from the first δ
  on, everything after it recomputed (a diagnosis, then carried-forward credit);
* ``path`` (chain_rule): one path of the chain rule forgotten, the rest recomputed.

A mistaken run is the exercise's own field graph replayed under the mistake's
:class:`~grader.core.engine.Rules` from the student's own values, exactly what a student doing
it that way writes.  The worksheet's class is made twice: with every number written as
the key writes it (exact fractions: the same texts recur, the kindest case for the
grader's per-variant memos) and as students write them (each number as a fraction or
as a decimal at the instructed places or one or two more, chosen per field: the
realistic case).  Then it times, in this process:

* the real ``grader grade`` (``grader.grade.batch.grade_command``, ``--jobs 1``): reading,
  validating, grading, diagnosing, writing every report, the gradebook and the summary;
* the read floor: ``json.loads`` of every file and ``Fraction`` of every number in it;
* the write floor: writing the same report files again (two per student, atomically),
  into an empty directory: what the filesystem alone costs (see ``bench/machine.py`` on
  why nothing is deleted until the end: on ext4 without a journal, files created soon
  after many were deleted cost up to 1 ms each);
* ``--jobs 2``;

and, each in a fresh process, the peak memory of grading the first 1 000 and all the
submissions written as students write them (flat memory: the batch is streamed, and the
memos are bounded).  Last, a timed-stage breakdown and the functions a profile finds
hottest.

Three assignments: the worksheet (grader/samples/canonical.yaml: sgd_chain, every
parameter fixed, so every student shares one variant and grading is all there is) and
the sample course (course.yaml: three exercises with variants per student, so each
submission also pays for re-deriving its student's variant and key); and the fourth family
(bench/softmax.yaml: two softmax_classifier exercises drawn per student, one with a hidden
layer and two steps), graded like the course.

    python bench/bench_grade.py [--submissions 3000] [--course-submissions 1000]
                                [--assignment canonical|course|softmax|both|all]
                                [--no-memory] [--top 12]
                                [--scratch DIR] [--keep-scratch]

Targets: at least 1 000 submissions/s on one core, within 20x of the read floor.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import json
import os
import pstats
import subprocess
import sys
import time
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_generate import SECRET, Stages, quiet, write_roster  # noqa: E402
from bench.machine import add_scratch_option, describe, file_creation_note, scratch_dir  # noqa: E402

ASSIGNMENTS = {
    "canonical": ROOT / "grader" / "samples" / "canonical.yaml",
    "course": ROOT / "grader" / "samples" / "course.yaml",
    # the fourth family, with variants per student (one exercise with a hidden layer)
    "softmax": ROOT / "bench" / "softmax.yaml",
}
TARGET_RATE = 1000.0
TARGET_FLOOR_RATIO = 20.0
MISTAKES = ("sign", "rate", "factor2", "path")


# ------------------------------------------------------------ making submissions


def _set(layout: Any, ptr: str, exercise_id: str, value: Any) -> None:
    """Put ``value`` at the answer pointer ``/answers/<exercise>/...`` of ``layout``."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[3:]]
    node = layout[exercise_id]
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _replay(variant: Any, rules: Any) -> dict[str, Any]:
    """Every leaf as a student computes it under ``rules``, from their own earlier values."""
    from grader.core.engine import FractionOps
    from grader.grade.grading import exercise_rounding

    ops = FractionOps(exercise_rounding(variant))
    values: dict[str, Any] = {}
    for comp in variant.solution.computations:
        if comp.kind == "formula":
            values.update((p, variant.solution.values[p]) for p in comp.outputs)
            continue
        got = comp.compute({p: values[p] for p in comp.inputs}, ops, rules)
        values.update(zip(comp.outputs, got, strict=True))
    return values


def mistaken(answers: dict[str, Any], variants: list[Any], kind: str) -> dict[str, Any]:
    """``answers`` (the key's) with the mistake ``kind`` made in every exercise it fits."""
    from dataclasses import replace

    from grader.core.engine import CORRECT
    from grader.course.keys import exact_text

    for variant in variants:
        ex = variant.exercise.id
        leaves = [p for c in variant.solution.computations for p in c.outputs]
        if kind == "sign":
            deltas = [p for p in leaves if "/delta" in p or "/adjoints/" in p]
            target = next(
                (p for p in deltas if variant.solution.values[p] != 0),
                deltas[0] if deltas else None,
            )
            if target is not None:
                _set(answers, target, ex, exact_text(-variant.solution.values[target]))
            continue
        if kind == "rate":
            rate = getattr(variant.params, "learning_rate", None)
            if rate is None:
                continue
            rules = replace(CORRECT, learning_rate=2 * rate)
        elif kind == "factor2":
            if not any("factor" in m for c in variant.solution.computations for m in c.mistakes):
                continue
            rules = replace(CORRECT, factor_2_error=True)
        else:  # path
            if not any("missing_path" in c.mistakes for c in variant.solution.computations):
                continue
            rules = replace(CORRECT, omit_term=0)
        values = _replay(variant, rules)
        for ptr in leaves:
            if ptr in values and variant.solution.values.get(ptr) is not values[ptr]:
                _set(answers, ptr, ex, exact_text(values[ptr]))
    return answers


def written_as_students_write(answers: dict[str, Any], variants: list[Any], seed: int) -> None:
    """Rewrite every number of ``answers`` the way students write them: as the exact
    fraction, or as a decimal at the instructed places or one or two more, chosen per
    field (so the same value reaches the grader as different texts)."""
    import random

    from grader.core.numbers import fmt_dec

    rng = random.Random(seed)

    def rewrite(node: Any, k: int) -> Any:
        if isinstance(node, dict):
            return {key: rewrite(sub, k) for key, sub in node.items()}
        if isinstance(node, list):
            return [rewrite(sub, k) for sub in node]
        try:
            value = Fraction(node)
        except (TypeError, ValueError):
            return node  # a formula
        places = rng.choice([None, k, k, k + 1, k + 2])
        return node if places is None or value.denominator == 1 else fmt_dec(value, places)

    for variant in variants:
        ex = variant.exercise.id
        answers[ex] = rewrite(answers[ex], variant.solution.decimals)


def write_submissions(
    assignment_path: Path, root: Path, count: int, style: str = "keys"
) -> tuple[Path, list[Path]]:
    """A roster of ``count`` students and one submission each (in ``root/subs``), every
    number written as the key writes it (``style`` "keys") or as students do ("varied",
    see :func:`written_as_students_write`)."""
    from grader.course.assignment import load_assignment, load_roster
    from grader.course.keys import key_json
    from grader.course.variants import make_variants

    assignment = load_assignment(assignment_path)
    roster_path = root / "roster.csv"
    write_roster(roster_path, count)
    roster = load_roster(roster_path)
    subs = root / "subs"
    subs.mkdir()
    paths = []
    secret = SECRET.encode()
    for i, student in enumerate(roster):
        variants = make_variants(assignment, student.id, secret)
        answers = key_json(assignment, student.id, variants)["answers"]
        if i % 3:
            answers = mistaken(answers, variants, MISTAKES[i % len(MISTAKES)])
        if style == "varied":
            written_as_students_write(answers, variants, seed=i)
        data = {"assignment": assignment.id, "student": student.id, "answers": answers}
        path = subs / f"{student.id}.json"
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return roster_path, paths


# ------------------------------------------------------------ timing


def read_floor(paths: list[Path]) -> float:
    """Seconds to read every file: ``json.loads`` and ``Fraction`` of every number."""

    def leaves(node: Any) -> int:
        if isinstance(node, dict):
            return sum(leaves(v) for v in node.values())
        if isinstance(node, list):
            return sum(leaves(v) for v in node)
        if isinstance(node, str) and node and (node[0].isdigit() or node[0] == "-"):
            with contextlib.suppress(ValueError):  # a formula
                Fraction(node)
            return 1
        return 0

    start = time.perf_counter()
    for path in paths:
        leaves(json.loads(path.read_bytes()))
    return time.perf_counter() - start


def grade(
    assignment_path: Path, paths: list[Path], roster: Path, out: Path, jobs: int = 1
) -> tuple[float, int]:
    from grader.grade.batch import grade_command

    start = time.perf_counter()
    with quiet():
        code = grade_command(
            str(assignment_path),
            [str(p) for p in paths],
            str(roster),
            str(out),
            lms=None,
            jobs=jobs,
        )
    return time.perf_counter() - start, code


def write_floor(reports: Path, out: Path) -> tuple[float, int]:
    """(seconds, files) to write the same report files again, the way grading writes
    them (atomically, no fsync each), into an empty directory: what the filesystem
    alone costs."""
    from grader.core.fileio import atomic_write_bytes, sync

    contents = [(p.name, p.read_bytes()) for p in sorted(reports.iterdir())]
    out.mkdir()
    start = time.perf_counter()
    for name, data in contents:
        atomic_write_bytes(out / name, data, durable=False)
    sync()
    return time.perf_counter() - start, len(contents)


def check_gradebook(out: Path, count: int) -> dict[str, int]:
    with (out / "gradebook.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    statuses: dict[str, int] = defaultdict(int)
    for row in rows:
        statuses[row["status"]] += 1
    if len(rows) != count or statuses.get("submitted") != count:
        print(f"  WARNING: the gradebook has {len(rows)} rows: {dict(statuses)}")
    return statuses


def field_statuses(out: Path, limit: int = 300) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for report in sorted((out / "reports").glob("*.json"))[:limit]:
        for f in json.loads(report.read_text("utf-8"))["fields"]:
            counts[f["status"]] += 1
    return dict(counts)


MEMORY_CHILD = """
import json, resource, sys, tracemalloc
sys.path.insert(0, {root!r})
from bench.bench_generate import quiet
from grader.grade.batch import grade_command
args = json.loads(open(sys.argv[1], encoding="utf-8").read())
import grader.grade.grading, grader.course.submission, grader.grade.reports  # imports are not the batch
tracemalloc.start()
with quiet():
    grade_command(args["assignment"], args["paths"], args["roster"], args["out"], lms=None, jobs=1)
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({{"peak": peak, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def peak_memory(assignment: Path, paths: list[Path], roster: Path, out: Path) -> tuple[int, int]:
    """(tracemalloc peak bytes, max RSS KiB) of one grade_command in a fresh process."""
    args = {
        "assignment": str(assignment),
        "paths": [str(p) for p in paths],
        "roster": str(roster),
        "out": str(out),
    }
    args_file = out.with_suffix(".args.json")  # thousands of paths: too long for argv
    args_file.write_text(json.dumps(args), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD.format(root=str(ROOT)), str(args_file)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GRADER_SECRET": SECRET},
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["peak"], result["maxrss_kib"]


# (module attribute, label, nested): nested stages run inside the one above them
STAGES = (
    ("grade_cmd.read_submission", "reading files (JSON, limits; both passes)", False),
    ("grade_cmd.make_variants", "variants and keys (per student)", False),
    ("grade_cmd.grade_submission", "grading", False),
    ("grading.read_answers", "validating the answers", True),
    ("grading._ExerciseGrader.grade", "fields, carried forward, diagnosis", True),
    ("grade_cmd.report_json_text", "reports: JSON", False),
    ("grade_cmd.report_markdown", "reports: Markdown", False),
    ("grade_cmd._write", "reports: writing (atomic)", False),
    ("grade_cmd.render_summary", "class summary (HTML)", False),
)


def breakdown(
    assignment: Path, paths: list[Path], roster: Path, out: Path
) -> tuple[float, Stages, set[str]]:
    from grader.grade import batch as grade_cmd
    from grader.grade import grading

    modules = {"grade_cmd": grade_cmd, "grading": grading}
    stages = Stages()
    nested = set()
    for where, label, inner in STAGES:
        owner: Any = modules[where.split(".")[0]]
        for part in where.split(".")[1:-1]:
            owner = getattr(owner, part)
        if hasattr(owner, where.split(".")[-1]):
            stages.wrap(owner, where.split(".")[-1], label)
            if inner:
                nested.add(label)
    try:
        elapsed, _ = grade(assignment, paths, roster, out)
    finally:
        stages.restore()
    return elapsed, stages, nested


def _where(file: str, line: int) -> str:
    if file.startswith(str(ROOT)):
        return f"{file[len(str(ROOT)) + 1 :]}:{line}"
    if "site-packages/" in file:
        return f"{file.split('site-packages/')[-1]}:{line}"
    return f"{Path(file).name}:{line}" if file != "~" else "builtin"


def hot_spots(
    assignment: Path, paths: list[Path], roster: Path, out: Path, top: int
) -> tuple[list[str], list[str]]:
    """(functions by own time, our functions by cumulative time), as shares of the run."""
    profile = cProfile.Profile()
    profile.enable()
    grade(assignment, paths, roster, out)
    profile.disable()
    stats: dict[Any, Any] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    total = sum(s[2] for s in stats.values())
    own = [
        f"{100 * tottime / total:5.1f}%  {name}  ({_where(file, line)})"
        for (file, line, name), (_, _, tottime, _, _) in sorted(
            stats.items(), key=lambda kv: -kv[1][2]
        )[:top]
    ]
    ours = [
        f"{100 * cumtime / total:5.1f}%  {name}  ({_where(file, line)})"
        for (file, line, name), (_, _, _, cumtime, _) in sorted(
            stats.items(), key=lambda kv: -kv[1][3]
        )
        if "/grader/" in file and "grade_cmd.py" not in file
    ][:top]
    return own, ours


def run(name: str, count: int, memory: bool, top: int, style: str, scratch: Path) -> None:
    path = ASSIGNMENTS[name]
    root = scratch / f"{name}-{style}"
    root.mkdir()
    # one scratch directory for the whole run: nothing is deleted between stages
    start = time.perf_counter()
    roster, paths = write_submissions(path, root, count, style)
    written = "as the keys write them" if style == "keys" else "as students write them"
    print(
        f"{name} ({path.name}), numbers {written}: {count} submissions, a third perfect, "
        f"the rest with {', '.join(MISTAKES)} mistakes (made in {time.perf_counter() - start:.0f} s)"
    )
    grade(path, paths[:20], roster, root / "warm")  # imports, formula parser, …
    floor = min(read_floor(paths) for _ in range(3))
    cpu = time.process_time()
    elapsed, code = grade(path, paths, roster, root / "out")
    cpu = time.process_time() - cpu
    statuses = check_gradebook(root / "out", count)
    rate = count / elapsed
    print(
        f"  grader grade (--jobs 1): {elapsed:6.2f} s  {rate:6.0f} submissions/s  "
        f"{elapsed / count * 1000:6.2f} ms each, CPU {cpu / count * 1000:.2f} ms "
        f"(exit {code}, gradebook {dict(statuses)})"
    )
    print(
        f"  read floor (json.loads + Fraction of every number): {floor:6.3f} s  "
        f"{count / floor:6.0f} submissions/s"
    )
    writing, files = write_floor(root / "out" / "reports", root / "writes")
    print(
        f"  write floor (the same {files} report files written again, atomically): "
        f"{writing:6.3f} s  {writing / count * 1000:.2f} ms per submission"
    )
    ratio = elapsed / floor
    print(
        f"  grading is {ratio:.0f}x the read floor; targets: >= {TARGET_RATE:.0f}/s "
        f"{'met' if rate >= TARGET_RATE else 'NOT met'}, <= {TARGET_FLOOR_RATIO:.0f}x floor "
        f"{'met' if ratio <= TARGET_FLOOR_RATIO else 'NOT met'}"
    )
    rest = elapsed - writing
    print(
        f"  without the write floor: {rest:6.2f} s  {count / rest:6.0f} submissions/s, "
        f"{rest / floor:.0f}x the read floor"
    )
    two, _ = grade(path, paths, roster, root / "out2", jobs=2)
    print(
        f"  grader grade --jobs 2:   {two:6.2f} s  {count / two:6.0f} submissions/s  "
        f"({elapsed / two:.2f}x --jobs 1)"
    )
    print(f"  field statuses (first 300 reports): {field_statuses(root / 'out')}")
    if memory:
        small = min(1000, count)
        p1, r1 = peak_memory(path, paths[:small], roster, root / "mem1")
        p2, r2 = peak_memory(path, paths, roster, root / "mem2")
        print(
            f"  peak memory, fresh process: {small} submissions: traced {p1 / 2**20:.1f} MiB, "
            f"max RSS {r1 / 1024:.0f} MiB; {count}: traced {p2 / 2**20:.1f} MiB, max RSS "
            f"{r2 / 1024:.0f} MiB"
        )
    b_count = min(count, 1000)
    total, stages, nested = breakdown(path, paths[:b_count], roster, root / "bd")
    print(f"  per-submission breakdown ({b_count} submissions, every stage timed):")
    accounted = 0.0
    for label in [label for _, label, _ in STAGES]:
        if label not in stages.seconds:
            continue
        seconds = stages.seconds[label]
        if label in nested:
            print(f"      of which {label:38s} {seconds / b_count * 1000:7.3f} ms")
            continue
        accounted += seconds
        print(f"    {label:46s} {seconds / b_count * 1000:7.3f} ms")
    print(
        f"    {'other (whose file, tasks, gradebook, …)':46s} "
        f"{(total - accounted) / b_count * 1000:7.3f} ms"
    )
    print(f"    {'total':46s} {total / b_count * 1000:7.3f} ms")
    if top:
        print(f"  hot spots (cProfile, {min(count, 300)} submissions, share of own time):")
        own, ours = hot_spots(path, paths[:300], roster, root / "prof", top)
        for line in own:
            print(f"    {line}")
        print("  our functions by cumulative time (share of the run):")
        for line in ours:
            print(f"    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=3000, help="for the worksheet")
    parser.add_argument(
        "--course-submissions",
        type=int,
        default=1000,
        help="for the course (each re-derives a variant: slower, so fewer by default)",
    )
    parser.add_argument(
        "--assignment",
        choices=["canonical", "course", "softmax", "both", "all"],
        default="all",
        help="both: canonical and course; all: those and softmax",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--top", type=int, default=12, help="hot spots to list (0: no profile)")
    add_scratch_option(parser)
    args = parser.parse_args()
    print(describe())
    try:
        import grader.grade.batch  # noqa: F401
    except ImportError:
        print("grading benchmark skipped: this checkout has no `grader grade` yet")
        return
    os.environ["GRADER_SECRET"] = SECRET
    names = {
        "both": ["canonical", "course"],
        "all": ["canonical", "course", "softmax"],
    }.get(args.assignment, [args.assignment])
    with scratch_dir("bench-grade-", args) as scratch:
        print(f"files: {file_creation_note(scratch)}")
        run_all(names, args, scratch)


def run_all(names: list[str], args: argparse.Namespace, scratch: Path) -> None:
    for name in names:
        if name == "canonical":
            for style in ("keys", "varied"):
                # memory where the memos hold the most: the students' own varied numbers
                memory = not args.no_memory and style == "varied"
                run(
                    name,
                    args.submissions,
                    memory,
                    args.top if style == "varied" else 0,
                    style,
                    scratch,
                )
        else:  # the memory runs are the worksheet's; course and softmax re-derive variants
            run(name, args.course_submissions, False, args.top, "keys", scratch)


if __name__ == "__main__":
    main()
