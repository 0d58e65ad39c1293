"""The student-facing words of what goes back to an LMS: ``templates/lms/words.<lang>.yaml``
(kept apart from the page templates, so the autograder does not load jinja2)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("en", "ru")


@lru_cache(maxsize=4)
def words(lang: str) -> dict[str, Any]:
    lang = lang if lang in LANGUAGES else "en"
    folder = resources.files("grader.templates") / "lms"
    data = yaml.safe_load((folder / f"words.{lang}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def flag_note(flag: str, lang: str) -> str:
    """What a student reads for a gradebook flag of :mod:`grader.grade.lms_match`
    (``names_other_student:<id>``, ``identified_by_file:<how>``)."""
    w = words(lang)
    code, _, value = flag.partition(":")
    if code == "names_other_student":
        return str(w["note_classmate"]).format(named=value)
    return str(w["note_identified"])
