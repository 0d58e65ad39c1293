"""Whose is an LMS upload: the person who uploaded it, mapped to a roster id.

For an LMS download **the uploader is the student**.  Moodle's participant ids are per
assignment, so they are never stored in the roster: a Moodle person is found through
the grading worksheet the instructor downloaded (``--moodle-worksheet``: participant id →
email → the roster's ``email`` column), else by full name.  A Canvas person is found by
the roster's optional ``canvas_user_id`` column, else by name.  Only where the LMS hides
the person (Moodle's blind marking and team submissions, Canvas's anonymous grading) does
the file's own ``"student"`` field say whose it is, and the gradebook says so.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.core.errors import UserError
from grader.course.assignment import Student, valid_student_id
from grader.course.submission import SubmissionError, parse_submission, student_of
from grader.grade.lms_download import Download, Upload

MAX_WORKSHEET_BYTES = 20_000_000

# The worksheet's headers are Moodle's language strings (mod/assign/gradingtable.php and
# mod/assign/gradeimporter.php): en and ru; the importer matches the site's own language.
HEADERS: dict[str, tuple[str, ...]] = {
    "identifier": ("identifier", "идентификатор"),
    "full_name": ("full name", "полное имя"),
    "email": ("email address", "адрес электронной почты", "email"),
    "grade": ("grade", "оценка"),
    "max_grade": ("maximum grade", "максимальная оценка"),
    "modified": ("last modified (grade)", "последнее изменение (оценка)"),
    "feedback": ("feedback comments", "отзыв в виде комментария"),
}
_PARTICIPANT = re.compile(r"^\s*\S.*?\s(\d+)\s*$")  # "Participant 12345", "Участник 12345"


@dataclass
class People:
    """The roster with the optional columns LMSs need (``email``, ``sid``,
    ``canvas_user_id``); other tools read only ``id`` and ``name``."""

    students: list[Student]
    email: dict[str, str] = field(default_factory=dict)  # casefolded email -> id
    sid: dict[str, str] = field(default_factory=dict)
    canvas: dict[str, str] = field(default_factory=dict)  # canvas user id -> id
    names: dict[str, list[str]] = field(default_factory=dict)  # name key -> ids

    @property
    def ids(self) -> set[str]:
        return {s.id for s in self.students}

    def by_name(self, name: str) -> str | None:
        ids = self.names.get(name_key(name), [])
        return ids[0] if len(ids) == 1 else None  # two students of one name: never guess


def name_key(name: str) -> str:
    """A name compared loosely: case, accents' composition, spacing and punctuation
    (Moodle turns "_" into a space, Canvas drops everything but word characters)."""
    text = unicodedata.normalize("NFC", name).casefold()
    return re.sub(r"[\W_]+", "", text)


def load_people(roster_path: str, students: Sequence[Student]) -> People:
    """The roster's optional columns (the roster itself is validated by ``load_roster``)."""
    people = People(list(students))
    for s in students:
        people.names.setdefault(name_key(s.name), []).append(s.id)
        words = s.name.replace(",", " ").split()
        if len(words) > 1:  # Canvas's sortable name is "Last, First"
            key = name_key(words[-1] + "".join(words[:-1]))
            if key != name_key(s.name):
                people.names.setdefault(key, []).append(s.id)
    try:
        text = Path(roster_path).read_bytes()[:20_000_000].decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return people  # load_roster has already said what is wrong with it
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        reader.fieldnames = [f.strip().lower() for f in (reader.fieldnames or [])]
        for row in reader:
            sid = (row.get("id") or "").strip()
            if not valid_student_id(sid):
                continue
            for column, table in (
                ("email", people.email),
                ("sid", people.sid),
                ("canvas_user_id", people.canvas),
            ):
                value = (row.get(column) or "").strip()
                if value:
                    table[value.casefold()] = sid
    except csv.Error:
        pass
    return people


# ---------------------------------------------------------------- Moodle's worksheet


@dataclass
class Worksheet:
    """The offline grading worksheet the instructor downloaded from the assignment,
    kept as bytes so that filling it in changes nothing but the grade and feedback cells."""

    path: str
    text: str
    bom: bool
    delimiter: str
    records: list[list[tuple[int, int, str]]]  # per record: (start, end, value) per field
    columns: dict[str, int]  # role -> column index

    def value(self, record: int, role: str) -> str:
        col = self.columns.get(role)
        fields = self.records[record]
        return fields[col][2] if col is not None and col < len(fields) else ""

    def participant_rows(self) -> dict[str, int]:
        """Participant id -> record index."""
        out: dict[str, int] = {}
        for i in range(1, len(self.records)):
            m = _PARTICIPANT.match(self.value(i, "identifier"))
            if m:
                out[m.group(1)] = i
        return out


