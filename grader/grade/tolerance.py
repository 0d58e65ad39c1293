"""When a number counts as right.

The default rule (``interval``) is the spec's principled one: the acceptable set of a
field is the interval a correct computation can produce from its inputs, where each
rounded input may be anything that rounds to it (:class:`grader.core.intervals.IntervalOps`
does the computing); an answer written as a decimal with d digits after the point
stands for everything that rounds to it at max(d, k) digits (k: the instructed
decimals), an integer or a fraction for itself; the answer is accepted when its
interval meets the acceptable set.

An instructor may override the rule per exercise or per field with ``exact``,
``absolute`` (|a − e| ≤ value), ``relative`` (|a − e| ≤ value·|e|), ``decimals``
(|a − e| ≤ ½·10^−value) or ``significant`` (|a − e| ≤ half a unit in the value-th
significant digit of e), each measured against the exact expected value e.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from fractions import Fraction

from grader.core.intervals import Interval
from grader.core.numbers import decimal_places, fmt_frac, rounding_interval
from grader.core.wording import Words
from grader.course.assignment import ExerciseSpec, ToleranceSpec

MAX_DIGITS_RULE = 30  # decimals / significant figures an instructor may ask for


@dataclass(frozen=True)
class StudentNumber:
    """A number as the student wrote it (``text``) and its exact value."""

    text: str
    value: Fraction
    # intervals by instructed decimals, worked out once (a grading batch reuses numbers)
    _intervals: dict[int, Interval] = field(default_factory=dict, compare=False, repr=False)

    def interval(self, decimals: int) -> Interval:
        """What the written number stands for (see the module docstring)."""
        got = self._intervals.get(decimals)
        if got is None:
            got = self._intervals[decimals] = answer_interval(self.text, self.value, decimals)
        return got


def answer_interval(text: str, value: Fraction, decimals: int) -> Interval:
    """A decimal with d places stands for everything that rounds to it at max(d, k)
    places; an integer, a fraction or a LaTeX fraction stands for itself.

    >>> str(answer_interval("0.25", Fraction(1, 4), 4))
    '[4999/20000, 5001/20000]'
    >>> str(answer_interval("1/4", Fraction(1, 4), 4))
    '[1/4, 1/4]'
    """
    places = decimal_places(text)
    if places is None:
        return Interval(value)
    lo, hi = rounding_interval(value, max(places, decimals))
    return Interval(lo, hi)


def key_interval(value: Fraction, rounded: bool, decimals: int) -> Interval:
    """A key value: everything that rounds to it when the key rounded it, else itself."""
    if not rounded:
        return Interval(value)
    lo, hi = rounding_interval(value, decimals)
    return Interval(lo, hi)


@dataclass(frozen=True)
class Expected:
    """What a correct computation gives for one field: the exact value computed from
    the inputs' own values, and the acceptable set (None when intervals could not
    decide, e.g. a division by an interval containing 0; then only the point counts)."""

    point: Fraction
    interval: Interval | None

    def acceptable(self) -> Interval:
        # worked out once: a grading batch checks many answers against one Expected
        got: Interval | None = self.__dict__.get("_acceptable")
        if got is None:
            got = Interval(self.point) if self.interval is None else self.interval.hull(self.point)
            object.__setattr__(self, "_acceptable", got)
        return got


# ---------------------------------------------------------------- which rule


def rule_for(spec: ExerciseSpec, ptr: str) -> ToleranceSpec:
    """The tolerance of the field at ``ptr``: the most specific matching entry of
    ``field_tolerance`` (ties: the first written), else the exercise's ``tolerance``."""
    best: tuple[int, ToleranceSpec] | None = None
    parts = _parts(ptr)
    for pattern, rule in spec.field_tolerance.items():
        score = pattern_matches(pattern, parts)
        if score is not None and (best is None or score > best[0]):
            best = (score, rule)
    return best[1] if best is not None else spec.tolerance


def _parts(ptr: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in ptr.split("/")[1:]]


