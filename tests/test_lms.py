"""Moodle and Canvas submission downloads in, feedback files out (issue 14).

The zips are built with the platforms' own naming rules, typed in from their code:

- Moodle ``mod/assign/classes/downloader.php``: ``get_student_prefix`` (full name with "_"
  replaced by " ", then ``_<uniqueid>``; blind marking: ``Participant``; team submissions
  ``<group>_<groupid>``) and ``load_submissionplugin_filelist`` (folders
  ``<prefix>_assignsubmission_file/<file>``; flat ``<prefix>_assignsubmission_file_<file>``).
  Before 4.1, ``assign::download_submissions`` in ``mod/assign/locallib.php`` ended the
  folder name with ``_``.
- Moodle ``mod/assign/feedback/file/importziplib.php``,
  ``assignfeedback_file_zip_importer::is_valid_filename_for_import``: the participant id
  is the second ``_`` field of the name.
- Canvas ``lib/content_zipper.rb``: ``get_filename`` (``[sortable name, "LATE", id]``
  joined by ``_``, non-word characters removed; anonymous ``anon_<anonymous_id>``) and
  ``add_upload_submission`` (``<filename>_<attachment id>_<display name>``).
"""

from __future__ import annotations

import csv
import io
import json
import stat
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.grade.batch import grade_command
from grader.grade.lms_download import detect, read_download
from grader.grade.lms_words import words

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "grader" / "samples"
CANONICAL = SAMPLES / "canonical.yaml"
PERFECT = json.loads((SAMPLES / "submissions" / "perfect.json").read_text(encoding="utf-8"))
SIGN_FLIP = json.loads((SAMPLES / "submissions" / "sign_flip.json").read_text(encoding="utf-8"))
ROSTER = (
    "id,name,email,canvas_user_id\n"
    "s001,Ada Lovelace,ada@example.org,340934\n"
    "s002,Blaise Pascal,blaise@example.org,\n"
    "s003,Carl Gauss,carl@example.org,\n"
    "s004,Иван Петров,ivan@example.org,\n"
    "s005,<b>Eve</b> & Co,eve@example.org,\n"
)


def sub(student: str, base: dict | None = None) -> bytes:
    return json.dumps(dict(base or PERFECT, student=student)).encode()


