"""The integer-arithmetic rounding and formatting of grader.core.numbers against a plain
Fraction reference (the straightforward implementation they replaced)."""

from __future__ import annotations

from fractions import Fraction as F

from hypothesis import example, given, settings
from hypothesis import strategies as st

from grader.core.numbers import fmt_dec, fmt_exact_or_dec, is_finite_decimal, round_half_away
from grader.course.keys import APPROX_DECIMALS, approx_text


def reference_round(x: F, decimals: int) -> F:
    scale = 10**decimals
    scaled = abs(x) * scale
    q, r = divmod(scaled.numerator, scaled.denominator)
    if 2 * r >= scaled.denominator:
        q += 1
    result = F(q, scale)
    return -result if x < 0 else result


def reference_fmt_dec(x: F, decimals: int) -> str:
    r = reference_round(x, decimals)
    scaled = abs(r) * 10**decimals
    digits = str(scaled.numerator).rjust(decimals + 1, "0")
    text = digits if decimals == 0 else f"{digits[:-decimals]}.{digits[-decimals:]}"
    return f"-{text}" if r < 0 else text


def reference_exact_or_dec(x: F, decimals: int) -> str:
    text = reference_fmt_dec(x, decimals)
    if is_finite_decimal(x) and reference_round(x, decimals) == x:
        return text.rstrip("0").rstrip(".") if "." in text else text
    return "≈" + text


numerators = st.one_of(
    st.integers(-1000, 1000),
    st.integers(-(10**80), 10**80),  # exact-mode keys carry hundreds of digits
)
denominators = st.one_of(
    st.integers(1, 1000),
    st.sampled_from([2, 4, 8, 16, 5, 25, 125, 10, 20, 40, 80, 1000, 2**20, 5**12]),
    st.integers(1, 10**60),
)
fractions = st.builds(F, numerators, denominators)
places = st.integers(0, 12)


@settings(max_examples=3000)
@given(fractions, places)
@example(F(1, 8), 2)  # an exact half rounds away from zero
@example(F(-1, 8), 2)
@example(F(-5, 2), 0)
@example(F(5, 2), 0)
@example(F(-1, 1000), 2)  # rounds to zero: no minus sign
@example(F(0), 0)
@example(F(-(10**300) - 1, 3), 7)
def test_rounding_and_formatting_match_the_fraction_reference(x: F, decimals: int) -> None:
    assert round_half_away(x, decimals) == reference_round(x, decimals)
    assert fmt_dec(x, decimals) == reference_fmt_dec(x, decimals)
    assert fmt_exact_or_dec(x, decimals) == reference_exact_or_dec(x, decimals)


@settings(max_examples=1000)
@given(fractions)
@example(F(-1, 10**8))
@example(F(1, 2 * 10**7))
@example(F(-1, 2 * 10**7))
def test_key_approx_is_fmt_dec_at_seven_places(x: F) -> None:
    assert approx_text(x) == reference_fmt_dec(x, APPROX_DECIMALS)
