"""``grader generate``: the build directory, hostile names in real PDFs, reproducibility,
variants per secret, and the paths without TeX.

One 25-student build with PDFs is made once for the module (two TeX runs: sheets and
keys); everything else uses ``--no-pdf`` builds, which need no TeX.
"""

from __future__ import annotations

import csv
import json
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from grader.cli import main
from grader.core.errors import UserError
from grader.make.build import generate_command
from grader.make.pdf import TexJob, explain_failure
from tests.conftest import under_ci
from tests.helpers import OTHER_STRONG_SECRET, page_images

SAMPLES = Path(__file__).resolve().parent.parent / "grader" / "samples"
COURSE = SAMPLES / "course.yaml"
SECRET = "test-secret-for-generate"
STUDENTS = 25


def hostile_names(tmp: Path) -> list[str]:
    return [
        "O'Brien & Sons_#1 $100 %",
        "Иванов Иван",
        "Zoë",
        r"\input{/etc/hostname}",
        rf"\write18{{touch {tmp}/pwned}}",
        rf"\immediate\write18{{touch {tmp}/pwned2}}",
        "^^5c^^5cinput{/etc/hostname}",
        r"\def\x{\x}\x",
        rf"\input{{{tmp}/secret.tex}}",
        "José Álvarez",
        "Małgorzata Nowak-Kowalska",
        "Søren Kierkegaard",
        "Петрова Мария-Анна",
        "}{\\end{document}",
        "=cmd|' /C calc'!A0",
        '~tilde <less> |bar| "quoted"',
        "Emoji 😀 Name",
        "Ðorđe Þórsson",
    ] + [f"Student Number {i}" for i in range(18, STUDENTS)]


def write_roster(path: Path, names: list[str]) -> list[str]:
    ids = [f"s{i + 1:02d}" for i in range(len(names))]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name"])
        writer.writerows(zip(ids, names, strict=True))
    return ids


def _require_tex() -> None:
    """As conftest's ``require_tex``, for the module-scoped build (fixtures of a wider
    scope are made before function-scoped ones)."""
    if shutil.which("latexmk") is None or shutil.which("pdflatex") is None:
        if under_ci():
            pytest.fail("TeX is not installed, and under CI=true TeX tests must run")
        pytest.skip("TeX (latexmk, pdflatex) is not installed")


def generate(
    roster: Path, out: Path, *, secret: str | None = SECRET, pdf: bool, jobs: int = 1
) -> int:
    with pytest.MonkeyPatch.context() as mp:
        if secret is None:
            mp.delenv("GRADER_SECRET", raising=False)
        else:
            mp.setenv("GRADER_SECRET", secret)
        return generate_command(str(COURSE), str(roster), str(out), pdf=pdf, jobs=jobs)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("generate")
    (tmp / "secret.tex").write_text("SECRET-CONTENT-7f3a91\n")
    names = hostile_names(tmp)
    roster = tmp / "roster.csv"
    ids = write_roster(roster, names)
    return tmp, roster, ids, names


@pytest.fixture(scope="module")
def small_roster(setup):
    """Five of the students, for the tests of the build directory itself."""
    tmp, _, _, names = setup
    roster = tmp / "small.csv"
    write_roster(roster, names[:5])
    return roster


@pytest.fixture(scope="module")
def tex_build(setup):
    _require_tex()
    tmp, roster, ids, names = setup
    out = tmp / "build"
    assert generate(roster, out, pdf=True) == 0
    return out


@pytest.fixture(scope="module")
def plain_build(setup):
    tmp, roster, _, _ = setup
    out = tmp / "plain"
    assert generate(roster, out, pdf=False) == 0
    return out


def pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def squeeze(text: str) -> str:
    """Text compared without whitespace and with typographic quotes made plain."""
    return "".join(text.replace("’", "'").replace("”", '"').replace("“", '"').split())


# ------------------------------------------------------------ the full build, with TeX


def manifest_files(build: Path) -> dict[str, str]:
    return json.loads((build / "manifest.json").read_text())["files"]


