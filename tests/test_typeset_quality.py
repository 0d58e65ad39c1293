"""Sheets and keys as they are printed (issue 18, items 4, 5 and 7).

A class of every family (chain rule; matrix form with σ rounded and with exact ReLU, and
rounding everything; SGD steps with σ rounded and with exact tanh; softmax regression, and
a softmax classifier with a tanh hidden layer rounding everything) is typeset in English
and in Russian, as ``generate`` typesets it (one class document per kind).  Then:

- no overfull box wider than 1 pt in TeX's log (nothing runs into the margin);
- no Type 3 (bitmap) font in the PDF (``pdffonts``): Russian text in vector fonts;
- no page ends with a heading (``pdftotext`` per page): a heading stays with what follows;
- the title and course are printed in the language of the document.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader.course.assignment import Assignment, Student
from grader.make.build import KINDS, class_head, student_output
from grader.make.pdf import ClassDocument, compile_one, find_engine
from tests.conftest import tex_available, under_ci

SECRET = b"typeset-quality-secret-4d8e1a7c"
STUDENTS = 4
TITLE = {"en": "Backpropagation by hand", "ru": "Обратное распространение вручную"}
COURSE = {"en": "Machine Learning", "ru": "Машинное обучение"}
SIGMOID_ROUNDED = {"mode": "transcendental", "decimals": 4}


def course(language: str) -> Assignment:
    return Assignment.model_validate(
        {
            "id": "typeset-quality",
            "language": language,
            "title": TITLE,
            "course": COURSE,
            "due": "Friday, 23:59",
            "exercises": [
                {"id": "graph", "type": "chain_rule", "points": 6},
                {
                    "id": "mlp",
                    "type": "mlp_matrix",
                    "points": 8,
                    "params": {"activation": "sigmoid", "loss": "mse", "rounding": SIGMOID_ROUNDED},
                },
                {
                    "id": "mlp_exact",
                    "type": "mlp_matrix",
                    "points": 8,
                    "params": {"activation": "relu"},
                },
                {
                    "id": "mlp_all",
                    "type": "mlp_matrix",
                    "points": 8,
                    "params": {"activation": "tanh", "rounding": {"mode": "all", "decimals": 3}},
                },
                {
                    "id": "sgd",
                    "type": "sgd_chain",
                    "points": 10,
                    "params": {"depth": 3, "activation": "sigmoid", "rounding": SIGMOID_ROUNDED},
                },
                {
                    "id": "sgd_tanh",
                    "type": "sgd_chain",
                    "points": 10,
                    "params": {"depth": 4, "activation": "tanh", "rounding": {"mode": "exact"}},
                },
                {"id": "softmax", "type": "softmax_classifier", "points": 10},
                {
                    "id": "softmax_deep",
                    "type": "softmax_classifier",
                    "points": 10,
                    "params": {
                        "hidden": [3],
                        "classes": 4,
                        "activation": "tanh",
                        "order": [1, 2],
                        "rounding": {"mode": "all", "decimals": 3},
                    },
                },
            ],
        }
    )


def _require_tools() -> None:
    missing = [t for t in ("pdffonts", "pdftotext") if shutil.which(t) is None]
    if not tex_available() or missing:
        if under_ci():
            pytest.fail(
                f"TeX or poppler ({', '.join(missing)}) missing, and under CI=true they must run"
            )
        pytest.skip("TeX or poppler-utils is not installed")


@pytest.fixture(scope="module")
def typeset(tmp_path_factory) -> dict[tuple[str, str], tuple[str, Path]]:
    """(language, kind) -> (TeX's log, the class PDF)."""
    _require_tools()
    engine = find_engine()
    assert engine is not None
    out: dict[tuple[str, str], tuple[str, Path]] = {}
    for language in ("en", "ru"):
        assignment = course(language)
        students = [Student(id=f"s{i:02d}", name=f"Ученик {i} Student") for i in range(STUDENTS)]
        outputs = [student_output(assignment, st, i + 1, SECRET) for i, st in enumerate(students)]
        for kind, folder in KINDS:
            doc = ClassDocument(
                folder,
                class_head(assignment, kind),
                [o.bodies[kind] for o in outputs],
                [s.id for s in students],
            )
            workdir = tmp_path_factory.mktemp(f"{language}-{folder}")
            pdf = workdir / "class.pdf"
            pdf.write_bytes(compile_one(doc.parts(1)[0], workdir, engine).read_bytes())
            out[(language, kind)] = ((workdir / "all.log").read_text("utf-8", "replace"), pdf)
    return out


DOCUMENTS = [(language, kind) for language in ("en", "ru") for kind in ("sheet", "key")]


@pytest.mark.tex
@pytest.mark.parametrize(("language", "kind"), DOCUMENTS)
def test_nothing_runs_into_the_margin(typeset, language, kind) -> None:
    log, _ = typeset[(language, kind)]
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert [w for w in widths if w > 1.0] == []


@pytest.mark.tex
@pytest.mark.parametrize(("language", "kind"), DOCUMENTS)
def test_every_font_is_a_vector_font(typeset, language, kind) -> None:
    _, pdf = typeset[(language, kind)]
    fonts = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert fonts, "pdffonts listed no font"
    assert [f for f in fonts if "Type 3" in f] == []
    if language == "ru":  # Cyrillic from cm-super (T2A in Type 1), not METAFONT bitmaps
        assert any("Type 1" in f for f in fonts)


def _pages(pdf: Path) -> list[list[str]]:
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = [
        [line.strip() for line in page.splitlines() if line.strip()] for page in text.split("\f")
    ]
    return [page for page in pages if page]


# What a heading of a sheet or key reads like (its words are in templates/*/words.yaml):
# one per language, a line of its own.
HEADINGS = {
    "en": [
        r"Exercise \d+\. .*\(\d+ points?\)",
        r"Step \d+ Observation \d+: .*|Step \d+ \(observation \d+\)|Answer of step \d+:",
        r"Summary|Forward pass.*|Local derivatives|Backward pass.*|Partial derivatives.*",
        r"The output as a formula|Loss|Gradient descent step|Gradient\.|Update\.|Work space.*",
    ],
    "ru": [
        r"Задача \d+\. .*\(\d+ балл\w*\)",
        r"Шаг \d+ Наблюдение \d+: .*|Шаг \d+ \(наблюдение \d+\)|Ответ шага \d+:",
        r"Итог|Прямой проход.*|Локальные производные|Обратный проход.*|Частные производные.*",
        r"Выход в виде формулы|Функция потерь|Шаг градиентного спуска|Градиент\.|Обновление весов\.",
        r"Место для решения.*|Черновик.*",
    ],
}


@pytest.mark.tex
@pytest.mark.parametrize(("language", "kind"), DOCUMENTS)
def test_no_page_ends_with_a_heading(typeset, language, kind) -> None:
    _, pdf = typeset[(language, kind)]
    heading = re.compile("|".join(f"(?:{h})" for h in HEADINGS[language]))
    pages = _pages(pdf)
    assert len(pages) >= STUDENTS
    # the patterns do find the headings (each exercise's at least), or this test says nothing
    found = sum(1 for lines in pages for line in lines if heading.fullmatch(line))
    assert found >= STUDENTS * len(course(language).exercises)
    stranded = []
    for number, lines in enumerate(pages, start=1):
        body = lines[:-1]  # the last line is the footer (id, kind, page x of y)
        assert re.search(r"\d+\D+\d+$", lines[-1]), lines[-1]
        if body and heading.fullmatch(body[-1]):
            stranded.append(f"page {number} ends with {body[-1]!r}")
    assert stranded == []


@pytest.mark.tex
@pytest.mark.parametrize(("language", "kind"), DOCUMENTS)
def test_title_and_course_are_in_the_documents_language(typeset, language, kind) -> None:
    _, pdf = typeset[(language, kind)]
    text = subprocess.run(
        ["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    text = " ".join(re.sub(r"-\n", "", text).split())  # a long title may be hyphenated
    other = "ru" if language == "en" else "en"
    assert TITLE[language] in text and COURSE[language] in text
    assert TITLE[other] not in text and COURSE[other] not in text
