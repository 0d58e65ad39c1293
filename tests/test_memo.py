"""The one memo facility: bounded, keyed by identity only where that is safe, and cleared
all at once."""

from __future__ import annotations

from grader.core.memo import BoundedMemo, IdentityMemo, clear_all


def test_a_memo_makes_each_value_once_and_starts_over_when_full() -> None:
    calls: list[int] = []
    memo: BoundedMemo[int, int] = BoundedMemo(limit=3)

    def square(n: int) -> int:
        calls.append(n)
        return n * n

    assert [memo.make(n, lambda n=n: square(n)) for n in (1, 2, 1, 2, 3)] == [1, 4, 1, 4, 9]
    assert calls == [1, 2, 3] and len(memo) == 3
    memo.make(4, lambda: square(4))  # full: starts over, then keeps 4
    assert len(memo) == 1 and memo.get(1) is None and memo[4] == 16


class _Thing:  # unhashable by value, like a pydantic model used as a key
    __hash__ = None  # type: ignore[assignment]


def test_an_identity_memo_answers_only_for_the_very_object() -> None:
    memo: IdentityMemo[_Thing, str] = IdentityMemo(limit=8)
    a, b = _Thing(), _Thing()
    memo.keep(a, "a")
    assert memo.get(a) == "a" and memo.get(b) is None
    assert memo.get(a, extra="other question") is None
    assert memo.make(b, lambda: "b") == "b" and memo.make(b, lambda: "never") == "b"


def test_an_identity_memo_keeps_its_objects_alive_so_ids_are_not_reused() -> None:
    memo: IdentityMemo[_Thing, int] = IdentityMemo(limit=1000)
    ids = set()
    for n in range(200):
        thing = _Thing()
        ids.add(id(thing))
        memo.keep(thing, n)
        del thing
    assert len(ids) == 200  # every object is still alive: no id was handed out twice


def test_clear_all_empties_every_memo() -> None:
    memos = [BoundedMemo[str, int](limit=4) for _ in range(3)]
    for m in memos:
        m.keep("x", 1)
    identity: IdentityMemo[_Thing, int] = IdentityMemo(limit=4)
    thing = _Thing()
    identity.keep(thing, 1)
    clear_all()
    assert all(len(m) == 0 for m in memos) and identity.get(thing) is None
