"""The students' parts of a class document, kept on disk while a build runs.

A build with PDFs typesets every student's sheet and key in two class documents after
the last student is made.  Held in memory, their TeX (about 30 k characters a student,
twice that as Python text when a name is Cyrillic) made the build's memory grow with the
class: 150 MB more at 1 000 students.  A :class:`BodySpool` appends each part to a file
as it comes and reads it back one part at a time, when TeX's input is written.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, overload


class BodySpool(Sequence[str]):
    """A list of texts in a file: ``append`` writes one, indexing reads one back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO = path.open("w+b")
        self._starts = array("q")  # byte offset of each text in the file
        self._sizes = array("q")  # its length in bytes
        self._end = 0
        # the two documents' TeX threads may read one spool (a document cut in parts)
        self._lock = threading.Lock()

    def append(self, text: str) -> None:
        data = text.encode("utf-8")
        with self._lock:
            self._file.seek(self._end)
            self._file.write(data)
            self._starts.append(self._end)
            self._sizes.append(len(data))
            self._end += len(data)

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return _Slice(self, range(len(self))[index])
        start, size = self._starts[index], self._sizes[index]
        with self._lock:
            self._file.seek(start)
            return self._file.read(size).decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))

    def close(self) -> None:
        self._file.close()


class _Slice(Sequence[str]):
    """Some of a spool's texts, read when asked for (a part of a class document)."""

    def __init__(self, spool: BodySpool, indices: range) -> None:
        self._spool = spool
        self._indices = indices

    def __len__(self) -> int:
        return len(self._indices)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return _Slice(self._spool, self._indices[index])
        return self._spool[self._indices[index]]

    def __iter__(self) -> Iterator[str]:
        return (self._spool[i] for i in self._indices)