def make_zip(path: Path, entries: list[tuple[str, bytes, tuple[int, ...]]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, when in entries:
            info = zipfile.ZipInfo(name, when)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def gradebook(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8"))))


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return path


T1, T2 = (2026, 12, 1, 10, 0, 0), (2026, 12, 2, 9, 30, 0)


# ---------------------------------------------------------------- names


def test_moodle_and_canvas_names_are_told_apart_and_parsed(tmp_path: Path) -> None:
    moodle = make_zip(
        tmp_path / "m.zip",
        [
            ("Ada Lovelace_101_assignsubmission_file/a.json", b"{}", T1),  # Moodle >= 4.1
            ("Blaise Pascal_102_assignsubmission_file_/b.json", b"{}", T1),  # before 4.1
            ("Carl Gauss_103_assignsubmission_file_c.json", b"{}", T1),  # flat
            ("Participant_104_assignsubmission_file/d.json", b"{}", T1),  # blind marking
            ("Team Red_7_assignsubmission_file/e.json", b"{}", T1),  # team submission
            ("Иван Петров_105_assignsubmission_onlinetext/onlinetext.html", b"<p>{}</p>", T1),
        ],
    )
    d = read_download(moodle, "moodle")
    got = [(u.folder, u.participant, u.kind, u.file_name) for u in d.uploads]
    assert got == [
        ("Ada Lovelace_101_assignsubmission_file", "101", "person", "a.json"),
        ("Blaise Pascal_102_assignsubmission_file_", "102", "person", "b.json"),
        ("Carl Gauss_103_assignsubmission_file", "103", "person", "c.json"),
        ("Participant_104_assignsubmission_file", "104", "blind", "d.json"),
        ("Team Red_7_assignsubmission_file", "7", "person", "e.json"),
        ("Иван Петров_105_assignsubmission_onlinetext", "105", "person", "onlinetext.html"),
    ]
    assert d.uploads[-1].data == b"{}\n"  # the online text's HTML reduced to its text
    assert detect([u.entry for u in d.uploads]) == "moodle"
    canvas = make_zip(
        tmp_path / "c.zip",
        [
            ("lovelaceada_340934_208490284_answers.json", b"{}", T1),
            ("pascalblaise_LATE_340935_208490290_my_answers.json", b"{}", T1),
            ("anon_Ab1Cd_208490300_x.json", b"{}", T1),
            ("LATE_anon_Zz9Yy_208490301_y.json", b"{}", T1),
        ],
    )
    d = read_download(canvas, "canvas")
    got = [(u.person, u.participant, u.attachment, u.late, u.kind, u.file_name) for u in d.uploads]
    assert got == [
        ("lovelaceada", "340934", "208490284", False, "person", "answers.json"),
        ("pascalblaise", "340935", "208490290", True, "person", "my_answers.json"),
        ("", "Ab1Cd", "208490300", False, "anonymous", "x.json"),
        ("", "Zz9Yy", "208490301", True, "anonymous", "y.json"),
    ]
    assert detect([u.entry for u in d.uploads]) == "canvas"
    assert detect(["s001.json", "notes.json"]) is None


# ---------------------------------------------------------------- Moodle end to end


def test_moodle_download_graded_with_feedback_zip_and_worksheet(
    tmp_path: Path, roster: Path
) -> None:
    download = make_zip(
        tmp_path / "COURSE-hw1-42.zip",
        [
            ("Ada Lovelace_101_assignsubmission_file_/answers.json", sub("s001"), T1),
            # a classmate's file: graded as the uploader's, flagged
            ("Blaise Pascal_102_assignsubmission_file_/mine.json", sub("s001", SIGN_FLIP), T1),
            # two files: the newest entry wins
            ("Carl Gauss_103_assignsubmission_file_/new.json", sub("s003"), T2),
            ("Carl Gauss_103_assignsubmission_file_/old.json", sub("s003", SIGN_FLIP), T1),
            ("Carl Gauss_103_assignsubmission_file_/sheet.pdf", b"%PDF-1.4", T1),
            ("Иван Петров_104_assignsubmission_file_/x.json", b'{"student": "s004", ', T1),
            ("<i>Eve & Co_105_assignsubmission_file_/e.json", sub("s005"), T1),
            ("Zed Nobody_106_assignsubmission_file_/z.json", sub("s001"), T1),
        ],
    )
    out = tmp_path / "out"
    code = grade_command(
        str(CANONICAL), [str(download)], str(roster), str(out), lms="moodle", jobs=1
    )
    assert code == 1  # an unreadable file and an unmatched person need a look
    rows = {r["student"] or r["reason"][:40]: r for r in gradebook(out)}
    assert rows["s001"]["score"] == "10" and rows["s001"]["flags"] == ""
    assert rows["s002"]["status"] == "submitted" and rows["s002"]["score"] != "10"
    assert rows["s002"]["flags"] == "names_other_student:s001"
    assert rows["s003"]["score"] == "10" and "old.json" in rows["s003"]["reason"]
    assert rows["s004"]["status"] == "invalid"
    # "<i>Eve & Co" is no roster name (a team folder looks the same): the file's student
    # decides, flagged
    assert (
        rows["s005"]["status"] == "submitted" and rows["s005"]["flags"] == "identified_by_file:team"
    )
    unmatched = [r for r in gradebook(out) if r["status"] == "unmatched"]
    # Zed's file names s001, who handed in her own: it is graded for nobody
    assert len(unmatched) == 1 and "Zed Nobody" in unmatched[0]["reason"]
    assert "own file" in unmatched[0]["reason"] and "Zed" not in rows["s001"]["reason"]
    report = (out / "reports" / "s002.md").read_text(encoding="utf-8")
    assert words("en")["note_classmate"].format(named="s001") in report

    with zipfile.ZipFile(out / "moodle-feedback.zip") as zf:
        names = sorted(zf.namelist())
        page = zf.read("Blaise Pascal_102_assignsubmission_file_/feedback.html").decode()
        eve = zf.read("<i>Eve & Co_105_assignsubmission_file_/feedback.html").decode()
    # the roster's name "<b>Eve</b> & Co" reaches the page escaped (jinja2 autoescape)
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; Co" in eve and "<b>Eve" not in eve
    # exactly the download's folder names, trailing "_" kept
    assert names == [
        "<i>Eve & Co_105_assignsubmission_file_/feedback.html",
        "Ada Lovelace_101_assignsubmission_file_/feedback.html",
        "Blaise Pascal_102_assignsubmission_file_/feedback.html",
        "Carl Gauss_103_assignsubmission_file_/feedback.html",
        "Иван Петров_104_assignsubmission_file_/feedback.html",
    ]
    for name in names:  # what is_valid_filename_for_import reads: the id, second "_" field
        assert name.split("_", 4)[1].isdigit()
    assert page.startswith("<!DOCTYPE html>") and "default-src 'none'" in page
    assert words("en")["note_classmate"].format(named="s001") in page
    assert "<script" not in page and "src=" not in page

    sheet = (out / "moodle-grading-worksheet.csv").read_text(encoding="utf-8")
    lines = list(csv.reader(io.StringIO(sheet)))
    assert lines[0] == [
        "Identifier",
        "Full name",
        "Grade",
        "Maximum grade",
        "Last modified (grade)",
        "Feedback comments",
    ]
    assert lines[1][:4] == ["Participant 101", "Ada Lovelace", "10", "10"]
    assert "sign of δ flipped" in lines[2][5]


def test_moodle_worksheet_filled_byte_for_byte_with_russian_headers(
    tmp_path: Path, roster: Path
) -> None:
    download = make_zip(
        tmp_path / "d.zip",
        [
            ("Participant_5001_assignsubmission_file/a.json", sub("s001"), T1),  # blind
            ("Participant_5002_assignsubmission_file/b.json", sub("s002", SIGN_FLIP), T1),
        ],
    )
    # a Russian Moodle's worksheet: its headers are the site's language strings
    original = (
        "\ufeffИдентификатор,Полное имя,Адрес электронной почты,Статус,Оценка,"
        "Максимальная оценка,Оценка может быть изменена,Последнее изменение (ответ),"
        "Последнее изменение (оценка),Отзыв в виде комментария\r\n"
        'Участник 5001,Участник 5001,,Отправлено для оценивания,,"10,00",Да,'
        '"пятница, 4 декабря 2026, 10:00",-,\r\n'
        'Участник 5002,Участник 5002,,Отправлено для оценивания,,"10,00",Да,'
        '"пятница, 4 декабря 2026, 11:00","четверг, 3 декабря 2026, 09:00",старый\r\n'
        'Участник 5003,Участник 5003,,Нет ответа,,"10,00",Да,-,-,\r\n'
    )
    sheet_in = tmp_path / "worksheet.csv"
    sheet_in.write_bytes(original.encode("utf-8"))
    assignment = tmp_path / "ru.yaml"
    assignment.write_text(
        CANONICAL.read_text(encoding="utf-8").replace("language: en", "language: ru"),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    grade_command(
        str(assignment),
        [str(download)],
        str(roster),
        str(out),
        lms="moodle",
        jobs=1,
        moodle_worksheet=str(sheet_in),
    )
    filled = (out / "moodle-grading-worksheet.csv").read_bytes().decode("utf-8")
    before = list(csv.reader(io.StringIO(original)))
    after = list(csv.reader(io.StringIO(filled)))
    assert after[0] == before[0] and filled.startswith("\ufeff")
    for old, new in zip(before[1:], after[1:], strict=True):
        kept = [i for i in range(len(old)) if i not in (4, 9)]
        assert [old[i] for i in kept] == [new[i] for i in kept]  # all but grade, feedback
    assert after[1][4] == "10" and after[2][4] != "10"
    assert after[1][9].startswith("Баллы: 10 из 10.")
    assert "перепутан знак δ" in after[2][9]
    assert after[3] == before[3]  # no submission: untouched
    # outside the two edited cells the bytes are the instructor's (quotes, CRLF)
    assert filled.count("\r\n") == original.count("\r\n")
    assert '"четверг, 3 декабря 2026, 09:00"' in filled
    with zipfile.ZipFile(out / "moodle-feedback.zip") as zf:
        page = zf.read("Participant_5001_assignsubmission_file/feedback.html").decode()
    assert 'lang="ru"' in page and "отчёт о проверке" in page
    assert words("ru")["note_identified"] in page  # blind marking: found by its student field
    assert words("ru")["note_identified"] in (out / "reports" / "s001.md").read_text("utf-8")


# ---------------------------------------------------------------- Canvas end to end


def test_canvas_download_late_column_id_column_and_feedback_zip(
    tmp_path: Path, roster: Path
) -> None:
    download = make_zip(
        tmp_path / "submissions.zip",
        [
            ("lovelaceada_340934_208490284_answers.json", sub("s001"), T1),
            ("pascalblaise_LATE_340935_208490290_answers.json", sub("s002", SIGN_FLIP), T1),
            ("anon_Ab1Cd_208490300_x.json", sub("s003"), T1),
        ],
    )
    out = tmp_path / "out"
    grade_command(str(CANONICAL), [str(download)], str(roster), str(out), lms="canvas", jobs=1)
    rows = {r["student"]: r for r in gradebook(out)}
    assert rows["s001"]["late"] == "" and rows["s002"]["late"] == "yes"
    assert rows["s003"]["flags"] == "identified_by_file:anonymous"
    canvas = list(csv.reader(io.StringIO((out / "gradebook-canvas.csv").read_text("utf-8"))))
    ids = {r[2]: r[1] for r in canvas[2:]}
    assert ids["s001"] == "340934"  # the roster's canvas_user_id
    assert ids["s002"] == "340935"  # matched by the sortable name "pascalblaise"
    with zipfile.ZipFile(out / "canvas-feedback.zip") as zf:
        assert sorted(zf.namelist()) == [
            "lovelaceada_340934_208490284_feedback.html",
            "pascalblaise_340935_208490290_feedback.html",
        ]


# ---------------------------------------------------------------- hostile zips


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_hostile_zip_entries_each_get_a_row_and_nothing_leaves_out(
    tmp_path: Path, roster: Path
) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("x.json", sub("s003"))
    link = zipfile.ZipInfo("Carl Gauss_103_assignsubmission_file/link.json", T1)
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    bomb = b"{" + b" " * 3_000_000 + b"}"
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("../../escape.json", T1), sub("s001"))
        zf.writestr(zipfile.ZipInfo("/etc/abs.json", T1), sub("s001"))
        zf.writestr(link, b"/etc/passwd")
        zf.writestr(
            zipfile.ZipInfo("Blaise Pascal_102_assignsubmission_file/in.zip", T1), inner.getvalue()
        )
        zf.writestr(
            zipfile.ZipInfo("Blaise Pascal_102_assignsubmission_file/in.json", T1),
            inner.getvalue(),
        )
        info = zipfile.ZipInfo("Ada Lovelace_101_assignsubmission_file/bomb.json", T1)
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, bomb)
        zf.writestr(zipfile.ZipInfo("Иван Петров_104_assignsubmission_file/a.json", T1), b"{}")
        zf.writestr(zipfile.ZipInfo("Иван Петров_104_assignsubmission_file/a.json", T2), b"{}")
    out = tmp_path / "out"
    before = sorted(p.name for p in tmp_path.iterdir())
    code = grade_command(str(CANONICAL), [str(path)], str(roster), str(out), lms=None, jobs=1)
    assert code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "out"])
    assert not (tmp_path.parent / "escape.json").exists()
    text = (out / "gradebook.csv").read_text(encoding="utf-8")
    rows = {r["student"]: r for r in gradebook(out)}
    assert "'..'" in text and "absolute path" in text
    assert "symbolic link" in rows["s003"]["reason"]
    assert "zip" in rows["s002"]["reason"] and rows["s002"]["status"] == "invalid"
    assert "compressed more than 100 times" in rows["s001"]["reason"]
    # the uploader still gets a report saying why (score 0)
    report = json.loads((out / "reports" / "s001.json").read_text(encoding="utf-8"))
    assert report["score"] == 0 and "compressed more than 100 times" in json.dumps(report)
    assert "twice" in rows["s004"]["reason"]


