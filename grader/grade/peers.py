"""Work that follows a classmate's variant instead of the student's own.

Every variant's *entry fields* (number fields computed from the given data alone: an
exercise's first pre-activations, a graph's first node values, the x of each step)
are indexed by their key values: ``(exercise id, pointer, value) -> students``.  A
submission whose wrong entry fields hold a classmate's values (two of them at least,
where the exercise has two, and most of the wrong ones) follows that classmate's data.
Fixed parameters give everybody the same entry values, which are then right for the
student too: only data that differ between two students can point at a classmate.

The roster's variants are derived once per batch (:func:`build_index`), so grading a
submission costs one dict lookup per wrong entry field; :meth:`PeerIndex.save` and
:func:`load_index` keep the index in a file for a later single-submission run.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from grader.core.errors import UserError
from grader.core.fileio import atomic_write_text
from grader.core.numbers import fmt_frac, parse_number
from grader.exercises.base import Solution

INDEX_VERSION = 1
MAX_INDEX_BYTES = 200_000_000
COPIED_FROM = "copied_from"  # the flag: copied_from:<classmate id>


def entry_pointers(solution: Solution) -> tuple[str, ...]:
    """The number fields computed from the given data alone (no earlier field)."""
    return tuple(
        p for c in solution.computations if c.kind == "number" and not c.inputs for p in c.outputs
    )


class PeerIndex:
    """``(exercise id, pointer, exact value) -> student ids`` over a roster's variants."""

    def __init__(self) -> None:
        self._table: dict[tuple[str, str, Fraction], set[str]] = {}

    def add(self, student_id: str, variants: Iterable[Any]) -> None:
        """Index ``variants`` (a student's :class:`~grader.course.variants.Variant` s)."""
        for v in variants:
            for ptr in entry_pointers(v.solution):
                value = v.solution.values.get(ptr)
                if isinstance(value, Fraction):
                    self._table.setdefault((v.exercise.id, ptr, value), set()).add(student_id)

    def lookup(self, exercise_id: str, ptr: str, value: Fraction) -> set[str]:
        return self._table.get((exercise_id, ptr, value), set())

    def classmate(
        self, exercise_id: str, wrong: Mapping[str, Fraction], entries: int
    ) -> str | None:
        """The one classmate whose entry values the student's ``wrong`` entry values
        (pointer -> value) follow, or None: at least two matches (one where the exercise
        has a single entry field) and more than half of the wrong ones; a tie is no
        evidence."""
        votes: Counter[str] = Counter()
        for ptr, value in wrong.items():
            votes.update(self.lookup(exercise_id, ptr, value))
        if not votes:
            return None
        ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
        best, count = ranked[0]
        if len(ranked) > 1 and ranked[1][1] == count:
            return None
        if count >= min(2, entries) and 2 * count > len(wrong):
            return best
        return None

    def to_json(self) -> str:
        """Deterministic JSON (sorted): the same roster gives the same bytes."""
        entries = sorted(
            [ex, ptr, fmt_frac(value), sorted(ids)] for (ex, ptr, value), ids in self._table.items()
        )
        return json.dumps({"version": INDEX_VERSION, "entries": entries}, ensure_ascii=False)

    def save(self, path: str | Path) -> None:
        atomic_write_text(path, self.to_json() + "\n")


def build_index(students: Sequence[Any], variants_of: Any) -> PeerIndex:
    """The index of every roster student's variants (``variants_of(student_id)``)."""
    index = PeerIndex()
    for student in students:
        index.add(student.id, variants_of(student.id))
    return index


def load_index(path: str | Path) -> PeerIndex:
    """Read an index written by :meth:`PeerIndex.save`; a clear error otherwise."""
    name = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_INDEX_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot read the peer index: {exc.strerror}", file=name) from None
    if len(raw) > MAX_INDEX_BYTES:
        raise UserError(f"peer index is larger than {MAX_INDEX_BYTES} bytes", file=name)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"peer index is not JSON ({exc})", file=name) from None
    if not isinstance(data, dict) or data.get("version") != INDEX_VERSION:
        raise UserError(f"expected a peer index of version {INDEX_VERSION}", file=name)
    index = PeerIndex()
    entries = data.get("entries")
    if not isinstance(entries, list):
        raise UserError("expected a list", file=name, where="/entries")
    for i, entry in enumerate(entries):
        try:
            ex, ptr, value, ids = entry
            key = (str(ex), str(ptr), parse_number(str(value)))
            index._table[key] = {str(s) for s in ids}
        except (ValueError, TypeError) as exc:
            raise UserError(
                f"expected [exercise, pointer, value, [students]] ({exc})",
                file=name,
                where=f"/entries/{i}",
            ) from None
    return index
