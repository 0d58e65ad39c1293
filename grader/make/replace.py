"""Replacing a build folder without losing what is not the tool's.

A new build is written into a marked staging folder beside ``--out`` (see
:mod:`grader.core.outdir`), then swapped in by renames.  Files and folders of the old
build that its manifest does not list (an instructor's notes, a ``graded/`` folder,
``.gitattributes`` …) are *foreign*: they are moved into the new build just before the
swap, untouched.  Every step is recorded in the staging folder's marker, so a later run
can undo what a killed one left half done: put the old build back, carry the foreign
entries home, and remove only folders that carry our marker.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from grader.core.errors import UserError
from grader.core.outdir import MARKER, Staging, stale
from grader.make.manifest import MANIFEST, TOOL

TOOL_FOLDERS = ("sheets", "keys", "templates", "forms")  # flat folders only the tool writes in
TOOL_FILES = (MANIFEST, "schema.json", "tex-error.log", MARKER)  # top-level names of ours


def staging_prefix(out: Path) -> str:
    return f".{out.name}.staging-"


def old_prefix(out: Path) -> str:
    return f".{out.name}.old-"


def read_listed(out: Path) -> list[str] | None:
    """The files the manifest of the build in ``out`` lists; None when there is none of ours."""
    try:
        data = json.loads((out / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or data.get("tool") != TOOL
        or not isinstance(data.get("files"), dict)
    ):
        return None
    return [rel for rel in data["files"] if isinstance(rel, str)]


def check_inputs_outside(out: Path, shown: str, inputs: dict[str, str]) -> None:
    """Refuse an ``--out`` that is or contains an input file: replacing the folder would
    move the file the run reads (``--out .`` beside assignment.yaml)."""
    folder = os.path.realpath(out)
    for what, path in inputs.items():
        real = os.path.realpath(path)
        if real == folder or real.startswith(folder.rstrip(os.sep) + os.sep):
            raise UserError(
                f"--out is or contains the {what} file {path}; generate replaces this folder, "
                "so choose an --out of its own (for example build/)",
                file=shown,
            )


def foreign_entries(out: Path, listed: Iterable[str]) -> list[str]:
    """What in ``out`` the previous build's manifest does not list, as paths relative to
    ``out``: top-level entries, and files inside the tool's own folders (which ``check``
    still reports).  Sorted, so the console says the same thing every time."""
    listed = set(listed)
    found: list[str] = []
    for entry in sorted(os.scandir(out), key=lambda e: e.name):
        name = entry.name
        if name in TOOL_FOLDERS and entry.is_dir(follow_symlinks=False):
            for inner in sorted(os.scandir(entry.path), key=lambda e: e.name):
                if f"{name}/{inner.name}" not in listed:
                    found.append(f"{name}/{inner.name}")
        elif name not in TOOL_FILES and name not in TOOL_FOLDERS and name not in listed:
            found.append(name)
    return found


def clean_beside(out: Path) -> None:
    """Finish or undo what killed runs for ``out`` left beside it (our marked folders only)."""
    for old in stale(out.parent, old_prefix(out), out.name):
        if not out.exists():  # killed between the swap's two renames: the old build goes back
            old.path.rename(out)
            (out / MARKER).unlink(missing_ok=True)
            old.release()
        else:
            old.remove()
    with contextlib.suppress(FileNotFoundError):
        (out / MARKER).unlink()  # a swap killed before it removed the marker it carried in
    for staging in stale(out.parent, staging_prefix(out), out.name):
        carried = staging.record.get("carried", [])
        if isinstance(carried, list) and out.is_dir():
            _move(staging.path, out, [c for c in carried if isinstance(c, str)])
        staging.remove()


def swap_in(staging: Staging, out: Path, foreign: list[str]) -> None:
    """Replace ``out`` by ``staging`` with renames only, carrying ``foreign`` along."""
    clash = [rel for rel in foreign if os.path.lexists(staging.path / rel)]
    if clash:
        raise UserError(
            f"{clash[0]} is not part of the previous build but the new build writes it; "
            "move it away and run again",
            file=str(out),
        )
    if not out.exists():
        staging.path.rename(out)
        (out / MARKER).unlink()
        staging.release()
        return
    staging.note(carried=foreign)  # before the first move: a later run can carry them home
    moved = _move(out, staging.path, foreign)
    try:
        # the old build is marked as ours before it is moved aside under a free name
        spare = Path(tempfile.mkdtemp(prefix=old_prefix(out), dir=out.parent))
        spare.rmdir()
        old = Staging.mark(out, out.name)
        out.rename(spare)
        old.path = spare
    except BaseException:
        (out / MARKER).unlink(missing_ok=True)
        _move(staging.path, out, moved)
        raise
    try:
        staging.path.rename(out)
    except BaseException:
        spare.rename(out)  # put the previous build back, and what it carried
        (out / MARKER).unlink(missing_ok=True)
        _move(staging.path, out, moved)
        raise
    (out / MARKER).unlink()
    staging.release()
    old.remove()


def _move(source: Path, target: Path, rels: list[str]) -> list[str]:
    """Rename each of ``rels`` from ``source`` to ``target`` where it is free; the ones moved."""
    moved: list[str] = []
    for rel in rels:
        here, there = source / rel, target / rel
        if not os.path.lexists(here) or os.path.lexists(there):
            continue
        there.parent.mkdir(parents=True, exist_ok=True)
        here.rename(there)
        moved.append(rel)
    return moved
