"""Class documents typeset in one TeX run, with the drawings students share typeset once
(issue 19).

- a picture several students share is saved once per TeX job and copied after; a
  picture of one student alone is left as it is (no TeX needed);
- a student's own ``.tex`` still compiles alone (one run, no sharing): its pages, as
  images at 100 dpi, are those of the student's PDF split from the class document
  (at most 0.5 % of the pixels differ), in English and in Russian;
- every page's footer says "page k of n" with n the student's page count, although the
  class document was typeset once (the pages are held back until the count is known);
- the chain-rule graph, drawn from ready PDF operators, gives the pages TikZ gives.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.course.assignment import Assignment, Student
from grader.course.variants import make_variants
from grader.exercises.chain_rule.view import tikz_graph
from grader.make.build import KINDS, class_head, student_output
from grader.make.pdf import ClassDocument, TexJob, compile_one, find_engine, typeset
from grader.make.shared_pictures import PICTURE_RE, SAVE, USE, distinct_pictures, share_pictures
from tests.conftest import tex_available, under_ci
from tests.helpers import page_images
from tests.test_graph_geometry import _chain, _stress

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "grader" / "samples" / "course.yaml"
SECRET = b"one-run-test-secret-5b1f0c2e9d"
STUDENTS = [Student(id="s1", name="Иванов Иван"), Student(id="s2", name="Zoë Dupont")]
MAX_DIFFERENT = 0.005  # of a page's pixels at 100 dpi
FOOTER = {"en": r"Page (\d+) of (\d+)", "ru": r"Стр\. (\d+) из (\d+)"}

PICTURE_A = "\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}"
PICTURE_B = "\\begin{tikzpicture}\\draw (0,0) -- (2,1);\\end{tikzpicture}"


def test_a_shared_picture_is_saved_once_and_copied_after() -> None:
    bodies = [f"one {PICTURE_A} {PICTURE_B}", f"two {PICTURE_A}", f"three {PICTURE_A}"]
    shared = share_pictures(bodies)
    saved = SAVE.format(name=1, picture=PICTURE_A)
    used = USE.format(name=1)
    assert shared == [f"one {saved} {PICTURE_B}", f"two {used}", f"three {used}"]
    assert "".join(shared).count("\\begin{tikzpicture}") == 2  # A once, B (alone) once
    assert distinct_pictures(bodies) == 2


def test_nothing_shared_is_left_as_it_is() -> None:
    bodies = [f"one {PICTURE_A}", f"two {PICTURE_B}"]
    assert share_pictures(bodies) == bodies


def test_the_sgd_drawing_is_drawn_once_per_class_document() -> None:
    """The sample course's SGD chain (depth 3, σ) is the same picture for everyone: the
    class document's TeX draws it once; each student's own file draws it."""
    assignment = course("en")
    outputs = [student_output(assignment, s, i, SECRET) for i, s in enumerate(STUDENTS, 1)]
    document = ClassDocument(
        "sheets",
        class_head(assignment, "sheet"),
        [o.bodies["sheet"] for o in outputs],
        [s.id for s in STUDENTS],
    )
    (job,) = document.parts(1)
    assert str(job.tex).count("neuron/.style") == 1
    assert str(job.tex).count("\\begin{gradersavepicture}") == 1
    assert str(job.tex).count("\\graderusepicture{1}") == len(STUDENTS) - 1
    for student, output in zip(STUDENTS, outputs, strict=True):
        own = output.files[f"sheets/{student.id}.tex"]
        assert b"\\begin{gradersavepicture}" not in own and b"neuron/.style" in own


def course(language: str) -> Assignment:
    raw = yaml.safe_load(COURSE.read_text("utf-8"))
    raw["language"] = language
    return Assignment.model_validate(raw)


def _require_tools() -> None:
    missing = [t for t in ("pdftoppm", "pdftotext") if shutil.which(t) is None]
    if not tex_available() or missing:
        if under_ci():
            pytest.fail(
                f"TeX or poppler ({', '.join(missing)}) missing; under CI=true they must run"
            )
        pytest.skip("TeX or poppler-utils is not installed")


@pytest.fixture(scope="module", params=["en", "ru"])
def builds(request, tmp_path_factory) -> tuple[str, dict[str, dict[str, bytes]]]:
    """(language, {kind: {"split <id>" / "own <id>": PDF bytes}})."""
    _require_tools()
    engine = find_engine()
    assert engine is not None
    language = request.param
    assignment = course(language)
    outputs = [student_output(assignment, s, i, SECRET) for i, s in enumerate(STUDENTS, 1)]
    ids = [s.id for s in STUDENTS]
    documents = [
        ClassDocument(folder, class_head(assignment, kind), [o.bodies[kind] for o in outputs], ids)
        for kind, folder in KINDS
    ]
    root = tmp_path_factory.mktemp(f"one-run-{language}")
    results = typeset(documents, root / "class", engine)
    pdfs: dict[str, dict[str, bytes]] = {}
    for _, folder in KINDS:
        pdfs[folder] = {f"split {sid}": data for sid, data in results[folder].per_student.items()}
        for sid, output in zip(ids, outputs, strict=True):
            own = output.files[f"{folder}/{sid}.tex"].decode("utf-8")
            job = TexJob(folder, own, [sid])
            own_pdf = compile_one(job, root / f"own-{folder}-{sid}", engine)
            pdfs[folder][f"own {sid}"] = own_pdf.read_bytes()
    return language, pdfs


def test_own_files_compile_alone_into_the_split_pages(builds, tmp_path) -> None:
    _, pdfs = builds
    for folder, by_name in pdfs.items():
        for sid in (s.id for s in STUDENTS):
            split = page_images(by_name[f"split {sid}"], tmp_path / f"{folder}-{sid}-split")
            own = page_images(by_name[f"own {sid}"], tmp_path / f"{folder}-{sid}-own")
            assert len(split) == len(own), (folder, sid)
            for number, (a, b) in enumerate(zip(split, own, strict=True), start=1):
                assert different(a, b) <= MAX_DIFFERENT, (folder, sid, number, different(a, b))


def test_every_footer_counts_the_students_pages(builds, tmp_path) -> None:
    language, pdfs = builds
    for folder, by_name in pdfs.items():
        for name, data in by_name.items():
            pages = page_texts(data, tmp_path / "doc.pdf")
            assert footers_count(pages, language), (folder, name)


def page_texts(pdf: bytes, path: Path) -> list[str]:
    """The text of each page of ``pdf`` (written to ``path`` for pdftotext)."""
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("\f")[:-1]  # pdftotext ends every page with a form feed


def footers_count(pages: list[str], language: str) -> bool:
    """Each page's footer says "page k of n", n the number of ``pages``."""
    footers = [re.findall(FOOTER[language], page) for page in pages]
    return footers == [[(str(k), str(len(pages)))] for k in range(1, len(pages) + 1)]


