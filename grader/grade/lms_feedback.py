"""Feedback back into the LMS (``grade --lms moodle|canvas`` on a download).

- ``moodle-feedback.zip`` for Moodle's "Upload multiple feedback files in a zip": each
  ``feedback.html`` under the participant's folder exactly as the download spelled it
  (Moodle's ``assignfeedback_file_zip_importer::is_valid_filename_for_import`` reads the
  participant id from the second ``_`` field of the name).
- ``moodle-grading-worksheet.csv`` for "Upload grading worksheet": the worksheet the
  instructor downloaded, filled in (grade and feedback cells only; every other byte kept,
  since Moodle matches headers in the site's language and skips a row whose grade changed
  after its ``Last modified (grade)``), or, without it, one in English.
- ``canvas-feedback.zip`` for Canvas's bulk upload of marked submissions:
  ``<sortablename>_<userid>_<attachmentid>_feedback.html`` (Canvas reads the first two
  all-digit tokens).

Pages are rendered from a jinja2 template with autoescape: a student's text is escaped.
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from grader.grade.lms import LMS_FEEDBACK_FILES
from grader.grade.lms_intake import Chosen
from grader.grade.lms_match import Worksheet
from grader.grade.lms_words import LANGUAGES, flag_note, words
from grader.grade.report_blocks import Block, blocks
from grader.grade.reports import GradebookRow

ZIP_TIME = (2020, 1, 1, 0, 0, 0)
MOODLE_ZIP, MOODLE_WORKSHEET, CANVAS_ZIP = (
    LMS_FEEDBACK_FILES  # fixed entry times: the same grades give the same bytes
)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.templates", "lms"),
        autoescape=True,  # every value is escaped unless marked safe (none is)
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class StudentFeedback:
    """What one student's feedback page and comment say."""

    row: GradebookRow
    chosen: Chosen
    report_md: str  # the Markdown report ("" when none was written)
    mistakes: tuple[str, ...]


def student_notes(fb: StudentFeedback, lang: str) -> list[str]:
    w = words(lang)
    upload = fb.chosen.claim.upload
    notes: list[str] = []
    if upload.late:
        notes.append(w["note_late"])
    notes += [flag_note(flag, lang) for flag in fb.chosen.claim.flags]
    if fb.chosen.note:
        others = fb.chosen.note.split("(not graded: ", 1)[-1].rstrip(")")
        n = others.count(",") + 2
        notes.append(w["note_others"].format(n=n, graded=upload.file_name, others=others))
    if fb.row.status == "invalid":
        notes.append(w["no_report"].format(reason=fb.row.reason))
    return notes


def feedback_html(fb: StudentFeedback, *, title: str, lang: str) -> str:
    w = words(lang)
    row = fb.row
    return (
        _environment()
        .get_template("feedback.html.j2")
        .render(
            lang=lang if lang in LANGUAGES else "en",
            w=w,
            heading=w["report_title"].format(title=title),
            name=row.name,
            student=row.student,
            score=None if row.score is None else _num(row.score),
            max_score=None if row.max_score is None else _num(row.max_score),
            notes=student_notes(fb, lang),
            blocks=_report_blocks(fb.report_md),
        )
    )


def _report_blocks(markdown: str) -> list[Block]:
    """The report's blocks without its title (the page has its own)."""
    found = blocks(markdown)
    if found and found[0].kind == "heading" and found[0].level == 1:
        found = found[1:]
    return found


def feedback_comment(fb: StudentFeedback, lang: str) -> str:
    """The short text of Moodle's "Feedback comments": score, main mistakes, a pointer."""
    w = words(lang)
    row = fb.row
    if row.score is None or row.max_score is None:
        return w["comment_unreadable"].format(reason=row.reason)
    parts = [w["comment_score"].format(score=_num(row.score), max=_num(row.max_score))]
    if fb.mistakes:
        names = w["mistakes"]
        listed = ", ".join(names.get(m, m) for m in fb.mistakes[:3])
        parts.append(w["comment_mistakes"].format(mistakes=listed))
    parts.append(w["comment_see"])
    return " ".join(parts)


def _num(x: Any) -> str:
    from grader.grade.reports import score_text

    return score_text(x)


