"""Where things are in a JSON text: the line and column of every value, and the likely
cause of a syntax error.

The json module parses; this module only looks.  :func:`locate` scans a text that
``json.loads`` has already accepted and returns the position of every value by JSON
Pointer (so a problem found in the data can point at the file).  :func:`syntax_cause`
turns a :class:`json.JSONDecodeError` into the mistake a person most likely made (a
trailing comma, an unquoted fraction, single quotes, a comment, a missing comma) and the
place to fix it: the comma itself, not the bracket after it.  Nothing here evaluates text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from grader.exercises.base import pointer

_WS = re.compile(r"[ \t\r\n]*")
_SCALAR = re.compile(
    r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null|NaN|-?Infinity"
)


@dataclass(frozen=True)
class Place:
    """A 0-based offset into the text, with its 1-based line and column."""

    offset: int
    line: int
    column: int


def place(text: str, offset: int) -> Place:
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Place(offset, line, column)


def line_at(text: str, line: int) -> str:
    """The text of 1-based ``line`` (without its newline)."""
    lines = text.split("\n")
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else ""


# ---------------------------------------------------------------- positions of values


@dataclass(frozen=True)
class Located:
    """Offsets by JSON Pointer: of every value, and of every object member's key."""

    values: dict[str, int]
    keys: dict[str, int]
    repeats: dict[str, int]  # the second occurrence of a key that appears twice

    def offset(self, where: str, *, key: bool = False) -> int:
        """The offset of ``where`` (its key's when ``key``), else of its nearest ancestor."""
        while True:
            found = (self.keys if key else self.values).get(where)
            if found is None and key:
                found = self.values.get(where)
            if found is not None or not where:
                return found or 0
            where = where[: where.rfind("/")]
            key = False


def locate(text: str) -> Located:
    """The offset of every value (and key) of a valid JSON ``text`` by JSON Pointer.

    For a key that appears twice the first occurrence counts.  ``text`` must be what
    ``json.loads`` accepted (and at most :data:`submission.MAX_DEPTH` deep: this recurses).
    """
    found = Located({}, {}, {})
    _Scanner(text, found).value(_skip(text, 0), "")
    return found


def _skip(text: str, i: int) -> int:
    m = _WS.match(text, i)
    return m.end() if m else i


