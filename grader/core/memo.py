"""Bounded memos: the one facility every cache of the project is made of.

A build or a grading batch asks the same questions many times (the same graph's paths,
the same variant's answer shape, the same right answer of a classmate), so answers are
kept; but a course may have thousands of students, so every memo is bounded and simply
starts over when full — an entry is only ever a recomputation away, and memory stays
flat.  :func:`clear_all` empties every memo at once (tests, and a process that grades
one course after another).

>>> squares: BoundedMemo[int, int] = BoundedMemo(limit=2)
>>> squares.get(3) or squares.keep(3, 9)
9
>>> squares.keep(4, 16), squares.keep(5, 25), len(squares)  # full at 2: started over
(16, 25, 1)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
O = TypeVar("O")

# Every live memo, by id (a memo is a dict: equal to any other empty one, so no WeakSet);
# an entry leaves when its memo dies, before the id can be reused.
_ALL: dict[int, weakref.ref[Any]] = {}


class BoundedMemo(dict[K, V]):
    """A dict that forgets everything once it holds ``limit`` entries.

    Reading is a plain ``dict.get`` (the hot path of grading); :meth:`keep` stores, and
    :meth:`make` stores what a function makes the first time a key is asked for."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        key = id(self)
        _ALL[key] = weakref.ref(self, lambda _: _ALL.pop(key, None))

    def keep(self, key: K, value: V) -> V:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value

    def make(self, key: K, make: Callable[[], V]) -> V:
        """``self[key]``, made by ``make`` the first time (None is never kept)."""
        value = self.get(key)
        if value is None:
            value = self.keep(key, make())
        return value


class IdentityMemo(Generic[O, V]):
    """Values made for particular objects (a variant, an assignment, the graded fields of
    an exercise), looked up by the objects' identity: for objects that are unhashable or
    costly to hash and compare (pydantic models, results shared by many students).

    Safe although ``id()`` values are reused after an object dies: each entry keeps its
    objects alive, so no other object can have one of those ids while the entry exists,
    and the entry is checked with ``is`` before it is used.  ``extra`` is part of the key
    (the same object asked about in another way)."""

    def __init__(self, limit: int) -> None:
        self._entries: BoundedMemo[tuple[Hashable, ...], tuple[tuple[O, ...], V]] = BoundedMemo(
            limit
        )

    def get(self, obj: O, extra: Hashable = None) -> V | None:
        return self.get_for((obj,), extra)

    def keep(self, obj: O, value: V, extra: Hashable = None) -> V:
        return self.keep_for((obj,), value, extra)

    def make(self, obj: O, make: Callable[[], V], extra: Hashable = None) -> V:
        return self.make_for((obj,), make, extra)

    def get_for(self, objs: Sequence[O], extra: Hashable = None) -> V | None:
        """The value kept for these very objects (in this order)."""
        entry = self._entries.get((extra, *map(id, objs)))
        if entry is None or len(entry[0]) != len(objs):
            return None
        return entry[1] if all(a is b for a, b in zip(entry[0], objs, strict=True)) else None

    def keep_for(self, objs: Sequence[O], value: V, extra: Hashable = None) -> V:
        self._entries.keep((extra, *map(id, objs)), (tuple(objs), value))
        return value

    def make_for(self, objs: Sequence[O], make: Callable[[], V], extra: Hashable = None) -> V:
        found = self.get_for(objs, extra)
        return found if found is not None else self.keep_for(objs, make(), extra)

    def values(self) -> list[V]:
        return [value for _, value in self._entries.values()]

    def __len__(self) -> int:
        return len(self._entries)


def clear_all() -> None:
    """Empty every memo of the process."""
    for ref in list(_ALL.values()):
        memo = ref()
        if memo is not None:
            memo.clear()
