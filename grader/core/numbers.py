"""Exact numbers: safe parsing, rounding and formatting of Fractions.

Everything a student or an instructor writes as a number passes through
:func:`parse_number`.  It never hands unchecked text to ``Fraction`` or
``Decimal``: ``Fraction("1e999999999")`` would try to build a billion-digit
integer, so the length, the digit count and the exponent are bounded first.

>>> parse_number("-\\\\tfrac18")
Fraction(-1, 8)
>>> fmt_frac(Fraction(-1, 8)), fmt_dec(Fraction(-1, 8), 2), tex_frac(Fraction(-1, 8))
('-1/8', '-0.13', '-\\\\frac{1}{8}')
"""

from __future__ import annotations

import re
from fractions import Fraction

from grader.core.errors import PositionedError

MAX_NUMBER_CHARS = 2100  # a real answer is never longer; an exact key value may be
MAX_DIGITS = 1000  # digits in one written number (exact-mode keys need hundreds)
MAX_EXPONENT = 80  # |e| in scientific notation

UNICODE_MINUS = "\u2212"
FRACTION_SLASH = "\u2044"


class NumberError(PositionedError):
    """A number could not be read.  ``position`` is a 0-based offset into the text."""


_DECIMAL = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_SIGNED = rf"[+-]?{_DECIMAL}"
_PLAIN_RE = re.compile(rf"({_SIGNED})(?:/({_SIGNED}))?", re.ASCII)
_TEX_RE = re.compile(
    r"([+-]?)\\[dt]?frac\s*(?:\{\s*([^{}]*)\s*\}|([0-9]))\s*(?:\{\s*([^{}]*)\s*\}|([0-9]))",
    re.ASCII,
)
# The common forms, with few enough digits that no limit applies: read directly.
_QUICK_RE = re.compile(r"(-?)([0-9]{1,30})(?:/([0-9]{1,30})|\.([0-9]{1,30}))?", re.ASCII)
_DECIMAL_PARTS_RE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?", re.ASCII)


def parse_number(text: str | int | Fraction) -> Fraction:
    """Read a number written as ``5``, ``-0.125``, ``0,25``, ``1.25e-1``, ``1/4``, ``−1/8``,
    ``\\frac{1}{4}`` or ``-\\tfrac18``; raise :class:`NumberError` otherwise."""
    if isinstance(text, bool):
        raise NumberError.said_as("reason_number_boolean")
    if isinstance(text, int):
        if abs(text) >= 10**MAX_DIGITS:
            raise NumberError.said_as("reason_number_int_digits", limit=MAX_DIGITS)
        return Fraction(text)
    if isinstance(text, Fraction):
        return text
    if not isinstance(text, str):
        raise NumberError.said_as("reason_number_type", type=type(text).__name__)
    if len(text) > MAX_NUMBER_CHARS:
        raise NumberError.said_as("reason_number_too_long", limit=MAX_NUMBER_CHARS)
    quick = _QUICK_RE.fullmatch(text)
    if quick is not None:  # -12, 5/4, -0.125: most answers, read without the general path
        whole, den, frac = quick.group(2, 3, 4)
        if den is not None:
            if int(den) != 0:  # (a zero gets the general path's message)
                value = Fraction(int(whole), int(den))
                return -value if quick.group(1) else value
        else:
            value = Fraction(int(whole + (frac or "")), 10 ** len(frac or ""))
            return -value if quick.group(1) else value
    lead = len(text) - len(text.lstrip())
    s = text.strip().replace(UNICODE_MINUS, "-").replace(FRACTION_SLASH, "/")
    if s.startswith("$") and s.endswith("$") and len(s) >= 2:
        inner = s.strip("$")
        lead += len(s) - len(s.lstrip("$")) + len(inner) - len(inner.lstrip())
        s = inner.strip()
    if not s:
        raise NumberError.said_as("reason_number_empty")
    for i, ch in enumerate(s):
        if not ch.isascii():
            raise NumberError.said_as("reason_number_non_ascii", lead + i, char=repr(ch))
    if "," in s:
        s = _comma_as_point(s, lead)
    if "\\" in s:
        return _parse_tex(s, lead)
    m = _PLAIN_RE.fullmatch(s)
    if not m:
        raise NumberError.said_as("reason_number_syntax", lead + _first_bad(s))
    num = _parse_decimal(m.group(1), lead)
    if m.group(2) is None:
        return num
    den = _parse_decimal(m.group(2), lead + m.start(2))
    if den == 0:
        raise NumberError.said_as("reason_number_zero_division", lead + m.start(2))
    return num / den


