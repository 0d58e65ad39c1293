"""The ``grader`` command line.

Heavy modules (sympy, jinja2, pydantic models of the exercises) are imported inside
the commands, so ``grader --help`` starts fast.  Every error a user can cause ends as
one line on stderr and exit code 2; nothing prints a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(fn: F) -> F:
    """Turn our errors into one line and an exit code; hide tracebacks of the unexpected."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from grader.core.errors import UserError

        try:
            try:
                return fn(*args, **kwargs)
            finally:
                sys.stdout.flush()  # a closed pipe shows here, not at exit
        except BrokenPipeError:  # `grader solve … | head`: the reader has what it wanted
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # nothing left to flush at exit
            sys.exit(1)
        except UserError as exc:
            click.echo(f"error: {exc.line()}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the promise is: no traceback, ever
            click.echo(
                f"internal error: {type(exc).__name__}: {exc} (please report this)", err=True
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def weak_secret_option(fn: F) -> F:
    """``--allow-weak-secret`` for every command that reads the course secret."""

    def allow(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        from grader.course.secret import allow_weak_secrets

        allow_weak_secrets(value)
        return value

    return click.option(
        "--allow-weak-secret",
        is_flag=True,
        expose_value=False,
        callback=allow,
        help="Accept a secret shorter than 16 bytes or with fewer than 8 distinct characters.",
    )(fn)


def wait_option(fn: F) -> F:
    """``--wait`` for every command that writes into an --out folder."""
    return click.option(
        "--wait",
        default=0.0,
        show_default=True,
        type=click.FloatRange(0, 86400),
        help="Seconds to wait for another run writing into the same --out, then give up.",
    )(fn)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="backprop-grader")
def main() -> None:
    """Personal backpropagation homework: generate sheets and keys, grade submissions."""


@main.command()
@click.argument("assignment", type=click.Path(dir_okay=False))
@click.option("--student", "student_id", default=None, help="Student id (needs the course secret).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@weak_secret_option
@friendly_errors
def solve(assignment: str, student_id: str | None, fmt: str) -> None:
    """Print one solution key (a fully fixed assignment needs no --student)."""
    from grader.core.errors import UserError
    from grader.course.assignment import load_assignment, valid_student_id
    from grader.course.keys import key_json
    from grader.course.variants import make_variants, needs_secret, read_secret

    spec = load_assignment(assignment)
    if student_id is not None and not valid_student_id(student_id):
        raise UserError(f"--student {student_id[:40]!r} is not a valid id")
    if student_id is None and needs_secret(spec):
        raise UserError(
            "some parameters are randomized per student: give --student ID (and set the secret)",
            file=assignment,
        )
    secret = read_secret(spec) if student_id is not None else None
    variants = make_variants(spec, student_id or "", secret)
    if fmt == "json":
        click.echo(
            json.dumps(key_json(spec, student_id or "", variants), indent=2, ensure_ascii=False)
        )
        return
    from grader.exercises import get_exercise

    click.echo(f"{spec.title} ({spec.id})" + (f", student {student_id}" if student_id else ""))
    for v in variants:
        click.echo(f"\n== {v.exercise.id}: {v.exercise.type}, {v.exercise.points} points ==")
        click.echo(get_exercise(v.exercise.type).describe_text(v.params, v.solution))


@main.command()
@click.argument("assignment", type=click.Path(dir_okay=False))
@friendly_errors
def schema(assignment: str) -> None:
    """Print the JSON Schema of a submission for ASSIGNMENT."""
    from grader.course.assignment import load_assignment
    from grader.make.schema import submission_schema

    click.echo(
        json.dumps(submission_schema(load_assignment(assignment)), indent=2, ensure_ascii=False)
    )


@main.command()
@click.argument("assignment", type=click.Path(dir_okay=False))
@click.option(
    "--roster", required=True, type=click.Path(dir_okay=False), help="CSV with columns id,name."
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Build directory."
)
@click.option("--no-pdf", is_flag=True, help="Write .tex only; skip the TeX runs.")
@click.option(
    "--jobs", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
)
@wait_option
@weak_secret_option
@friendly_errors
def generate(
    assignment: str, roster: str, out_dir: str, no_pdf: bool, jobs: int, wait: float
) -> None:
    """Write every student's sheet, key, answer template, the schema and a manifest."""
    from grader.make.build import generate_command

    sys.exit(generate_command(assignment, roster, out_dir, pdf=not no_pdf, jobs=jobs, wait=wait))


@main.command()
@click.argument("assignment", type=click.Path(dir_okay=False))
@click.argument("build_dir", type=click.Path(file_okay=False))
@weak_secret_option
@friendly_errors
def check(assignment: str, build_dir: str) -> None:
    """Re-derive every key in BUILD_DIR, recompute it independently, compare."""
    from grader.make.check import check_command

    sys.exit(check_command(assignment, build_dir))


@main.command()
@click.argument("assignment", type=click.Path(dir_okay=False))
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--roster", required=True, type=click.Path(dir_okay=False))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option(
    "--lms",
    type=click.Choice(["moodle", "canvas"]),
    default=None,
    help="Also write an LMS gradebook CSV.",
)
@click.option(
    "--jobs", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
)
@wait_option
@weak_secret_option
@click.option(
    "--from",
    "source",
    type=click.Choice(["moodle", "canvas", "files"]),
    default=None,
    help="What the paths are (default: told from the names).",
)
@click.option(
    "--moodle-worksheet",
    type=click.Path(dir_okay=False),
    default=None,
    help="Moodle's downloaded grading worksheet: matches people by email, and is filled in.",
)
@friendly_errors
def grade(
    assignment: str,
    paths: tuple[str, ...],
    roster: str,
    out_dir: str,
    lms: str | None,
    jobs: int,
    wait: float,
    source: str | None,
    moodle_worksheet: str | None,
) -> None:
    """Grade submissions (files, folders of .json, or Moodle and Canvas submission
    downloads, zipped or extracted) into reports and a gradebook."""
    from grader.grade.batch import grade_command

    sys.exit(
        grade_command(
            assignment,
            list(paths),
            roster,
            out_dir,
            lms=lms,
            jobs=jobs,
            source=source,
            moodle_worksheet=moodle_worksheet,
            wait=wait,
        )
    )


@main.command()
@click.argument("assignment", type=click.Path(dir_okay=False))
@click.option("--roster", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--root",
    default="/autograder",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Gradescope's folder (submission/, submission_metadata.json, results/).",
)
@click.option(
    "--tests-per",
    type=click.Choice(["field", "step"]),
    default="field",
    show_default=True,
    help="One Gradescope test per answer field, or per step.",
)
@click.option(
    "--peers",
    default=None,
    type=click.Path(dir_okay=False),
    help="The roster's copy-detection index (the bundle's peers.json).",
)
@weak_secret_option
def autograde(assignment: str, roster: str, root: str, tests_per: str, peers: str | None) -> None:
    """Grade one Gradescope submission into ROOT/results/results.json (always exit 0)."""
    from grader.grade.autograde import autograde_command

    sys.exit(autograde_command(assignment, roster, root, tests_per=tests_per, peers=peers))


@main.group()
def export() -> None:
    """Bundles for other platforms."""


@export.command()
@click.argument("assignment", type=click.Path(dir_okay=False))
@click.option("--roster", required=True, type=click.Path(dir_okay=False))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--wheel",
    default=None,
    type=click.Path(dir_okay=False),
    help="The tool's wheel to put in the bundle (default: built from this checkout).",
)
@weak_secret_option
@friendly_errors
def gradescope(assignment: str, roster: str, out_file: str, wheel: str | None) -> None:
    """Write a Gradescope autograder bundle (it holds the course secret: keep it private)."""
    from grader.course.assignment import load_assignment, load_roster
    from grader.course.variants import is_fully_fixed, make_variants, read_secret
    from grader.grade.peers import build_index
    from grader.make.gradescope import export_gradescope

    # the roster's copy-detection index goes into the bundle (grade builds it per batch;
    # an autograder sees one submission at a time); none when everybody has the same data
    spec = load_assignment(assignment)
    extra: dict[str, bytes] = {}
    if not all(is_fully_fixed(e) for e in spec.exercises):
        secret = read_secret(spec)
        index = build_index(load_roster(roster), lambda sid: make_variants(spec, sid, secret))
        extra["peers.json"] = (index.to_json() + "\n").encode("utf-8")
    path = export_gradescope(assignment, roster, out_file, wheel=wheel, extra_files=extra)
    click.echo(
        f"wrote {path}: it holds the course secret; upload it to Gradescope only "
        "(Configure Autograder > Zip file upload), never share or commit it"
    )


@main.command()
@click.argument("submissions", nargs=-1, required=True, type=click.Path())
@click.option(
    "--template",
    "template",
    default=None,
    type=click.Path(dir_okay=False),
    help="Your answer template (templates/<id>.json): also check shapes, student, assignment.",
)
@click.option(
    "--lang",
    "language",
    type=click.Choice(["en", "ru"]),
    default="en",
    show_default=True,
    help="Language of the messages.",
)
@friendly_errors
def validate(submissions: tuple[str, ...], template: str | None, language: str) -> None:
    """Check answer files before handing them in (no secret needed).

    Exit 0: no problems; 1: problems found; 2: bad usage or a file that is not text.
    """
    from grader.grade.validate import validate_command

    sys.exit(validate_command(list(submissions), template, language))


@main.command()
@click.option(
    "--out", "out_dir", default="demo-output", show_default=True, type=click.Path(file_okay=False)
)
@click.option("--no-pdf", is_flag=True, help="Skip the TeX runs.")
@friendly_errors
def demo(out_dir: str, no_pdf: bool) -> None:
    """The whole job on built-in samples (uses a labelled demo secret)."""
    from grader.demo import demo_command

    sys.exit(demo_command(out_dir, pdf=not no_pdf))


@main.command()
@click.argument("directory", type=click.Path(file_okay=False))
@friendly_errors
def init(directory: str) -> None:
    """Write a commented starter assignment.yaml and roster.csv into DIRECTORY."""
    from grader.starter import init_command

    sys.exit(init_command(directory))


if __name__ == "__main__":  # pragma: no cover
    main()