def different(a: bytes, b: bytes) -> float:
    """The share of pixels that differ (pages of different sizes differ everywhere)."""
    if len(a) != len(b):
        return 1.0
    return sum(x != y for x, y in zip(a, b, strict=True)) / len(a)


def test_a_tex_failure_leaves_no_pdf_behind(require_tex, tmp_path, monkeypatch) -> None:
    """Students' PDFs go to disk as soon as their part is split; when another part's
    TeX fails, the build has no PDF at all (the manifest says so)."""
    from grader.make import pdf
    from grader.make.build import generate_command

    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns1,Ann Lee\ns2,Bo Chen\n", encoding="utf-8")
    compile_one_really = pdf.compile_one

    def keys_fail(job: TexJob, workdir: Path, engine: str) -> Path:
        if job.name == "keys":  # the sheets (typeset first: they cost more) are split by then
            raise pdf.TexFailure("TeX failed on the keys (a test)")
        return compile_one_really(job, workdir, engine)

    monkeypatch.setattr(pdf, "compile_one", keys_fail)
    monkeypatch.setenv("GRADER_SECRET", SECRET.decode())
    out = tmp_path / "build"
    assert generate_command(str(COURSE), str(roster), str(out), pdf=True, jobs=1) != 0
    assert (out / "sheets" / "s1.tex").is_file()
    assert not list(out.rglob("*.pdf"))


GRAPH_STUDENTS = 24  # drawn chain-rule variants, each student's own