def _zip(files: Mapping[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            if not name.isascii():
                info.flag_bits |= 0x800  # UTF-8 names, said so (Moodle and Canvas read it)
            zf.writestr(info, files[name].encode("utf-8"))
    return buffer.getvalue()


# ---------------------------------------------------------------- Moodle


def moodle_feedback_zip(
    feedback: Sequence[StudentFeedback], *, title: str, lang: str
) -> tuple[bytes, list[str]]:
    """The zip, and the students who could not get a file (and why)."""
    files: dict[str, str] = {}
    skipped: list[str] = []
    for fb in feedback:
        upload = fb.chosen.claim.upload
        if not upload.participant:
            skipped.append(f"{fb.row.student}: the download gave no participant id")
            continue
        if "/" in upload.entry:  # one folder per participant (Moodle >= 3.1)
            name = f"{upload.folder}/feedback.html"
        else:  # the flat layout: the importer reads "<name>_<id>_<plugin>_<file>"
            name = f"{upload.folder}_feedback.html"
        files[name] = feedback_html(fb, title=title, lang=lang)
    return _zip(files), skipped


MOODLE_HEADERS = (
    "Identifier",
    "Full name",
    "Grade",
    "Maximum grade",
    "Last modified (grade)",
    "Feedback comments",
)


def moodle_worksheet(
    feedback: Sequence[StudentFeedback], *, lang: str, worksheet: Worksheet | None
) -> str:
    """The grading worksheet: the instructor's own filled in, or a new English one."""
    by_participant = {
        fb.chosen.claim.upload.participant: fb
        for fb in feedback
        if fb.chosen.claim.upload.participant
    }
    if worksheet is not None:
        return _fill_worksheet(worksheet, by_participant, lang)
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(MOODLE_HEADERS)
    for participant, fb in sorted(by_participant.items(), key=lambda p: int(p[0])):
        row = fb.row
        when = fb.chosen.claim.upload.when
        writer.writerow(
            [
                f"Participant {participant}",
                _csv_safe(row.name),
                "" if row.score is None else _num(row.score),
                "" if row.max_score is None else _num(row.max_score),
                # the upload's time: a grade an instructor set after it is not overwritten
                "{:04d}-{:02d}-{:02d} {:02d}:{:02d}".format(*when[:5]),
                _csv_safe(feedback_comment(fb, lang)),
            ]
        )
    return out.getvalue()


def _fill_worksheet(
    sheet: Worksheet, by_participant: Mapping[str, StudentFeedback], lang: str
) -> str:
    """Replace the grade and feedback cells of the graded participants; nothing else."""
    edits: list[tuple[int, int, str]] = []
    for participant, index in sheet.participant_rows().items():
        fb = by_participant.get(participant)
        if fb is None:
            continue
        record = sheet.records[index]
        cells = {"grade": "" if fb.row.score is None else _num(fb.row.score)}
        if "feedback" in sheet.columns:
            cells["feedback"] = feedback_comment(fb, lang)
        for role, value in cells.items():
            col = sheet.columns[role]
            if col < len(record):
                start, end, _ = record[col]
                edits.append((start, end, _quote(_csv_safe(value), sheet.delimiter)))
    text = sheet.text
    for start, end, value in sorted(edits, reverse=True):
        text = text[:start] + value + text[end:]
    return ("\ufeff" if sheet.bom else "") + text


def _quote(value: str, delimiter: str) -> str:
    if any(c in value for c in (delimiter, '"', "\n", "\r")) or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_safe(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: neutralize them."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# ---------------------------------------------------------------- Canvas


def canvas_feedback_zip(
    feedback: Sequence[StudentFeedback], *, title: str, lang: str
) -> tuple[bytes, list[str]]:
    files: dict[str, str] = {}
    skipped: list[str] = []
    for fb in feedback:
        upload = fb.chosen.claim.upload
        if upload.kind != "person":
            skipped.append(f"{fb.row.student}: anonymous grading gives no Canvas user id")
            continue
        name = f"{upload.person}_{upload.participant}_{upload.attachment}_feedback.html"
        files[name] = feedback_html(fb, title=title, lang=lang)
    return _zip(files), skipped


def canvas_ids(chosen: Mapping[str, Chosen]) -> dict[str, str]:
    """Roster id -> Canvas user id, from the download."""
    return {
        student: c.claim.upload.participant
        for student, c in chosen.items()
        if c.claim.upload.platform == "canvas" and c.claim.upload.kind == "person"
    }


def write_bytes(path: Path, data: bytes) -> None:
    from grader.core.fileio import atomic_write_bytes

    atomic_write_bytes(path, data)


def write_lms_feedback(
    lms: str,
    assignment: Any,
    out: Path,
    rows: Sequence[GradebookRow],
    outcomes: Mapping[str, Any],
    intake: Any,
    worksheet: Worksheet | None,
    write: Any,
) -> list[Path]:
    """Write the platform's feedback files for the students graded from its download;
    the paths written.  (``outcomes``: roster id -> the batch's outcome, for mistakes.)"""
    chosen: Mapping[str, Chosen] = {
        s: c for s, c in intake.chosen.items() if c.claim.upload.platform == lms
    }
    if not chosen:
        return []
    feedback: list[StudentFeedback] = []
    for row in rows:
        c = chosen.get(row.student)
        if c is None or not row.student:
            continue
        outcome = outcomes.get(row.student)
        report = str(getattr(outcome, "report_md", "") or "")
        mistakes = tuple(getattr(outcome, "mistakes", ()) or ())
        feedback.append(StudentFeedback(row, c, report, mistakes))
    lang, title = assignment.language, assignment.title
    files: dict[str, bytes] = {}
    skipped: list[str] = []
    if lms == "moodle":
        data, skipped = moodle_feedback_zip(feedback, title=title, lang=lang)
        sheet = moodle_worksheet(feedback, lang=lang, worksheet=worksheet)
        files = {MOODLE_ZIP: data, MOODLE_WORKSHEET: sheet.encode("utf-8")}
    elif lms == "canvas":
        data, skipped = canvas_feedback_zip(feedback, title=title, lang=lang)
        files = {CANVAS_ZIP: data}
    for name, data in files.items():
        write(out / name, data)
    for line in skipped:  # the instructor hands these back by hand
        print(f"note: no feedback file for {line}", file=sys.stderr)
    return [out / name for name in files]
