"""Typesetting: one sandboxed TeX job per document kind, then one PDF per student.

A whole class is typeset in one document (one TeX start-up instead of one per student:
an order of magnitude faster), and the PDF is split at the named destinations
``student<N>`` / ``student<N>-end`` that the templates put on each student's first and
last page.  TeX runs with shell escape off, ``openin_any=p``/``openout_any=p`` (no
reading or writing outside its directory), ``-halt-on-error`` and a time limit that
kills the whole process group.  Output is reproducible: the preamble drops dates and
the file ID, and the environment pins SOURCE_DATE_EPOCH for anything else.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.make.documents import END, join_document, student_at_line
from grader.make.pdf_join import JoinError, stream_join
from grader.make.shared_pictures import iter_shared, share_pictures

ENGINE = "pdflatex"
# One run: the bookmarks (the bookmark package) and the "page X of Y" footers (filled in
# at each student's end, see the preamble) need no second run.
RUNS = 1
JOBNAME = "all"
INSTALL_HINT = (
    "PDFs were skipped: no TeX engine (pdflatex) was found on PATH. Everything else is written; "
    "the .tex files compile as they are. To get PDFs, install TeX and run generate again: "
    "Debian/Ubuntu: sudo apt-get install texlive-latex-recommended texlive-latex-extra "
    "texlive-fonts-recommended texlive-lang-cyrillic texlive-pictures lmodern cm-super; "
    "macOS: MacTeX (https://tug.org/mactex/); Windows: MiKTeX (https://miktex.org/)."
)


class TexFailure(Exception):
    """TeX stopped with an error; ``line()`` is what the user reads, ``log`` TeX's own log."""

    def __init__(self, message: str, log: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log = log

    def line(self) -> str:
        return self.message


@dataclass(frozen=True)
class TexJob:
    """One batched document: its name (``sheets``/``keys``), text, and students in order;
    ``first`` is the class position of its first student (a part of a class document
    starts further on)."""

    name: str
    tex: str | ClassText
    student_ids: Sequence[str]
    first: int = 1

    def write(self, path: Path) -> None:
        """The job's text into TeX's input file ``path``."""
        if isinstance(self.tex, str):
            path.write_text(self.tex, encoding="utf-8")
        else:
            self.tex.write(path)

    def cost(self) -> float:
        text = text_cost(self.tex) if isinstance(self.tex, str) else self.tex.cost()
        return text + STUDENT_US * len(self.student_ids)


# What typesetting costs, in estimated microseconds of pdfTeX, for sharing the work out
# between the cores.  Fitted 2026-12-05 by least squares on 12 class documents (the sheets
# and keys of one-exercise courses of each family and of the sample course, 60 students,
# ``pdflatex -draftmode``, one run, the 0.27 s start-up taken off): a student's pages
# 2.6 ms (boxes held back, footers, shipping out), 0.88 us a character, 23 us a group
# ``{`` (what macros and mathematics cost), 3.5 ms a TikZ path command TeX parses (a
# drawing several students share counted once, as TeX draws it).  The sample course's
# sheets and keys come out 18.7 and 30.8 ms against 19.1 and 30.6 measured (the length
# alone had the sheets dearer: the chain-rule graph's PDF operators are long but cheap).
STUDENT_US = 2_600
CHAR_US = 0.88
GROUP_US = 23
TIKZ_COMMAND_US = 3_500
# PDF operators TeX hands on to the PDF without reading them (chain_rule's drawing):
# their characters cost next to nothing
PDF_OPERATORS_RE = re.compile(r"\\crpaths\{[^}]*\}")
TIKZ_COMMAND_RE = re.compile(r"\\(?:draw|node|path|fill|filldraw|shade|coordinate)\b")
MIN_PART = 8  # students: a part also pays for the preamble (0.27 s a run)
# The most students in one part.  Splitting a part's PDF holds qpdf's index of its objects
# (about 0.9 KB an object, some 35 a student), so a class document longer than this is
# typeset in parts of at most this many students and joined one part at a time (see
# :mod:`grader.make.pdf_join`): a build's memory stays flat in the class size.
MAX_PART = 250
PLAN_CORES = 2  # what the parts are planned for (see plan_parts)
# A document is cut into parts only when, whole, it would keep its core this many times
# longer than an even share of the work: parts must be joined into the class PDF after,
# each pays for the preamble and its own copy of the fonts, and its students' PDFs are
# split while the other core still typesets.  Measured at 1 000 sample-course students
# (keys 1.2 times an even share): cut into parts, 43.9 s wall and 380 MB, whole 44.6 s
# and 264 MB.
UNEVEN = 1.4


def text_cost(tex: str) -> float:
    """Estimated microseconds TeX takes to typeset ``tex`` (see ``STUDENT_US``)."""
    operators = sum(len(m) for m in PDF_OPERATORS_RE.findall(tex))
    return (
        CHAR_US * (len(tex) - operators)
        + GROUP_US * tex.count("{")
        + TIKZ_COMMAND_US * len(TIKZ_COMMAND_RE.findall(tex))
    )


@dataclass(frozen=True)
class ClassText:
    """A class document's text (or a part's): the preamble, then each student's body with
    the drawings several of them share saved once (see shared_pictures).  The bodies may
    be on disk (:class:`grader.make.spool.BodySpool`): the text is written to TeX's input
    one body at a time and is never whole in memory, except as ``str()`` (for tests, and
    to name the student of a TeX error)."""

    head: str
    bodies: Sequence[str]

    def write(self, path: Path) -> None:
        with path.open("w", encoding="utf-8") as out:
            out.write(self.head)
            for body in iter_shared(self.bodies):
                out.write(body)
            out.write(END)

    def __str__(self) -> str:
        return join_document(self.head, share_pictures(self.bodies))

    def cost(self) -> float:
        """The text's cost as TeX reads it: a picture several students share once."""
        return text_cost(self.head) + sum(text_cost(body) for body in iter_shared(self.bodies))


@dataclass(frozen=True)
class ClassDocument:
    """One kind's class document: the preamble and each student's body, in class order."""

    name: str
    head: str
    bodies: Sequence[str]
    student_ids: Sequence[str]

    def cost(self) -> float:
        return ClassText("", self.bodies).cost() + STUDENT_US * len(self.bodies)

    def parts(self, count: int) -> list[TexJob]:
        """The document as ``count`` TeX jobs of consecutive students (one: as it is)."""
        n = len(self.bodies)
        bounds = [round(i * n / count) for i in range(count + 1)]
        return [
            TexJob(
                self.name,
                ClassText(self.head, self.bodies[lo:hi]),
                self.student_ids[lo:hi],
                first=lo + 1,
            )
            for lo, hi in zip(bounds, bounds[1:], strict=False)
            if hi > lo
        ]


def plan_parts(documents: Sequence[ClassDocument]) -> list[list[TexJob]]:
    """Each document as the TeX jobs that share the two cores evenly enough.  The sample
    course's keys cost 1.5 times its sheets (35 : 24 ms a student), close enough for each
    to be typeset whole, one per core: the class PDF is TeX's own, with nothing to join.
    A document that would keep its core much longer than the other (see ``UNEVEN``) is
    cut into parts of about half a core's share each, joined after (:func:`join_pdfs`);
    a small class is never cut.  A document of more than ``MAX_PART`` students is cut
    into parts of at most that many, whatever their costs (memory).

    The plan is part of the output (a PDF embeds the font glyphs its part uses), so it
    depends on the documents only, never on the machine: the same build everywhere.
    """
    costs = [d.cost() for d in documents]
    fewest = [-(-len(d.bodies) // MAX_PART) for d in documents]  # parts of MAX_PART at most
    if sum(len(d.bodies) for d in documents) < 2 * MIN_PART * PLAN_CORES:
        return [d.parts(1) for d in documents]
    if max(costs) <= UNEVEN * sum(costs) / PLAN_CORES:
        return [d.parts(n) for d, n in zip(documents, fewest, strict=True)]
    share = sum(costs) / (PLAN_CORES * 2)
    return [
        d.parts(max(n, min(round(cost / share), len(d.bodies) // MIN_PART)))
        for d, cost, n in zip(documents, costs, fewest, strict=True)
    ]


@dataclass(frozen=True)
class TexResult:
    """A typeset class document: its PDF on disk, and (without a sink) each student's."""

    all_pdf: Path
    per_student: dict[str, bytes]


def find_engine() -> str | None:
    return shutil.which(ENGINE)


def timeout_for(students: int) -> float:
    """Seconds one TeX run may take: generous, but a runaway job cannot hang a build."""
    return 120.0 + 2.0 * students


def tex_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        openin_any="p",
        openout_any="p",
        shell_escape="f",
        max_print_line="1000",  # unwrapped log lines: errors are parsed from the log
        SOURCE_DATE_EPOCH="0",
        FORCE_SOURCE_DATE="1",
    )
    return env


def compile_one(job: TexJob, workdir: Path, engine: str) -> Path:
    """Typeset ``job`` in ``workdir`` (private, emptied first); the PDF, in ``workdir``."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    job.write(workdir / f"{JOBNAME}.tex")
    timeout = timeout_for(len(job.student_ids))
    command = [engine, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error"]
    for _ in range(RUNS):
        _run([*command, f"{JOBNAME}.tex"], workdir, timeout, job)
    pdf = workdir / f"{JOBNAME}.pdf"
    if not pdf.is_file():
        raise TexFailure(f"TeX produced no PDF for the {job.name}")
    return pdf


def _run(command: list[str], workdir: Path, timeout: float, job: TexJob) -> None:
    proc = subprocess.Popen(
        command,
        cwd=workdir,
        env=tex_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so a timeout kills mktexpk & co too
        preexec_fn=_die_with(os.getpid()),
    )
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise TexFailure(
            f"TeX took longer than {timeout:.0f} s on the {job.name} and was stopped"
        ) from None
    except BaseException:
        _kill_group(proc)
        raise
    if code != 0:
        log = workdir / f"{JOBNAME}.log"
        text = log.read_text("utf-8", errors="replace") if log.is_file() else ""
        raise TexFailure(explain_failure(job, text), log=text)


def _libc(name: str) -> Any:
    """The C library's function ``name`` on Linux (None elsewhere), resolved once, at
    import (before any fork)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):
        return None


_PRCTL = _libc("prctl")
if _PRCTL is not None:
    _PRCTL.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with(parent: int) -> Callable[[], None] | None:
    """For ``preexec_fn``: have the kernel SIGKILL the TeX process when the thread that
    started it dies, however it dies (a SIGKILL of ``generate`` runs no clean-up of ours).
    The child makes one system call, nothing else."""
    if _PRCTL is None:
        return None

    def die_with_parent() -> None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was asked for
            os._exit(1)

    return die_with_parent


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()


_CONTEXT_RE = re.compile(r"^l\.(\d+) ?(.*)$")
# a package's file (enumitem.sty, t2aenc.def), not a path a document asked for (/etc/passwd)
_MISSING_FILE_RE = re.compile(
    r"File `([\w.-]+\.(?:sty|cls|def|fd|cfg|clo|ldf|tfm|enc|map|pfb))' not found"
)


def explain_failure(job: TexJob, log: str) -> str:
    """One readable line from a TeX log: the error, its input line and whose part it is."""
    lines = log.splitlines()
    errors: list[str] = []
    tex_line: int | None = None
    context = ""
    for i, text in enumerate(lines):
        if text.startswith("!") and "==> Fatal error" not in text and "Emergency stop" not in text:
            errors.append(text[1:].strip())
            for follow in lines[i + 1 : i + 30]:
                m = _CONTEXT_RE.match(follow)
                if m:
                    if tex_line is None:
                        tex_line, context = int(m.group(1)), m.group(2).strip()
                    break
    if not errors:
        return f"TeX failed on the {job.name} (see its log: no error message found)"
    where = ""
    if tex_line is not None:
        index = student_at_line(str(job.tex), tex_line)
        at = None if index is None else index - job.first  # markers count in the class
        who = (
            f"student {job.student_ids[at]}, "
            if at is not None and 0 <= at < len(job.student_ids)
            else ""
        )
        where = f" ({who}line {tex_line}: {context[:80]})"
    message = f"TeX failed on the {job.name}{where}: {errors[0][:200]}"
    missing = _MISSING_FILE_RE.search(errors[0])
    if missing:
        message += (
            f"; a TeX package is missing ({missing.group(1)}): "
            "Debian/Ubuntu: sudo apt-get install texlive-latex-extra texlive-lang-cyrillic texlive-pictures"
        )
    return message


def split_pdf(pdf: Path, count: int, first: int = 1) -> list[bytes]:
    """Cut the batched PDF into ``count`` per-student PDFs at their named destinations
    (the students at class positions ``first`` … ``first + count - 1``)."""
    return list(iter_split_pdf(pdf, count, first))


def iter_split_pdf(pdf: Path, count: int, first: int = 1) -> Generator[bytes, None, None]:
    """:func:`split_pdf` one student at a time (a build writes each as it comes).

    qpdf (through pikepdf) copies a student's pages with what they use (fonts, the shared
    drawing's form) into a new file: 2.3 ms a student against pypdf's 9.8 (measured on a
    100-student class document); object streams make each file about 5 % smaller.

    Memory: the class PDF is read from disk as needed (never whole in memory); qpdf's
    index of its objects (about 0.9 KB an object, some 40 objects a student) is the one
    part that grows with the class, so one class PDF is split at a time (``_SPLITTING``)
    and the memory is handed back to the system after it."""
    with _SPLITTING:
        try:
            yield from _split(pdf, count, first)
        finally:  # the class PDF's objects are freed (with _split's frame) by now
            _give_back_memory()


def _split(pdf: Path, count: int, first: int) -> Generator[bytes, None, None]:
    import pikepdf

    with pikepdf.open(pdf, access_mode=pikepdf.AccessMode.stream) as document:
        pages = _destination_pages(document)
        info = {key: document.docinfo[key] for key in _INFO_KEPT if key in document.docinfo}
        for index in range(first, first + count):
            start, end = pages.get(f"student{index}"), pages.get(f"student{index}-end")
            if start is None or end is None or end < start:
                raise TexFailure(f"the typeset PDF has no page range for student number {index}")
            with pikepdf.new() as student:
                student.pages.extend(document.pages[start : end + 1])
                for key, value in info.items():  # the assignment's title, as in all.pdf
                    student.docinfo[key] = value  # a string: a direct object
                yield _saved(student, document.pdf_version)


# One class PDF open in qpdf at a time: the two class documents seldom finish TeX
# together, and when they do the second waits a few seconds rather than doubling the
# memory a build needs.
_SPLITTING = threading.Lock()


def _give_back_memory() -> None:
    """Return the memory qpdf freed to the system (glibc keeps freed memory in each
    thread's arena otherwise, so a build's size would be the sum of its splits rather
    than the largest).  Called once the PDFs' Python handles are gone: qpdf frees a
    document with its last handle, not when it is closed."""
    gc.collect()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


_MALLOC_TRIM = _libc("malloc_trim")  # glibc's (elsewhere, allocators give memory back)


# What a student's own PDF keeps of the class document's information (no dates: see the
# preamble).
_INFO_KEPT = ("/Title", "/Creator", "/Producer")


def _saved(pdf: Any, version: str) -> bytes:
    """``pdf`` as bytes (see :func:`_save`)."""
    buffer = io.BytesIO()
    _save(pdf, version, buffer)
    return buffer.getvalue()


def _save(pdf: Any, version: str, target: Path | io.BytesIO) -> None:
    """Write ``pdf`` to ``target`` reproducibly: the file ID is a hash of the content."""
    import pikepdf

    pdf.save(
        target,
        deterministic_id=True,
        min_version=version,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
    )


def _destination_pages(document: Any) -> dict[str, int]:
    """Each named destination of ``document`` (hyperref's ``\\hypertarget``) -> its page
    index."""
    import pikepdf

    names = document.Root.get("/Names")
    if names is None or "/Dests" not in names:
        return {}
    index = {page.objgen: i for i, page in enumerate(document.pages)}
    pages: dict[str, int] = {}
    for name, dest in pikepdf.NameTree(names.Dests).items():
        target = _page_of(dest)
        if target is not None and target.objgen in index:
            pages[str(name)] = index[target.objgen]
    return pages


def _page_of(dest: Any) -> Any:
    """The page object of a destination: ``[page /XYZ …]`` or ``<< /D [page …] >>``."""
    import pikepdf

    if isinstance(dest, pikepdf.Dictionary):
        dest = dest.get("/D")
    if isinstance(dest, pikepdf.Array) and len(dest) > 0:
        return dest[0]
    return None


# Where a student's PDF goes as soon as it is split (the document's name, the student's
# id, the PDF): a build writes it to disk, so memory does not grow with the class.
Sink = Callable[[str, str, bytes], None]


def typeset(
    documents: Sequence[ClassDocument], workroot: Path, engine: str, sink: Sink | None = None
) -> dict[str, TexResult]:
    """Typeset the class documents on every core (see :func:`plan_parts`), then split each
    PDF into the students' own; a document typeset in parts gets its class PDF by joining
    the parts' PDFs (bookmarks kept).

    A part's PDF is split as soon as its TeX is done, while other parts' TeX still runs;
    with a ``sink``, each student's PDF is handed to it then (from the thread that split
    it) and not kept: the results' ``per_student`` stay empty.
    A failing part raises :class:`TexFailure`; the others are still waited for, and a TeX
    failure is reported before a failed split.
    """
    workers = max(1, os.cpu_count() or 1)
    planned = plan_parts(documents)
    jobs = [job for parts in planned for job in parts]
    by_cost = sorted(range(len(jobs)), key=lambda i: -jobs[i].cost())  # longest first
    with ThreadPoolExecutor(max_workers=min(len(jobs), workers)) as pool:
        futures = {
            i: pool.submit(
                _typeset_one, jobs[i], workroot / f"tex-{jobs[i].name}-{i}", engine, sink
            )
            for i in by_cost
        }
        # in class order: the first TeX failure is the one reported (the pool still waits
        # for the other parts before it lets the exception out)
        outcomes = [futures[i].result() for i in range(len(jobs))]
    results = {}
    start = 0  # the document's first job in ``jobs``
    for document, doc_jobs in zip(documents, planned, strict=True):
        pdfs: list[Path] = []
        per_student: dict[str, bytes] = {}
        doc_outcomes = outcomes[start : start + len(doc_jobs)]
        start += len(doc_jobs)
        for job, (pdf, parts) in zip(doc_jobs, doc_outcomes, strict=True):
            if isinstance(parts, BaseException):
                raise TexFailure(f"could not split the typeset {job.name}: {parts}") from None
            pdfs.append(pdf)
            if sink is None:
                per_student.update(zip(job.student_ids, parts, strict=True))
        joined = join_pdfs(pdfs, workroot / f"{document.name}.pdf")
        results[document.name] = TexResult(all_pdf=joined, per_student=per_student)
    return results


def join_pdfs(pdfs: Sequence[Path], out: Path) -> Path:
    """One PDF of the pages of ``pdfs`` in turn, written to ``out`` (one: that PDF, as it
    is), as TeX would have made it in one run (see :mod:`grader.make.pdf_join`: one part
    in memory at a time, handed back to the system after each)."""
    if len(pdfs) == 1:
        return pdfs[0]
    try:
        stream_join(pdfs, out, after_part=_give_back_memory)
    except JoinError as exc:
        raise TexFailure(f"could not join the typeset parts: {exc}") from None
    return out


def _typeset_one(
    job: TexJob, workdir: Path, engine: str, sink: Sink | None = None
) -> tuple[Path, list[bytes] | BaseException]:
    """(the PDF, beside ``workdir``; its per-student parts — none if they went to
    ``sink`` — or the exception splitting it raised); a TeX failure raises (in the
    caller's ``future.result()``, in the order of the jobs)."""
    pdf = workdir.with_name(workdir.name + ".pdf")
    os.replace(compile_one(job, workdir, engine), pdf)
    shutil.rmtree(workdir, ignore_errors=True)  # TeX's other files are no longer needed
    try:
        if sink is None:
            return pdf, split_pdf(pdf, len(job.student_ids), job.first)
        with contextlib.closing(iter_split_pdf(pdf, len(job.student_ids), job.first)) as parts:
            for sid, data in zip(job.student_ids, parts, strict=True):
                sink(job.name, sid, data)  # written before the next is split
    except Exception as exc:  # noqa: BLE001 - qpdf's errors have no common base
        return pdf, exc
    return pdf, []