class _Scanner:
    def __init__(self, text: str, found: Located) -> None:
        self.text = text
        self.found = found

    def value(self, i: int, where: str) -> int:
        """Record the value starting at ``i``; return the offset just after it."""
        self.found.values.setdefault(where, i)
        text = self.text
        ch = text[i]
        if ch == '"':
            return json.decoder.scanstring(text, i + 1)[1]  # type: ignore[attr-defined,no-any-return]
        if ch == "{":
            i = _skip(text, i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                key_at = i
                key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
                member = where + pointer(key)
                if member in self.found.keys:
                    self.found.repeats.setdefault(member, key_at)
                self.found.keys.setdefault(member, key_at)
                i = _skip(text, _skip(text, i) + 1)  # past the ':'
                i = _skip(text, self.value(i, where + pointer(key)))
                if text[i] == "}":
                    return i + 1
                i = _skip(text, i + 1)  # past the ','
        if ch == "[":
            i = _skip(text, i + 1)
            if text[i] == "]":
                return i + 1
            index = 0
            while True:
                i = _skip(text, self.value(i, where + pointer(index)))
                if text[i] == "]":
                    return i + 1
                i = _skip(text, i + 1)
                index += 1
        m = _SCALAR.match(text, i)
        if m is None:  # pragma: no cover - the text was accepted by json.loads
            raise ValueError(f"not JSON at offset {i}")
        return m.end()


# ---------------------------------------------------------------- syntax errors


@dataclass(frozen=True)
class Cause:
    """The likely mistake behind a JSON syntax error: a word key (see
    ``templates/feedback.words.yaml``, ``json_*``), its arguments, and where to fix it."""

    key: str
    offset: int
    args: tuple[tuple[str, str], ...] = ()


# A number a person may write unquoted: -.25, 1/4, -1/1, 0,25, 1.5e-3, \frac{1}{4}
_LOOSE_NUMBER = re.compile(
    r"[+\-\u2212]?(?:[0-9]+(?:\.[0-9]*|,[0-9]+)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"(?:\s*[/\u2044]\s*[+\-\u2212]?(?:[0-9]+(?:\.[0-9]*|,[0-9]+)?|[.,][0-9]+))?"
    r"|[+\-\u2212]?\\[dt]?frac\s*\{[^{}]*\}\s*\{[^{}]*\}"
)
_VALUE_END = re.compile(r"""["\]}0-9el]""")  # the last character of a complete value


def _previous(text: str, i: int) -> int:
    """The offset of the last non-blank character before ``i`` (-1 when none)."""
    j = i - 1
    while j >= 0 and text[j] in " \t\r\n":
        j -= 1
    return j


def syntax_cause(text: str, exc: json.JSONDecodeError) -> Cause:
    """The likely cause of ``exc`` (raised by ``json.loads(text)``)."""
    pos = min(exc.pos, len(text))
    if not text.strip():
        return Cause("json_empty", 0)
    here = text[pos:]
    prev = _previous(text, pos)
    if not here.strip():
        return Cause("json_truncated", pos)
    if here.startswith(("//", "/*", "#")):
        return Cause("json_comment", pos)
    if here.startswith("'"):
        return Cause("json_single_quotes", pos)
    if here[0] in "}]" and prev >= 0 and text[prev] == ",":
        return Cause("json_trailing_comma", prev, (("bracket", here[0]),))
    if "trailing comma" in exc.msg and prev >= 0:  # Python 3.13+ names it itself
        comma = text.rfind(",", 0, pos + 1)
        return Cause("json_trailing_comma", comma if comma >= 0 else pos, (("bracket", "}"),))
    token = _value_token(text, pos)
    if token is not None:
        start, written = token
        if _LOOSE_NUMBER.fullmatch(written) and not _is_json_number(written):
            quoted = json.dumps(written, ensure_ascii=False)  # a backslash doubled: "\\frac…"
            return Cause("json_unquoted_number", start, (("text", written), ("quoted", quoted)))
    starts_value = here[:1] in ('"', "{", "[", "-") or here[:1].isdigit()
    if "delimiter" in exc.msg and prev >= 0 and _VALUE_END.match(text[prev]) and starts_value:
        return Cause("json_missing_comma", prev + 1)
    if exc.msg.startswith("Expecting property name") and here[:1].isalpha():
        word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", here)
        return Cause("json_unquoted_key", pos, (("text", word.group() if word else here[:1]),))
    if exc.msg.startswith("Unterminated string"):
        return Cause("json_unterminated_string", pos)
    if exc.msg.startswith("Expecting value") and here[:1].isalpha():
        word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", here)
        return Cause("json_bare_word", pos, (("text", word.group() if word else here[:1]),))
    if exc.msg.startswith("Extra data"):
        return Cause("json_extra_data", pos)
    return Cause("json_other", pos, (("detail", exc.msg),))


def _is_json_number(written: str) -> bool:
    return (
        re.fullmatch(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", written) is not None
    )


def _value_token(text: str, pos: int) -> tuple[int, str] | None:
    """The number-like value a person wrote around ``pos``, as (offset, text), or None.

    The value starts after the ``:``, ``,`` or ``[`` that precedes ``pos`` (or, for a
    decimal comma such as ``0,25``, at the digits before that comma) and must end at a
    ``,``, ``]``, ``}`` or the line's end."""
    start = pos
    while start > 0 and text[start - 1] not in ":,[{\n":
        start -= 1
    if start > 1 and text[start - 1] == "," and text[start - 2].isdigit():  # 0,25
        start -= 1
        while start > 0 and (text[start - 1].isdigit() or text[start - 1] in "+-\u2212"):
            start -= 1
    start = _skip(text, start)
    m = _LOOSE_NUMBER.match(text, start)
    if m is None or m.end() < pos:
        return None
    after = _skip(text, m.end())
    if after < len(text) and text[after] not in ",]}":
        return None
    return start, m.group()