def test_every_output_exists(require_tex, tex_build, setup):
    _, _, ids, _ = setup
    for sid in ids:
        for rel in (
            f"sheets/{sid}.tex",
            f"sheets/{sid}.pdf",
            f"keys/{sid}.tex",
            f"keys/{sid}.pdf",
            f"keys/{sid}.json",
            f"templates/{sid}.json",
            f"forms/{sid}.html",  # the answer page, with PDFs too
        ):
            assert (tex_build / rel).is_file(), rel
            assert manifest_files(tex_build).get(rel), rel
    for rel in ("sheets/all.pdf", "keys/all.pdf", "schema.json", "manifest.json"):
        assert (tex_build / rel).is_file(), rel
    manifest = json.loads((tex_build / "manifest.json").read_text())
    assert manifest["pdf"] is True
    assert [s["id"] for s in manifest["students"]] == ids
    assert f"keys/{ids[0]}.pdf" in manifest["files"]
    assert SECRET not in (tex_build / "manifest.json").read_text()
    # nothing left over from staging or the TeX work
    assert not list(tex_build.parent.glob(".build.*"))
    assert not (tex_build / ".tex").exists()


def test_each_name_appears_in_its_pdfs(require_tex, tex_build, setup):
    _, _, ids, names = setup
    for sid, name in zip(ids, names, strict=True):
        if "😀" in name:
            name = name.replace("😀", "?")  # the fonts have no emoji: a visible stand-in
        for kind in ("sheets", "keys"):
            text = pdf_text(tex_build / kind / f"{sid}.pdf")
            assert squeeze(name) in squeeze(text), (sid, kind, name)
            assert sid in text


def test_per_student_pdfs_are_split_right(require_tex, tex_build, setup):
    _, _, ids, _ = setup
    total = 0
    for sid in ids:
        pages = len(PdfReader(tex_build / "sheets" / f"{sid}.pdf").pages)
        text = pdf_text(tex_build / "sheets" / f"{sid}.pdf")
        assert "Page 1 of" in text and f"ID {sid}" in text
        assert not any(other in text for other in ids if other != sid and f"ID {other}" in text)
        total += pages + pages % 2  # all.pdf adds a blank page after an odd count
    assert len(PdfReader(tex_build / "sheets" / "all.pdf").pages) == total


def test_all_pdf_has_a_bookmark_per_student(require_tex, tex_build, setup):
    _, _, ids, names = setup
    outline = PdfReader(tex_build / "keys" / "all.pdf").outline
    top = [item for item in outline if not isinstance(item, list)]
    assert len(top) == len(ids)
    assert top[1].title == f"{names[1]} ({ids[1]})"


@pytest.fixture(scope="module")
def parts_build(setup):
    """The same build with each class document typeset in parts of at most 10 students
    (as a class of more than ``MAX_PART`` would be) and the parts joined into all.pdf."""
    _require_tex()
    tmp, roster, _, _ = setup
    out = tmp / "parts"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("grader.make.pdf.MAX_PART", 10)
        assert generate(roster, out, pdf=True) == 0
    return out


def test_documents_typeset_in_parts_read_as_one_typeset_whole(
    require_tex, tex_build, parts_build, setup, monkeypatch, tmp_path
):
    """25 students: the sheets and the keys cost about the same, so each is typeset
    whole (one per core); cut into parts (three each, of at most 10 students), they
    read and look the same once joined."""
    from grader.make import pdf

    _, _, ids, _ = setup
    assert [len(p) for p in pdf.plan_parts(_class_documents(setup))] == [1, 1]
    monkeypatch.setattr(pdf, "MAX_PART", 10)
    planned = pdf.plan_parts(_class_documents(setup))
    assert [[len(job.student_ids) for job in parts] for parts in planned] == [[8, 9, 8]] * 2
    whole_build = tex_build
    for kind in ("sheets", "keys"):
        for sid in ids:
            parts, whole = parts_build / kind / f"{sid}.pdf", whole_build / kind / f"{sid}.pdf"
            assert pdf_text(parts) == pdf_text(whole), (kind, sid)
        joined, one = (PdfReader(b / kind / "all.pdf") for b in (parts_build, whole_build))
        assert pdf_text(parts_build / kind / "all.pdf") == pdf_text(whole_build / kind / "all.pdf")
        assert joined.page_labels == one.page_labels  # 1, 2, … again for every student
        assert _titles(joined.outline) == _titles(one.outline)
        # each bookmark leads to the same page, at the same height
        assert _targets(joined, joined.outline) == _targets(one, one.outline)
        assert joined.metadata == one.metadata and joined.page_mode == one.page_mode
        assert page_images(
            (parts_build / kind / "all.pdf").read_bytes(), tmp_path / f"{kind}-parts"
        ) == page_images((whole_build / kind / "all.pdf").read_bytes(), tmp_path / f"{kind}-whole")


