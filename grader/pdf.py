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

import io
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from grader.documents import student_at_line

ENGINE = "pdflatex"
RUNS = 2  # the second run puts in the bookmarks and the "page X of Y" footers
# The first run only has to write the .aux for the second: in draft mode TeX skips
# writing the PDF (14 % of a sheets batch here), and the final PDF is byte for byte the same.
DRAFT_FIRST = "-draftmode"
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
    """One batched document: its name (``sheets``/``keys``), text, and students in order."""

    name: str
    tex: str
    student_ids: Sequence[str]


@dataclass(frozen=True)
class TexResult:
    all_pdf: bytes
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


def compile_one(job: TexJob, workdir: Path, engine: str) -> bytes:
    """Typeset ``job`` in ``workdir`` (private, emptied first); the PDF bytes."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / f"{JOBNAME}.tex").write_text(job.tex, encoding="utf-8")
    timeout = timeout_for(len(job.student_ids))
    command = [engine, "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error"]
    for run in range(RUNS):
        draft = [DRAFT_FIRST] if run < RUNS - 1 else []
        _run([*command, *draft, f"{JOBNAME}.tex"], workdir, timeout, job)
    pdf = workdir / f"{JOBNAME}.pdf"
    if not pdf.is_file():
        raise TexFailure(f"TeX produced no PDF for the {job.name}")
    return pdf.read_bytes()


def _run(command: list[str], workdir: Path, timeout: float, job: TexJob) -> None:
    proc = subprocess.Popen(
        command,
        cwd=workdir,
        env=tex_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so a timeout kills mktexpk & co too
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
_MISSING_FILE_RE = re.compile(r"File `([\w.-]+\.(?:sty|cls|def|fd|cfg|clo|ldf|tfm|enc|map|pfb))' not found")


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
        index = student_at_line(job.tex, tex_line)
        who = (
            f"student {job.student_ids[index - 1]}, "
            if index is not None and 0 < index <= len(job.student_ids)
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


def split_pdf(pdf: bytes, count: int) -> list[bytes]:
    """Cut the batched PDF into ``count`` per-student PDFs at their named destinations."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(pdf))
    pages: dict[str, int] = {}
    for name, dest in reader.named_destinations.items():
        page = reader.get_destination_page_number(dest)
        if page is not None:
            pages[str(name)] = page
    parts = []
    for index in range(1, count + 1):
        first, last = pages.get(f"student{index}"), pages.get(f"student{index}-end")
        if first is None or last is None or last < first:
            raise TexFailure(f"the typeset PDF has no page range for student number {index}")
        writer = PdfWriter()
        for page in range(first, last + 1):
            writer.add_page(reader.pages[page])
        out = io.BytesIO()
        writer.write(out)
        parts.append(out.getvalue())
    return parts


def typeset(jobs: Sequence[TexJob], workroot: Path, engine: str) -> dict[str, TexResult]:
    """Run the jobs concurrently (sheets and keys: two cores), then split each PDF.

    A job's PDF is split as soon as its TeX is done, while the other job's TeX still runs
    (the keys are typeset faster than the sheets with their TikZ drawings: the split of one
    fills the core the other leaves idle).  A failing job raises :class:`TexFailure`; the
    other job is still waited for, and a TeX failure is reported before a failed split.
    """
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        futures = {
            job.name: pool.submit(_typeset_one, job, workroot / f"tex-{job.name}", engine)
            for job in jobs
        }
        outcomes = {name: future.result() for name, future in futures.items()}
    results = {}
    for job in jobs:
        pdf, parts = outcomes[job.name]
        if isinstance(parts, TexFailure):
            raise parts
        if isinstance(parts, BaseException):
            raise TexFailure(f"could not split the typeset {job.name}: {parts}") from None
        results[job.name] = TexResult(
            all_pdf=pdf, per_student=dict(zip(job.student_ids, parts, strict=True))
        )
    return results


def _typeset_one(
    job: TexJob, workdir: Path, engine: str
) -> tuple[bytes, list[bytes] | BaseException]:
    """(the PDF, its per-student parts or the exception splitting it raised); a TeX failure
    raises (in the caller's ``future.result()``, in the order of the jobs)."""
    pdf = compile_one(job, workdir, engine)
    try:
        return pdf, split_pdf(pdf, len(job.student_ids))
    except Exception as exc:  # noqa: BLE001 - pypdf's errors have no common base
        return pdf, exc
