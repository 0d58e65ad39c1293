"""Words a student reads about their file, per language, from
``templates/feedback.words.yaml`` (the sheets' words live in ``words.yaml``).

A message is a word key and its arguments; :func:`say` fills them in with
``str.format`` (the template is ours, the arguments may be a student's text: format
never interprets an argument, so student text stays text).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("en", "ru")


@lru_cache(maxsize=4)
def feedback_words(language: str) -> dict[str, str]:
    """The feedback word table of ``language`` (``en``/``ru``)."""
    text = resources.files("grader.templates").joinpath("feedback.words.yaml").read_text("utf-8")
    table = yaml.safe_load(text)
    if language not in table:
        raise KeyError(f"no feedback words for language {language!r}")
    return dict(table[language])


def say(language: str, key: str, /, **args: Any) -> str:
    """The message ``key`` in ``language`` with ``args`` filled in (an argument that is
    itself :class:`Words` is said in the same language first)."""
    if any(isinstance(v, Words) for v in args.values()):
        args = {k: v.said(language) if isinstance(v, Words) else v for k, v in args.items()}
    return feedback_words(language)[key].format(**args)


@dataclass(frozen=True)
class Words:
    """A message not yet said: a word key and its arguments (hashable, so a result that
    holds one can be memoised).  Code that finds a problem builds one of these; whoever
    shows it to a person says it in that person's language."""

    key: str
    args: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, key: str, /, **args: Any) -> Words:
        return cls(key, tuple(args.items()))

    def said(self, language: str) -> str:
        return say(language, self.key, **dict(self.args))
