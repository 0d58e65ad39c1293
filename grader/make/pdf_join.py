"""Joining the PDFs of a class document's parts into one, with one part in memory at a time.

qpdf (through pikepdf) joins by building the whole joined document in memory: some 80 KB
a student, so a build's memory would grow with the class.  Here each part is opened in
turn, the objects its pages use are written straight to the joined file under new
numbers, and the part is closed before the next is opened; what is kept across parts is
a number per page, the offset of every object written and one page-label entry per
student (a few bytes each).

A part's objects are taken as qpdf prints them (``unparse``) with each indirect reference
``N G R`` renumbered; stream data is copied as it is (still compressed).  The joined
file reads as TeX would have made it in one run: the bookmarks (shown when the file
opens, each leading to its page and height), the page labels that restart with every
student, and the first part's document information.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

# The tokens of qpdf's printed objects in which ``N G R`` might appear: dictionary
# brackets and strings are matched whole (so a string's text is never renumbered), and
# a reference is two integers and ``R`` that are not part of a longer token.  qpdf
# prints a literal string with its parentheses and backslashes escaped.
_TOKENS = re.compile(
    rb"<<|>>|<[0-9A-Fa-f\s]*>|\((?:[^\\()]|\\.)*\)|(?<![\w.#/+-])(\d+) (\d+) R(?![\w#])",
    re.DOTALL,
)

# Attributes a page may inherit from the page tree above it (PDF 32000-1, 7.7.3.4).
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


class JoinError(Exception):
    """A part that cannot be joined as it is (what is wrong, in words)."""


def stream_join(parts: Sequence[Path], out: Path, after_part: Callable[[], None]) -> None:
    """Write the pages of ``parts`` in turn to ``out`` as one PDF (see the module's
    docstring); ``after_part`` runs once each part is closed (to give memory back)."""
    versions = [_header_version(path) for path in parts]  # the joined header comes first
    with out.open("wb") as handle:
        writer = _Writer(handle, max(versions, key=_version_key))
        catalog, pages_root, outlines = writer.reserve(), writer.reserve(), writer.reserve()
        joined = _Joined(writer, pages_root, outlines)
        for index, path in enumerate(parts):
            _copy_part(path, joined, first=index == 0)
            after_part()
        joined.finish(catalog)


def _header_version(path: Path) -> str:
    """The PDF version a file's header states (``%PDF-1.5``: what qpdf reports)."""
    with path.open("rb") as file:
        found = re.match(rb"%PDF-(\d+\.\d+)", file.read(16))
    if found is None:
        raise JoinError(f"{path.name} does not begin with a PDF header")
    return found.group(1).decode("ascii")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in version.split(".") if n.isdigit())


# Objects packed into each object stream (as pdfTeX and qpdf do): their dictionaries
# compress together, which keeps the joined file about as small as the parts.
OBJECTS_PER_STREAM = 100
_PLAIN, _PACKED = 1, 2  # cross-reference entry types (PDF 32000-1, 7.5.8.3)


