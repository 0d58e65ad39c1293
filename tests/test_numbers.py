"""Reading, rounding and writing numbers (grader.core.numbers)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.core.numbers import (
    MAX_DIGITS,
    MAX_NUMBER_CHARS,
    NumberError,
    decimal_places,
    fmt_dec,
    fmt_frac,
    is_finite_decimal,
    parse_number,
    round_half_away,
    rounding_interval,
    tex_frac,
)

MINUS = "\u2212"  # − (Unicode minus)
FRACTION_SLASH = "\u2044"  # ⁄

# ------------------------------------------------------------------ accepted syntaxes


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5", F(5)),
        ("-0.125", F(-1, 8)),
        ("1.25e-1", F(1, 8)),
        ("1.25E-1", F(1, 8)),
        ("1.5e+2", F(150)),
        ("1/4", F(1, 4)),
        (f"{MINUS}1/8", F(-1, 8)),
        (f"{MINUS}0.5", F(-1, 2)),
        ("\\frac{1}{4}", F(1, 4)),
        ("-\\tfrac18", F(-1, 8)),
        ("\\dfrac{3}{4}", F(3, 4)),
        ("\\frac{ 3 }{ 4 }", F(3, 4)),
        ("\\frac{-1}{4}", F(-1, 4)),
        ("\\frac{0.5}{2}", F(1, 4)),
        ("\\frac12", F(1, 2)),
        (" 2 ", F(2)),
        ("\t2\n", F(2)),
        ("+3", F(3)),
        (".5", F(1, 2)),
        ("5.", F(5)),
        ("-.5", F(-1, 2)),
        ("007", F(7)),
        ("-0", F(0)),
        ("0.000", F(0)),
        ("$\\frac{1}{2}$", F(1, 2)),
        ("$-\\frac{1}{8}$", F(-1, 8)),
        ("$0.25$", F(1, 4)),
        (f"1{FRACTION_SLASH}8", F(1, 8)),
        ("6/8", F(3, 4)),
        ("-3/-4", F(3, 4)),
        ("0.5/2", F(1, 4)),
        ("1e80", F(10**80)),
        ("1e-80", F(1, 10**80)),
        ("1" * MAX_DIGITS, F(int("1" * MAX_DIGITS))),  # MAX_DIGITS significant digits
        ("0." + "0" * 500 + "1", F(1, 10**501)),  # leading zeros are not significant
        ("123456789012345678901234567890/7", F(123456789012345678901234567890, 7)),
        (7, F(7)),
        (-7, F(-7)),
        (F(1, 3), F(1, 3)),
        # the decimal comma, in every language (issue 12): the value of the point form
        ("0,25", F(1, 4)),
        (f"{MINUS}0,125", F(-1, 8)),
        ("-0,125", F(-1, 8)),
        (" 1,5 ", F(3, 2)),
        ("$1,5$", F(3, 2)),
        ("1,5e-3", F(3, 2000)),
        ("1,5/3", F(1, 2)),
        ("\\frac{1,5}{3}", F(1, 2)),
    ],
)
def test_accepted(text: object, value: F) -> None:
    got = parse_number(text)  # type: ignore[arg-type]
    assert got == value and isinstance(got, F)


# ------------------------------------------------------------------ refused input


@pytest.mark.parametrize(
    ("text", "fragment", "position"),
    [
        ("1e999999999", "exponent out of range", 0),
        ("1e81", "exponent out of range", 0),
        ("1e-81", "exponent out of range", 0),
        ("0e99999", "exponent out of range", 0),
        ("1/1e999999999", "exponent out of range", 2),
        ("1/0", "division by zero", 2),
        ("1/0.000", "division by zero", 2),
        (" 3/0", "division by zero", 3),
        ("NaN", "expected a number such as", 0),
        ("nan", "expected a number such as", 0),
        ("Infinity", "expected a number such as", 0),
        ("inf", "expected a number such as", 0),
        ("-inf", "expected a number such as", 1),
        ("9" * 200_000, f"longer than {MAX_NUMBER_CHARS} characters", 0),
        ("1" * (MAX_DIGITS + 1), f"more than {MAX_DIGITS} significant digits", 0),
        ("\uff11\uff12", "ASCII digits", 0),  # fullwidth １２
        ("1\uff12", "ASCII digits", 1),
        ("\u0661", "ASCII digits", 0),  # Arabic-Indic digit one
        ("0,25,1", "more than one ','", 4),
        ("1,000,000", "more than one ','", 5),
        ("1.0,5", "both a point and a comma", 3),
        (",5", "a digit on each side", 0),
        (" 5,", "a digit on each side", 2),
        ("$1 ,5$", "a digit on each side", 3),
        ("1,e5", "a digit on each side", 1),
        ("\u215b", "ASCII digits", 0),  # ⅛
        ("1/2/3", "expected a number such as", 3),
        ("--1", "expected a number such as", 1),
        ("+-1", "expected a number such as", 1),
        ("0x10", "expected a number such as", 1),
        ("1_000", "expected a number such as", 1),
        ("1 000", "expected a number such as", 1),
        ("1e5.5", "expected a number such as", 3),
        ("1..2", "expected a number such as", 2),
        ("1/2x", "expected a number such as", 3),
        ("  x", "expected a number such as", 2),
        ("$ 1/2/3$", "expected a number such as", 5),
        ("e5", "expected a number such as", 0),
        (".", "expected a number such as", 0),
        ("-", "expected a number such as", 0),
        ("1/", "expected a number such as", 1),
        ("2x", "expected a number such as", 1),
        ("1+1", "expected a number such as", 1),
        ("sqrt(2)", "expected a number such as", 0),
        ("", "empty answer", 0),
        ("   ", "empty answer", 0),
        ("$$", "empty answer", 0),
        ("\\frac{1}{0}", "division by zero", 0),
        ("\\input{x}", "expected \\frac{p}{q}", 0),
        ("\\frac{1}{2}x", "expected \\frac{p}{q}", 0),
        ("\\frac{1/2}{3}", "numerator of \\frac must be a plain number", 6),
        ("\\frac{1}{x}", "denominator of \\frac must be a plain number", 9),
        ("\\frac{\\frac{1}{2}}{3}", "expected \\frac{p}{q}", 0),
        ("\\frac{1}{1e999999999}", "exponent out of range", 0),
        (True, "got a boolean", 0),
        (False, "got a boolean", 0),
        (None, "got NoneType", 0),
        ([1], "got list", 0),
        ({"n": 1}, "got dict", 0),
        (0.5, "got float", 0),
        (b"5", "got bytes", 0),
        (10**MAX_DIGITS, f"more than {MAX_DIGITS} digits", 0),
    ],
)
def test_refused(text: object, fragment: str, position: int) -> None:
    with pytest.raises(NumberError) as info:
        parse_number(text)  # type: ignore[arg-type]
    assert fragment in info.value.message
    assert str(info.value) == info.value.message
    assert info.value.position == position
    assert isinstance(info.value, ValueError)  # callers may catch ValueError


def test_hostile_inputs_are_refused_without_big_arithmetic() -> None:
    """``Fraction("1e999999999")`` alone would run for minutes: a fresh interpreter must
    refuse all of these and exit.  The timeout is only a watchdog against a hang."""
    script = textwrap.dedent(
        """
        from grader.core.numbers import NumberError, parse_number
        hostile = ["1e999999999", "1e-999999999", "9" * 200000, "1/1e99999",
                   "\\\\frac{1}{1e999999}", "1e" + "9" * 999, "0." + "0" * 998 + "1e-99999"]
        for text in hostile:
            try:
                parse_number(text)
            except NumberError:
                continue
            raise SystemExit("accepted: " + text[:40])
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# ------------------------------------------------------------------ rounding


