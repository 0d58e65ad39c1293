"""``grade``'s sources sorted out: plain submission files, and LMS downloads whose
uploads are matched to roster students (see :mod:`grader.grade.lms_match`).

The one upload graded per student is written to a private temporary folder (mode 0700,
made by :mod:`tempfile`, removed by the caller): nothing of a download is ever written
beside the user's files or under ``--out``.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.core.errors import UserError
from grader.course.assignment import Student
from grader.grade.lms_download import PLATFORMS, Download, is_download, read_download
from grader.grade.lms_match import (
    Claim,
    Worksheet,
    explain_flag,
    load_people,
    match_uploads,
    newest,
)
from grader.grade.reports import GradebookRow

SOURCES = ("moodle", "canvas", "files")


@dataclass(frozen=True)
class Chosen:
    """The upload graded for one student."""

    claim: Claim
    path: Path  # its bytes, in the private temporary folder (unused when problem is set)
    shown: str  # how messages name it: the download and the entry
    note: str  # the other files of this person, which were not graded
    problem: str | None


@dataclass
class Intake:
    plain: list[str] = field(default_factory=list)  # paths graded the usual way
    downloads: list[Download] = field(default_factory=list)
    chosen: dict[str, Chosen] = field(default_factory=dict)
    rows: list[GradebookRow] = field(default_factory=list)  # files that belong to nobody

    @property
    def platform(self) -> str | None:
        kinds = {d.platform for d in self.downloads}
        return kinds.pop() if len(kinds) == 1 else None


def take_in(
    paths: Sequence[str],
    source: str | None,
    roster: Sequence[Student],
    roster_path: str,
    worksheet: Worksheet | None,
    scratch: Path,
) -> Intake:
    """Sort ``paths`` into plain files and LMS downloads, read the downloads, and
    pick each student's upload (written under ``scratch``)."""
    if source is not None and source not in SOURCES:
        raise UserError(f"--from {source!r}: expected one of {', '.join(SOURCES)}")
    intake = Intake()
    for raw in paths:
        path = Path(raw)
        platform = None if source == "files" else (source or is_download(path))
        if platform in PLATFORMS and (path.is_dir() or path.is_file()):
            intake.downloads.append(read_download(path, platform))
        elif source is None and path.is_file() and _is_zip(path):
            intake.rows.append(
                GradebookRow(
                    "",
                    "",
                    None,
                    None,
                    "invalid",
                    f"{raw}: a zip whose names follow neither Moodle's nor Canvas's download; "
                    "give --from moodle or --from canvas",
                )
            )
        else:
            intake.plain.append(raw)
    if not intake.downloads:
        return intake
    people = load_people(roster_path, roster)
    matched = match_uploads(intake.downloads, people, worksheet)
    for d in intake.downloads:
        for problem in d.problems:
            intake.rows.append(GradebookRow("", "", None, None, "invalid", problem))
    for upload, why in matched.unmatched:
        where = f"{_source_of(intake.downloads, upload.entry)}: {upload.entry}"
        intake.rows.append(GradebookRow("", "", None, None, "unmatched", f"{where}: {why}"))
    for number, (student, claims) in enumerate(sorted(matched.claims.items())):
        if any(c.direct for c in claims):  # the student's own upload: a claim alone loses
            for c in claims:
                if not c.direct:
                    where = f"{_source_of(intake.downloads, c.upload.entry)}: {c.upload.entry}"
                    reason = (
                        f"{where}: {explain_flag(c.flags[0])}, {student}; "
                        f"but {student} handed in their own file"
                    )
                    intake.rows.append(GradebookRow("", "", None, None, "unmatched", reason))
            claims = [c for c in claims if c.direct]
        best, others = newest(claims)
        note = ""
        if others:
            names = ", ".join(c.upload.entry for c in others)
            note = (
                f"{len(claims)} files from this student: graded the newest, "
                f"{best.upload.file_name} (not graded: {names})"
            )
        target = scratch / f"{number:05d}.json"
        if best.upload.data is not None:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(best.upload.data)
        trouble = best.upload.problem
        if trouble is None and best.upload.data is None:
            trouble = "the file could not be read"
        where = f"{_source_of(intake.downloads, best.upload.entry)}: {best.upload.entry}"
        intake.chosen[student] = Chosen(best, target, where, note, trouble)
    return intake


def _source_of(downloads: Sequence[Download], entry: str) -> str:
    for d in downloads:
        if any(u.entry == entry for u in d.uploads):
            return Path(d.source).name
    return downloads[0].source if downloads else ""


def _is_zip(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False