def read_worksheet(path: str) -> Worksheet:
    try:
        raw = Path(path).read_bytes()[: MAX_WORKSHEET_BYTES + 1]
    except OSError as exc:
        raise UserError(f"cannot read the grading worksheet: {exc.strerror}", file=path) from None
    if len(raw) > MAX_WORKSHEET_BYTES:
        raise UserError(f"larger than {MAX_WORKSHEET_BYTES} bytes", file=path)
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    records = csv_spans(text, delimiter, path)
    if not records:
        raise UserError("the worksheet is empty", file=path)
    header = [unicodedata.normalize("NFC", v).strip().casefold() for _, _, v in records[0]]
    columns: dict[str, int] = {}
    for role, names in HEADERS.items():
        for i, h in enumerate(header):
            if h in names:
                columns.setdefault(role, i)
    missing = [r for r in ("identifier", "grade", "modified") if r not in columns]
    if missing:
        guessed = _columns_by_layout(records)
        if guessed is not None:  # a site in another language: Moodle's column order
            return Worksheet(path, text, bom, delimiter, records, guessed)
        wanted = "; ".join(f"{r}: {' or '.join(repr(n) for n in HEADERS[r])}" for r in missing)
        raise UserError(
            "this is not Moodle's grading worksheet, or its headers are in a language this "
            f"tool does not know; expected the headers {wanted}",
            file=path,
            where="line 1",
        )
    return Worksheet(path, text, bom, delimiter, records, columns)


_MAX_GRADE = re.compile(r"^\d+(?:[.,]\d+)?$")


def _columns_by_layout(records: list[list[tuple[int, int, str]]]) -> dict[str, int] | None:
    """The worksheet's columns found by Moodle's fixed order when its headers are in a
    language this tool has no words for (mod/assign/gradingtable.php, downloading):
    ``Identifier, Full name, [identity fields], Status, Grade, Maximum grade, …,
    Last modified (grade), Feedback comments``.  The identifier is the first column
    ("<word> <digits>" in every row); *Maximum grade* is the first later column holding one
    and the same number in every row, and *Grade* the column before it; the feedback
    comments are the last column and *Last modified (grade)* the one before.  None when
    the rows do not fit this order."""
    rows = [r for r in records[1:] if len(r) == len(records[0])]
    width = len(records[0])
    if not rows or width < 6:
        return None
    values = [[r[i][2].strip() for r in rows] for i in range(width)]
    if not all(_PARTICIPANT.match(v) for v in values[0]):
        return None
    for col in range(3, width - 2):
        column = values[col]
        if all(_MAX_GRADE.match(v) for v in column) and len(set(column)) == 1:
            if col + 2 >= width - 1:
                return None
            return {
                "identifier": 0,
                "full_name": 1,
                "grade": col - 1,
                "max_grade": col,
                "modified": width - 2,
                "feedback": width - 1,
            }
    return None


def csv_spans(text: str, delimiter: str, name: str) -> list[list[tuple[int, int, str]]]:
    """CSV records with each field's place in ``text`` (RFC 4180 quoting), so a field can
    be replaced while every other byte stays as it was."""
    records: list[list[tuple[int, int, str]]] = []
    i, n = 0, len(text)
    while i < n:
        fields: list[tuple[int, int, str]] = []
        while True:
            start = i
            if i < n and text[i] == '"':
                i += 1
                parts: list[str] = []
                while True:
                    j = text.find('"', i)
                    if j < 0:
                        line = text.count("\n", 0, start) + 1
                        raise UserError("a quote is never closed", file=name, where=f"line {line}")
                    parts.append(text[i:j])
                    if text.startswith('""', j):
                        parts.append('"')
                        i = j + 2
                        continue
                    i = j + 1
                    break
                value = "".join(parts)
                while i < n and text[i] not in (delimiter, "\r", "\n"):
                    i += 1  # stray characters after a closing quote: kept as they are
            else:
                while i < n and text[i] not in (delimiter, "\r", "\n"):
                    i += 1
                value = text[start:i]
            fields.append((start, i, value))
            if i < n and text[i] == delimiter:
                i += 1
                continue
            break
        if text.startswith("\r\n", i):
            i += 2
        elif i < n:
            i += 1
        if fields != [(fields[0][0], fields[0][0], "")] or records == []:
            records.append(fields)
    return records


