"""The streaming join of class-document parts (:mod:`grader.make.pdf_join`).

The parts are made here with pikepdf (pages, a font shared by the pages, an annotation
whose text looks like references, bookmarks with children, page labels, a page tree
whose root holds the page size); the joined file is read back with pypdf, a reader
independent of qpdf, and checked by qpdf's own syntax check.  No TeX is needed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, OutlineItem, String
from pypdf import PdfReader

from grader.make import pdf_join
from grader.make.pdf_join import stream_join

TRICKY = "see (3 0 R) and 12 0 R \\ here"  # a string that must not be renumbered
NAME = " Иванов Zoë 😀"  # a bookmark title beyond PDFDocEncoding (UTF-16, a surrogate pair)


def make_part(path: Path, label: str, pages: int, *, inherit_size: bool = False) -> None:
    """A part of ``pages`` pages: page k shows ``<label> page <k>``; two students of
    ``pages // 2`` pages each, as bookmarks with a child each and page labels that
    restart with every student."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    )
    resources = pdf.make_indirect(Dictionary(Font=Dictionary(F1=font)))
    for k in range(1, pages + 1):
        pdf.add_blank_page(page_size=(200, 300))
        page = pdf.pages[-1]
        page.obj.Resources = resources
        page.obj.Contents = pdf.make_stream(
            b"BT /F1 12 Tf 20 150 Td (%s page %d) Tj ET" % (label.encode(), k)
        )
    if inherit_size:  # the size held by the page tree's root, inherited by every page
        pdf.Root.Pages.MediaBox = Array([0, 0, 250, 350])
        for page in pdf.pages:
            del page.obj.MediaBox
    note = Dictionary(
        Type=Name.Annot, Subtype=Name.Text, Rect=Array([10, 10, 30, 30]), Contents=String(TRICKY)
    )
    pdf.pages[0].obj.Annots = pdf.make_indirect(Array([pdf.make_indirect(note)]))
    half = pages // 2
    with pdf.open_outline() as outline:
        for student, first in ((1, 0), (2, half)):
            item = OutlineItem(f"{label} student {student}{NAME}", first)
            item.children.append(OutlineItem(f"{label} student {student} exercise", first + 1))
            outline.root.append(item)
    pdf.Root.PageLabels = Dictionary(
        Nums=Array([0, Dictionary(S=Name.D), half, Dictionary(S=Name.D)])
    )
    pdf.docinfo[Name.Title] = String(f"Title of {label}")
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.generate, deterministic_id=True)


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    made = []
    for label, pages, inherit in (("A", 4, False), ("B", 6, True), ("C", 4, False)):
        path = tmp_path / f"{label}.pdf"
        make_part(path, label, pages, inherit_size=inherit)
        made.append(path)
    return made


def join(parts: list[Path], out: Path) -> PdfReader:
    stream_join(parts, out, after_part=lambda: None)
    with pikepdf.open(out) as joined:
        assert joined.check_pdf_syntax() == []  # qpdf finds nothing wrong
    return PdfReader(out)


def test_pages_come_in_order_with_their_text_size_and_annotations(parts, tmp_path) -> None:
    reader = join(parts, tmp_path / "all.pdf")
    expected = [
        f"{label} page {k}" for label, n in (("A", 4), ("B", 6), ("C", 4)) for k in range(1, n + 1)
    ]
    assert [page.extract_text().strip() for page in reader.pages] == expected
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages]
    assert sizes == [(200, 300)] * 4 + [(250, 350)] * 6 + [(200, 300)] * 4  # B's inherited
    notes = [
        [annot.get_object()["/Contents"] for annot in page.get("/Annots", [])]
        for page in reader.pages
    ]
    assert notes[0] == notes[4] == notes[10] == [TRICKY]  # the text as it was, not renumbered
    assert sum(map(len, notes)) == 3
    root = reader.trailer["/Root"]["/Pages"]
    assert all(page["/Parent"].get_object() == root.get_object() for page in reader.pages)