def _comma_as_point(s: str, lead: int) -> str:
    """``s`` with its decimal comma as a point (``0,25`` is ``0.25`` in every language):
    exactly one comma, a digit on each side, and no point beside it."""
    at = s.index(",")
    if s.count(",") > 1:
        raise NumberError.said_as("reason_number_commas", lead + s.index(",", at + 1))
    if "." in s:
        raise NumberError.said_as("reason_number_point_and_comma", lead + at)
    if not (0 < at < len(s) - 1 and s[at - 1].isdigit() and s[at + 1].isdigit()):
        raise NumberError.said_as("reason_number_comma_digits", lead + at)
    return s[:at] + "." + s[at + 1 :]


def _parse_tex(s: str, lead: int) -> Fraction:
    m = _TEX_RE.fullmatch(s)
    if not m:
        raise NumberError.said_as("reason_number_tex", lead)
    sign = -1 if m.group(1) == "-" else 1
    num_text = (m.group(2) if m.group(2) is not None else m.group(3)).strip()
    den_text = (m.group(4) if m.group(4) is not None else m.group(5)).strip()
    if not _PLAIN_RE.fullmatch(num_text) or "/" in num_text:
        raise NumberError.said_as(
            "reason_number_tex_numerator", lead + m.start(2 if m.group(2) is not None else 3)
        )
    if not _PLAIN_RE.fullmatch(den_text) or "/" in den_text:
        raise NumberError.said_as(
            "reason_number_tex_denominator", lead + m.start(4 if m.group(4) is not None else 5)
        )
    den = _parse_decimal(den_text, lead)
    if den == 0:
        raise NumberError.said_as("reason_number_zero_division", lead)
    return sign * _parse_decimal(num_text, lead) / den


def _parse_decimal(s: str, offset: int) -> Fraction:
    """Exact value of a decimal literal, with its size bounded before any arithmetic."""
    m = _DECIMAL_PARTS_RE.fullmatch(s)
    if not m:  # pragma: no cover - callers matched the same grammar
        raise NumberError.said_as("reason_number_decimal", offset)
    sign, whole, frac, exp = m.groups()
    whole, frac = whole or "", frac or ""
    digits = (whole + frac).lstrip("0")
    if len(digits) > MAX_DIGITS:
        raise NumberError.said_as("reason_number_digits", offset, limit=MAX_DIGITS)
    e = 0
    if exp is not None:
        exp_digits = exp.lstrip("+-").lstrip("0")
        if len(exp_digits) > 4 or int(exp or "0") > MAX_EXPONENT or int(exp or "0") < -MAX_EXPONENT:
            raise NumberError.said_as("reason_number_exponent", offset, limit=MAX_EXPONENT)
        e = int(exp)
    mantissa = int(whole + frac) if (whole + frac) else 0
    value = Fraction(mantissa) * Fraction(10) ** (e - len(frac))
    return -value if sign == "-" else value


def _first_bad(s: str) -> int:
    """The position of the first character that cannot start or continue a number: the
    length of the longest prefix that some number begins with (every unfinished number
    is finished by one more digit, so a prefix ``p`` qualifies when ``p`` or ``p + "0"``
    is a number)."""
    for i in range(len(s), 0, -1):
        if _PLAIN_RE.fullmatch(s[:i]) or _PLAIN_RE.fullmatch(s[:i] + "0"):
            return min(i, len(s) - 1)
    return 0


