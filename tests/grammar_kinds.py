"""The kind of error behind each message of the number grammar and the formula parser
(the answer page's checker reports kinds; tests compare them with Python's)."""

from __future__ import annotations

NUMBER_KINDS = (
    ("number is longer than", "too_long"),
    ("empty answer", "empty"),
    ("unexpected character", "non_ascii"),
    ("more than one ','", "comma"),
    ("both a point and a comma", "comma"),
    ("a decimal comma needs", "comma"),
    ("expected a number such as", "syntax"),
    ("expected \\frac", "tex"),
    ("the numerator of \\frac", "tex"),
    ("the denominator of \\frac", "tex"),
    ("number has more than", "digits"),
    ("exponent out of range", "exponent"),
    ("division by zero", "zero_division"),
)

FORMULA_KINDS = (
    ("empty formula", "empty"),
    ("formula is longer than", "too_long"),
    ("formula has more than", "too_many"),
    ("unexpected character", "character"),
    ("a formula has no commas", "character"),
    ("'=' is not allowed", "character"),
    ("';' is not allowed", "character"),
    ("'.' is allowed only", "character"),
    ("quotes are not allowed", "character"),
    ("backticks are not allowed", "character"),
    ("unknown name", "name"),
    ("function ", "function"),
    ("number has more than", "number"),
    ("exponent out of range", "number"),
    ("unreadable superscript", "superscript"),
    ("a superscript needs a base", "superscript"),
    ("unknown LaTeX command", "latex"),
    ("a lone backslash", "latex"),
    ("\\sqrt[n] is not supported", "latex"),
    ("expected one of", "latex"),
    ("unmatched", "bracket"),
    ("empty brackets", "bracket"),
    ("expected '(' after", "bracket"),
    ("expected a bracket", "bracket"),
    ("expected { after", "bracket"),
    ("expected a second {", "bracket"),
    ("formula ends too early", "syntax"),
    ("missing operator before", "syntax"),
    ("formula is nested too deeply", "nesting"),
    ("functions nested more than", "nesting"),
    ("the exponent at", "exponent_formula"),
    ("division by zero", "zero_division"),
    ("log of a number that is not positive", "value"),
    ("root of a negative number", "value"),
    ("number too large", "value"),
    ("number under a root is too large", "value"),
)


def kind_of(message: str, table: tuple[tuple[str, str], ...]) -> str:
    for prefix, kind in table:
        if message.startswith(prefix):
            return kind
    if message.startswith("exponent ") and " is out of range" in message:
        return "exponent_range"
    if " does not match " in message or " is never closed" in message:
        return "bracket"
    if message.startswith("unexpected '") and "expected a number" not in message:
        return "bracket"  # a closing bracket where an operand belongs
    if message.startswith("unexpected "):
        return "syntax"
    return "unchecked"  # a check the page leaves to the grader (the formula's degree …)