# ---------------------------------------------------------------- matching


@dataclass(frozen=True)
class Claim:
    """An upload and the roster student it is graded for."""

    student: str
    upload: Upload
    flags: tuple[str, ...] = ()  # what the gradebook's flags column and the report say
    direct: bool = True  # found through the LMS's person, not through the file's own claim


@dataclass
class Matched:
    claims: dict[str, list[Claim]]
    unmatched: list[tuple[Upload, str]]  # uploads that belong to no roster student, and why


def file_student(data: bytes | None) -> str | None:
    """The ``"student"`` a file names, when it can be read (never evaluated)."""
    if data is None:
        return None
    try:
        return student_of(parse_submission(data))
    except SubmissionError:
        m = re.search(rb'"student"\s*:\s*"([A-Za-z0-9][A-Za-z0-9_.-]{0,63})"', data[:65536])
        return m.group(1).decode("ascii") if m else None


def match_uploads(
    downloads: Iterable[Download], people: People, worksheet: Worksheet | None
) -> Matched:
    rows = worksheet.participant_rows() if worksheet else {}
    claims: dict[str, list[Claim]] = {}
    unmatched: list[tuple[Upload, str]] = []
    for download in downloads:
        for upload in download.uploads:
            named = file_student(upload.data)
            student, flags, why = _uploader(upload, people, worksheet, rows, named)
            if student is None:
                unmatched.append((upload, why))
                continue
            direct = not flags  # a flag here means: only the file said whose it is
            if named and named != student and upload.kind in ("person",):
                flags = (*flags, f"names_other_student:{named}")
            claims.setdefault(student, []).append(Claim(student, upload, flags, direct))
    return Matched(claims, unmatched)


def _uploader(
    upload: Upload,
    people: People,
    worksheet: Worksheet | None,
    rows: dict[str, int],
    named: str | None,
) -> tuple[str | None, tuple[str, ...], str]:
    """(roster id, flags, why not found)."""
    if upload.platform == "moodle" and upload.kind == "person":
        if worksheet and upload.participant in rows:
            row = rows[upload.participant]
            email = worksheet.value(row, "email").strip().casefold()
            if email and email in people.email:
                return people.email[email], (), ""
            found = people.by_name(worksheet.value(row, "full_name"))
            if found:
                return found, (), ""
        found = people.by_name(upload.person)
        if found:
            return found, (), ""
        if named in people.ids:
            # a team submission's folder is "<group>_<groupid>": no name of the roster; the
            # file's student decides, flagged (a person's own upload wins, see take_in)
            return named, ("identified_by_file:team",), ""
        return (
            None,
            (),
            f"{upload.person!r} (participant {upload.participant}) is not on the roster",
        )
    if upload.platform == "canvas" and upload.kind == "person":
        found = people.canvas.get(upload.participant.casefold()) or people.by_name(upload.person)
        if found:
            return found, (), ""
        return None, (), f"Canvas user {upload.participant} ({upload.person}) is not on the roster"
    # the LMS hides the person: only the file can say whose it is
    kind = {"blind": "blind", "group": "team", "anonymous": "anonymous"}.get(upload.kind, "team")
    flag = f"identified_by_file:{kind}"
    if upload.platform == "moodle" and upload.kind == "group":
        found = people.by_name(upload.person)  # a person whose folder has no id (old Moodle)
        if found:
            return found, (), ""
    if named and named in people.ids:
        return named, (flag,), ""
    why = "its student field names nobody on the roster" if named else "it names no student"
    return None, (), f"{explain_flag(flag)}; but {why}"


# The gradebook's flags are codes (``code:value``); what they mean, for the instructor:
FLAG_TEXT = {
    "identified_by_file:blind": "blind marking: whose it is comes from the file's student field",
    "identified_by_file:anonymous": "anonymous grading: whose it is comes from the file's student field",
    "identified_by_file:team": "a team's folder (or a name not on the roster): whose it is comes from the file's student field",
}


def explain_flag(flag: str) -> str:
    code, _, value = flag.partition(":")
    if code == "names_other_student":
        return f"the file names student {value!r}; graded as the uploader's"
    return FLAG_TEXT.get(flag, flag)


def newest(claims: list[Claim]) -> tuple[Claim, list[Claim]]:
    """The claim with the newest entry time (ties: the later file name), and the others."""
    ordered = sorted(claims, key=lambda c: (c.upload.when, c.upload.file_name, c.upload.entry))
    return ordered[-1], ordered[:-1]
