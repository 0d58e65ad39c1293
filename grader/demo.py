"""``grader demo``: the whole job on built-in samples, in one directory.

1. copies the sample course (the worksheet's three exercises, randomized) and roster;
2. generates every student's sheet, key and answer template (PDFs when TeX is there);
3. writes a batch of submissions made by *synthetic students*: each one runs the
   exercises' own computations with one typical mistake of the catalogue (or none),
   so the grader has real work to diagnose — plus one missing and one broken file;
4. grades them (reports, gradebook, class summary page) and checks the build.

It uses a built-in secret that is printed as such: never use it for a real course.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import click

from grader.core.engine import CORRECT, FractionOps, Rules
from grader.core.errors import UserError
from grader.core.fileio import atomic_write_text, dump_json
from grader.course.variants import DEMO_SECRET, Variant

MARKER = ".grader-demo"

# What each sample student does: (description, how they write numbers, the mistake's Rules
# for a variant).  Students beyond this list are perfect; s009 hands in nothing and s010 a
# file that is not JSON, to show how the gradebook reports them.
Behaviour = tuple[str, str, Callable[[Variant], Rules]]
BEHAVIOURS: dict[str, Behaviour] = {
    "s001": ("perfect, exact fractions", "exact", lambda v: CORRECT),
    "s002": ("perfect, rounded decimals", "decimal", lambda v: CORRECT),
    "s003": ("flips the sign of δ", "decimal", lambda v: Rules(delta_sign=-1)),
    "s004": ("uses half the learning rate", "decimal", lambda v: _half_rate(v)),
    "s005": ("drops the factor 2 of (y − ŷ)²", "exact", lambda v: Rules(factor_2_error=True)),
    "s006": ("takes σ′ as σ", "decimal", lambda v: Rules(derivative="value")),
    "s007": ("adds the gradient (ascent)", "exact", lambda v: Rules(update_sign=+1)),
    "s008": (
        "forgets a path; forgets to transpose",
        "exact",
        lambda v: Rules(omit_term=0, transpose="right"),
    ),
}
MISSING, BROKEN = "s009", "s010"


def _half_rate(v: Variant) -> Rules:
    rate = getattr(v.params, "learning_rate", None)
    return Rules(learning_rate=rate / 2) if isinstance(rate, Fraction) else CORRECT


def synthetic_submission(
    assignment_id: str, student_id: str, variants: list[Variant], behaviour: Behaviour
) -> dict[str, Any]:
    """A submission by a student who computes everything with ``behaviour``'s mistake,
    always from their own earlier answers (as a real student does)."""
    from grader.core.numbers import fmt_dec, fmt_frac, round_half_away
    from grader.exercises import get_exercise
    from grader.grade.grading import exercise_rounding
    from grader.grade.mistakes import replay, submission_from

    _, style, rules_for = behaviour
    answers: dict[str, Any] = {}
    for v in variants:
        k = v.solution.decimals
        ops = FractionOps(exercise_rounding(v))
        keep = None if style == "exact" else (lambda x, k=k: round_half_away(x, k))
        values = replay(v.solution, ops, rules_for(v), write=keep)

        def text(x: Any, k: int = k) -> str:
            if not isinstance(x, Fraction):
                from grader.grade.formulas import formula_text

                return formula_text(x)
            return fmt_frac(x) if style == "exact" else fmt_dec(x, k)

        layout = get_exercise(v.exercise.type).template_answers(v.params)
        answers[v.exercise.id] = submission_from(values, layout, v.exercise.id, text)
    return {"assignment": assignment_id, "student": student_id, "answers": answers}


def demo_command(out_dir: str, *, pdf: bool) -> int:
    from grader.course.assignment import load_assignment, load_roster
    from grader.course.variants import make_variants
    from grader.grade.batch import grade_command
    from grader.make.build import generate_command
    from grader.make.check import check_command

    started = time.monotonic()
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise UserError(
            "exists and was not made by `grader demo`; choose another --out", file=str(out)
        )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / MARKER, "made by `grader demo`; safe to delete\n")
    samples = resources.files("grader.samples")
    assignment_path, roster_path = out / "assignment.yaml", out / "roster.csv"
    atomic_write_text(assignment_path, samples.joinpath("course.yaml").read_text("utf-8"))
    atomic_write_text(roster_path, samples.joinpath("roster.csv").read_text("utf-8"))
    assignment = load_assignment(assignment_path)
    roster = load_roster(roster_path)

    say = _say
    say(f"grader demo: the whole job on built-in samples, in {out}/")
    say(
        f"  (uses the built-in DEMO secret via ${assignment.secret_env}; never use it for a real course)"
    )
    previous = os.environ.get(assignment.secret_env)
    os.environ[assignment.secret_env] = DEMO_SECRET.decode()
    try:
        say("\n1. generate: sheets, keys and answer templates for every student")
        generate_command(
            str(assignment_path), str(roster_path), str(out / "build"), pdf=pdf, jobs=1
        )

        say("\n2. submissions from synthetic students (each makes one typical mistake):")
        subs = out / "submissions"
        if subs.exists():
            shutil.rmtree(subs)
        subs.mkdir()
        for student in roster:
            if student.id == MISSING:
                say(f"   {student.id} hands in nothing")
                continue
            if student.id == BROKEN:
                truncated = dump_json({"assignment": assignment.id, "student": student.id})[:-3]
                atomic_write_text(subs / f"{student.id}.json", truncated)
                say(f"   {student.id} hands in a truncated file")
                continue
            behaviour = BEHAVIOURS.get(student.id, BEHAVIOURS["s001"])
            variants = make_variants(assignment, student.id, DEMO_SECRET)
            submission = synthetic_submission(assignment.id, student.id, variants, behaviour)
            atomic_write_text(subs / f"{student.id}.json", dump_json(submission))
            say(f"   {student.id} {behaviour[0]}")

        say("\n3. grade")
        grade_command(
            str(assignment_path),
            [str(subs)],
            str(roster_path),
            str(out / "graded"),
            lms="moodle",
            jobs=1,
        )

        say("\n4. check the keys, as a course's CI would")
        check_code = check_command(str(assignment_path), str(out / "build"))
    finally:
        if previous is None:
            os.environ.pop(assignment.secret_env, None)
        else:
            os.environ[assignment.secret_env] = previous

    has_pdf = (out / "build" / "sheets" / "all.pdf").exists()
    say(f"\nDone in {time.monotonic() - started:.1f} s.  Open:")
    if has_pdf:
        say(
            f"  {out}/build/sheets/s001.pdf    a student's problem sheet   (all.pdf: every sheet, for printing)"
        )
        say(f"  {out}/build/keys/s001.pdf      the matching solution key")
    else:
        say(
            f"  {out}/build/sheets/s001.tex    a student's problem sheet (no PDF: TeX is not installed)"
        )
    say(f"  {out}/build/templates/s001.json the answer template a student fills in")
    say(f"  {out}/graded/reports/s003.md   feedback for a student who flipped the sign of δ")
    say(f"  {out}/graded/summary.html      the class report (histogram, item analysis, mistakes)")
    say(
        f"  {out}/graded/gradebook.csv     one row per student (and gradebook-moodle.csv for import)"
    )
    return 0 if check_code == 0 else 1


def _say(text: str) -> None:
    click.echo(text)