@pytest.mark.parametrize(
    ("x", "k", "expected"),
    [
        (F(1, 8), 2, F(13, 100)),
        (F(-1, 8), 2, F(-13, 100)),
        (F(5, 2), 0, F(3)),
        (F(-5, 2), 0, F(-3)),
        (F(7, 2), 0, F(4)),  # not to even
        (F(-7, 2), 0, F(-4)),
        (F(1, 2), 0, F(1)),
        (F(-1, 2), 0, F(-1)),
        (F(12499, 100000), 2, F(12, 100)),
        (F(-12499, 100000), 2, F(-12, 100)),
        (F(-5, 1000), 2, F(-1, 100)),
        (F(5, 1000), 2, F(1, 100)),
        (F(49999, 10**7), 2, F(0)),
        (F(-49999, 10**7), 2, F(0)),
        (F(1, 3), 4, F(3333, 10000)),
        (F(2, 3), 4, F(6667, 10000)),
        (F(-2, 3), 4, F(-6667, 10000)),
        (F(82674, 100000), 4, F(8267, 10000)),
        (F(826745, 10**6), 4, F(8267, 10000)),
        (F(82675, 10**5), 4, F(8268, 10000)),
        (F(0), 3, F(0)),
        (F(17), 2, F(17)),
        (F(-999995, 10**6), 5, F(-1)),
        (F(-999994, 10**6), 5, F(-99999, 10**5)),
        (F(-9999995, 10**7), 6, F(-1)),
    ],
)
def test_round_half_away(x: F, k: int, expected: F) -> None:
    assert round_half_away(x, k) == expected


