"""``grade`` replaces its outputs in ``--out`` as one set.

A run writes everything (``reports/``, the gradebooks, ``summary.html``, the LMS files)
into a marked staging folder inside ``--out`` (``.grader-grade-<8 characters>``, a name
no user file has), then swaps the set in: the previous outputs are moved into the staging
folder, the new ones out of it, and the staging folder (now the old set) is removed.
The marker records the set before the first rename, so a run killed half-way through is
finished by the next run before it starts: a folder never keeps reports of one run beside
a gradebook of another.  Nothing else in ``--out`` is touched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from grader.core.outdir import Staging, stale
from grader.grade.lms import LMS_FEEDBACK_FILES, LMS_FORMATS

PREFIX = ".grader-grade-"
OWNER = "grade"  # what the marker names as the staging folder's output
OLD = ".old"  # inside the staging folder: the previous outputs, on their way out
# every name a grade run may write at the top of --out: a new set replaces all of them
OUTPUTS = (
    ("reports", "gradebook.csv", "summary.html")
    + tuple(f"gradebook-{kind}.csv" for kind in LMS_FORMATS)
    + LMS_FEEDBACK_FILES
)


def staging(out: Path) -> Staging:
    """A fresh staging folder for one run's outputs (its ``reports/`` made already)."""
    made = Staging.create(out, PREFIX, OWNER)
    (made.path / "reports").mkdir()
    return made


def finish_stale(out: Path) -> None:
    """Finish the swap of a killed run (or drop its unfinished staging folder)."""
    for left in stale(out, PREFIX, OWNER):
        if left.record.get("swapping") is True:
            _swap(left, out)
        left.remove()


def swap_in(new: Staging, out: Path) -> None:
    """Replace every output in ``out`` by the set in ``new`` (renames only), then remove
    ``new`` with the previous outputs in it."""
    names = sorted(e.name for e in os.scandir(new.path) if e.name in OUTPUTS)
    new.note(swapping=True, names=names)
    _swap(new, out)
    new.remove()


def _swap(new: Staging, out: Path) -> None:
    """Move every output of ``out`` that did not come from ``new`` into ``new``/.old,
    then every output still in ``new`` into ``out``.  Idempotent: a run killed at any
    rename is finished by calling this again."""
    names = new.record.get("names", [])
    names = [n for n in names if n in OUTPUTS] if isinstance(names, list) else []
    old = new.path / OLD
    old.mkdir(exist_ok=True)
    for name in OUTPUTS:
        current, staged = out / name, new.path / name
        arrived = name in names and not os.path.lexists(staged)  # moved in already
        if os.path.lexists(current) and not arrived:
            if os.path.lexists(old / name):
                _drop(current)
            else:
                current.rename(old / name)
    for name in names:
        staged = new.path / name
        if os.path.lexists(staged):
            staged.rename(out / name)


def _drop(path: Path) -> None:
    """An output that cannot be moved aside (its place in .old is taken): removed."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
