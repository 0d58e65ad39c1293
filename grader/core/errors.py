"""Errors a user sees as one clear line (never a traceback)."""

from __future__ import annotations

from typing import Any, Self

from grader.core.wording import Words


class UserError(Exception):
    """A problem with what the user gave us: exit code 2, one line naming file and place."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, where: str | None = None) -> None:
        self.message = message
        self.file = file
        self.where = where
        super().__init__(self.line())

    def line(self) -> str:
        place = ":".join(x for x in (self.file, self.where) if x)
        return f"{place}: {self.message}" if place else self.message


class PositionedError(ValueError):
    """Text that could not be read, with a 0-based ``position`` into it so a report can
    point at the place.  A plain exception class (not a frozen dataclass): Python must be
    able to set ``__traceback__`` and ``__notes__`` on a raised error."""

    def __init__(self, message: str | Words, position: int = 0) -> None:
        # the reason as words (said in a report's language), and said in English as
        # ``message`` (logs, the instructor, and the English report: what it always said)
        self.words = message if isinstance(message, Words) else None
        text = message.said("en") if isinstance(message, Words) else message
        super().__init__(text)
        self.message = text
        self.position = position

    @classmethod
    def said_as(cls, key: str, position: int = 0, /, **args: Any) -> Self:
        """The error whose reason is the word ``key`` with ``args``."""
        return cls(Words.of(key, **args), position)

    def said(self, language: str) -> str:
        """The reason in ``language`` (``message`` when it has no words)."""
        return self.message if self.words is None else self.words.said(language)

    def __str__(self) -> str:
        return self.message


def pointer_from_loc(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a JSON Pointer (RFC 6901)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)