@pytest.mark.parametrize(
    ("x", "k", "text"),
    [
        (F(1, 3), 4, "0.3333"),
        (F(-1, 8), 2, "-0.13"),
        (F(1, 8), 3, "0.125"),
        (F(1, 8), 5, "0.12500"),
        (F(-1, 1000), 2, "0.00"),  # no "-0.00"
        (F(-5, 1000), 2, "-0.01"),
        (F(5), 0, "5"),
        (F(-5, 2), 0, "-3"),
        (F(0), 2, "0.00"),
        (F(123456789, 1000), 2, "123456.79"),
        (F(-7, 100000), 4, "-0.0001"),
        (F(999995, 10**6), 5, "1.00000"),
        (F(999994, 10**6), 5, "0.99999"),
        (F(9999995, 10**7), 6, "1.000000"),
        (F(-2, 3), 1, "-0.7"),
        (F(118438919837, 3200000000000), 7, "0.0370122"),
    ],
)
def test_fmt_dec(x: F, k: int, text: str) -> None:
    assert fmt_dec(x, k) == text


@pytest.mark.parametrize(
    ("x", "frac", "tex"),
    [
        (F(5), "5", "5"),
        (F(-3), "-3", "-3"),
        (F(0), "0", "0"),
        (F(1, 4), "1/4", "\\frac{1}{4}"),
        (F(-1, 8), "-1/8", "-\\frac{1}{8}"),
        (F(6, 8), "3/4", "\\frac{3}{4}"),
        (F(8267, 10000), "8267/10000", "\\frac{8267}{10000}"),
    ],
)
def test_fmt_frac_and_tex_frac(x: F, frac: str, tex: str) -> None:
    assert fmt_frac(x) == frac
    assert tex_frac(x) == tex
    assert parse_number(frac) == x and parse_number(tex) == x


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("0.250", 3),
        ("-0.5", 1),
        (f"{MINUS}0.5", 1),
        ("5.", 0),
        ("1.5e-2", 3),
        ("1.25e1", 1),
        ("5", None),
        ("1/4", None),
        ("\\frac{1}{4}", None),
        ("0,250", 3),  # a decimal comma sets the places like a point
        (f"{MINUS}0,5", 1),
        ("1,5e-2", 3),
    ],
)
def test_decimal_places(text: str, places: int | None) -> None:
    assert decimal_places(text) == places


def test_is_finite_decimal() -> None:
    assert is_finite_decimal(F(1, 8)) and is_finite_decimal(F(3, 40)) and is_finite_decimal(F(7))
    assert not is_finite_decimal(F(1, 3)) and not is_finite_decimal(F(1, 12))


# ------------------------------------------------------------------ properties

fractions = st.fractions(max_denominator=10**12).filter(lambda q: abs(q.numerator) < 10**60)
places = st.integers(0, 12)


@settings(max_examples=500, derandomize=True)
@given(fractions)
def test_fmt_frac_round_trips(x: F) -> None:
    assert parse_number(fmt_frac(x)) == x
    assert parse_number(tex_frac(x)) == x
    assert parse_number(fmt_frac(x).replace("-", MINUS)) == x