def test_too_many_entries_and_cp866_names(tmp_path: Path, roster: Path) -> None:
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(10_001):
            zf.writestr(f"Ada Lovelace_101_assignsubmission_file/{i}.txt", b"")
    d = read_download(many, "moodle")
    assert d.uploads == [] and "10001 entries" in d.problems[0]
    # an old Russian archiver: cp866 bytes, flag bit 11 not set
    raw = "Иван Петров_104_assignsubmission_file/a.json".encode("cp866")
    placeholder = b"N" * 11 + raw[11:]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(zipfile.ZipInfo(placeholder.decode("ascii"), T1), sub("s004"))
    data = buffer.getvalue().replace(placeholder, raw)  # zipfile itself would write UTF-8
    old = tmp_path / "old.zip"
    old.write_bytes(data)
    assert data.count(raw) == 2  # local header and central directory: cp866, no flag
    (upload,) = read_download(old, "moodle").uploads
    assert upload.person == "Иван Петров" and upload.participant == "104"
    out = tmp_path / "out"
    grade_command(str(CANONICAL), [str(old)], str(roster), str(out), lms=None, jobs=1)
    assert {r["student"]: r for r in gradebook(out)}["s004"]["score"] == "10"


def test_extracted_folder_with_a_symlink(tmp_path: Path, roster: Path) -> None:
    root = tmp_path / "download"
    folder = root / "Ada Lovelace_101_assignsubmission_file"
    folder.mkdir(parents=True)
    (folder / "a.json").write_bytes(sub("s001"))
    other = root / "Carl Gauss_103_assignsubmission_file"
    other.mkdir()
    (other / "a.json").symlink_to("/etc/passwd")
    out = tmp_path / "out"
    grade_command(str(CANONICAL), [str(root)], str(roster), str(out), lms=None, jobs=1)
    rows = {r["student"]: r for r in gradebook(out)}
    assert rows["s001"]["score"] == "10"
    assert "symbolic link" in rows["s003"]["reason"]