def pattern_matches(pattern: str, parts: list[str]) -> int | None:
    """How specific ``pattern`` is (its number of segments) if it matches the pointer
    ``parts``, else None.  A pattern matches a run of segments (``*`` and ``?`` glob
    within one segment) that ends the pointer or is followed only by array indices, so
    ``steps/*/deltas/*``, ``deltas/2`` and ``weights`` (a whole matrix) all work.

    >>> parts = ["answers", "sgd", "steps", "0", "weights", "1", "2"]
    >>> [pattern_matches(p, parts) for p in ("weights", "steps/*/weights/1/*", "deltas", "sgd")]
    [1, 5, None, None]
    """
    pat = [p for p in pattern.strip().strip("/").split("/") if p]
    if not pat:
        return None
    for end in range(len(parts), 0, -1):
        if end < len(parts) and not parts[end].isdigit():
            break  # only array indices may follow the matched run
        start = end - len(pat)
        if start >= 0 and all(
            fnmatchcase(a, b) for a, b in zip(parts[start:end], pat, strict=True)
        ):
            return len(pat)
    return None


def tolerance_problem(rule: ToleranceSpec) -> str | None:
    """Why a tolerance setting cannot be used, or None when it is fine."""
    if rule.rule in ("absolute", "relative") and (rule.value is None or rule.value < 0):
        return f"tolerance rule {rule.rule!r} needs a value ≥ 0"
    if rule.rule in ("decimals", "significant"):
        v = rule.value
        low = 0 if rule.rule == "decimals" else 1
        if v is None or v.denominator != 1 or not low <= v <= MAX_DIGITS_RULE:
            return f"tolerance rule {rule.rule!r} needs a whole number of digits {low}..{MAX_DIGITS_RULE}"
    return None


# ---------------------------------------------------------------- deciding


def accepts(rule: ToleranceSpec, answer: StudentNumber, expected: Expected, decimals: int) -> bool:
    """Whether ``answer`` is right for ``expected`` under ``rule``."""
    if rule.rule == "interval":
        return answer.interval(decimals).meets(expected.acceptable())
    a, e = answer.value, expected.point
    if rule.rule == "exact":
        return a == e
    v = rule.value if rule.value is not None else Fraction(0)
    if rule.rule == "absolute":
        return abs(a - e) <= v
    if rule.rule == "relative":
        return abs(a - e) <= v * abs(e)
    if rule.rule == "decimals":
        return abs(a - e) <= Fraction(1, 2 * 10 ** int(v))
    if rule.rule == "significant":
        if e == 0:
            return a == 0
        unit = Fraction(10) ** (floor_log10(abs(e)) - int(v) + 1)
        return abs(a - e) <= unit / 2
    raise ValueError(f"unknown tolerance rule {rule.rule!r}")  # pragma: no cover


def floor_log10(x: Fraction) -> int:
    """⌊log₁₀ x⌋ for x > 0, exactly.

    >>> floor_log10(Fraction(1)), floor_log10(Fraction(999, 1000)), floor_log10(Fraction(1000))
    (0, -1, 3)
    """
    e = len(str(x.numerator)) - len(str(x.denominator))  # off by at most one
    while Fraction(10) ** e > x:
        e -= 1
    while Fraction(10) ** (e + 1) <= x:
        e += 1
    return e


def describe(rule: ToleranceSpec) -> Words:
    """An instructor's override in words, for feedback ("graded within ±1/100"), said in
    the report's language (``rule_<name>`` in templates/feedback.words.yaml)."""
    v = rule.value if rule.value is not None else Fraction(0)
    if rule.rule == "absolute":
        return Words.of("rule_absolute", value=fmt_frac(v))
    if rule.rule == "relative":
        return Words.of("rule_relative", value=fmt_frac(v * 100))
    if rule.rule in ("decimals", "significant"):
        return Words.of(f"rule_{rule.rule}", value=str(v))
    return Words.of("rule_exact" if rule.rule == "exact" else "rule_default")
