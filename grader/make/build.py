"""``grader generate``: a build directory with every student's sheet, key and answer template.

Layout (the spec's contract)::

    sheets/<id>.tex  sheets/<id>.pdf  sheets/all.pdf
    keys/<id>.tex    keys/<id>.pdf    keys/<id>.json   keys/all.pdf
    templates/<id>.json   forms/<id>.html   schema.json   manifest.json

Everything is built in a staging directory beside DIR and swapped in at the end, so a
killed run never leaves a half-written build; one run at a time writes into DIR, and what
DIR holds that the previous build did not write is carried over (see
:mod:`grader.make.replace`).  :func:`text_files` is also what ``grader
check`` regenerates in memory, so the two can never drift apart.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from grader.core.errors import UserError
from grader.core.fileio import dump_json
from grader.core.gc_policy import batch_gc
from grader.core.outdir import Staging, exclusive, os_error
from grader.course.assignment import Assignment, Student, load_assignment, load_roster
from grader.course.keys import key_json
from grader.course.variants import (
    Variant,
    make_variants,
    needs_secret,
    read_secret,
    search_version,
)
from grader.exercises import get_exercise
from grader.make.answer_page import answer_page, page_words
from grader.make.documents import (
    Kind,
    StudentDoc,
    render_document,
    render_student,
    split_document,
    student_doc,
)
from grader.make.manifest import (
    MANIFEST,
    assignment_digest,
    file_sha256,
    is_our_manifest,
    make_manifest,
    secret_fingerprint,
    sha256,
)
from grader.make.replace import (
    check_inputs_outside,
    clean_beside,
    foreign_entries,
    read_listed,
    staging_prefix,
    swap_in,
)
from grader.make.schema import submission_schema
from grader.make.spool import BodySpool

KINDS: tuple[tuple[Kind, str], ...] = (("sheet", "sheets"), ("key", "keys"))
TEX_WORK = ".tex"  # in the staging folder: TeX's input and runs (gone before the swap)


# ------------------------------------------------------------ what a build contains


def template_json(assignment: Assignment, student_id: str, variants: Sequence[Variant]) -> Any:
    """The answer template a student fills in: the submission layout with nulls, after a
    link to the schema (editors check the file as it is typed) and the rules in words
    (grading ignores both)."""
    rules = page_words(assignment.language)["template_help"]
    return {
        "$schema": "../schema.json",
        "_help": rules.replace("{id}", student_id),
        "assignment": assignment.id,
        "student": student_id,
        "answers": {
            v.exercise.id: get_exercise(v.exercise.type).template_answers(v.params)
            for v in variants
        },
    }


def student_files(
    assignment: Assignment,
    student: Student,
    variants: Sequence[Variant],
    doc: StudentDoc,
    tex: dict[Kind, str] | None = None,
) -> dict[str, bytes]:
    """Every text file of one student, by path relative to the build directory (``tex``:
    their sheet and key, already rendered)."""
    sid = student.id  # validated by the roster loader (or the manifest reader): safe in a path
    files = {
        f"{folder}/{sid}.tex": (
            tex[kind] if tex is not None else render_document(kind, assignment, [doc])
        ).encode("utf-8")
        for kind, folder in KINDS
    }
    files[f"keys/{sid}.json"] = dump_json(key_json(assignment, sid, list(variants))).encode("utf-8")
    files[f"templates/{sid}.json"] = dump_json(template_json(assignment, sid, variants)).encode(
        "utf-8"
    )
    # the answer page gets each exercise's spec and parameters: never its solution
    given = [(v.exercise, v.params) for v in variants]
    files[f"forms/{sid}.html"] = answer_page(assignment, student, given).encode("utf-8")
    return files


def shared_files(assignment: Assignment) -> dict[str, bytes]:
    return {"schema.json": dump_json(submission_schema(assignment)).encode("utf-8")}


@dataclass(frozen=True)
class StudentOutput:
    """Everything one student contributes to a build: their files, and their part of each
    class document (``kind`` -> body), for TeX."""

    files: dict[str, bytes]
    bodies: dict[Kind, str]


def student_output(
    assignment: Assignment, student: Student, index: int, secret: bytes | None
) -> StudentOutput:
    """One student's variants, files and class-document parts (run in a worker process
    with ``--jobs``: takes and returns only plain, picklable data)."""
    # sheets and keys print the formulas' texts: no sympy expressions needed (see solve)
    variants = make_variants(assignment, student.id, secret, formulas=False)
    doc = student_doc(assignment, student, variants)
    own: dict[Kind, str] = {}
    bodies: dict[Kind, str] = {}
    for kind, _ in KINDS:  # one rendering gives the student's file and class-document part
        own[kind], bodies[kind] = render_student(kind, assignment, doc, index)
    files = student_files(assignment, student, variants, doc, own)
    return StudentOutput(files, bodies)


def all_outputs(
    assignment: Assignment,
    students: Sequence[Student],
    secret: bytes | None,
    jobs: int,
    progress: Any,
) -> Iterator[StudentOutput]:
    """Every student's output in roster order, on ``jobs`` processes, advancing ``progress``."""
    task = progress.add_task("Variants, keys and documents", total=len(students))
    indexed = list(enumerate(students, start=1))
    if not _parallel(jobs, len(students)):
        results: Iterator[StudentOutput] = (
            student_output(assignment, s, i, secret) for i, s in indexed
        )
        for result in results:
            yield result
            progress.advance(task)
        return
    # Each worker gets the assignment once (its per-build caches key on the object), then
    # runs chunks of students: one message per chunk, not per student.
    size = max(1, min(MAX_CHUNK, len(indexed) // (jobs * 8)))
    chunks = [indexed[i : i + size] for i in range(0, len(indexed), size)]
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_init_worker, initargs=(assignment, secret)
    ) as pool:
        for outputs in pool.map(_worker_chunk, chunks):
            for result in outputs:
                yield result
            progress.advance(task, len(outputs))


def _parallel(jobs: int, students: int) -> bool:
    """Whether :func:`all_outputs` runs worker processes (not for a handful of students)."""
    return jobs > 1 and students >= 2 * jobs


MAX_CHUNK = 32  # students per message to a worker process
_worker: dict[str, Any] = {}


def _init_worker(assignment: Assignment, secret: bytes | None) -> None:
    _worker.update(assignment=assignment, secret=secret)


def _worker_chunk(chunk: Sequence[tuple[int, Student]]) -> list[StudentOutput]:
    assignment, secret = _worker["assignment"], _worker["secret"]
    return [student_output(assignment, s, i, secret) for i, s in chunk]


def class_head(assignment: Assignment, kind: Kind) -> str:
    """The preamble of a class document (the same for every student)."""
    return split_document(render_document(kind, assignment, [], batch=True))[0]


# ------------------------------------------------------------ the build directory


def _check_target(out: Path) -> None:
    """Refuse to replace anything but an empty directory or an earlier build of ours."""
    if out.exists() and not out.is_dir():
        raise UserError("exists and is not a directory", file=str(out))
    if out.is_dir() and any(out.iterdir()) and not is_our_manifest(out / MANIFEST):
        raise UserError(
            "refusing to replace this directory: it is not empty and has no manifest.json of a "
            "grader build; choose another --out or empty it",
            file=str(out),
        )


def _check_ids(students: Sequence[Student], roster: str) -> None:
    """Ids name files: ``all`` is taken by the class PDF, and ids equal but for case would
    be one file on macOS and Windows."""
    seen: dict[str, str] = {}
    for student in students:
        folded = student.id.casefold()
        if folded == "all":
            raise UserError(
                f"student id {student.id!r} is reserved (sheets/all.pdf holds every sheet)",
                file=roster,
            )
        if folded in seen:
            raise UserError(
                f"student ids {seen[folded]!r} and {student.id!r} differ only in case; "
                "they would share one file on macOS and Windows",
                file=roster,
            )
        seen[folded] = student.id


def _write(root: Path, files: dict[str, bytes], folders: set[Path] | None = None) -> None:
    """Write ``files`` under ``root``; ``folders``: those made already (by earlier calls)."""
    folders = set() if folders is None else folders
    for rel, data in files.items():
        path = root / rel
        if path.parent not in folders:  # a handful of folders for thousands of files
            path.parent.mkdir(parents=True, exist_ok=True)
            folders.add(path.parent)
        path.write_bytes(data)


@contextmanager
def progress_bar(console: Console) -> Iterator[Progress]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        yield progress


# ------------------------------------------------------------ the command


def generate_command(
    assignment_path: str,
    roster_path: str,
    out_dir: str,
    *,
    pdf: bool,
    jobs: int,
    wait: float = 0.0,
) -> int:
    """``grader generate``; 0 on success, 1 when TeX failed (everything else is written)."""
    from grader.make import pdf as typesetting

    started = time.monotonic()
    assignment = load_assignment(assignment_path)
    students = load_roster(roster_path)
    _check_ids(students, roster_path)
    secret = read_secret(assignment)
    out = Path(os.path.realpath(out_dir))  # "." or a symlink: the folder itself is replaced
    check_inputs_outside(out, out_dir, {"assignment": assignment_path, "roster": roster_path})
    engine = typesetting.find_engine() if pdf else None
    try:
        with exclusive(out, wait=wait):
            clean_beside(out)
            _check_target(out)
            previous = read_listed(out)
            foreign = foreign_entries(out, previous) if previous is not None else []
            tex_error = _build(
                assignment,
                students,
                secret,
                assignment_path,
                out,
                foreign,
                engine=engine,
                jobs=jobs,
            )
    except OSError as exc:
        raise os_error(exc, out_dir) from None

    if pdf and engine is None:
        click.echo(f"warning: {typesetting.INSTALL_HINT}", err=True)
    if tex_error is not None:
        click.echo(f"error: {tex_error}", err=True)
        log = out / "tex-error.log"
        where = f" (TeX's log: {Path(out_dir) / 'tex-error.log'})" if log.is_file() else ""
        click.echo(
            f"error: no PDFs were written{where}; the .tex and .json files and the manifest "
            "are complete",
            err=True,
        )
    with_pdf = engine is not None and tex_error is None
    _summary(Path(out_dir), len(students), with_pdf=with_pdf, seconds=time.monotonic() - started)
    if foreign:
        shown = ", ".join(foreign[:10]) + (
            f" and {len(foreign) - 10} more" if len(foreign) > 10 else ""
        )
        click.echo(f"kept {len(foreign)} entries that are not part of a build: {shown}")
    return 1 if tex_error is not None else 0


FLUSH_EVERY = 64  # students whose files are written at once (memory stays flat)


def _build(
    assignment: Assignment,
    students: Sequence[Student],
    secret: bytes | None,
    assignment_path: str,
    out: Path,
    foreign: list[str],
    *,
    engine: str | None,
    jobs: int,
) -> str | None:
    """Write the build into a staging folder and swap it in; TeX's error, if any.

    Files go to disk as they are made and only their sha256 is kept, so memory does not
    grow with the class; so do the students' parts of the class documents, for TeX
    (:mod:`grader.make.spool`)."""
    digests: dict[str, str] = {}
    tex_error: str | None = None
    with batch_gc(), progress_bar(Console(stderr=True)) as progress:
        staging = Staging.create(out.parent, staging_prefix(out), out.name)
        root = staging.path
        bodies: dict[Kind, BodySpool] = {}
        try:
            if engine is not None:  # TeX's input, kept on disk until TeX runs
                (root / TEX_WORK).mkdir()
                bodies = {kind: BodySpool(root / TEX_WORK / kind) for kind, _ in KINDS}
            folders: set[Path] = set()
            pending = shared_files(assignment)
            for count, output in enumerate(
                all_outputs(assignment, students, secret, jobs, progress), start=1
            ):
                pending.update(output.files)
                if count % FLUSH_EVERY == 0:
                    _flush(root, pending, folders, digests)
                if engine is not None:
                    for kind, body in output.bodies.items():
                        bodies[kind].append(body)
            _flush(root, pending, folders, digests)
            if engine is not None:
                task = progress.add_task("Typesetting sheets and keys", total=None)
                pdf_digests, tex_error = _typeset(assignment, students, bodies, root, engine)
                progress.remove_task(task)
                digests.update(pdf_digests)
            manifest = make_manifest(
                assignment_id=assignment.id,
                assignment_sha256=assignment_digest(Path(assignment_path).read_bytes()),
                fingerprint=secret_fingerprint(secret, assignment.id)
                if needs_secret(assignment)
                else None,
                students=list(students),
                digests=digests,
                pdf=engine is not None and tex_error is None,
                variant_search_version=search_version(assignment),
            )
            (root / MANIFEST).write_text(dump_json(manifest), encoding="utf-8")
            swap_in(staging, out, foreign)
        except BaseException:
            staging.remove()
            raise
        finally:
            for spool in bodies.values():
                spool.close()
    return tex_error


def _flush(
    root: Path, pending: dict[str, bytes], folders: set[Path], digests: dict[str, str]
) -> None:
    _write(root, pending, folders)
    digests.update((rel, sha256(data)) for rel, data in pending.items())
    pending.clear()


def _typeset(
    assignment: Assignment,
    students: Sequence[Student],
    bodies: Mapping[Kind, Sequence[str]],
    staging: Path,
    engine: str,
) -> tuple[dict[str, str], str | None]:
    """Both class documents through TeX at once, the PDFs written into ``staging``:
    (every PDF's sha256 by its build path, None) or ({}, the error) when TeX failed (no
    PDF left behind)."""
    from grader.make.pdf import ClassDocument, TexFailure, typeset

    ids = [s.id for s in students]
    documents = [
        ClassDocument(folder, class_head(assignment, kind), bodies[kind], ids)
        for kind, folder in KINDS
    ]
    digests: dict[str, str] = {}  # every PDF's sha256

    def write(folder: str, sid: str, data: bytes) -> None:
        # each student's PDF goes to disk as soon as it is split (a thread of typeset)
        (staging / folder / f"{sid}.pdf").write_bytes(data)
        digests[f"{folder}/{sid}.pdf"] = sha256(data)

    try:
        results = typeset(documents, staging / TEX_WORK, engine, sink=write)
        for folder, result in results.items():  # the class PDFs, moved from TeX's folder
            rel = f"{folder}/all.pdf"
            os.replace(result.all_pdf, staging / rel)
            digests[rel] = file_sha256(staging / rel)
    except TexFailure as exc:
        for rel in digests:  # the students of the parts that were typeset
            (staging / rel).unlink(missing_ok=True)
        if exc.log:  # kept beside the build for whoever debugs it (not part of the build)
            (staging / "tex-error.log").write_text(exc.log, encoding="utf-8")
        return {}, exc.line()
    finally:
        shutil.rmtree(staging / TEX_WORK, ignore_errors=True)
    return digests, None


def _summary(out: Path, count: int, *, with_pdf: bool, seconds: float) -> None:
    pdf_note = " and .pdf" if with_pdf else ""
    lines = [
        f"Generated {count} student{'s' if count != 1 else ''} into {out} in {seconds:.1f} s:",
        f"  sheets/     problem sheets (.tex{pdf_note})"
        + (", all.pdf with every sheet for printing" if with_pdf else ""),
        f"  keys/       solution keys (.tex{pdf_note}, .json)",
        "  templates/  answer templates to hand out (.json)",
        "  forms/      answer pages to hand out (.html: fill in offline, download the .json)",
        "  schema.json, manifest.json (check the build with: grader check ASSIGNMENT DIR)",
    ]
    click.echo("\n".join(lines))