def test_only_an_uneven_pair_of_documents_is_cut_into_parts() -> None:
    """Parts cost a join; only a document that would keep its core much longer than the
    other's is cut (here one whose students' text is all groups, which TeX reads as macros
    and mathematics, against plain letters: eight times the cost)."""
    from grader.make.pdf import ClassDocument, plan_parts

    ids = [f"s{i}" for i in range(40)]
    even = [ClassDocument(n, "", ["x" * 1000] * 40, ids) for n in ("sheets", "keys")]
    assert [len(p) for p in plan_parts(even)] == [1, 1]
    uneven = [ClassDocument("sheets", "", ["{x}" * 1000] * 40, ids), even[1]]
    parts = plan_parts(uneven)
    assert [len(p) for p in parts] == [4, 1]
    assert [j.student_ids for j in parts[0]] == [ids[:10], ids[10:20], ids[20:30], ids[30:]]


def test_a_long_document_is_cut_into_parts_of_at_most_max_part_students(monkeypatch) -> None:
    """Memory: a part's PDF is split with qpdf's index of all its objects in memory, so no
    part holds more than ``MAX_PART`` students, however even the documents' costs."""
    from grader.make import pdf
    from grader.make.pdf import ClassDocument, plan_parts

    ids = [f"s{i}" for i in range(45)]
    even = [ClassDocument(n, "", ["x" * 1000] * 45, ids) for n in ("sheets", "keys")]
    assert [len(p) for p in plan_parts(even)] == [1, 1]
    monkeypatch.setattr(pdf, "MAX_PART", 10)
    parts = plan_parts(even)
    assert [[len(j.student_ids) for j in p] for p in parts] == [[9, 9, 9, 9, 9]] * 2
    assert [i for j in parts[0] for i in j.student_ids] == ids  # every student, in order
    uneven = [ClassDocument("sheets", "", ["{x}" * 1000] * 45, ids), even[1]]
    assert [len(p) for p in plan_parts(uneven)] == [5, 5]  # the cost alone would cut 4, 1


def test_the_cost_model_ranks_the_sample_courses_documents_as_tex_takes_them(setup) -> None:
    """Measured (pdflatex, one run): a sample-course key takes 1.5 times a sheet's TeX
    time, though a sheet is the longer text (its chain-rule graph comes as long PDF
    operators, which TeX hands on unread).  The planner's costs must rank them so, and
    within 25 % of that ratio."""
    sheets, keys = _class_documents(setup)
    assert sum(map(len, sheets.bodies)) > sum(map(len, keys.bodies))
    assert 1.5 / 1.25 < keys.cost() / sheets.cost() < 1.5 * 1.25


def _titles(outline: list[Any]) -> list[Any]:
    return [_titles(item) if isinstance(item, list) else item.title for item in outline]


def _targets(reader: Any, outline: list[Any]) -> list[Any]:
    return [
        _targets(reader, item)
        if isinstance(item, list)
        else (reader.get_destination_page_number(item), item.get("/Top"))
        for item in outline
    ]


def _class_documents(setup: Any) -> list[Any]:
    from grader.course.assignment import load_assignment, load_roster
    from grader.make.build import KINDS, class_head, student_output
    from grader.make.pdf import ClassDocument

    _, roster_path, ids, _ = setup
    assignment = load_assignment(COURSE)
    bodies: dict[str, list[str]] = {kind: [] for kind, _ in KINDS}
    for index, student in enumerate(load_roster(roster_path), start=1):
        for kind, body in student_output(
            assignment, student, index, SECRET.encode()
        ).bodies.items():
            bodies[kind].append(body)
    return [
        ClassDocument(folder, class_head(assignment, kind), bodies[kind], ids)
        for kind, folder in KINDS
    ]


def test_no_file_is_read_and_nothing_runs(require_tex, tex_build, setup):
    tmp, _, _, _ = setup
    hostname = socket.gethostname()
    etc = Path("/etc/hostname")
    secrets = ["SECRET-CONTENT-7f3a91"]
    if etc.is_file() and len(etc.read_text().strip()) >= 4:
        secrets.append(etc.read_text().strip())
    if len(hostname) >= 4:
        secrets.append(hostname)
    for pdf in (tex_build / "sheets" / "all.pdf", tex_build / "keys" / "all.pdf"):
        text = pdf_text(pdf)  # every page of every student
        for secret in secrets:
            assert secret not in text, (pdf, secret)
    assert not (tmp / "pwned").exists()
    assert not (tmp / "pwned2").exists()


