"""Gradebook CSVs in the layouts LMS imports expect (``grade --lms moodle|canvas``).

- **Moodle** ("Import grades → CSV file"): a header row, one row per student; during the
  import map the column ``ID number`` to the user field *ID number* and the
  assignment column to the grade item.
- **Canvas** (Grades → Import): the columns ``Student, ID, SIS User ID, SIS Login ID,
  Section`` followed by one column per assignment, and a second row ``Points Possible``.
  Canvas matches students on ``SIS User ID`` (our roster id) when ``ID`` is empty.

Only roster students are written (an LMS cannot import unmatched submissions); a student
without a graded submission gets an empty grade so the import leaves their cell alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

LMS_FORMATS = ("moodle", "canvas")
# what ``grade --lms`` writes besides the gradebook CSVs (see grader.grade.lms_feedback)
LMS_FEEDBACK_FILES = ("moodle-feedback.zip", "moodle-grading-worksheet.csv", "canvas-feedback.zip")


def _safe_cell(value: Any) -> str:
    """Spreadsheet programs run cells starting with = + - @ as formulas: neutralize them."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def lms_gradebook(
    kind: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    assignment_title: str,
    max_score: Any,
    canvas_user_ids: Mapping[str, str] | None = None,
) -> str:
    """CSV text for ``kind`` (``moodle`` or ``canvas``) from gradebook rows
    (``student, name, score, max_score, status``; rows with status ``unmatched`` are skipped).
    ``canvas_user_ids`` (roster id -> Canvas user id, from a submissions download) fills
    Canvas's ``ID`` column."""
    ids = canvas_user_ids or {}
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    column = _safe_cell(assignment_title)
    roster_rows = [r for r in rows if r.get("status") != "unmatched"]
    if kind == "moodle":
        writer.writerow(["ID number", "Full name", column])
        for r in roster_rows:
            writer.writerow([_safe_cell(r["student"]), _safe_cell(r.get("name", "")), _grade(r)])
    elif kind == "canvas":
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column])
        writer.writerow(["Points Possible", "", "", "", "", str(max_score)])
        for r in roster_rows:
            writer.writerow(
                [
                    _safe_cell(r.get("name", "")),
                    ids.get(r["student"], ""),
                    _safe_cell(r["student"]),
                    "",
                    "",
                    _grade(r),
                ]
            )
    else:
        raise ValueError(f"unknown LMS format {kind!r}; expected one of {', '.join(LMS_FORMATS)}")
    return out.getvalue()


def _grade(row: Mapping[str, Any]) -> str:
    score = row.get("score")
    return "" if score in (None, "") or row.get("status") in ("missing", "invalid") else str(score)
