"""LaTeX rendering: a jinja2 environment in which nothing is printed unescaped.

Templates use LaTeX-friendly delimiters: ``\\VAR{expr}`` prints, ``\\BLOCK{stmt}`` is a
statement, ``%% stmt`` a line statement, ``\\#{…}`` a comment.  Every value printed goes
through :func:`_finalize`: text is escaped unless it is :class:`Tex` (which only our own
formatters produce), Fractions print as ``\\frac{p}{q}``.  ``StrictUndefined`` turns a
typo in a template into an error instead of silently empty output.

The environment itself, with the templates and words of the exercise families, is made by
:mod:`grader.make.rendering` (the core knows no family).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import jinja2

from grader.core.numbers import fmt_dec, fmt_exact_or_dec, fmt_frac, tex_frac

MAX_TEXT_CHARS = 500  # names and titles are cut here in sheets (the full text stays in JSON)


class Tex(str):
    """A string that is already valid LaTeX (produced by our own code, never by a user)."""

    __slots__ = ()


_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\textquotedbl{}",
}
_TYPOGRAPHY = {
    "–": "--",
    "—": "---",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    "…": r"\ldots{}",
    "«": "<<",
    "»": ">>",
}


def _printable(ch: str) -> bool:
    """Characters pdflatex can typeset with T1 + T2A fonts (Latin, Latin-1, Cyrillic)."""
    code = ord(ch)
    return 0x20 <= code < 0x7F or 0xA0 <= code <= 0x17F or 0x400 <= code <= 0x45F


def escape_tex(text: Any) -> Tex:
    """Escape arbitrary (hostile) text for LaTeX body text.

    Special characters become commands, control characters and anything the fonts
    cannot show become ``?``, and the length is bounded.  ``^^5c`` is harmless once
    ``^`` is escaped; ``\\input`` and ``\\write18`` are harmless once ``\\`` is.
    """
    text = str(text)
    # the same titles, names and words are printed in every document of a build
    return _escape_memo(text) if len(text) <= _MEMO_CHARS else _escape(text)


_MEMO_CHARS = 4 * MAX_TEXT_CHARS  # longer (hostile) text is escaped, never kept


@lru_cache(maxsize=8192)
def _escape_memo(text: str) -> Tex:
    return _escape(text)


def _escape(text: str) -> Tex:
    s = unicodedata.normalize("NFC", text)
    if len(s) > MAX_TEXT_CHARS:
        s = s[:MAX_TEXT_CHARS] + "…"
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch in _TYPOGRAPHY:
            out.append(_TYPOGRAPHY[ch])
        elif ch in "\t\n\r":
            out.append(" ")
        elif _printable(ch):
            out.append(ch)
        else:
            out.append("?")
    return Tex("".join(out))


# ------------------------------------------------------------ number filters


def frac(x: Fraction) -> Tex:
    """Exact value: ``\\frac{5}{4}``, ``-\\frac{1}{8}``, ``3``."""
    return Tex(tex_frac(Fraction(x)))


def dec(x: Fraction, decimals: int = 4) -> Tex:
    """Rounded decimal (half away from zero), with a real minus sign."""
    return Tex(fmt_dec(Fraction(x), decimals))


def num(x: Fraction, decimals: int = 7) -> Tex:
    """What a key shows: the exact fraction, and its decimal when that is not obvious.

    ``\\frac{5}{4} = 1.25``; ``\\frac{1}{3} = 0.3333333\\ldots`` (cut short, not rounded:
    in a key ``≈`` only marks a value rounded as the rounding rule says).
    """
    x = Fraction(x)
    if x.denominator == 1:
        return Tex(str(x.numerator))
    shown = cut_decimal(x, decimals)
    if len(fmt_frac(x)) > 24:  # a huge fraction says nothing to a reader: decimal only
        return Tex(shown)
    return Tex(rf"{tex_frac(x)} = {shown}")


def cut_decimal(x: Fraction, places: int) -> str:
    """``x`` as a decimal: in full when it ends within ``places`` decimals, else its first
    ``places`` decimals and ``\\ldots`` (the digits go on; the exact value is elsewhere)."""
    x = Fraction(x)
    shown = fmt_exact_or_dec(x, places)
    if not shown.startswith("≈"):
        return shown
    magnitude = abs(x.numerator) * 10**places // x.denominator
    digits = str(magnitude).rjust(places + 1, "0")
    sign = "-" if x < 0 else ""
    return rf"{sign}{digits[:-places]}.{digits[-places:]}\ldots"


class IndexMark(int):
    """A student's position in a document that prints as a mark instead of its digits, so
    one rendering of a student serves every position (see ``documents.render_student``)."""

    TEXT = "\x00student-index\x00"  # no printed value can hold NUL: escape_tex drops it


def _finalize(value: Any) -> Any:
    if isinstance(value, Tex):
        return value
    if type(value) is str:  # plain text (words, names, titles): before the ABC checks below
        return escape_tex(value)
    if isinstance(value, IndexMark):
        return IndexMark.TEXT
    if isinstance(value, bool):
        return escape_tex(str(value))
    if isinstance(value, Fraction):
        return frac(value)
    if isinstance(value, int):
        return str(value)
    if value is None:
        return ""
    return escape_tex(value)


def _mark_tex(value: Any) -> Tex:
    """``|tex``: for strings our own code built (never for user text)."""
    return Tex(value)


def _rows(lines: Sequence[Tex]) -> Tex:
    """``|rows``: the lines of an ``align*`` or ``gather*`` (each Tex), ``\\\\`` and a
    newline between them (one value printed instead of one per line)."""
    if not all(isinstance(line, Tex) for line in lines):
        raise TypeError("|rows joins Tex lines only (text must be escaped first)")
    return Tex("\\\\\n".join(lines))


# ------------------------------------------------------------ the environment's rules


class TexEnvironment(jinja2.Environment):
    """jinja's environment, with ``a.b`` on a dict (a view, the words) looked up as the
    key first: the same value as jinja's order (the attribute, then the key) whenever no
    dict attribute has that name, without raising AttributeError on every lookup (several
    hundred per student)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


_DICT_ATTRIBUTES = frozenset(dir(dict))  # ``d.items`` is the method, as in jinja


def tex_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """A jinja2 environment with LaTeX delimiters in which nothing prints unescaped."""
    env = TexEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_statement_prefix="%%",
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # templates do not change during a run: no stat per include
    )
    env.filters.update(frac=frac, dec=dec, num=num, esc=escape_tex, tex=_mark_tex, rows=_rows)
    return env