def graph_course(language: str) -> Assignment:
    """The sample course's chain-rule exercise alone (a graph drawn per student), and
    three graphs given to everyone: the deepest one (scaled to the text width) and two at
    the family's limits (names of two and three characters, the output among them)."""
    raw = yaml.safe_load(COURSE.read_text("utf-8"))
    raw["language"] = language
    (drawn,) = [e for e in raw["exercises"] if e["type"] == "chain_rule"]
    given = [
        {
            **drawn,
            "id": f"given{i}",
            "params": {
                "variables": p.variables,
                "nodes": [n.model_dump(mode="json", exclude_none=True) for n in p.nodes],
                "point": dict.fromkeys(p.variables, 1),
            },
        }
        for i, p in enumerate([_chain(), *_stress(2)])
    ]
    raw["exercises"] = [drawn, *given]
    return Assignment.model_validate(raw)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_chain_rule_graph_is_drawn_as_tikz_draws_it(require_tex, tmp_path, language) -> None:
    """The sheet draws the chain-rule graph from ready PDF operators and TeX only sets its
    text (``view._graph``); the same graph drawn by TikZ with its styles
    (``view.tikz_graph``, the reference) gives the very same pages, to the pixel at 100 dpi,
    in one class document of 24 students' drawn graphs and the given ones (a scaled graph,
    outputs drawn double, names wider than a letter)."""
    _require_tools()
    engine = find_engine()
    assert engine is not None
    assignment = graph_course(language)
    students = [Student(id=f"g{i}", name=f"Graph {i}") for i in range(1, GRAPH_STUDENTS + 1)]
    drawn: list[str] = []
    reference: list[str] = []
    graphs = []
    for index, student in enumerate(students, start=1):
        body = student_output(assignment, student, index, SECRET).bodies["sheet"]
        params = [v.params for v in make_variants(assignment, student.id, SECRET, formulas=False)]
        graphs += params
        drawn.append(body)
        reference.append(as_tikz_draws(body, params))
    assert len({tikz_graph(p) for p in graphs}) == GRAPH_STUDENTS + 3
    assert any("scale=" in tikz_graph(p) for p in graphs)
    assert any(len(n.name) == 3 and n.name == p.output for p in graphs for n in p.nodes)
    images = []
    for way, bodies in (("drawn", drawn), ("tikz", reference)):
        document = ClassDocument(
            "sheets", class_head(assignment, "sheet"), bodies, [s.id for s in students]
        )
        (job,) = document.parts(1)
        pdf = compile_one(job, tmp_path / way, engine).read_bytes()
        images.append(page_images(pdf, tmp_path / f"{way}-pages"))
    assert len(images[0]) == len(images[1])
    differing = [
        (number, different(x, y))
        for number, (x, y) in enumerate(zip(*images, strict=True), start=1)
        if x != y
    ]
    assert differing == [], f"pages (number, share of pixels) not as TikZ draws them: {differing}"


def as_tikz_draws(body: str, graphs: list[Any]) -> str:
    """``body`` with its chain-rule pictures (of ``graphs``, in order) drawn by TikZ."""
    tikz = iter([tikz_graph(p) for p in graphs])
    out = PICTURE_RE.sub(lambda m: next(tikz) if "\\crpaths" in m.group(0) else m.group(0), body)
    assert next(tikz, None) is None, "fewer pictures than graphs"
    return out


def test_a_student_whose_last_line_fills_the_page_keeps_only_their_pages(
    require_tex, tmp_path
) -> None:
    """Students of 30 to 100 lines, each ending with some space (as an exercise's last
    list or table does): for some of them the last line fills the last page.  Each
    student's PDF holds exactly their own pages, as many as its footers count, and never
    the blank page after them that keeps the next student on a recto (the end mark once
    went over to that page, after the space, when the last line filled its page)."""
    _require_tools()
    engine = find_engine()
    assert engine is not None
    assignment = course("en")
    counts = range(30, 101)
    ids = [f"n{lines}" for lines in counts]
    bodies = [
        f"\\studentstart{{{index}}}{{{sid}}}{{{sid}}}\n"
        + "\n\n".join(f"Line {k} of {lines}." for k in range(1, lines + 1))
        + "\n\n\\vspace{6pt}\n\\studentend\n\\duplexbreak\n"
        for index, (sid, lines) in enumerate(zip(ids, counts, strict=True), start=1)
    ]
    document = ClassDocument("sheets", class_head(assignment, "sheet"), bodies, ids)
    result = typeset([document], tmp_path / "class", engine)["sheets"]
    page_totals = set()
    for sid, lines in zip(ids, counts, strict=True):
        pages = page_texts(result.per_student[sid], tmp_path / f"{sid}.pdf")
        assert footers_count(pages, "en"), sid
        assert f"Line {lines} of {lines}." in pages[-1], sid
        page_totals.add(len(pages))
    assert page_totals == {1, 2, 3}  # the lengths cross two page ends
