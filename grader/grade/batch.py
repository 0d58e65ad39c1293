"""``grader grade``: a batch of submissions into reports, a gradebook and a class summary.

Two passes keep memory flat in the number of submissions: the first reads each file only
to learn whose it is (so "two files for one student: the later counts" is decided before
anything is written), the second grades one file per roster student and keeps nothing but
its gradebook row and a few counts.  One unreadable file never stops the batch: it gets
a gradebook row with its reason, and the exit code says that something needs a look.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from grader.core.errors import UserError
from grader.core.fileio import atomic_write_bytes, atomic_write_text, dump_json, sync
from grader.core.gc_policy import batch_gc, worker_gc
from grader.core.outdir import exclusive, os_error
from grader.course.assignment import Assignment, Student, load_assignment, load_roster
from grader.course.submission import (
    SubmissionError,
    check_assignment,
    read_submission,
    student_of,
    submission_files,
)
from grader.course.variants import Variant, is_fully_fixed, make_variants, read_secret
from grader.grade import outputs
from grader.grade.file_problems import FileProblem, annotate, found_in, template_of, unreadable
from grader.grade.grading import GradingCache, grade_submission
from grader.grade.lms import LMS_FORMATS, lms_gradebook
from grader.grade.lms_feedback import canvas_ids, write_lms_feedback
from grader.grade.lms_intake import Chosen, Intake, take_in
from grader.grade.lms_match import Worksheet, explain_flag, read_worksheet
from grader.grade.lms_words import flag_note
from grader.grade.peers import PeerIndex, build_index
from grader.grade.reports import (
    ClassSummary,
    GradebookRow,
    gradebook_csv,
    report_flags,
    report_json_text,
    report_markdown,
    report_reason,
    score_text,
    symbol_label,
    unreadable_report_json,
    unreadable_report_markdown,
)
from grader.grade.summary_html import ItemStats, render_summary
from grader.grade.tolerance import tolerance_problem

EXIT_OK = 0
EXIT_NEEDS_ATTENTION = 1
PROGRESS_MIN = 10  # smaller batches finish before a bar would help
VARIANT_CACHE = 256


@dataclass(frozen=True)
class _Task:
    student: Student
    path: Path
    note: str  # e.g. which earlier files were superseded
    shown: str = ""  # how messages name the file (an LMS upload: its entry in the download)
    problem: str | None = None  # the upload could not be read at all (see lms_download)
    flags: tuple[str, ...] = ()  # e.g. a classmate's file, identified by its student field
    late: bool = False


@dataclass(frozen=True)
class _Outcome:
    row: GradebookRow
    mistakes: tuple[str, ...] = ()
    # (pointer, status, diagnosis ids) per field, for the class report's item analysis
    fields: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    labels: tuple[tuple[str, str], ...] = ()  # (pointer, the sheet's label) per field
    report_md: str = ""  # kept only for an LMS upload: its feedback file repeats it


class _Grader:
    """What every worker needs: the assignment, the secret, where to write, and a cache
    of variants (computing a student's variant is the costly part of grading)."""

    def __init__(
        self,
        assignment: Assignment,
        secret: bytes | None,
        out_dir: Path,
        peers: PeerIndex | None = None,
    ) -> None:
        self.assignment = assignment
        self.secret = secret
        self.reports = out_dir / "reports"
        self._variants: OrderedDict[str, list[Variant]] = OrderedDict()
        self._plans = GradingCache(VARIANT_CACHE, peers=peers, language=assignment.language)

    def variants(self, student_id: str) -> list[Variant]:
        if student_id in self._variants:
            self._variants.move_to_end(student_id)
            return self._variants[student_id]
        variants = make_variants(self.assignment, student_id, self.secret)
        self._variants[student_id] = variants
        if len(self._variants) > VARIANT_CACHE:
            self._variants.popitem(last=False)
        return variants

    def grade(self, task: _Task) -> _Outcome:
        outcome = self._grade(task)
        if task.flags or task.late:
            flags = ";".join(filter(None, [outcome.row.flags, *task.flags]))
            row = replace(outcome.row, late=task.late, flags=flags)
            outcome = replace(outcome, row=row)
        return outcome

    def _grade(self, task: _Task) -> _Outcome:
        student = task.student
        note = f"{task.note}; " if task.note else ""
        language = self.assignment.language
        where = task.shown or _shown_path(task.path)
        if task.problem is not None:  # an LMS upload that could not even be unpacked
            reason = f"{note}{where}: {task.problem}"
            text = self._write_unreadable(
                student, unreadable(SubmissionError(task.problem), language)
            )
            row = GradebookRow(student.id, student.name, None, None, "invalid", reason)
            return _Outcome(row, report_md=text)
        try:
            data = read_submission(task.path)
            student_of(data)  # a file pass 1 could only guess is refused here, with its reason
            check_assignment(data, self.assignment.id)
            variants = self.variants(student.id)
            report = grade_submission(self.assignment, student, variants, data, self._plans)
            template = template_of(self.assignment.id, student.id, variants)
            problems = found_in(data, template, language, lambda: _text_of(task.path))
            # the report says it too (e.g. a classmate's file, graded as yours)
            problems += [FileProblem("", None, None, flag_note(f, language)) for f in task.flags]
        except SubmissionError as exc:
            reason = f"{note}{where}: {exc.message}"
            text = self._write_unreadable(student, unreadable(exc, language))
            row = GradebookRow(student.id, student.name, None, None, "invalid", reason)
            return _Outcome(row, report_md=text if task.shown else "")
        except UserError:
            raise  # the assignment itself is unusable: stop the batch (exit 2)
        except Exception as exc:  # noqa: BLE001 - a bug must not cost the rest of the batch
            reason = (
                f"{note}{where}: internal error while grading "
                f"({type(exc).__name__}: {exc}); please report this"
            )
            return _Outcome(GradebookRow(student.id, student.name, None, None, "invalid", reason))
        if problems:  # the fields a file problem costs say so
            report = replace(report, fields=annotate(report.fields, problems, language))
        # not fsynced one by one: grade_command syncs once, before the gradebook
        _write(
            self.reports / f"{student.id}.json",
            report_json_text(report, problems),
            durable=False,
        )
        markdown = report_markdown(
            report,
            name=student.name,
            title=self.assignment.title,
            file_problems=problems,
            language=language,
        )
        _write(self.reports / f"{student.id}.md", markdown, durable=False)
        # the likeliest diagnosis of each field (alternatives would double-count)
        mistakes = tuple(sorted({f.diagnosis[0].id for f in report.fields if f.diagnosis}))
        row = GradebookRow(
            student.id,
            student.name,
            report.score,
            report.max_score,
            "submitted",
            f"{note}{where}: {report_reason(report)}",
            report_flags(report),
        )
        labels = tuple((f.pointer, symbol_label(f.label)) for f in report.fields)
        kept = markdown if task.shown else ""
        return _Outcome(row, mistakes, tuple(f.item for f in report.fields), labels, kept)

    def _write_unreadable(self, student: Student, problem: FileProblem) -> str:
        """A report for a file of this student that could not be read: score 0, why.
        Its Markdown is returned (an LMS feedback file repeats it)."""
        top = sum((spec.points for spec in self.assignment.exercises), Fraction(0))
        data = unreadable_report_json(self.assignment.id, student.id, top, problem)
        _write(self.reports / f"{student.id}.json", dump_json(data), durable=False)
        text = unreadable_report_markdown(
            name=student.name,
            title=self.assignment.title,
            student=student.id,
            max_score=top,
            problem=problem,
            language=self.assignment.language,
        )
        _write(self.reports / f"{student.id}.md", text, durable=False)
        return text


def _text_of(path: Path) -> str | None:
    """A submission's text again, to locate its problems (None if it cannot be read)."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


# Worker processes build their own _Grader once (see _init_worker).
_WORKER: _Grader | None = None


def _init_worker(
    assignment: Assignment, secret: bytes | None, out_dir: Path, peers: PeerIndex | None
) -> None:
    global _WORKER
    _WORKER = _Grader(assignment, secret, out_dir, peers)
    worker_gc()


def _grade_in_worker(task: _Task) -> _Outcome:
    assert _WORKER is not None
    return _WORKER.grade(task)


def grade_command(
    assignment_path: str,
    paths: list[str],
    roster_path: str,
    out_dir: str,
    *,
    lms: str | None,
    jobs: int,
    wait: float = 0.0,
    source: str | None = None,
    moodle_worksheet: str | None = None,
) -> int:
    """Grade ``paths`` (files, directories of ``*.json``, or Moodle and Canvas submission
    downloads, see :mod:`grader.grade.lms_intake`) against the roster's variants;
    write ``reports/<id>.json|.md``, ``gradebook.csv`` and ``summary.html`` under ``out_dir``
    (and ``gradebook-<lms>.csv`` for ``lms`` = moodle or canvas).

    Exit code 0 when every submission was graded, 1 when some could not be (a gradebook
    row says why); a :class:`UserError` (exit 2) for an unusable assignment, roster or
    secret.
    """
    if lms is not None and lms not in LMS_FORMATS:
        raise UserError(f"--lms {lms!r}: expected one of {', '.join(LMS_FORMATS)}")
    for path in paths:  # a mistyped path is bad usage, not "no submission" for everyone
        if not os.path.lexists(path):
            raise UserError("no such file or directory", file=path)
    assignment = load_assignment(assignment_path)
    _check_tolerances(assignment, assignment_path)
    roster = load_roster(roster_path)
    _check_report_names(roster, roster_path)
    secret = read_secret(assignment)
    out = Path(out_dir)
    worksheet = read_worksheet(moodle_worksheet) if moodle_worksheet else None
    try:
        # one run at a time; everything is written into a staging folder inside --out and
        # swapped in as one set (see grader.grade.outputs)
        with exclusive(out, wait=wait), batch_gc():
            outputs.finish_stale(out)
            # an upload's bytes go to a private folder (0700), never beside the user's files
            with tempfile.TemporaryDirectory(prefix="grader-lms-") as scratch:
                intake = take_in(paths, source, roster, roster_path, worksheet, Path(scratch))
                files = submission_files(intake.plain)
                staged = outputs.staging(out)
                try:
                    code = _grade_batch(
                        assignment, roster, secret, staged.path, files, lms, jobs, out, intake,
                        worksheet,
                    )  # fmt: skip
                    outputs.swap_in(staged, out)
                except BaseException:
                    staged.remove()
                    raise
                return code
    except OSError as exc:
        raise os_error(exc, out_dir) from None


def _grade_batch(
    assignment: Assignment,
    roster: Sequence[Student],
    secret: bytes | None,
    out: Path,
    files: Sequence[Path],
    lms: str | None,
    jobs: int,
    shown: Path,
    intake: Intake | None = None,
    worksheet: Worksheet | None = None,
) -> int:
    """Grade into ``out``; messages name ``shown``, where the outputs will be."""
    intake = intake or Intake()
    err = Console(stderr=True)
    show = err.is_terminal and len(files) + len(roster) >= PROGRESS_MIN
    with Progress(console=err, disable=not show, transient=True) as progress:
        claims, extra_rows = _who_handed_in(
            files, {s.id for s in roster}, progress.track(files, description="reading")
        )
        tasks, missing = _tasks(roster, claims, intake.chosen)
        extra_rows += intake.rows
        # the roster's given data, derived once: work that follows a classmate's variant
        # (nothing to find when every exercise gives everybody the same data)
        peers = (
            None
            if all(is_fully_fixed(spec) for spec in assignment.exercises)
            else build_index(roster, lambda sid: make_variants(assignment, sid, secret))
        )
        outcomes = _run(tasks, assignment, secret, out, jobs, peers)
        by_student: dict[str, _Outcome] = {}
        items = ItemStats()
        for outcome in progress.track(outcomes, total=len(tasks), description="grading"):
            items.add(outcome.row.student, outcome.fields, outcome.labels)
            by_student[outcome.row.student] = replace(outcome, fields=(), labels=())
    summary = ClassSummary()
    rows: list[GradebookRow] = []
    for student in roster:
        outcome = by_student.get(student.id) or _Outcome(missing[student.id])
        rows.append(outcome.row)
        summary.add(outcome.row, outcome.mistakes)
    for row in extra_rows:
        rows.append(row)
        summary.add(row)
    sync()  # every report is on disk before a gradebook that lists it
    _write(out / "gradebook.csv", gradebook_csv(rows, lms_columns=bool(intake.downloads)))
    row_dicts = [r.as_dict() for r in rows]
    page = render_summary(
        assignment_id=assignment.id,
        title=assignment.title,
        stats=items,
        gradebook=[r.plain() for r in rows],  # the page shows names as written
        language=assignment.language,
    )
    _write(out / "summary.html", page)
    lms_files: list[Path] = []
    if lms is not None:
        total = score_text(sum((spec.points for spec in assignment.exercises), Fraction(0)))
        roster_rows = row_dicts[: len(roster)]  # files that belong to nobody: gradebook.csv only
        text = lms_gradebook(
            lms,
            roster_rows,
            assignment_title=assignment.title,
            max_score=total,
            canvas_user_ids=canvas_ids(intake.chosen),
        )
        _write(out / f"gradebook-{lms}.csv", text)
        lms_files = write_lms_feedback(
            lms, assignment, out, rows, by_student, intake, worksheet, _write_bytes
        )
    console = Console(highlight=False, soft_wrap=True)
    if not files and not intake.downloads:
        console.print("warning: no submission files found", markup=False)
    console.print(summary.render(), markup=False)
    for line in _attention_lines(rows):
        console.print(line, markup=False)
    extra = f", {shown / f'gradebook-{lms}.csv'}" if lms else ""
    extra += "".join(f", {shown / p.name}" for p in lms_files)
    console.print(
        f"wrote {shown / 'reports'}, {shown / 'gradebook.csv'}{extra} and {shown / 'summary.html'}",
        markup=False,
    )
    failed = any(r.status in ("invalid", "unmatched") for r in rows)
    return EXIT_NEEDS_ATTENTION if failed else EXIT_OK


SHOWN_FILES = 20  # files the console names one by one; the gradebook has them all


def _attention_lines(rows: Sequence[GradebookRow]) -> list[str]:
    """One line per file that could not be graded or matched, with why."""
    flagged = [r for r in rows if r.status in ("invalid", "unmatched")]
    lines = [
        f"  {r.status}: {r.student + ': ' if r.student else ''}{r.reason}"
        for r in flagged[:SHOWN_FILES]
    ]
    if len(flagged) > SHOWN_FILES:
        lines.append(f"  … and {len(flagged) - SHOWN_FILES} more (see gradebook.csv)")
    return lines


def _check_tolerances(assignment: Assignment, file: str) -> None:
    for i, spec in enumerate(assignment.exercises):
        problem = tolerance_problem(spec.tolerance)
        if problem:
            raise UserError(problem, file=file, where=f"/exercises/{i}/tolerance")
        for key, rule in spec.field_tolerance.items():
            problem = tolerance_problem(rule)
            if problem:
                raise UserError(problem, file=file, where=f"/exercises/{i}/field_tolerance/{key}")


def _check_report_names(roster: Sequence[Student], file: str) -> None:
    """Reports are named by id: ids equal but for case would share one file on macOS and
    Windows (one student's report would silently replace another's)."""
    seen: dict[str, str] = {}
    for student in roster:
        other = seen.setdefault(student.id.casefold(), student.id)
        if other != student.id:
            raise UserError(
                f"student ids {other!r} and {student.id!r} differ only in case; "
                "they would share one report file on macOS and Windows",
                file=file,
            )


def _who_handed_in(
    files: Sequence[Path], roster_ids: set[str], reading: Iterable[Path]
) -> tuple[dict[str, list[Path]], list[GradebookRow]]:
    """Pass 1: each file's student (files in sorted order), and a row for every file that
    cannot be attributed to a roster student."""
    claims: dict[str, list[Path]] = {}
    rows: list[GradebookRow] = []
    for path in reading:
        try:
            student = student_of(read_submission(path))
        except SubmissionError as exc:
            guess = _guess_student(path)
            if guess not in roster_ids and path.stem in roster_ids:
                guess = path.stem  # unreadable inside: the file's name says whose it is
            if guess in roster_ids:  # pass 2 reports the error on the student's own row
                claims.setdefault(guess, []).append(path)
            else:
                reason = f"{_shown_path(path)}: {exc.message}"
                rows.append(GradebookRow("", "", None, None, "invalid", reason))
            continue
        if student not in roster_ids:
            rows.append(
                GradebookRow(
                    student,
                    "",
                    None,
                    None,
                    "unmatched",
                    f"{_shown_path(path)}: student id {student!r} is not on the roster",
                )
            )
            continue
        claims.setdefault(student, []).append(path)
    return claims, rows


_STUDENT_FIELD = re.compile(rb'"student"\s*:\s*"([A-Za-z0-9][A-Za-z0-9_.-]{0,63})"')


def _guess_student(path: Path) -> str | None:
    """Whose a file that cannot be read as a submission probably is: its ``"student"``
    field found by a plain search (a truncated file still has it), else None."""
    if not path.is_file():  # a FIFO would block the batch forever; a device has no field
        return None
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return None
    m = _STUDENT_FIELD.search(head)
    return m.group(1).decode("ascii") if m else None


def _tasks(
    roster: Sequence[Student],
    claims: dict[str, list[Path]],
    chosen: Mapping[str, Chosen] | None = None,
) -> tuple[list[_Task], dict[str, GradebookRow]]:
    tasks: list[_Task] = []
    missing: dict[str, GradebookRow] = {}
    for student in roster:
        upload = (chosen or {}).get(student.id)
        if upload is not None:  # for an LMS download, the uploader is the student
            tasks.append(_lms_task(student, upload, claims.get(student.id, [])))
            continue
        files = claims.get(student.id)
        if not files:
            missing[student.id] = GradebookRow(
                student.id, student.name, None, None, "missing", "no submission"
            )
            continue
        note = ""
        if len(files) > 1:
            earlier = ", ".join(_shown_path(p) for p in files[:-1])
            note = f"{len(files)} files for this student: graded the last in sorted order (ignored: {earlier})"
        tasks.append(_Task(student, files[-1], note))
    return tasks, missing


def _lms_task(student: Student, chosen: Chosen, files: Sequence[Path]) -> _Task:
    note = "; ".join(filter(None, [chosen.note, *map(explain_flag, chosen.claim.flags)]))
    if files:
        ignored = ", ".join(_shown_path(p) for p in files)
        note = "; ".join(filter(None, [note, f"the LMS upload was graded (ignored: {ignored})"]))
    return _Task(
        student,
        chosen.path,
        note,
        shown=chosen.shown,
        problem=chosen.problem,
        flags=chosen.claim.flags,
        late=chosen.claim.upload.late,
    )


def _run(
    tasks: Sequence[_Task],
    assignment: Assignment,
    secret: bytes | None,
    out: Path,
    jobs: int,
    peers: PeerIndex | None = None,
) -> Iterator[_Outcome]:
    """Pass 2, in roster order: in this process, or spread over ``jobs`` processes."""
    if jobs <= 1 or len(tasks) <= 1:
        grader = _Grader(assignment, secret, out, peers)
        return (grader.grade(t) for t in tasks)
    return _run_pool(tasks, assignment, secret, out, jobs, peers)


def _run_pool(
    tasks: Sequence[_Task],
    assignment: Assignment,
    secret: bytes | None,
    out: Path,
    jobs: int,
    peers: PeerIndex | None,
) -> Iterator[_Outcome]:
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(tasks), os.cpu_count() or 1),
        initializer=_init_worker,
        initargs=(assignment, secret, out, peers),
    ) as pool:
        yield from pool.map(_grade_in_worker, tasks, chunksize=4)


def _write(path: Path, text: str, *, durable: bool = True) -> None:
    """Write atomically; a directory we cannot write to is the user's to fix (exit 2)."""
    try:
        atomic_write_text(path, text, durable=durable, shared=True)  # the user's umask
    except OSError as exc:
        raise UserError(f"cannot write the file: {exc.strerror or exc}", file=str(path)) from None


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise UserError(f"cannot write the file: {exc.strerror or exc}", file=str(path)) from None


def _shown_path(path: Path) -> str:
    """A file's path for a message, as the user gave it (bounded, printable)."""
    text = str(path)
    return text if text.isprintable() and len(text) <= 200 else repr(text[:200])