# ------------------------------------------------------------ text outputs, no TeX


def text_files(build: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(build)): p.read_bytes()
        for p in sorted(build.rglob("*"))
        if p.suffix in (".tex", ".json") and p.name != "manifest.json"
    }


def test_runs_are_byte_identical(plain_build, setup, tmp_path):
    _, roster, _, _ = setup
    again = tmp_path / "again"
    assert generate(roster, again, pdf=False, jobs=2) == 0  # worker processes: same bytes
    assert text_files(again) == text_files(plain_build)
    assert (again / "manifest.json").read_bytes() == (plain_build / "manifest.json").read_bytes()


def test_tex_build_matches_the_plain_build(require_tex, tex_build, plain_build):
    assert text_files(tex_build) == text_files(plain_build)


def test_another_secret_gives_other_variants(plain_build, setup, tmp_path):
    _, roster, ids, _ = setup
    other = tmp_path / "other"
    assert generate(roster, other, secret=OTHER_STRONG_SECRET, pdf=False) == 0
    differ = sum(
        json.loads((other / "keys" / f"{sid}.json").read_text())["params"]
        != json.loads((plain_build / "keys" / f"{sid}.json").read_text())["params"]
        for sid in ids
    )
    assert differ >= len(ids) - 2


def test_students_get_distinct_numbers_in_every_exercise(plain_build, setup):
    _, _, ids, _ = setup
    keys = [json.loads((plain_build / "keys" / f"{sid}.json").read_text()) for sid in ids]
    for exercise_id in keys[0]["params"]:
        distinct = {json.dumps(k["params"][exercise_id], sort_keys=True) for k in keys}
        answers = {json.dumps(k["answers"][exercise_id], sort_keys=True) for k in keys}
        assert len(distinct) >= 22, exercise_id
        assert len(answers) >= 22, exercise_id


def test_template_is_the_submission_layout_with_nulls(plain_build, setup):
    _, _, ids, _ = setup
    template = json.loads((plain_build / "templates" / f"{ids[0]}.json").read_text())
    key = json.loads((plain_build / "keys" / f"{ids[0]}.json").read_text())
    assert template["student"] == ids[0] and template["assignment"] == key["assignment"]

    def shape(value):
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return None

    assert template["answers"] == shape(key["answers"])


def test_without_the_secret_exit_2(small_roster, tmp_path):
    roster = small_roster
    result = CliRunner().invoke(
        main,
        ["generate", str(COURSE), "--roster", str(roster), "--out", str(tmp_path / "b")],
        env={"GRADER_SECRET": None},
    )
    assert result.exit_code == 2
    assert "GRADER_SECRET" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "b").exists()


def test_without_tex_everything_but_pdfs(small_roster, tmp_path, monkeypatch, capsys):
    roster = small_roster
    ids = [f"s{i:02d}" for i in range(1, 6)]
    empty = tmp_path / "no-tex-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    out = tmp_path / "b"
    assert generate(roster, out, pdf=True) == 0
    err = capsys.readouterr().err
    assert err.count("apt-get install") == 1
    assert "MacTeX" in err and "MiKTeX" in err
    assert not list(out.rglob("*.pdf"))
    assert (out / "keys" / f"{ids[0]}.json").is_file()
    assert json.loads((out / "manifest.json").read_text())["pdf"] is False


def test_no_pdf_writes_no_pdf_and_no_hint(small_roster, tmp_path, capsys):
    roster = small_roster
    out = tmp_path / "b"
    assert generate(roster, out, pdf=False) == 0
    assert not list(out.rglob("*.pdf"))
    assert "apt-get" not in capsys.readouterr().err


# ------------------------------------------------------------ the build directory


def test_refuses_to_replace_a_directory_that_is_not_a_build(small_roster, tmp_path):
    roster = small_roster
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(UserError, match="refusing to replace"):
        generate(roster, out, pdf=False)
    assert (out / "thesis.tex").read_text() == "years of work"


def test_replaces_an_earlier_build(small_roster, tmp_path, capsys):
    """The build's own files are replaced; a file someone put into keys/ is not the tool's
    to delete: it is carried over (and said), and check goes on reporting it."""
    roster = small_roster
    out = tmp_path / "b"
    assert generate(roster, out, pdf=False) == 0
    own = sorted((out / "keys").glob("*.json"))[0]
    (own).write_text("{}")  # the tool's file, changed: replaced
    (out / "keys" / "stale.json").write_text("{}")
    capsys.readouterr()
    assert generate(roster, out, pdf=False) == 0
    assert own.read_text() != "{}"
    assert (out / "keys" / "stale.json").read_text() == "{}"
    assert "kept 1 entries that are not part of a build: keys/stale.json" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # nothing left beside


