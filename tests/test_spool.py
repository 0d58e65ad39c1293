"""Class-document bodies kept on disk (grader.make.spool): what goes in comes out, in
order, by index, slice and iteration, from any thread; and TeX's input written from a
spool is the document the bodies make in memory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.make.pdf import ClassDocument, ClassText
from grader.make.shared_pictures import share_pictures
from grader.make.spool import BodySpool

TEXTS = ["", "plain", "Иванов Иван — ünïcödé 😀\n" * 3, "x" * 100_000, "\\begin{tikzpicture}…"]
PICTURE = "\\begin{tikzpicture}\\draw (0,0) -- (1,1);\\end{tikzpicture}"


def spool_of(tmp_path: Path, texts: list[str]) -> BodySpool:
    spool = BodySpool(tmp_path / "bodies")
    for text in texts:
        spool.append(text)
    return spool


def test_what_goes_in_comes_out(tmp_path: Path) -> None:
    spool = spool_of(tmp_path, TEXTS)
    assert len(spool) == len(TEXTS)
    assert [spool[i] for i in range(len(TEXTS))] == TEXTS
    assert list(spool) == TEXTS
    assert spool[-1] == TEXTS[-1]
    assert list(spool[1:4]) == TEXTS[1:4] and list(spool[1:4][1:]) == TEXTS[2:4]
    assert spool[1:4][0] == TEXTS[1] and len(spool[3:]) == 2
    spool.append("later")  # appending after reading
    assert spool[len(TEXTS)] == "later" and spool[2] == TEXTS[2]
    spool.close()


def test_threads_read_one_spool_at_once(tmp_path: Path) -> None:
    texts = [f"body {i} " + "é" * (i % 97) for i in range(2_000)]
    spool = spool_of(tmp_path, texts)
    with ThreadPoolExecutor(4) as pool:
        read = list(pool.map(lambda i: spool[i], range(len(texts))))
        halves = list(pool.map(list, [spool[:1_000], spool[1_000:]]))
    assert read == texts and halves[0] + halves[1] == texts
    spool.close()


def test_tex_input_written_from_a_spool_is_the_document_in_memory(tmp_path: Path) -> None:
    bodies = [f"% ---- student {i}\nStudent {i}: {PICTURE}\n" for i in range(1, 6)]
    bodies[2] += "\\begin{tikzpicture}\\node {own};\\end{tikzpicture}"
    spool = spool_of(tmp_path, bodies)
    document = ClassDocument("sheets", "HEAD\\begin{document}\n", spool, list("abcde"))
    in_memory = ClassDocument("sheets", "HEAD\\begin{document}\n", bodies, list("abcde"))
    assert document.cost() == in_memory.cost()
    for count in (1, 2):
        for job, same in zip(document.parts(count), in_memory.parts(count), strict=True):
            job.write(tmp_path / "from-spool.tex")
            same.write(tmp_path / "from-memory.tex")
            written = (tmp_path / "from-spool.tex").read_text("utf-8")
            assert written == (tmp_path / "from-memory.tex").read_text("utf-8")
            assert written == str(job.tex)
            assert job.cost() == same.cost() and job.student_ids == same.student_ids
    # the shared picture is saved once and copied after; the one student's own is not
    text = str(ClassText("", spool))
    assert text == "".join(share_pictures(bodies)) + "\\end{document}\n"
    assert text.count("gradersavepicture}{1}") == 1 and text.count("graderusepicture{1}") == 4
    assert "\\node {own}" in text
    spool.close()