@settings(max_examples=500, derandomize=True)
@given(fractions, places)
def test_fmt_dec_is_within_half_a_unit(x: F, k: int) -> None:
    text = fmt_dec(x, k)
    value = parse_number(text)
    assert abs(value - x) <= F(1, 2 * 10**k)
    assert value == round_half_away(x, k)
    assert decimal_places(text) == (k if k > 0 else None)  # an integer has no places


@settings(max_examples=500, derandomize=True)
@given(fractions, places)
def test_round_half_away_properties(x: F, k: int) -> None:
    r = round_half_away(x, k)
    assert (r * 10**k).denominator == 1  # a k-decimal number
    assert abs(r - x) <= F(1, 2 * 10**k)  # the nearest one …
    lo, hi = rounding_interval(r, k)
    assert lo <= x <= hi  # … so x is among the numbers that round to r
    assert hi - lo == F(1, 10**k)
    assert round_half_away(-x, k) == -r  # symmetric
    if abs(r - x) == F(1, 2 * 10**k):  # a tie goes away from zero
        assert abs(r) > abs(x)


@settings(max_examples=300, derandomize=True)
@given(st.integers(-(10**6), 10**6), places)
def test_ties_go_away_from_zero(m: int, k: int) -> None:
    tie = F(2 * m + 1, 2 * 10**k)  # exactly halfway between two k-decimal numbers
    away = F(m + 1, 10**k) if tie > 0 else F(m, 10**k)
    assert round_half_away(tie, k) == away


@settings(max_examples=300, derandomize=True)
@given(fractions, places)
def test_rounding_interval_contains_x(x: F, k: int) -> None:
    lo, hi = rounding_interval(x, k)
    assert lo <= x <= hi and hi - lo == F(1, 10**k)
    # every k-decimal number inside the interval of a k-decimal r rounds to r
    r = round_half_away(x, k)
    lo, hi = rounding_interval(r, k)
    assert round_half_away(lo + F(1, 10 ** (k + 3)), k) == r
    assert round_half_away(hi - F(1, 10 ** (k + 3)), k) == r


number_like = st.text(alphabet="0123456789+-−./eE \\{}$,_xfracdt⁄", max_size=40)


@settings(max_examples=1500, derandomize=True)
@given(
    st.one_of(
        st.text(max_size=60), number_like, st.from_regex(r"[+-]?\d*\.?\d*(e[+-]?\d+)?(/\d+)?")
    )
)
def test_arbitrary_text_gives_a_number_or_a_number_error(text: str) -> None:
    try:
        value = parse_number(text)
    except NumberError as exc:
        assert exc.message
        assert 0 <= exc.position <= len(text)
    else:
        assert isinstance(value, F)


@settings(max_examples=500, derandomize=True)
@given(
    st.booleans(),
    st.text("0123456789", min_size=1, max_size=32),
    st.sampled_from(["", "/", "."]),
    st.text("0123456789", min_size=1, max_size=32),
)
def test_plain_numbers_read_as_python_reads_them(
    negative: bool, whole: str, mark: str, rest: str
) -> None:
    """The quick path for -12, 5/4 and -0.125 (and the general one past 30 digits)
    against the standard library's own reading of the same text."""
    text = ("-" if negative else "") + whole + (mark + rest if mark else "")
    if mark == "/" and int(rest) == 0:
        with pytest.raises(NumberError, match="division by zero"):
            parse_number(text)
        return
    assert parse_number(text) == F(text)


def test_decimal_comma_sets_the_tolerance_like_a_point() -> None:
    """``"0,9526"`` (a Russian sheet says "4 знака после запятой") stands for everything
    that rounds to 0.9526, exactly like ``"0.9526"``: [0.95255, 0.95265]."""
    from grader.grade.tolerance import answer_interval

    comma = answer_interval("0,9526", parse_number("0,9526"), 4)
    assert (comma.lo, comma.hi) == (F(95255, 100000), F(95265, 100000))
    point = answer_interval("0.9526", parse_number("0.9526"), 4)
    assert (comma.lo, comma.hi) == (point.lo, point.hi)
    # more places than instructed narrow it, as after a point
    longer = answer_interval(f"{MINUS}0,95260", parse_number(f"{MINUS}0,95260"), 4)
    assert (longer.lo, longer.hi) == (F(-952605, 1000000), F(-952595, 1000000))