def test_a_failed_run_leaves_the_previous_build(small_roster, tmp_path, monkeypatch):
    roster = small_roster
    out = tmp_path / "b"
    assert generate(roster, out, pdf=False) == 0
    before = text_files(out)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt  # as if the run were killed halfway

    monkeypatch.setattr("grader.make.build.make_manifest", boom)
    with pytest.raises(KeyboardInterrupt):
        generate(roster, out, secret=OTHER_STRONG_SECRET, pdf=False)
    assert text_files(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_tex_errors_name_the_student_and_line():
    tex = "\\documentclass{article}\n\\begin{document}\n% ---- student 1\nfine\n% ---- student 2\n\\oops\n"
    log = (
        "This is pdfTeX\n! Undefined control sequence.\nl.6 \\oops\n\nHere is how much\n"
        "!  ==> Fatal error occurred, no output PDF file produced!\n"
    )
    message = explain_failure(TexJob("sheets", tex, ["s01", "s02"]), log)
    assert "student s02" in message and "line 6" in message
    assert "Undefined control sequence" in message
    missing = explain_failure(
        TexJob("keys", tex, ["s01"]), "! LaTeX Error: File `enumitem.sty' not found.\n"
    )
    assert "enumitem.sty" in missing and "apt-get install" in missing


@pytest.mark.parametrize("ids", [["s01", "all"], ["s01", "S01"]])
def test_ids_that_would_share_a_file_are_refused(ids, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{sid},Someone\n" for sid in ids))
    with pytest.raises(UserError, match="reserved|differ only in case"):
        generate(roster, tmp_path / "b", pdf=False)


def test_tex_runs_sandboxed():
    from grader.make.pdf import tex_environment

    env = tex_environment()
    assert env["openin_any"] == "p" and env["openout_any"] == "p"
    assert env["shell_escape"] == "f"
    assert env["SOURCE_DATE_EPOCH"] == "0"


def _gone(pid: int) -> bool:
    """Whether a process has ended (or is a zombie waiting to be reaped)."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "State:\tZ" in status.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to watch processes")
def test_a_runaway_tex_is_killed_with_its_children(tmp_path, monkeypatch):
    """A TeX that never ends is stopped at the time limit, and so is what it started."""
    import time

    from grader.make import pdf

    engine = tmp_path / "fake-pdflatex"
    engine.write_text("#!/bin/sh\nsleep 300 &\necho $! > child.pid\nsleep 300\n")
    engine.chmod(0o755)
    monkeypatch.setattr(pdf, "timeout_for", lambda students: 1.0)
    work = tmp_path / "work"
    with pytest.raises(pdf.TexFailure, match="took longer"):
        pdf.compile_one(TexJob("sheets", "x", ["s01"]), work, str(engine))
    child = int((work / "child.pid").read_text())
    for _ in range(50):  # the kill is immediate; reaping by init may lag a moment
        if _gone(child):
            break
        time.sleep(0.05)
    assert _gone(child)


def test_a_tex_error_keeps_the_rest_and_names_the_student(
    small_roster, tmp_path, monkeypatch, capsys
):
    """TeX failing (here a stand-in engine) is exit 1 with the student and the line;
    the .tex/.json files, the manifest and TeX's log are still written."""
    from grader.make import pdf

    engine = tmp_path / "fake-pdflatex"
    engine.write_text(
        "#!/bin/sh\n"
        "line=$(grep -n -m1 -- '---- student 3' all.tex | cut -d: -f1)\n"
        "printf '! Undefined control sequence.\\nl.%s \\\\oops\\n' $((line + 2)) > all.log\n"
        "exit 1\n"
    )
    engine.chmod(0o755)
    monkeypatch.setattr(pdf, "find_engine", lambda: str(engine))
    out = tmp_path / "b"
    assert generate(small_roster, out, pdf=True) == 1
    err = capsys.readouterr().err
    assert "student s03" in err and "Undefined control sequence" in err
    assert "tex-error.log" in err and (out / "tex-error.log").is_file()
    assert not list(out.rglob("*.pdf"))
    assert (out / "keys" / "s03.json").is_file()
    assert json.loads((out / "manifest.json").read_text())["pdf"] is False