def test_words_have_the_same_keys_in_every_language() -> None:
    en, ru = words("en"), words("ru")
    assert set(en) == set(ru) and set(en["mistakes"]) == set(ru["mistakes"])


def test_worksheet_email_maps_people_and_outputs_are_deterministic(
    tmp_path: Path, roster: Path
) -> None:
    # the folder's name is not the roster's; the worksheet's email column says who it is
    download = make_zip(
        tmp_path / "d.zip",
        [("A. L. King_101_assignsubmission_file/a.json", sub("s001"), T1)],
    )
    sheet = tmp_path / "ws.csv"
    sheet.write_text(
        "Identifier,Full name,Email address,Status,Grade,Maximum grade,"
        "Grade can be changed,Last modified (submission),Last modified (grade),Feedback comments\n"
        "Participant 101,A. L. King,ADA@example.org,Submitted,,10.00,Yes,"
        '"Tuesday, 1 December 2026, 10:00 AM",-,\n',
        encoding="utf-8",
    )
    outs = []
    for run in ("one", "two"):
        out = tmp_path / run
        grade_command(
            str(CANONICAL), [str(download)], str(roster), str(out), lms="moodle", jobs=1,
            moodle_worksheet=str(sheet),
        )  # fmt: skip
        outs.append(out)
    rows = {r["student"]: r for r in gradebook(outs[0])}
    assert rows["s001"]["score"] == "10" and rows["s001"]["flags"] == ""
    for name in ("moodle-feedback.zip", "moodle-grading-worksheet.csv", "gradebook.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    filled = (outs[0] / "moodle-grading-worksheet.csv").read_text(encoding="utf-8")
    assert filled.splitlines()[1].startswith(
        "Participant 101,A. L. King,ADA@example.org,Submitted,10,"
    )


def test_from_files_reads_lms_names_as_plain_files(tmp_path: Path, roster: Path) -> None:
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "Blaise Pascal_102_assignsubmission_file_x.json").write_bytes(sub("s001"))
    out = tmp_path / "out"
    grade_command(
        str(CANONICAL), [str(folder)], str(roster), str(out), lms=None, jobs=1, source="files"
    )
    rows = {r["student"]: r for r in gradebook(out)}
    assert rows["s001"]["score"] == "10" and rows["s002"]["status"] == "missing"
    assert "late" not in rows["s001"]  # a plain batch keeps the gradebook's columns
    detected = tmp_path / "out2"
    grade_command(str(CANONICAL), [str(folder)], str(roster), str(detected), lms=None, jobs=1)
    rows = {r["student"]: r for r in gradebook(detected)}
    assert rows["s002"]["score"] == "10"  # detected as Moodle: the uploader is the student
    assert rows["s002"]["flags"] == "names_other_student:s001"