def test_bookmarks_labels_and_information_read_as_in_the_parts(parts, tmp_path) -> None:
    reader = join(parts, tmp_path / "all.pdf")
    outline = reader.outline
    top = [item for item in outline if not isinstance(item, list)]
    assert [item.title for item in top] == [
        f"{label} student {n}{NAME}" for label in "ABC" for n in (1, 2)
    ]
    assert [reader.get_destination_page_number(item) for item in top] == [0, 2, 4, 7, 10, 12]
    children = [item for item in outline if isinstance(item, list)]
    assert [[c.title for c in group] for group in children] == [
        [f"{label} student {n} exercise"] for label in "ABC" for n in (1, 2)
    ]
    assert [reader.get_destination_page_number(group[0]) for group in children] == [
        1, 3, 5, 8, 11, 13
    ]  # fmt: skip
    assert reader.page_labels == [
        "1",
        "2",
        "1",
        "2",
        "1",
        "2",
        "3",
        "1",
        "2",
        "3",
        "1",
        "2",
        "1",
        "2",
    ]
    assert reader.metadata is not None and reader.metadata.title == "Title of A"
    assert reader.page_mode == "/UseOutlines"


def test_the_same_parts_give_the_same_bytes(parts, tmp_path) -> None:
    stream_join(parts, tmp_path / "one.pdf", after_part=lambda: None)
    stream_join(parts, tmp_path / "two.pdf", after_part=lambda: None)
    assert (tmp_path / "one.pdf").read_bytes() == (tmp_path / "two.pdf").read_bytes()


def test_many_object_streams_and_the_stream_data_as_it_was(parts, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(pdf_join, "OBJECTS_PER_STREAM", 3)
    out = tmp_path / "all.pdf"
    join(parts, out)
    with pikepdf.open(out) as joined:
        streams = [
            o
            for o in joined.objects
            if isinstance(o, pikepdf.Stream) and o.get("/Type") == "/ObjStm"
        ]
        assert len(streams) > 5
        # every object written once: those packed plus those written plain (the object
        # streams and the cross-reference stream among them) are the numbers in use
        packed = sum(int(stream.N) for stream in streams)
        plain = out.read_bytes().count(b"\nendobj\n")
        assert packed + plain == int(joined.trailer.Size) - 1
        contents = [page.obj.Contents.read_bytes() for page in joined.pages]
    originals = []
    for path in parts:
        with pikepdf.open(path) as part:
            originals += [page.obj.Contents.read_bytes() for page in part.pages]
    assert contents == originals


def test_each_part_is_closed_before_the_next_is_opened(parts, tmp_path, monkeypatch) -> None:
    """One part in memory at a time: when ``after_part`` runs (once a part), every part
    opened so far is closed again."""
    opened: list[pikepdf.Pdf] = []
    real_open = pikepdf.open

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(real_open(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(pikepdf, "open", spy)
    still_open: list[int] = []

    def after_part() -> None:
        still_open.append(sum(pdf.filename != "closed input source" for pdf in opened))

    stream_join(parts, tmp_path / "all.pdf", after_part=after_part)
    assert still_open == [0, 0, 0]
    assert len(opened) >= len(parts)


def hand_written_pdf(text: bytes) -> bytes:
    """A one-page PDF written by hand whose content stream's /Length is an object of its
    own (as some producers write it; pdfTeX and qpdf never do)."""
    content = b"BT /F1 12 Tf 20 150 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [ 3 0 R ] /Count 1 /MediaBox [ 0 0 200 300 ] >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 6 0 R >> >> >>",
        b"<< /Length 5 0 R >>\nstream\n" + content + b"\nendstream",
        b"%d" % len(content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def test_a_length_held_in_an_object_of_its_own_is_written_with_the_stream(parts, tmp_path) -> None:
    """The joined stream carries its data's length itself; the page keeps the size its
    page tree gave it, and the version is raised to 1.5 for the object streams."""
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(hand_written_pdf(b"by hand"))
    reader = join([plain, parts[0]], tmp_path / "all.pdf")
    assert reader.pages[0].extract_text().strip() == "by hand"
    assert reader.pages[1].extract_text().strip() == "A page 1"
    assert float(reader.pages[0].mediabox.height) == 300
    assert reader.pdf_header == "%PDF-1.5"
    with pikepdf.open(tmp_path / "all.pdf") as joined:
        entries = bytes(joined.pages[0].obj.Contents.stream_dict.unparse())
        assert re.fullmatch(rb"<< /Length \d+ >>", entries), entries  # a number, no "5 0 R"