# ---------------------------------------------------------------- rounding


def _rounded_magnitude(x: Fraction, decimals: int) -> tuple[int, int]:
    """(|x|·10^decimals rounded half away from zero, the remainder of that division):
    integer arithmetic only (these run for every number a key or a sheet shows)."""
    q, r = divmod(abs(x.numerator) * 10**decimals, x.denominator)
    if 2 * r >= x.denominator:
        q += 1
    return q, r


def round_half_away(x: Fraction, decimals: int) -> Fraction:
    """Round to ``decimals`` places, halves away from zero (the rule taught by hand).

    >>> round_half_away(Fraction(-1, 8), 2), round_half_away(Fraction(1, 8), 2)
    (Fraction(-13, 100), Fraction(13, 100))
    """
    q, _ = _rounded_magnitude(x, decimals)
    return Fraction(-q if x.numerator < 0 else q, 10**decimals)


def rounding_interval(x: Fraction, decimals: int) -> tuple[Fraction, Fraction]:
    """The closed interval of numbers that round to ``x`` at ``decimals`` places
    (closed on both sides: a boundary value is within any tolerance we care about)."""
    half = Fraction(1, 2 * 10**decimals)
    return x - half, x + half


def decimal_places(text: str) -> int | None:
    """Digits after the point (or the decimal comma) of a plainly written decimal
    (``"0.250"`` and ``"0,250"`` → 3), else None.

    Fractions, integers and LaTeX stand for themselves, so they have no places.
    """
    s = text.strip().replace(UNICODE_MINUS, "-")
    if s.count(",") == 1 and "." not in s:  # what parse_number reads as a decimal comma
        s = s.replace(",", ".")
    m = _DECIMAL_PARTS_RE.fullmatch(s)
    if not m or m.group(3) is None and m.group(4) is None:
        return None
    places = len(m.group(3) or "")
    if m.group(4) is not None:
        places -= int(m.group(4)) if len(m.group(4).lstrip("+-")) <= 4 else 0
    return max(places, 0)


# ---------------------------------------------------------------- formatting


def fmt_frac(x: Fraction) -> str:
    """``p/q`` (or ``p`` for an integer): the canonical text of an exact answer."""
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def fmt_dec(x: Fraction, decimals: int) -> str:
    """Fixed-point text rounded half away from zero, e.g. ``fmt_dec(1/3, 4) == "0.3333"``."""
    return _fixed_point(x, decimals, _rounded_magnitude(x, decimals)[0])


def _fixed_point(x: Fraction, decimals: int, q: int) -> str:
    """The text of ``q``·10^-decimals with ``x``'s sign (none when ``q`` is 0: "-0.00"
    would be read as a different answer from "0.00")."""
    digits = str(q).rjust(decimals + 1, "0")
    text = digits if decimals == 0 else f"{digits[:-decimals]}.{digits[-decimals:]}"
    return f"-{text}" if x.numerator < 0 and q else text


def is_finite_decimal(x: Fraction) -> bool:
    """True when ``x`` has a terminating decimal expansion (denominator 2^a·5^b)."""
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def fmt_exact_or_dec(x: Fraction, decimals: int) -> str:
    """The exact decimal when it terminates within ``decimals`` places, else ``≈`` rounding."""
    q, remainder = _rounded_magnitude(x, decimals)
    text = _fixed_point(x, decimals, q)
    if remainder == 0:  # |x|·10^decimals is an integer: the rounding is x itself
        return text.rstrip("0").rstrip(".") if "." in text else text
    return "≈" + text


def tex_frac(x: Fraction) -> str:
    """LaTeX ``\\frac{p}{q}`` (``-\\frac{p}{q}`` when negative; an integer stays plain)."""
    if x.denominator == 1:
        return str(x.numerator)
    sign = "-" if x < 0 else ""
    return f"{sign}\\frac{{{abs(x.numerator)}}}{{{x.denominator}}}"