def test_damaged_zips_give_rows_never_tracebacks(tmp_path: Path, roster: Path) -> None:
    good = make_zip(
        tmp_path / "good.zip",
        [("Ada Lovelace_101_assignsubmission_file/a.json", sub("s001"), T1)],
    )
    data = good.read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(data[: len(data) // 2])
    crc = bytearray(data)
    crc[14:18] = b"\x00\x00\x00\x00"  # the local header's CRC-32 (the central one is kept)
    central = data.rfind(b"PK\x01\x02")
    crc[central + 16 : central + 20] = b"\x00\x00\x00\x00"
    bad_crc = tmp_path / "crc.zip"
    bad_crc.write_bytes(bytes(crc))
    assert "not a readable zip" in read_download(truncated, "moodle").problems[0]
    (upload,) = read_download(bad_crc, "moodle").uploads
    assert upload.data is None and "cannot unpack" in (upload.problem or "")
    out = tmp_path / "out"
    code = grade_command(
        str(CANONICAL), [str(truncated), str(bad_crc)], str(roster), str(out), lms=None, jobs=1,
        source="moodle",
    )  # fmt: skip
    assert code == 1
    rows = gradebook(out)
    assert any("not a readable zip" in r["reason"] for r in rows)
    assert {r["student"]: r for r in rows}["s001"]["status"] == "invalid"


def test_worksheet_in_a_language_without_words_is_read_by_moodles_column_order(
    tmp_path: Path, roster: Path
) -> None:
    # a German site (headers this tool has no words for): the columns are found by order
    original = (
        "Identifikator,Vollständiger Name,E-Mail-Adresse,Status,Bewertung,Bestwertung,"
        "Bewertung kann geändert werden,Zuletzt geändert (Abgabe),"
        "Zuletzt geändert (Bewertung),Feedback als Kommentar\n"
        "Teilnehmer/in 101,Ada Lovelace,ada@example.org,Zur Bewertung abgegeben,,100,Ja,-,-,\n"
        "Teilnehmer/in 102,Blaise Pascal,blaise@example.org,Kein Versuch,,100,Ja,-,-,\n"
    )
    sheet = tmp_path / "de.csv"
    sheet.write_text(original, encoding="utf-8")
    download = make_zip(
        tmp_path / "d.zip", [("Ada Lovelace_101_assignsubmission_file/a.json", sub("s001"), T1)]
    )
    out = tmp_path / "out"
    grade_command(
        str(CANONICAL), [str(download)], str(roster), str(out), lms="moodle", jobs=1,
        moodle_worksheet=str(sheet),
    )  # fmt: skip
    filled = (out / "moodle-grading-worksheet.csv").read_text(encoding="utf-8").splitlines()
    assert filled[0] == original.splitlines()[0] and filled[2] == original.splitlines()[2]
    row = next(csv.reader([filled[1]]))
    assert row[4] == "10" and row[9].startswith("Score 10 / 10.") and row[5] == "100"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    from grader.core.errors import UserError

    with pytest.raises(UserError, match="not Moodle's grading worksheet"):
        grade_command(
            str(CANONICAL), [str(download)], str(roster), str(tmp_path / "o2"), lms="moodle",
            jobs=1, moodle_worksheet=str(bad),
        )  # fmt: skip


def test_a_zip_of_neither_platform_gets_one_clear_row(tmp_path: Path, roster: Path) -> None:
    plain = make_zip(tmp_path / "mine.zip", [("s001.json", sub("s001"), T1)])
    out = tmp_path / "out"
    assert grade_command(str(CANONICAL), [str(plain)], str(roster), str(out), lms=None, jobs=1) == 1
    (row,) = [r for r in gradebook(out) if r["student"] == ""]
    assert "neither Moodle's nor Canvas's" in row["reason"] and "--from" in row["reason"]
    forced = tmp_path / "forced"
    grade_command(
        str(CANONICAL), [str(plain)], str(roster), str(forced), lms=None, jobs=1, source="canvas"
    )
    (row,) = [r for r in gradebook(forced) if r["student"] == ""]
    assert "follows none of Canvas's download rules" in row["reason"]


def test_the_uploaders_variant_is_used_not_the_files_claim(
    tmp_path: Path, roster: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Randomized parameters (the sample course): Blaise hands in Ada's perfect file; it is
    graded against Blaise's own variant, so it is not perfect, and it is flagged."""
    from grader.course.assignment import load_assignment
    from grader.course.keys import key_json
    from grader.course.variants import make_variants

    secret = "Moodle-Test-Secret-7wQz"
    monkeypatch.setenv("GRADER_SECRET", secret)
    course = SAMPLES / "course.yaml"
    spec = load_assignment(course)
    key = key_json(spec, "s001", make_variants(spec, "s001", secret.encode()))
    ada = json.dumps({"assignment": spec.id, "student": "s001", "answers": key["answers"]})
    download = make_zip(
        tmp_path / "d.zip",
        [
            ("Ada Lovelace_101_assignsubmission_file/a.json", ada.encode(), T1),
            ("Blaise Pascal_102_assignsubmission_file/a.json", ada.encode(), T1),
        ],
    )
    out = tmp_path / "out"
    grade_command(str(course), [str(download)], str(roster), str(out), lms=None, jobs=1)
    rows = {r["student"]: r for r in gradebook(out)}
    assert rows["s001"]["score"] == "24" and rows["s001"]["flags"] == ""
    assert float(rows["s002"]["score"]) < 24
    # and the copy detection (grader.grade.peers) sees Ada's data in it
    assert rows["s002"]["flags"] == "copied_from:s001;names_other_student:s001"


def test_report_blocks_read_what_reports_write() -> None:
    from grader.grade.report_blocks import blocks, inline
    from grader.grade.reports import code_span, md_text

    hostile = "</code><script>alert(1)</script> ``x`` **y**"
    line = f"- **{md_text('δ₃ <of> step 1')}**: you wrote {code_span(hostile)}."
    (heading, para, items) = blocks(
        f"# Title\n\n**Student:** A  \n**Score:** 1 / 2\n\n{line}\n  (`/p`)"
    )
    assert heading.kind == "heading" and heading.parts == [("text", "Title")]
    assert ("break", "") in para.parts
    (item,) = items.items
    assert item[0] == ("bold", "δ₃ <of> step 1") and ("code", hostile) in item
    assert item[-2:] == [("code", "/p"), ("text", ")")]
    assert inline(r"a \* b") == [("text", "a * b")]


def test_feedback_page_escapes_what_the_student_wrote(tmp_path: Path, roster: Path) -> None:
    data = json.loads(sub("s001"))
    data["answers"]["sgd"]["steps"][0]["forward"][1] = "</code><script>alert(1)</script>"
    download = make_zip(
        tmp_path / "d.zip",
        [("Ada Lovelace_101_assignsubmission_file/a.json", json.dumps(data).encode(), T1)],
    )
    out = tmp_path / "out"
    grade_command(str(CANONICAL), [str(download)], str(roster), str(out), lms="moodle", jobs=1)
    with zipfile.ZipFile(out / "moodle-feedback.zip") as zf:
        page = zf.read("Ada Lovelace_101_assignsubmission_file/feedback.html").decode()
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


_NAME_PIECES = st.sampled_from(
    ["Ada Lovelace", "_", "101", "assignsubmission", "file", "onlinetext", "/", "..", "\\",
     "a.json", "LATE", "anon", "Иван", " ", "C:", "x.zip", "", "_LATE_", "ü"]
)  # fmt: skip


@pytest.mark.filterwarnings("ignore:Duplicate name")
@settings(max_examples=150)
@given(
    names=st.lists(st.lists(_NAME_PIECES, min_size=1, max_size=8).map("".join), max_size=6),
    platform=st.sampled_from(["moodle", "canvas"]),
)
def test_any_entry_names_are_read_without_an_exception(names: list[str], platform: str) -> None:
    """Zips not shown above: whatever the names, every entry is an upload, a problem, or
    ignored, and nothing is ever written (the zip is read in memory)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i, name in enumerate(names):
            zf.writestr(zipfile.ZipInfo(name.split("\x00")[0] or f"e{i}", T1), sub("s001"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.zip"
        path.write_bytes(buffer.getvalue())
        d = read_download(path, platform)
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["d.zip"]
    for u in d.uploads:
        assert (u.data is None) == (u.problem is not None)
        assert ".." not in u.entry.replace("\\", "/").split("/") or u.problem


def test_an_entry_without_a_name(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(zipfile.ZipInfo("XYZW", T1), b"{}")
    path = tmp_path / "d.zip"
    path.write_bytes(buffer.getvalue().replace(b"XYZW", b"\x00\x00\x00\x00"))
    d = read_download(path, "moodle")
    assert d.uploads == [] and "without a name" in " ".join(d.problems)
