"""The sheets' and keys' templates and words, with each exercise family's own.

The shared templates (``sheet.tex.j2``, ``key.tex.j2``, ``preamble.tex.j2``) and words
(``words.yaml``) live in :mod:`grader.templates`; a family's templates and words live in
the folder its :meth:`~grader.exercises.base.Exercise.template_folder` names
(``templates/<type>/`` for the built-in ones: ``sheet.tex.j2``, ``key.tex.j2``,
``words.yaml``).  A template includes a family's file as ``<type>/<file>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
import yaml

from grader.core.latex import tex_environment
from grader.exercises import EXERCISE_MODULES, get_exercise


class _FamilyLoader(jinja2.BaseLoader):
    """``<type>/<file>`` from that family's template folder; any other name from the shared
    templates."""

    def __init__(self) -> None:
        self._shared = jinja2.FileSystemLoader(str(resources.files("grader.templates")))

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        family, _, name = template.partition("/")
        if not name or family not in EXERCISE_MODULES:
            return self._shared.get_source(environment, template)
        path = get_exercise(family).template_folder().joinpath(name)
        if not path.is_file():
            raise jinja2.TemplateNotFound(template)
        return path.read_text("utf-8"), None, lambda: True


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return tex_environment(_FamilyLoader())


@lru_cache(maxsize=8)
def shared_words(language: str) -> dict[str, Any]:
    """The words every document uses, for ``language`` (``en``/``ru``)."""
    root = resources.files("grader.templates")
    table = yaml.safe_load(root.joinpath("words.yaml").read_text("utf-8"))[language]
    return dict(table)


def words(language: str, families: Iterable[str] | None = None) -> dict[str, Any]:
    """The shared words plus, under each family's type name, that family's words
    (``w.<type>.<word>`` in templates); all registered families when ``families`` is None."""
    names = tuple(sorted(set(EXERCISE_MODULES if families is None else families)))
    return _words(language, names)


@lru_cache(maxsize=32)
def _words(language: str, families: tuple[str, ...]) -> dict[str, Any]:
    table = dict(shared_words(language))
    for type_name in families:
        folder = get_exercise(type_name).template_folder()
        table[type_name] = yaml.safe_load(folder.joinpath("words.yaml").read_text("utf-8"))[
            language
        ]
    return table


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def render_block(template: str, block: str, **context: Any) -> str | None:
    """The text of one ``block`` of ``template`` (what :func:`render` prints in its place),
    or None when the template has no such block."""
    found = environment().get_template(template)
    render_fn = found.blocks.get(block)
    if render_fn is None:
        return None
    return "".join(render_fn(found.new_context(context)))
