"""Drawings that several students of a class document share, typeset once per TeX job.

The SGD-chain drawing, for one, is the same picture for every student of a course: TeX
would draw it again for each of them.  In a class document (never in a student's own
``.tex``, which stays self-contained) each picture whose TikZ source occurs more than once
in the job is typeset at its first use into a box (``gradersavepicture`` in the
preamble) and copied from it after (``\\graderusepicture``).  Copying a box gives the
same page as drawing it again, so this holds only for a picture whose output depends on
its source alone: the templates' pictures print nothing of the page or the student
around them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence

PICTURE_RE = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.S)
# the preamble's macros (templates/preamble.tex.j2)
SAVE = "\\begin{{gradersavepicture}}{{{name}}}{picture}\\end{{gradersavepicture}}"
USE = "\\graderusepicture{{{name}}}"


def pictures(tex: str) -> list[str]:
    """The TikZ pictures of ``tex``, each as its source, in order."""
    return PICTURE_RE.findall(tex)


def share_pictures(bodies: Sequence[str]) -> list[str]:
    """``bodies`` (one TeX job's students, in order) with every picture that occurs more
    than once among them saved at its first use and copied at the others."""
    return list(iter_shared(bodies))


def iter_shared(bodies: Sequence[str]) -> Iterator[str]:
    """:func:`share_pictures` one body at a time (``bodies`` is read twice: once to
    count the pictures, once to write them), so a class document need never be whole in
    memory."""
    counts = Counter(p for body in bodies for p in pictures(body))
    shared = {p for p, n in counts.items() if n > 1}
    del counts
    if not shared:
        yield from bodies
        return
    names: dict[str, int] = {}  # a shared picture -> its number, in order of first use

    def replace(match: re.Match[str]) -> str:
        picture = match.group(0)
        if picture not in shared:
            return picture
        if picture in names:
            return USE.format(name=names[picture])
        names[picture] = len(names) + 1
        return SAVE.format(name=names[picture], picture=picture)

    for body in bodies:
        yield PICTURE_RE.sub(replace, body)


def distinct_pictures(bodies: Sequence[str]) -> int:
    """How many different pictures ``bodies`` draw (what TeX draws once each)."""
    return len({p for body in bodies for p in pictures(body)})