class _Writer:
    """Indirect objects written one after the other (those that are not streams packed
    into object streams), then the cross-reference stream."""

    def __init__(self, handle: IO[bytes], version: str) -> None:
        self.handle = handle
        # per object number: its entry type (0: reserved, not yet written), and for a
        # plain object its offset, for a packed one its object stream and index there
        self.types = array("B", [0])
        self.fields = array("Q", [0])
        self.indices = array("H", [65535])
        self.position = 0
        self.digest = hashlib.md5(usedforsecurity=False)
        self.batch: list[tuple[int, bytes]] = []
        if _version_key(version) < (1, 5):
            version = "1.5"  # object streams
        self._put(b"%PDF-" + version.encode("ascii") + b"\n%\xe2\xe3\xcf\xd3\n")

    def _put(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.position += len(data)

    def reserve(self) -> int:
        """A new object number, for an object written later."""
        self.types.append(0)
        self.fields.append(0)
        self.indices.append(0)
        return len(self.types) - 1

    def write(self, number: int, body: bytes, stream: bytes | None = None) -> None:
        if stream is None:
            self.batch.append((number, body))
            if len(self.batch) == OBJECTS_PER_STREAM:
                self._pack()
            return
        self._write_plain(number, body, stream)

    def _write_plain(self, number: int, body: bytes, stream: bytes) -> None:
        self.types[number], self.fields[number] = _PLAIN, self.position
        self._put(b"%d 0 obj\n%s\nstream\n%s\nendstream\nendobj\n" % (number, body, stream))

    def _pack(self) -> None:
        """The batch of objects as one object stream."""
        number = self.reserve()
        heads, offset = [], 0
        for index, (packed, body) in enumerate(self.batch):
            self.types[packed], self.fields[packed], self.indices[packed] = _PACKED, number, index
            heads.append(b"%d %d" % (packed, offset))
            offset += len(body) + 1
        head = b" ".join(heads) + b"\n"
        data = zlib.compress(head + b"".join(body + b"\n" for _, body in self.batch))
        self.batch = []
        self._write_plain(
            number,
            b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>"
            % (len(heads), len(head), len(data)),
            data,
        )

    def finish(self, root: int, info: int | None) -> None:
        if self.batch:
            self._pack()
        unwritten = [n for n in range(1, len(self.types)) if self.types[n] == 0]
        xref = self.reserve()
        if unwritten:
            raise JoinError(f"objects {unwritten[:5]} were referred to but never written")
        self.types[xref], self.fields[xref] = _PLAIN, self.position
        rows = b"".join(
            struct.pack(">BIH", kind, field, index)
            for kind, field, index in zip(self.types, self.fields, self.indices, strict=True)
        )
        data = zlib.compress(rows)
        # the file ID is a hash of the content, as qpdf's deterministic_id: same bytes
        # for the same parts
        file_id = self.digest.hexdigest().encode("ascii")
        info_entry = b" /Info %d 0 R" % info if info is not None else b""
        start = self.position
        self._put(
            b"%d 0 obj\n<< /Type /XRef /Size %d /W [ 1 4 2 ] /Root %d 0 R%s /ID [ <%s> <%s> ] "
            b"/Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream\nendobj\n"
            b"startxref\n%d\n%%%%EOF\n"
            % (xref, len(self.types), root, info_entry, file_id, file_id, len(data), data, start)
        )


class _Joined:
    """What the joined document keeps across parts: its pages, page labels, the open end
    of its bookmark chain, and its document information."""

    def __init__(self, writer: _Writer, pages_root: int, outlines: int) -> None:
        self.writer = writer
        self.pages_root = pages_root
        self.outlines = outlines
        self.pages = array("Q")  # the joined page objects' numbers, in order
        self.labels: list[bytes] = []  # ``index << label >>`` entries of /PageLabels /Nums
        self.info: int | None = None
        self.first_top: int | None = None
        self.last_top: int | None = None
        self.visible = 0  # bookmarks shown when the file opens (the outline root's /Count)
        self._pending: tuple[int, bytes] | None = None  # the last top bookmark, unwritten

    def add_top(self, number: int, body: bytes, visible: int) -> None:
        """A top-level bookmark (``body``: its entries but /Prev and /Next): written once
        the next is known, for it needs that one's number."""
        self.visible += visible
        if self._pending is not None:
            self._flush(next_top=number)
        if self.first_top is None:
            self.first_top = number
        self._pending = (
            number,
            body + (b" /Prev %d 0 R" % self.last_top if self.last_top is not None else b""),
        )
        self.last_top = number

    def _flush(self, next_top: int | None) -> None:
        assert self._pending is not None
        number, body = self._pending
        link = b" /Next %d 0 R" % next_top if next_top is not None else b""
        self.writer.write(number, b"<< %s%s >>" % (body, link))
        self._pending = None

    def finish(self, catalog: int) -> None:
        writer = self.writer
        if self._pending is not None:
            self._flush(next_top=None)
        kids = b" ".join(b"%d 0 R" % n for n in self.pages)
        writer.write(
            self.pages_root, b"<< /Type /Pages /Count %d /Kids [ %s ] >>" % (len(self.pages), kids)
        )
        if self.first_top is not None and self.last_top is not None:
            writer.write(
                self.outlines,
                b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>"
                % (self.first_top, self.last_top, self.visible),
            )
        else:
            writer.write(self.outlines, b"<< /Type /Outlines /Count 0 >>")
        labels = b" /PageLabels << /Nums [ %s ] >>" % b" ".join(self.labels) if self.labels else b""
        writer.write(
            catalog,
            b"<< /Type /Catalog /Pages %d 0 R /Outlines %d 0 R /PageMode /UseOutlines%s >>"
            % (self.pages_root, self.outlines, labels),
        )
        writer.finish(catalog, self.info)


def _copy_part(path: Path, joined: _Joined, *, first: bool) -> None:
    """Append the pages of the PDF at ``path`` (with all they use), its page labels and
    its bookmarks to ``joined``."""
    import pikepdf

    with pikepdf.open(path, access_mode=pikepdf.AccessMode.stream) as part:
        copier = _Copier(part, joined.writer)
        offset = len(joined.pages)
        pages = [page.obj for page in part.pages]
        for node in _page_tree_nodes(part.Root.Pages):
            copier.numbers[node] = joined.pages_root  # every /Parent: the joined root
        numbers = [joined.writer.reserve() for _ in pages]  # written here, not queued
        page_numbers = {page.objgen: n for page, n in zip(pages, numbers, strict=True)}
        copier.numbers.update(page_numbers)
        for page, number in zip(pages, numbers, strict=True):
            joined.writer.write(number, copier.body(page, inherited=_inherited(page)))
            joined.pages.append(number)
            copier.copy_queued()
        labels: Any = part.Root.get("/PageLabels")
        nums: Any = labels.get("/Nums", []) if labels is not None else []
        for i in range(0, len(nums) - 1, 2):  # (first page index, label style) pairs
            joined.labels.append(
                b"%d %s" % (int(nums[i]) + offset, copier.rewrite(_printed(nums[i + 1])))
            )
        copier.copy_queued()
        _copy_bookmarks(part, joined, page_numbers)
        if first and len(part.docinfo):
            joined.info = joined.writer.reserve()
            joined.writer.write(joined.info, copier.rewrite(part.docinfo.unparse(resolved=True)))
            copier.copy_queued()


def _printed(value: Any) -> bytes:
    """A value as PDF syntax (references unchanged: :meth:`_Copier.rewrite` renumbers)."""
    import pikepdf

    if isinstance(value, pikepdf.Object):  # an indirect one as its reference ``N G R``
        return bytes(value.unparse())
    return _scalar(value)


def _scalar(value: Any) -> bytes:
    """A value pikepdf handed over as a Python one (a number, a truth value, null)."""
    if value is None:
        return b"null"
    if value is True or value is False:
        return b"true" if value else b"false"
    if isinstance(value, int):
        return b"%d" % value
    return format(value, "f").encode("ascii")  # a Decimal: never in exponent form


def _page_tree_nodes(root: Any) -> list[tuple[int, int]]:
    """The object ids of the page tree's inner nodes (``/Type /Pages``)."""
    found, todo = [], [root]
    while todo:
        node = todo.pop()
        found.append(node.objgen)
        todo.extend(kid for kid in node.get("/Kids", []) if kid.get("/Type") == "/Pages")
    return found


def _inherited(page: Any) -> dict[str, Any]:
    """The inheritable attributes ``page`` takes from the page tree (it must carry them
    itself once its parent is the joined document's root)."""
    found: dict[str, Any] = {}
    node = page.get("/Parent")
    while node is not None:
        for key in _INHERITED:
            if key not in page and key not in found and key in node:
                found[key] = node[key]
        node = node.get("/Parent")
    return found


class _Copier:
    """A part's objects written to the joined file, each once, under new numbers."""

    def __init__(self, part: Any, writer: _Writer) -> None:
        self.part = part
        self.writer = writer
        self.numbers: dict[tuple[int, int], int] = {}  # the part's id -> the joined number
        self.queue: deque[tuple[int, int]] = deque()  # numbered but not yet written

    def number(self, objgen: tuple[int, int]) -> int:
        number = self.numbers.get(objgen)
        if number is None:
            number = self.numbers[objgen] = self.writer.reserve()
            self.queue.append(objgen)
        return number

    def rewrite(self, printed: bytes) -> bytes:
        """``printed`` with every reference to the part's objects renumbered."""

        def renumber(match: re.Match[bytes]) -> bytes:
            if match.group(1) is None:
                return match.group(0)
            return b"%d 0 R" % self.number((int(match.group(1)), int(match.group(2))))

        return _TOKENS.sub(renumber, printed)

    def body(self, page: Any, inherited: dict[str, Any]) -> bytes:
        printed = bytes(page.unparse(resolved=True))
        if inherited:
            extra = b" ".join(
                key.encode("ascii") + b" " + _printed(value) for key, value in inherited.items()
            )
            printed = printed[: printed.rindex(b">>")] + extra + b" >>"
        return self.rewrite(printed)

    def copy_queued(self) -> None:
        """Write every object numbered so far and those they refer to."""
        import pikepdf

        while self.queue:
            objgen = self.queue.popleft()
            number = self.numbers[objgen]
            obj = self.part.get_object(objgen)
            if isinstance(obj, pikepdf.Stream):
                # the data as stored (still compressed), with its own length: the part's
                # /Length may be an object of its own, which is then not copied
                raw = obj.read_raw_bytes()
                entries = pikepdf.Dictionary(
                    {key: value for key, value in obj.stream_dict.items() if key != "/Length"}
                )
                printed = bytes(entries.unparse())
                printed = printed[: printed.rindex(b">>")] + b"/Length %d >>" % len(raw)
                self.writer.write(number, self.rewrite(printed), raw)
            else:
                self.writer.write(number, self.rewrite(bytes(obj.unparse(resolved=True))))


def _copy_bookmarks(part: Any, joined: _Joined, page_numbers: dict[tuple[int, int], int]) -> None:
    """The part's bookmarks, appended to the joined outline.  hyperref points each at a
    named destination; the joined PDF gets the destination itself (``[page /XYZ left top
    zoom]`` on its own copy of the page), since the parts' names are not carried over
    (and could clash: ``Doc-Start``)."""
    import pikepdf

    names = part.Root.get("/Names")
    dests = pikepdf.NameTree(names.Dests) if names is not None and "/Dests" in names else None

    def destination(item: Any) -> bytes:
        dest = item.destination
        if dest is None and item.action is not None:
            dest = item.action.get("/D")
        if isinstance(dest, pikepdf.String | pikepdf.Name | str) and dests is not None:
            dest = dests.get(str(dest).lstrip("/"))
        if isinstance(dest, pikepdf.Dictionary):
            dest = dest.get("/D")
        if not isinstance(dest, pikepdf.Array) or len(dest) == 0:
            return b""
        page = page_numbers.get(dest[0].objgen)
        if page is None:
            return b""
        rest = b" ".join(_printed(value) for value in list(dest)[1:])
        return b" /Dest [ %d 0 R %s ]" % (page, rest)

    def shown(item: Any) -> int:
        """The bookmarks under ``item`` shown when it is open."""
        return sum(1 + (shown(child) if not child.is_closed else 0) for child in item.children)

    def write(item: Any, number: int, parent: int, links: bytes) -> None:
        children = [joined.writer.reserve() for _ in item.children]
        body = _entries(item, destination(item), parent, children, shown(item))
        joined.writer.write(number, b"<< %s%s >>" % (body, links))
        write_children(item, number, children)

    def write_children(item: Any, number: int, children: list[int]) -> None:
        for i, (child, child_number) in enumerate(zip(item.children, children, strict=True)):
            links = b""
            if i > 0:
                links += b" /Prev %d 0 R" % children[i - 1]
            if i + 1 < len(children):
                links += b" /Next %d 0 R" % children[i + 1]
            write(child, child_number, number, links)

    with part.open_outline() as outline:
        for item in outline.root:
            number = joined.writer.reserve()
            children = [joined.writer.reserve() for _ in item.children]
            count = shown(item)
            body = _entries(item, destination(item), joined.outlines, children, count)
            joined.add_top(number, body, 1 + (count if not item.is_closed else 0))
            write_children(item, number, children)


def _entries(item: Any, dest: bytes, parent: int, children: list[int], shown: int) -> bytes:
    """A bookmark's entries but its siblings: title, destination, parent, children."""
    import pikepdf

    body = b"/Title %s%s /Parent %d 0 R" % (
        bytes(pikepdf.String(item.title).unparse()),
        dest,
        parent,
    )
    if children:
        count = -shown if item.is_closed else shown
        body += b" /First %d 0 R /Last %d 0 R /Count %d" % (children[0], children[-1], count)
    return body
