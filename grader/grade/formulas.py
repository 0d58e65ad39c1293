"""Student formulas: a safe parser, an equivalence check and readable renderings.

A student writes a formula as text (``2x + y + 2(x+y)``, ``f(3f(x1 - x2) + 2f(x1))``).
Nothing of it ever reaches ``eval``, ``exec``, ``sympify`` or ``parse_expr``: our own
tokenizer and precedence-climbing parser build sympy objects directly, and every size that
could make sympy or the equivalence check slow is bounded while parsing (the ``MAX_*``
constants below).  Any ``str`` either parses or raises :class:`FormulaError` with a
position, in bounded time.

Grammar (``parse_formula``)
    * numbers ``3``, ``0.5``, ``.5``, ``2e-3``: read exactly (via
      :func:`grader.core.numbers.parse_number`), at most :data:`MAX_NUMBER_DIGITS` significant
      digits.  ``2e3`` is a number, not ``2·e·3``.
    * ``+ - * / ^ **``, unary ``-``/``+``, brackets ``()``, ``[]`` and ``{}`` (each closes
      with its own kind).  ``^``/``**`` are right-associative and bind tighter than a unary
      minus (``-x^2`` is ``-(x^2)``); exponents must be rational constants with
      ``|e| <= MAX_POWER`` and denominator ``<= MAX_POWER_DENOMINATOR`` (``x^y`` is refused).
    * implicit multiplication ``2x``, ``2(x+y)``, ``(x+1)(x-1)``, ``x y``, ``x(y+1)``,
      ``2 sigma(x)`` with the same precedence as ``*`` (so ``1/2x`` is ``x/2``, as in Python,
      sympy and Wolfram).  A number is never an implicit right factor (``x 2`` is an error).
    * identifiers are split by longest match against the known names: with variables ``x1``,
      ``x2``, ``x1x2`` is ``x1*x2``.  Functions need brackets: ``exp(x)``, ``\\sqrt{x}``.
    * ``e`` is Euler's number when ``exp`` is allowed and ``e`` is no variable; ``e^t`` is
      ``exp(t)`` for any ``t``.  ``ln`` is ``log`` (natural).
    * Unicode ``−`` ``·`` ``⋅`` ``×`` ``÷`` ``σ`` and superscripts ``²`` ``³`` ``⁻¹`` …;
      LaTeX ``\\cdot``, ``\\times``, ``\\div``, ``\\frac{a}{b}`` (also ``\\dfrac``,
      ``\\tfrac``), ``\\sqrt{}``, ``\\exp``, ``\\log``, ``\\ln``, ``\\tanh``, ``\\sigma``,
      ``\\left(``/``\\right)``, the spacing commands ``\\, \\; \\: \\!`` and ``$`` (ignored).

The parser builds *unevaluated* sympy trees (sums and products flattened, plain numbers
folded exactly), because sympy's automatic evaluation asks assumption questions that take
seconds on a hostile formula.  At the end, the parts where evaluation is cheap (integer
powers, sums and products of symbols, numbers and generic functions) are handed to sympy
(``2x + y + 2(x+y)`` is ``4*x + 3*y``); parts with exp, log, tanh, sigma or roots stay as
written (``sigma(x)*(1 - sigma(x))``).  Compare results with :func:`equivalent`, show them
with :func:`formula_text` / :func:`formula_latex` (our own bounded printers).

sigma is the named function :class:`sigma` (σ(t) = 1/(1 + e^(−t))), not its expansion, so
keys and feedback stay readable (``sigma(x)*(1 - sigma(x))``); ``.rewrite(sympy.exp)``
expands it, and its derivative is σ(1 − σ).

Equivalence (``equivalent``) never simplifies: small polynomials are compared by
``expand``; everything else by evaluation at deterministic pseudo-random rational points,
exactly (Fractions) when the expressions are rational, else with mpmath at
:data:`EVAL_DIGITS` digits.  Undefined functions (``f``) are replaced by several concrete
functions, and two formulas are equivalent only if they agree for every one of them.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cmp_to_key, lru_cache
from typing import Any, Generic, TypeVar

import mpmath
import sympy
from sympy.core.function import AppliedUndef
from sympy.printing.str import StrPrinter

from grader.core.errors import PositionedError
from grader.core.numbers import NumberError, parse_number
from grader.core.wording import Words

MAX_LENGTH = 2000  # characters in one formula
MAX_TOKENS = 500
MAX_DEPTH = 40  # nested brackets, signs and exponents together
MAX_FUNCTION_DEPTH = 6  # nested function calls: f(f(f(f(f(f(x))))))
MAX_NUMBER_DIGITS = 40  # significant digits of one written number (tighter than numbers.py)
MAX_POWER = 10  # |exponent|
MAX_POWER_DENOMINATOR = 10  # x^(1/2) and x^(3/2) are fine, x^(1/99) is not homework
MAX_DEGREE = 1000  # polynomial degree estimate (nested generic functions count as cubics)
MAX_CONSTANT_BITS = 4096  # bits of an exact number the parser folds (2^-1, (10^10)^10)
MAX_ROOT_BITS = 64  # bits of numerator + denominator of a number under a non-integer power

DEFAULT_FUNCTIONS = ("exp", "log", "sigma", "tanh", "sqrt")
SUPPORTED_FUNCTIONS = frozenset(DEFAULT_FUNCTIONS) | {
    "relu",
    "softsign",
    "hard_sigmoid",
    "identity",
}


class FormulaError(PositionedError):
    """A formula could not be read.  ``position`` is a 0-based offset into the text."""


# ---------------------------------------------------------------- sigma


class sigma(sympy.Function):  # noqa: N801 - lowercase so it prints as the students write it
    """The logistic function σ(t) = 1/(1 + e^(−t)), kept by name for readable texts."""

    nargs = 1

    @classmethod
    def eval(cls, t: sympy.Expr) -> sympy.Expr | None:
        # A structural test only: assumption queries on hostile arguments can be slow.
        return sympy.Rational(1, 2) if t is sympy.S.Zero else None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        s = sigma(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, t: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return 1 / (1 + sympy.exp(-t))

    def _eval_evalf(self, prec: int) -> Any:
        return self.rewrite(sympy.exp)._eval_evalf(prec)

    def _latex(self, printer: Any, exp: str | None = None) -> str:
        text = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return f"{text}^{{{exp}}}" if exp is not None else text


class _Piecewise(sympy.Function):
    """An activation that is rational on each piece (relu, softsign, hard_sigmoid), kept by
    name; the evaluators compute it with :meth:`at` on Fractions or mpmath numbers."""

    nargs = 1

    @classmethod
    def eval(cls, t: sympy.Expr) -> sympy.Expr | None:
        if isinstance(t, sympy.Rational):  # a plain number: fold it (exact and cheap)
            value = cls.at(Fraction(int(t.p), int(t.q)))
            return sympy.Rational(value.numerator, value.denominator)
        return None

    @staticmethod
    def at(t: Any) -> Any:  # pragma: no cover - every subclass has its own
        raise NotImplementedError


class relu(_Piecewise):  # noqa: N801 - printed as students write it
    @staticmethod
    def at(t: Any) -> Any:
        return t if t > 0 else t * 0


class softsign(_Piecewise):  # noqa: N801
    @staticmethod
    def at(t: Any) -> Any:
        return t / (1 + abs(t))


class hard_sigmoid(_Piecewise):  # noqa: N801
    @staticmethod
    def at(t: Any) -> Any:
        value = t / 4 + Fraction(1, 2) if isinstance(t, Fraction) else t / 4 + 0.5
        return min(max(value, t * 0), t * 0 + 1)


# The activations by their names in formulas (the engine's names, and "sigma"/"σ" for σ).
ACTIVATION_FUNCTIONS = ("relu", "softsign", "hard_sigmoid", "identity")
ACTIVATION_SPELLINGS: dict[str, tuple[str, ...]] = {
    "sigmoid": ("sigma", "sigmoid", "σ"),
    "tanh": ("tanh",),
    "relu": ("relu", "ReLU"),
    "softsign": ("softsign",),
    "hard_sigmoid": ("hard_sigmoid",),
    "identity": ("identity",),
}


def vocabulary(
    activation: str | None, generic: Sequence[str]
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The functions and aliases of a formula whose generic function (the sheet's f) is
    ``activation``: the activation's own names read as f, every other activation by its
    name (so ``tanh(…)`` where f is relu is graded, not refused).  Without an activation
    or with several generic functions: the default functions."""
    if activation is None or len(generic) != 1:
        return DEFAULT_FUNCTIONS, ()
    own = {"sigmoid": "sigma"}.get(activation, activation)
    functions = tuple(n for n in (*DEFAULT_FUNCTIONS, *ACTIVATION_FUNCTIONS) if n != own)
    aliases = tuple((spelled, generic[0]) for spelled in ACTIVATION_SPELLINGS.get(activation, ()))
    return functions, aliases


# ---------------------------------------------------------------- names


@dataclass(frozen=True)
class _Names:
    """What identifiers mean for one (variables, functions, generic functions) choice."""

    table: dict[str, tuple[str, str]]  # spelling -> (token kind, canonical name)
    variables: tuple[str, ...]
    functions: frozenset[str]  # allowed canonical function names, generic ones included
    generic: frozenset[str]
    longest: int


_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_CALLER_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*", re.ASCII)


@lru_cache(maxsize=64)
def _names(
    variables: tuple[str, ...],
    functions: tuple[str, ...],
    generic: tuple[str, ...],
    aliases: tuple[tuple[str, str], ...] = (),
) -> _Names:
    """Validate the caller's names (a programming error raises plain ValueError)."""
    for name in (*variables, *generic):
        if not _CALLER_NAME_RE.fullmatch(name):
            raise ValueError(f"not a valid formula name: {name!r}")
    unknown = set(functions) - SUPPORTED_FUNCTIONS
    if unknown:
        raise ValueError(f"unsupported functions: {sorted(unknown)}")
    spelled = [*variables, *generic, *functions, *(["ln"] if "log" in functions else [])]
    clash = {name for name in spelled if spelled.count(name) > 1}
    if clash:
        raise ValueError(f"names used twice: {sorted(clash)}")
    table: dict[str, tuple[str, str]] = {}
    for f in functions:
        table[f] = ("func", f)
    if "log" in functions:
        table["ln"] = ("func", "log")
    if "exp" in functions and "e" not in variables and "e" not in generic:
        table["e"] = ("const", "e")
    if "sigma" in functions:
        table["sigmoid"] = table["σ"] = ("func", "sigma")
    for g in generic:
        table[g] = ("func", g)
    for spelled_as, canonical in aliases:  # another spelling of a function (relu for f)
        if canonical not in functions and canonical not in generic:
            raise ValueError(f"alias {spelled_as!r} of an unknown function {canonical!r}")
        table[spelled_as] = ("func", canonical)
    for v in variables:
        table[v] = ("var", v)
    return _Names(
        table=table,
        variables=variables,
        functions=frozenset(functions) | frozenset(generic),
        generic=frozenset(generic),
        longest=max((len(k) for k in table if k.isascii()), default=0),
    )


def _tuple(names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str):  # "xy" would silently mean ("x", "y")
        raise TypeError(f"expected a sequence of names, got the string {names!r}")
    return tuple(names)


def _expected(names: _Names) -> Words:
    """The names a formula may use, in words (said in the reader's language)."""
    variables = ", ".join(names.variables)
    functions = ", ".join(sorted(names.functions))
    if names.variables and names.functions:
        return Words.of("reason_formula_names_both", variables=variables, functions=functions)
    if names.variables:
        return Words.of("reason_formula_names_variables", variables=variables)
    if names.functions:
        return Words.of("reason_formula_names_functions", functions=functions)
    return Words.of("reason_formula_names_none")


# ---------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # num var const func op open close frac sup end
    text: str  # operator, bracket or canonical name
    pos: int
    value: Fraction | None = None


_NUMBER_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_TEX_RE = re.compile(r"\\(?:([A-Za-z]+)|(.?))", re.ASCII | re.DOTALL)
_SPACE = frozenset(" \t\r\n\u00a0\u2009\u202f$")
_OPERATORS = {
    "+": "+",
    "-": "-",
    "\u2212": "-",  # − minus sign
    "*": "*",
    "\u00b7": "*",  # · middle dot
    "\u22c5": "*",  # ⋅ dot operator
    "\u2219": "*",  # ∙ bullet operator
    "\u00d7": "*",  # × times
    "/": "/",
    "\u00f7": "/",  # ÷
    "^": "^",
}
_CLOSER = {"(": ")", "[": "]", "{": "}"}
_SUPERSCRIPTS = {c: str(d) for d, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")} | {"⁻": "-"}
_TEX_OPERATORS = {"cdot": "*", "times": "*", "div": "/"}
_TEX_FUNCTIONS = {
    "exp": "exp",
    "log": "log",
    "ln": "log",
    "tanh": "tanh",
    "sigma": "sigma",
    "sqrt": "sqrt",
}
_TEX_FRACS = frozenset({"frac", "dfrac", "tfrac"})
_TEX_SPACES = frozenset({",", ";", ":", "!", " "})
# characters a formula cannot hold, and the word (templates/feedback.words.yaml) saying why
_FORBIDDEN = {
    ",": "reason_formula_comma",
    "=": "reason_formula_equals",
    ";": "reason_formula_semicolon",
    ".": "reason_formula_point",
    "'": "reason_formula_quotes",
    '"': "reason_formula_quotes",
    "`": "reason_formula_backtick",
}


class _Tokenizer:
    def __init__(self, text: str, names: _Names) -> None:
        self.text = text
        self.names = names
        self.tokens: list[_Token] = []
        self.i = 0

    def run(self) -> list[_Token]:
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if ch in _SPACE:
                self.i += 1
            elif number := _NUMBER_RE.match(text, self.i):  # ASCII digits only: not "²"
                self._number(number)
            elif identifier := _IDENT_RE.match(text, self.i):
                self._identifier(identifier)
            elif command := _TEX_RE.match(text, self.i):
                self._tex(command)
            elif ch == "*" and text.startswith("**", self.i):
                self._emit("op", "^", self.i, width=2)
            elif ch in _OPERATORS:
                self._emit("op", _OPERATORS[ch], self.i, width=1)
            elif ch in _CLOSER:
                self._emit("open", ch, self.i, width=1)
            elif ch in ")]}":
                self._emit("close", ch, self.i, width=1)
            elif ch in _SUPERSCRIPTS:
                self._superscript()
            elif ch == "σ":  # sigma, or the sheet's f when f is σ (an alias)
                self._function_name(self.names.table.get("σ", ("", "sigma"))[1], self.i, 1)
            else:
                key = _FORBIDDEN.get(ch, "reason_formula_character")
                raise FormulaError.said_as(key, self.i, char=repr(ch), at=self.i)
        self.tokens.append(_Token("end", "", len(text)))
        return self.tokens

    def _emit(
        self, kind: str, tok: str, pos: int, width: int, value: Fraction | None = None
    ) -> None:
        if len(self.tokens) >= MAX_TOKENS:
            raise FormulaError.said_as("reason_formula_too_many", pos, limit=MAX_TOKENS, at=pos)
        self.tokens.append(_Token(kind, tok, pos, value))
        self.i = pos + width

    def _number(self, m: re.Match[str]) -> None:
        start = self.i
        literal = m.group()
        mantissa = re.split("[eE]", literal)[0].replace(".", "").lstrip("0")
        if len(mantissa) > MAX_NUMBER_DIGITS:
            raise FormulaError.said_as(
                "reason_formula_digits", start, limit=MAX_NUMBER_DIGITS, at=start
            )
        try:
            value = parse_number(literal)
        except NumberError as e:
            reason = e.words if e.words is not None else e.message
            raise FormulaError.said_as(
                "reason_formula_number", start, reason=reason, at=start
            ) from None
        self._emit("num", literal, start, len(literal), value)

    def _identifier(self, m: re.Match[str]) -> None:
        start = self.i
        run, j = m.group(), 0
        while j < len(run):
            name = self._longest_name(run, j)
            if name is None:
                bad = run if run[j].isdigit() else run[j:]
                at = start if run[j].isdigit() else start + j
                raise FormulaError.said_as(
                    "reason_formula_unknown_name",
                    at,
                    name=repr(bad),
                    at=at,
                    expected=_expected(self.names),
                )
            kind, canonical = self.names.table[name]
            if kind == "func":
                self._function_name(canonical, start + j, len(name))
            else:
                self._emit(kind, canonical, start + j, len(name))
            j += len(name)
        self.i = start + len(run)

    def _longest_name(self, run: str, j: int) -> str | None:
        for size in range(min(self.names.longest, len(run) - j), 0, -1):
            if run[j : j + size] in self.names.table:
                return run[j : j + size]
        return None

    def _function_name(self, name: str, pos: int, width: int) -> None:
        if name not in self.names.functions:
            raise FormulaError.said_as(
                "reason_formula_function",
                pos,
                name=repr(name),
                at=pos,
                expected=_expected(self.names),
            )
        self._emit("func", name, pos, width)

    def _superscript(self) -> None:
        start, j = self.i, self.i
        while j < len(self.text) and self.text[j] in _SUPERSCRIPTS:
            j += 1
        digits = "".join(_SUPERSCRIPTS[c] for c in self.text[start:j])
        if not re.fullmatch(r"-?[0-9]{1,3}", digits):
            raise FormulaError.said_as("reason_formula_superscript", start, at=start)
        self._emit("sup", digits, start, j - start, Fraction(int(digits)))

    def _tex(self, m: re.Match[str]) -> None:
        start = self.i
        command = m.group(1) or m.group(2) or ""
        end = m.end()
        if command in _TEX_SPACES:
            self.i = end
        elif command in _TEX_OPERATORS:
            self._emit("op", _TEX_OPERATORS[command], start, end - start)
        elif command in _TEX_FRACS:
            self._emit("frac", "frac", start, end - start)
        elif command == "sqrt" and self.text[end:].lstrip(" \t").startswith("["):
            raise FormulaError.said_as("reason_formula_sqrt_n", start, at=start)
        elif command in _TEX_FUNCTIONS:
            self._function_name(_TEX_FUNCTIONS[command], start, end - start)
        elif command in ("left", "right"):
            self._tex_bracket(command, start, end)
        else:
            if not command:
                raise FormulaError.said_as("reason_formula_lone_backslash", start, at=start)
            shown = "\\" + command
            raise FormulaError.said_as("reason_formula_latex", start, command=shown, at=start)

    def _tex_bracket(self, command: str, start: int, end: int) -> None:
        while end < len(self.text) and self.text[end] in " \t":
            end += 1
        bracket = self.text[end : end + 1]
        wanted = "([" if command == "left" else ")]"
        if not bracket or bracket not in wanted:
            raise FormulaError.said_as(
                "reason_formula_tex_bracket",
                start,
                wanted=" ".join(wanted),
                command=command,
                at=start,
            )
        self._emit("open" if command == "left" else "close", bracket, start, end + 1 - start)


# ---------------------------------------------------------------- parser


def _walk(expr: sympy.Basic, leaf: Callable[[sympy.Basic], int], node: Callable[..., int]) -> int:
    """A memoised bottom-up fold over a sympy tree (shared subtrees are visited once)."""
    memo: dict[sympy.Basic, int] = {}

    def visit(e: sympy.Basic) -> int:
        if e not in memo:
            memo[e] = leaf(e) if not e.args else node(e, [visit(a) for a in e.args])
        return memo[e]

    return visit(expr)


def _degree(expr: sympy.Basic) -> int:
    """An upper estimate of the polynomial degree, counting a generic f as a cubic."""

    def node(e: sympy.Basic, sub: list[int]) -> int:
        if isinstance(e, sympy.Add):
            return max(sub)
        if isinstance(e, sympy.Mul):
            return sum(sub)
        if isinstance(e, sympy.Pow) and e.exp.is_Rational:
            return -(-sub[0] * abs(e.exp.p) // e.exp.q)
        if isinstance(e, AppliedUndef):
            return 3 * max(sub)
        return sum(sub)

    return _walk(expr, lambda e: 1 if isinstance(e, sympy.Symbol) else 0, node)


_FORBIDDEN_RESULTS = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)


def _terms(e: sympy.Expr) -> list[sympy.Expr]:
    return list(e.args) if isinstance(e, sympy.Add) else [e]


def _factors(e: sympy.Expr) -> list[sympy.Expr]:
    return list(e.args) if isinstance(e, sympy.Mul) else [e]


def _bits(r: sympy.Rational) -> int:
    return int(r.p).bit_length() + int(r.q).bit_length()


_TRANSCENDENTAL = (sympy.exp, sympy.log, sympy.tanh, sigma, _Piecewise)


def _keep_as_written(e: sympy.Basic) -> bool:
    # Roots too: sympy merges them in products (sqrt(2)·sqrt(3) = sqrt(6), factoring the
    # number) and asks about signs and arguments to simplify (b^p)^(1/q).
    root = isinstance(e, sympy.Pow) and not e.exp.is_Integer
    return root or isinstance(e, _TRANSCENDENTAL)


def _settle(expr: sympy.Expr) -> sympy.Expr:
    """Let sympy evaluate the parts of a parsed tree where its evaluation is cheap.

    Sums, products and integer powers of symbols, numbers and generic functions become sympy's
    canonical forms (``2x + y + 2(x+y)`` is ``4*x + 3*y``, ``(x^2)^3`` is ``x**6``).  A
    part containing exp, log, tanh, sigma or a root (a non-integer power) stays as
    written: evaluating it makes sympy ask assumption questions (is tanh(...) real? what
    is the argument of b?) or factor numbers, which can take seconds.
    """
    memo: dict[sympy.Basic, tuple[sympy.Expr, bool]] = {}

    def visit(e: sympy.Expr) -> tuple[sympy.Expr, bool]:
        if not e.args:
            return e, False
        if e not in memo:
            settled = [visit(a) for a in e.args]
            args = [a for a, _ in settled]
            transcendental = _keep_as_written(e) or any(t for _, t in settled)
            value = e.func(*args, evaluate=False) if transcendental else e.func(*args)
            memo[e] = (value, transcendental)
        return memo[e]

    return visit(expr)[0]


_IMPLICIT_FACTOR = frozenset({"var", "const", "func", "open", "frac"})  # what 2x multiplies by


_N = TypeVar("_N")  # what the grammar builds: a sympy tree, or the echo of the reading


class _Grammar(Generic[_N]):
    """Precedence climbing over the tokens: the grammar alone.  What each rule builds is
    left to a subclass (:class:`_Parser` builds sympy trees; ``formula_echo`` the reading
    as text), so the two can never read a formula differently."""

    def __init__(self, tokens: list[_Token], names: _Names, tight_division: bool = False) -> None:
        self.tokens = tokens
        self.names = names
        # the other reading of "/" followed by an implicit product: 1/2x as 1/(2x)
        self.tight_division = tight_division
        self.ambiguous = False  # a "/" was followed by an implicit product
        self.k = 0
        self.depth = 0
        self.function_depth = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.k]

    def advance(self) -> _Token:
        t = self.tokens[self.k]
        self.k += 1
        return t

    def enter(self, pos: int) -> None:
        # Bounded recursion: 5 000 nested brackets are an error, never a RecursionError.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError.said_as("reason_formula_too_deep", pos, at=pos, limit=MAX_DEPTH)

    # ------------------------------------------------------------ grammar

    def parse(self) -> _N:
        if self.tok.kind == "end":
            raise FormulaError.said_as("reason_formula_empty")
        expr = self.sum()
        t = self.tok
        if t.kind == "close":
            raise FormulaError.said_as(
                "reason_formula_unmatched", t.pos, text=repr(t.text), at=t.pos
            )
        if t.kind != "end":  # pragma: no cover - every other token continues an expression
            raise FormulaError.said_as(
                "reason_formula_unexpected", t.pos, text=repr(t.text), at=t.pos
            )
        return self.finish(expr)

    def sum(self) -> _N:
        left = self.term()
        while self.tok.kind == "op" and self.tok.text in "+-":
            op = self.advance()
            right = self.term()
            left = self.add(left, right if op.text == "+" else self.negate(right, op.pos), op.pos)
        return left

    def term(self) -> _N:
        left = self.unary()
        while True:
            t = self.tok
            if t.kind == "op" and t.text in "*/":
                self.advance()
                at = self.tok.pos
                right = self.unary()
                if t.text == "/" and self.tok.kind in _IMPLICIT_FACTOR:
                    self.ambiguous = True
                    while self.tight_division and self.tok.kind in _IMPLICIT_FACTOR:
                        right = self.multiply(right, self.power(), self.tok.pos)
                left = (
                    self.multiply(left, right, t.pos)
                    if t.text == "*"
                    else self.divide(left, right, at)
                )
            elif t.kind in _IMPLICIT_FACTOR:
                left = self.multiply(left, self.power(), t.pos)
            elif t.kind == "num":
                raise FormulaError.said_as("reason_formula_missing_operator", t.pos, at=t.pos)
            else:
                return left

    def unary(self) -> _N:
        t = self.tok
        if t.kind == "op" and t.text in "+-":
            self.advance()
            self.enter(t.pos)
            operand = self.unary()
            self.depth -= 1
            return self.negate(operand, t.pos) if t.text == "-" else operand
        return self.power()

    def power(self) -> _N:
        base = self.primary()
        while self.tok.kind == "sup":
            t = self.advance()
            base = self.raise_to(base, self.superscript(t), t.pos)
        if self.tok.kind == "op" and self.tok.text == "^":
            caret = self.advance()
            self.enter(caret.pos)
            at = self.tok.pos
            exponent = self.unary()
            self.depth -= 1
            base = self.raise_to(base, exponent, at)
        return base

    def primary(self) -> _N:
        t = self.tok
        if t.kind == "num":
            return self.number(self.advance())
        if t.kind == "var":
            return self.symbol(self.advance())
        if t.kind == "const":
            return self.constant(self.advance())
        if t.kind == "func":
            return self.call()
        if t.kind == "open":
            return self.group("bracket")
        if t.kind == "frac":
            self.advance()
            numerator = self.group("frac_open")
            at = self.tok.pos
            denominator = self.group("frac_second")
            return self.divide(numerator, denominator, at)
        raise self.unexpected(t)

    def unexpected(self, t: _Token) -> FormulaError:
        if t.kind == "end":
            return FormulaError.said_as("reason_formula_ends_early", t.pos, at=t.pos)
        if t.kind == "close":
            return FormulaError.said_as(
                "reason_formula_unexpected", t.pos, text=repr(t.text), at=t.pos
            )
        if t.kind == "sup":
            return FormulaError.said_as("reason_formula_superscript_base", t.pos, at=t.pos)
        return FormulaError.said_as(
            "reason_formula_unexpected_operand", t.pos, text=repr(t.text), at=t.pos
        )

    def group(self, wanted: str) -> _N:
        """A bracketed group; ``wanted`` names it (a word: reason_formula_wanted_*)."""
        opener = self.tok
        if opener.kind != "open":
            what = Words.of(f"reason_formula_wanted_{wanted}")
            if opener.kind == "end":
                raise FormulaError.said_as(
                    "reason_formula_ends_early_wanted", opener.pos, at=opener.pos, wanted=what
                )
            raise FormulaError.said_as(
                "reason_formula_expected_wanted", opener.pos, at=opener.pos, wanted=what
            )
        self.advance()
        self.enter(opener.pos)
        if self.tok.kind == "close":
            raise FormulaError.said_as("reason_formula_empty_brackets", opener.pos, at=opener.pos)
        inner = self.sum()
        closer = self.tok
        if closer.kind == "end":
            raise FormulaError.said_as(
                "reason_formula_never_closed", opener.pos, text=repr(opener.text), at=opener.pos
            )
        if closer.kind != "close":  # pragma: no cover - sum() stops only at close or end
            raise self.unexpected(closer)
        if closer.text != _CLOSER[opener.text]:
            raise FormulaError.said_as(
                "reason_formula_mismatch",
                closer.pos,
                closer=repr(closer.text),
                at=closer.pos,
                opener=repr(opener.text),
                opened=opener.pos,
                opened_1=opener.pos + 1,
            )
        self.advance()
        self.depth -= 1
        return inner

    def call(self) -> _N:
        t = self.advance()
        if self.function_depth >= MAX_FUNCTION_DEPTH:
            raise FormulaError.said_as(
                "reason_formula_functions_deep", t.pos, limit=MAX_FUNCTION_DEPTH, at=t.pos
            )
        if self.tok.kind != "open":
            raise FormulaError.said_as(
                "reason_formula_paren_after",
                self.tok.pos,
                name=repr(t.text),
                at=self.tok.pos,
                bare=t.text,
            )
        self.function_depth += 1
        arg = self.group("bracket")
        self.function_depth -= 1
        return self.apply(t, arg)

    # ------------------------------------------------------------ what a subclass builds

    def finish(self, expr: _N) -> _N:
        raise NotImplementedError

    def number(self, t: _Token) -> _N:
        raise NotImplementedError

    def symbol(self, t: _Token) -> _N:
        raise NotImplementedError

    def constant(self, t: _Token) -> _N:
        raise NotImplementedError

    def superscript(self, t: _Token) -> _N:
        raise NotImplementedError

    def apply(self, t: _Token, arg: _N) -> _N:
        raise NotImplementedError

    def add(self, left: _N, right: _N, at: int) -> _N:
        raise NotImplementedError

    def multiply(self, left: _N, right: _N, at: int) -> _N:
        raise NotImplementedError

    def negate(self, operand: _N, at: int) -> _N:
        raise NotImplementedError

    def divide(self, left: _N, right: _N, at: int) -> _N:
        raise NotImplementedError

    def raise_to(self, base: _N, exponent: _N, at: int) -> _N:
        raise NotImplementedError


class _Parser(_Grammar[sympy.Expr]):
    """The grammar building *unevaluated* sympy trees.

    sympy's automatic evaluation asks assumption questions (is this real? positive?) that
    can take seconds on a hostile formula, so nothing is evaluated except exact arithmetic
    on plain numbers, which we fold ourselves with bounded sizes.  The tree is the formula
    as written (``2*x + y + 2*(x + y)``), flattened and with numbers combined.
    """

    def finish(self, expr: sympy.Expr) -> sympy.Expr:
        if _degree(expr) > MAX_DEGREE:
            raise FormulaError.said_as("reason_formula_too_large", 0, limit=MAX_DEGREE)
        return self.finite(_settle(expr), 0, "reason_formula_divides_by_zero")

    def number(self, t: _Token) -> sympy.Expr:
        return sympy.Rational(t.value)

    def symbol(self, t: _Token) -> sympy.Expr:
        return sympy.Symbol(t.text)

    def constant(self, t: _Token) -> sympy.Expr:
        return sympy.E

    def superscript(self, t: _Token) -> sympy.Expr:
        return sympy.Rational(t.value)

    def apply(self, t: _Token, arg: sympy.Expr) -> sympy.Expr:
        name = t.text
        if name == "sqrt":
            return self.raise_to(arg, sympy.Rational(1, 2), t.pos)
        if name in self.names.generic:
            if 3 * _degree(arg) > MAX_DEGREE:
                raise FormulaError.said_as(
                    "reason_formula_too_large_at", t.pos, limit=MAX_DEGREE, at=t.pos
                )
            return sympy.Function(name)(arg, evaluate=False)
        if name == "log" and isinstance(arg, sympy.Rational) and arg <= 0:
            raise FormulaError.said_as("reason_formula_log", t.pos, at=t.pos)
        if name == "identity":
            return arg
        builder = {
            "exp": sympy.exp,
            "log": sympy.log,
            "tanh": sympy.tanh,
            "sigma": sigma,
            "relu": relu,
            "softsign": softsign,
            "hard_sigmoid": hard_sigmoid,
        }[name]
        # Evaluating a plain number is cheap and catches log(0); anything else stays as written.
        value = builder(arg, evaluate=isinstance(arg, sympy.Rational))
        return self.finite(value, t.pos, "reason_formula_undefined", name=name)

    def add(self, left: sympy.Expr, right: sympy.Expr, at: int) -> sympy.Expr:
        """``left + right``, flattened, with all plain numbers folded into one term that
        takes the place of the first of them (so ``1 - x`` stays ``1 - x``)."""
        terms: list[sympy.Expr] = []
        constant, slot = sympy.Integer(0), -1
        for term in _terms(left) + _terms(right):
            if isinstance(term, sympy.Rational):
                constant += term
                slot = len(terms) if slot < 0 else slot
            else:
                terms.append(term)
        self.check_bits(constant, at)
        if constant != 0 or not terms:
            terms.insert(slot if slot >= 0 else len(terms), constant)
        return terms[0] if len(terms) == 1 else sympy.Add(*terms, evaluate=False)

    def multiply(self, left: sympy.Expr, right: sympy.Expr, at: int) -> sympy.Expr:
        """``left * right``, flattened, with the plain numbers folded into a leading factor."""
        factors: list[sympy.Expr] = []
        coefficient = sympy.Integer(1)
        for factor in _factors(left) + _factors(right):
            if isinstance(factor, sympy.Rational):
                coefficient *= factor
                self.check_bits(coefficient, at)
            else:
                factors.append(factor)
        if coefficient == 0:
            return sympy.Integer(0)
        if coefficient != 1 or not factors:
            factors.insert(0, coefficient)
        return factors[0] if len(factors) == 1 else sympy.Mul(*factors, evaluate=False)

    def negate(self, operand: sympy.Expr, at: int) -> sympy.Expr:
        return self.multiply(sympy.Integer(-1), operand, at)

    def divide(self, left: sympy.Expr, right: sympy.Expr, at: int) -> sympy.Expr:
        if right == 0 or _settle(right) == 0:  # 1/0, x/(x - x)
            raise FormulaError.said_as("reason_formula_zero_division", at, at=at)
        if isinstance(right, sympy.Rational):
            return self.multiply(left, 1 / right, at)
        return self.multiply(left, sympy.Pow(right, -1, evaluate=False), at)

    def raise_to(self, base: sympy.Expr, exponent: sympy.Expr, at: int) -> sympy.Expr:
        if base == sympy.E:  # e^t is exp(t) for any t
            value = sympy.exp(exponent, evaluate=isinstance(exponent, sympy.Rational))
            return self.finite(value, at, "reason_formula_undefined", name="exp")
        if not isinstance(exponent, sympy.Rational):
            raise FormulaError.said_as("reason_formula_exponent", at, at=at)
        if abs(exponent) > MAX_POWER or exponent.q > MAX_POWER_DENOMINATOR:
            raise FormulaError.said_as(
                "reason_formula_exponent_range",
                at,
                exponent=str(exponent),
                at=at,
                limit=MAX_POWER,
                denominator=MAX_POWER_DENOMINATOR,
            )
        if exponent < 0 and (base == 0 or _settle(base) == 0):  # 0^-1, (x - x)^-2
            raise FormulaError.said_as("reason_formula_zero_division", at, at=at)
        if exponent == 1:
            return base
        if _degree(base) * abs(exponent) > MAX_DEGREE:
            raise FormulaError.said_as("reason_formula_too_large_at", at, limit=MAX_DEGREE, at=at)
        if not isinstance(base, sympy.Rational):
            return sympy.Pow(base, exponent, evaluate=False)
        # A plain number: fold it, sizes checked before anything is computed.
        if exponent.q != 1 and base < 0:  # sympy would make it complex: stay in the reals
            raise FormulaError.said_as("reason_formula_negative_root", at, at=at)
        if _bits(base) * abs(exponent) > MAX_CONSTANT_BITS:
            raise FormulaError.said_as("reason_formula_number_too_large", at, at=at)
        if exponent.q != 1 and _bits(base) > MAX_ROOT_BITS:  # sympy factors it: keep it small
            raise FormulaError.said_as("reason_formula_root_too_large", at, at=at)
        return self.finite(sympy.Pow(base, exponent), at, "reason_formula_power_undefined")

    def check_bits(self, value: sympy.Rational, at: int) -> None:
        if _bits(value) > MAX_CONSTANT_BITS:
            raise FormulaError.said_as("reason_formula_number_too_large", at, at=at)

    def finite(self, expr: sympy.Expr, at: int, key: str, **args: str) -> sympy.Expr:
        """``expr``, unless it is undefined (zoo, nan …): then the error ``key``."""
        if expr.has(*_FORBIDDEN_RESULTS):
            raise FormulaError.said_as(key, at, at=at, **args)
        return expr


# What word processors and input methods put in place of ASCII, mapped one character to
# one (positions stay right): dashes, the bullet, the ideographic space and the
# fullwidth forms of ASCII (U+FF01–FF5E).  Not NFKC, which also turns x² into x2.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2012": "-",  # ‒ figure dash
        "\u2013": "-",  # – en dash (autocorrect of " - ")
        "\u2014": "-",  # — em dash
        "\u2022": "*",  # • bullet
        "\u3000": " ",  # ideographic space
    }
    | {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}
)


def normalize_typography(text: str) -> str:
    """``text`` with typographic look-alikes of ASCII replaced (see :data:`_TYPOGRAPHY`).

    >>> normalize_typography("2x – y（1）")
    '2x - y(1)'
    """
    return text.translate(_TYPOGRAPHY)


@dataclass(frozen=True)
class Readings:
    """A formula as read by the stated convention (``/`` then an implicit product is read
    left to right: ``1/2x`` is x/2, as in Python, sympy and Wolfram) and, when it has such
    a ``/``, as the other reading (``1/(2x)``) would have it."""

    expr: sympy.Expr
    other: sympy.Expr | None = None


def parse_formula(
    text: str,
    variables: Sequence[str],
    functions: Sequence[str] = DEFAULT_FUNCTIONS,
    generic_functions: Sequence[str] = (),
    aliases: Sequence[tuple[str, str]] = (),
) -> sympy.Expr:
    """Read a student's formula into a sympy expression; raise :class:`FormulaError` otherwise.

    ``variables`` are the allowed symbol names, ``functions`` a subset of
    :data:`DEFAULT_FUNCTIONS`, ``generic_functions`` names parsed as undefined one-argument
    functions (``f``).  Polynomial and rational parts come back in sympy's canonical form;
    parts with exp, log, tanh, sigma or roots come back unevaluated, as written (see
    :func:`_settle`).  Compare results with :func:`equivalent` (``==`` is structural) and
    show them with :func:`formula_text` or :func:`formula_latex`.  sympy operations on a
    result (``simplify``, ``doit``, ``expand``) are not time-bounded on hostile input.

    >>> parse_formula("2x + y + 2(x+y)", ["x", "y"])
    4*x + 3*y
    >>> parse_formula("f(3f(x1 - x2) + 2f(x1))", ["x1", "x2"], generic_functions=["f"])
    f(2*f(x1) + 3*f(x1 - x2))
    >>> formula_text(parse_formula("sigma(x)(1 - sigma(x))", ["x"]))
    'sigma(x)*(1 - sigma(x))'
    """
    return read_formula(text, variables, functions, generic_functions, aliases).expr


def read_formula(
    text: str,
    variables: Sequence[str],
    functions: Sequence[str] = DEFAULT_FUNCTIONS,
    generic_functions: Sequence[str] = (),
    aliases: Sequence[tuple[str, str]] = (),
) -> Readings:
    """:func:`parse_formula`, with the other reading of an ambiguous ``/`` (see
    :class:`Readings`).  ``aliases`` are other spellings of allowed functions, e.g.
    ``("relu", "f")`` where the sheet's f is relu."""
    names = _names(_tuple(variables), _tuple(functions), _tuple(generic_functions), tuple(aliases))
    if not isinstance(text, str):
        raise FormulaError.said_as("reason_formula_type", 0, type=type(text).__name__)
    if len(text) > MAX_LENGTH:
        raise FormulaError.said_as("reason_formula_too_long", MAX_LENGTH, limit=MAX_LENGTH)
    tokens = _Tokenizer(normalize_typography(text), names).run()
    try:
        parser = _Parser(tokens, names)
        expr = parser.parse()
        other = _other_reading(tokens, names) if parser.ambiguous else None
    except RecursionError:  # pragma: no cover - MAX_DEPTH keeps us far from the limit
        raise FormulaError.said_as("reason_formula_nested") from None
    return Readings(expr, other)


def _other_reading(tokens: list[_Token], names: _Names) -> sympy.Expr | None:
    """The other reading of an ambiguous ``/``, or None where it is undefined: the formula
    is read by the stated convention, so ``1/2(1-1)`` is 0, not a division by zero."""
    try:
        return _Parser(tokens, names, tight_division=True).parse()
    except FormulaError:
        return None


# ---------------------------------------------------------------- rendering

_ADD, _NEG, _MUL, _POW, _ATOM = 10, 15, 20, 30, 40  # binding strength of what is printed
_TEX_NAMES = {"log": r"\log", "tanh": r"\tanh", "sigma": r"\sigma"}


class _Render:
    """Our own printer for the nodes formulas are made of.

    sympy's printers reorder terms and ask assumption questions (as the evaluator does),
    which is slow on hostile input and shows an unevaluated formula other than as written.
    Anything else (from a caller: Abs, pi, floats) falls back to sympy's printer.
    """

    def __init__(self, latex: bool) -> None:
        self.latex = latex

    def __call__(self, e: sympy.Basic) -> str:
        return self.show(e)[0]

    def paren(self, s: str) -> str:
        return rf"\left({s}\right)" if self.latex else f"({s})"

    def at(self, e: sympy.Basic, parent: int) -> str:
        s, prec = self.show(e)
        return self.paren(s) if prec < parent else s

    def show(self, e: sympy.Basic) -> tuple[str, int]:
        if isinstance(e, sympy.Rational):
            return self.rational(e)
        if isinstance(e, sympy.Symbol):
            return (str(sympy.latex(e)) if self.latex else e.name), _ATOM
        if isinstance(e, sympy.Add):
            return self.sum(e), _ADD
        if isinstance(e, sympy.Mul) or isinstance(e, sympy.Pow) and _negative_rational(e.exp):
            return self.product(_factors(e))
        if isinstance(e, sympy.Pow):
            return self.power(e)
        if e is sympy.E:
            return ("e" if self.latex else "exp(1)"), _ATOM
        if (
            isinstance(e, (sympy.exp, sympy.log, sympy.tanh, sigma, AppliedUndef))
            and len(e.args) == 1
        ):
            return self.call(e)
        return self.fallback(e)

    def rational(self, r: sympy.Rational) -> tuple[str, int]:
        sign, p, q = ("-" if r < 0 else ""), abs(int(r.p)), int(r.q)
        if q == 1:
            body, prec = str(p), _ATOM
        else:
            body = rf"\frac{{{p}}}{{{q}}}" if self.latex else f"{p}/{q}"
            prec = _MUL
        return sign + body, (_NEG if sign else prec)

    def sum(self, e: sympy.Add) -> str:
        terms = _print_order(e)
        parts = [self.at(terms[0], _ADD)]
        for term in terms[1:]:
            factors = _factors(term)
            if _negative_rational(factors[0]):
                magnitude = [-factors[0], *factors[1:]]
                if magnitude[0] == 1 and len(magnitude) > 1:
                    magnitude = magnitude[1:]
                s, prec = self.product(magnitude)
                parts.append(" - " + (self.paren(s) if prec <= _ADD else s))
            else:
                parts.append(" + " + self.at(term, _ADD + 1))
        return "".join(parts)

    def product(self, factors: list[sympy.Basic]) -> tuple[str, int]:
        sign = ""
        if _negative_rational(factors[0]):
            sign, factors = "-", [-factors[0], *factors[1:]]
            if factors[0] == 1 and len(factors) > 1:
                factors = factors[1:]
        numerator: list[sympy.Basic] = []
        denominator: list[sympy.Basic] = []
        for f in factors:
            if isinstance(f, sympy.Rational) and f.q != 1:
                numerator += [sympy.Integer(f.p)] if f.p != 1 else []
                denominator.append(sympy.Integer(f.q))
            elif isinstance(f, sympy.Pow) and _negative_rational(f.exp):
                denominator.append(
                    f.base if f.exp == -1 else sympy.Pow(f.base, -f.exp, evaluate=False)
                )
            else:
                numerator.append(f)
        body, prec = self.fraction(numerator, denominator)
        if sign:
            return sign + (self.paren(body) if prec < _MUL else body), _NEG
        return body, prec

    def fraction(
        self, numerator: list[sympy.Basic], denominator: list[sympy.Basic]
    ) -> tuple[str, int]:
        if len(numerator) == 1 and not denominator:
            return self.show(numerator[0])
        top = self.join(numerator) if numerator else "1"
        if not denominator:
            return top, _MUL
        if self.latex:
            return rf"\frac{{{top}}}{{{self.join(denominator)}}}", _MUL
        if len(denominator) == 1:
            return f"{top}/{self.at(denominator[0], _MUL + 1)}", _MUL
        return f"{top}/({self.join(denominator)})", _MUL

    def join(self, factors: list[sympy.Basic]) -> str:
        parts = [self.at(f, _MUL) for f in factors]
        if not self.latex:
            return "*".join(parts)
        out = parts[0]
        for part in parts[1:]:  # a number after anything needs a visible dot: 2 \cdot 3
            out += r" \cdot " + part if part[:1].isdigit() else " " + part
        return out

    def power(self, e: sympy.Pow) -> tuple[str, int]:
        base, exponent = e.args
        if exponent == sympy.Rational(1, 2):
            inner = self(base)
            return (rf"\sqrt{{{inner}}}" if self.latex else f"sqrt({inner})"), _ATOM
        b = self.at(base, _POW + 1)
        if self.latex:
            return f"{b}^{{{self(exponent)}}}", _POW
        return f"{b}^{self.at(exponent, _ATOM)}", _POW

    def call(self, e: sympy.Basic) -> tuple[str, int]:
        arg = self(e.args[0])
        name = type(e).__name__ if not isinstance(e, AppliedUndef) else str(e.func)
        if not self.latex:
            return f"{name}({arg})", _ATOM
        if isinstance(e, sympy.exp):
            return f"e^{{{arg}}}", _POW
        tex = _TEX_NAMES.get(name) or (name if len(name) == 1 else rf"\operatorname{{{name}}}")
        return rf"{tex}\left({arg}\right)", _ATOM

    def fallback(self, e: sympy.Basic) -> tuple[str, int]:
        if self.latex:
            return str(sympy.latex(e, order="none")), 0
        return str(StrPrinter({"order": "none"}).doprint(e)).replace("**", "^"), 0


_POLYNOMIAL_NODES = (sympy.Add, sympy.Mul, sympy.Pow, sympy.Symbol, sympy.Rational)


def _print_order(e: sympy.Add) -> list[sympy.Basic]:
    """The terms of a sum in the order to print them.

    A sum as the student wrote it keeps its order.  A sum sympy evaluated (its terms in
    sympy's internal order, ``1 + x + x**2``) prints in sympy's reading order
    (``x^2 + x + 1``), which is cheap and safe to compute for polynomials only.
    """
    terms = list(e.args)
    if terms != sorted(terms, key=cmp_to_key(sympy.Basic.compare)):
        return terms
    if not all(isinstance(n, _POLYNOMIAL_NODES) for n in sympy.preorder_traversal(e)):
        return terms
    return list(e.as_ordered_terms())


def _negative_rational(e: sympy.Basic) -> bool:
    return isinstance(e, sympy.Rational) and e < 0


def formula_text(expr: sympy.Expr) -> str:
    """Readable text a student could type back: ``2*x + y``, ``x^2``, ``f(3*f(x1 - x2))``.

    ``parse_formula(formula_text(e), ...)`` is equivalent to ``e`` for every expression
    made of the grammar's parts (e prints as ``exp(1)``, since ``e`` may be a variable).
    """
    return _Render(latex=False)(expr)


def formula_latex(expr: sympy.Expr) -> str:
    """LaTeX for sheets and keys: ``2 x + y``, ``\\frac{1}{x}``, ``\\sigma\\left(x\\right)``."""
    return _Render(latex=True)(expr)


# ---------------------------------------------------------------- equivalence

EVAL_DIGITS = 80  # mpmath precision: far more than the comparison needs
REL_TOL_DIGITS = 30  # two values agree when they differ by less than 1e-30 relatively
SCALE_TOL = 10**-60  # rounding error allowance per unit of the largest intermediate value
MAX_MAGNITUDE = 10**30  # larger intermediate values are ill-conditioned: resample the point
MAX_EXP_ARGUMENT = 70  # exp(70) ≈ 2.5e30, past MAX_MAGNITUDE anyway
MAX_EVAL_BITS = 50_000  # exact evaluation: an intermediate Fraction this large is hopeless
POINTS = 8  # agreeing points needed per substitution
MAX_ATTEMPTS = 200  # points drawn per substitution before giving up (cheap; the clock rules)
POLYNOMIAL_SIZE = 60  # nodes: expand() only small polynomials
POLYNOMIAL_DEGREE = 12
POLYNOMIAL_VARIABLES = 3
_SEED = 20240601
_DENOMINATORS = (3, 5, 7, 11, 13, 17, 19, 23)
_CHECK_EVERY = 16  # nodes between two looks at the clock


class _Undefined(Exception):
    """The expression has no (well-conditioned real) value at this point: draw another."""


class _TooLarge(_Undefined):
    """A value too large to compare well here: says nothing about where it is defined."""


class _Undecidable(Exception):
    """Out of time, or the expression has parts we cannot evaluate."""


# Concrete functions for a generic f, written with a constant maker c(p, q) so the same
# code runs on Fractions and on mpmath numbers.  t ↦ t alone would make f(2x) ≡ 2f(x).
_Substitution = Callable[[Any, Callable[[int, int], Any]], Any]
_SUBSTITUTIONS: tuple[_Substitution, ...] = (
    lambda t, c: t,
    lambda t, c: t * t + c(1, 1),
    lambda t, c: t * t * t - c(2, 1) * t + c(1, 2),
    lambda t, c: c(1, 1) / (c(1, 1) + t * t),
)


class _Evaluator:
    """Evaluates a sympy tree at one point, with every intermediate value bounded."""

    def __init__(
        self,
        point: dict[sympy.Symbol, Fraction],
        substitution: dict[str, _Substitution] | None,  # a stand-in per generic function
        deadline: float,
    ) -> None:
        self.point = point
        self.substitution = substitution
        self.deadline = deadline
        self.memo: dict[sympy.Basic, Any] = {}
        self.visited = 0
        self.scale: Any = 0

    def value(self, expr: sympy.Basic) -> Any:
        if expr in self.memo:
            return self.memo[expr]
        self.visited += 1
        if self.visited % _CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            raise _Undecidable("timeout")
        v = self.check(self.compute(expr))
        self.memo[expr] = v
        return v

    def compute(self, e: sympy.Basic) -> Any:
        if isinstance(e, sympy.Rational):
            return self.const(int(e.p), int(e.q))
        if isinstance(e, sympy.Symbol):
            if e not in self.point:  # pragma: no cover - every free symbol gets a value
                raise _Undecidable(f"no value for {e}")
            return self.from_fraction(self.point[e])
        if isinstance(e, sympy.Add):
            total = self.const(0, 1)
            for a in e.args:
                total = total + self.value(a)
            return total
        if isinstance(e, sympy.Mul):
            product = self.const(1, 1)
            for a in e.args:
                product = product * self.value(a)
            return product
        if isinstance(e, sympy.Pow):
            return self.power(e)
        if isinstance(e, AppliedUndef):
            stand_in = self.substitution.get(str(e.func)) if self.substitution else None
            if stand_in is None or len(e.args) != 1:
                raise _Undecidable(f"cannot evaluate {e.func}")
            return stand_in(self.value(e.args[0]), self.const)
        if isinstance(e, _Piecewise):
            return e.at(self.value(e.args[0]))
        if isinstance(e, sympy.Abs):
            return abs(self.value(e.args[0]))
        if isinstance(e, (sympy.Max, sympy.Min)):
            values = [self.value(a) for a in e.args]
            return max(values) if isinstance(e, sympy.Max) else min(values)
        return self.transcendental(e)

    def power(self, e: sympy.Pow) -> Any:
        base = self.value(e.base)
        if isinstance(e.exp, sympy.Integer):
            n = int(e.exp)
            if base == 0 and n < 0:
                raise _Undefined
            self.check_power(base, n)
            return base**n
        return self.real_power(base, e.exp)

    def const(self, p: int, q: int) -> Any:
        raise NotImplementedError

    def from_fraction(self, x: Fraction) -> Any:
        raise NotImplementedError

    def check(self, v: Any) -> Any:
        return v

    def check_power(self, base: Any, n: int) -> None:
        return None

    def real_power(self, base: Any, exponent: sympy.Basic) -> Any:
        raise _Undecidable("not rational")

    def transcendental(self, e: sympy.Basic) -> Any:
        raise _Undecidable(f"cannot evaluate {type(e).__name__} exactly")


class _ExactEvaluator(_Evaluator):
    def const(self, p: int, q: int) -> Fraction:
        return Fraction(p, q)

    def from_fraction(self, x: Fraction) -> Fraction:
        return x

    def check(self, v: Any) -> Any:
        if v.numerator.bit_length() + v.denominator.bit_length() > MAX_EVAL_BITS:
            raise _TooLarge
        return v

    def check_power(self, base: Any, n: int) -> None:
        size = base.numerator.bit_length() + base.denominator.bit_length()
        if size * abs(n) > MAX_EVAL_BITS:
            raise _TooLarge

    def compute(self, e: sympy.Basic) -> Any:
        try:
            return super().compute(e)
        except ZeroDivisionError:  # 1/(x - y) at x = y
            raise _Undefined from None


_MP = mpmath.MPContext()  # our own context: mpmath.mp's precision is global state
_MP.dps = EVAL_DIGITS
_MPF = type(_MP.mpf(0))


class _FloatEvaluator(_Evaluator):
    """mpmath at :data:`EVAL_DIGITS` digits, real values only."""

    def const(self, p: int, q: int) -> Any:
        return _MP.mpf(p) / q

    def from_fraction(self, x: Fraction) -> Any:
        return _MP.mpf(x.numerator) / x.denominator

    def check(self, v: Any) -> Any:
        if not isinstance(v, _MPF):
            raise _Undefined  # a complex or otherwise unexpected value
        if abs(v) > MAX_MAGNITUDE:
            raise _TooLarge
        self.scale = max(self.scale, abs(v))
        return v

    def compute(self, e: sympy.Basic) -> Any:
        try:
            return super().compute(e)
        except ZeroDivisionError:
            raise _Undefined from None

    def check_power(self, base: Any, n: int) -> None:
        if base != 0 and abs(n) * _MP.log(abs(base)) > MAX_EXP_ARGUMENT:
            raise _TooLarge

    def real_power(self, base: Any, exponent: sympy.Basic) -> Any:
        power = self.value(exponent)
        if base < 0:
            raise _Undefined  # (-8)^(1/3) is complex in sympy: stay in the reals
        if base == 0:
            if power > 0:
                return _MP.mpf(0)
            raise _Undefined
        if power * _MP.log(base) > MAX_EXP_ARGUMENT:
            raise _TooLarge
        return _MP.power(base, power)

    def transcendental(self, e: sympy.Basic) -> Any:
        if e is sympy.E:
            return _MP.mpf(_MP.e)
        if e is sympy.pi:
            return _MP.mpf(_MP.pi)
        if isinstance(e, sympy.Float):
            exact = sympy.Rational(e)  # a Float's exact binary value, no text involved
            return self.from_fraction(Fraction(int(exact.p), int(exact.q)))
        if len(e.args) != 1:
            raise _Undecidable(f"cannot evaluate {type(e).__name__}")
        t = self.value(e.args[0])
        if isinstance(e, sympy.exp):
            if t > MAX_EXP_ARGUMENT:
                raise _TooLarge
            return _MP.exp(t)
        if isinstance(e, sympy.log):
            if t <= 0:
                raise _Undefined
            return _MP.log(t)
        if isinstance(e, sympy.tanh):
            return _MP.tanh(t)
        if isinstance(e, sigma):
            return 1 / (1 + _MP.exp(-t)) if t > -MAX_EXP_ARGUMENT else _MP.exp(t) / (1 + _MP.exp(t))
        raise _Undecidable(f"cannot evaluate {type(e).__name__}")


_RATIONAL_NODES = (
    sympy.Rational,
    sympy.Symbol,
    sympy.Add,
    sympy.Mul,
    AppliedUndef,
    sympy.Abs,
    _Piecewise,
)


def _is_rational(expr: sympy.Basic) -> bool:
    """Only + * integer powers, rationals, symbols and generic functions: exact evaluation."""
    for e in sympy.preorder_traversal(expr):
        if isinstance(e, sympy.Pow):
            if not isinstance(e.exp, sympy.Integer):
                return False
        elif not isinstance(e, _RATIONAL_NODES):
            return False
    return True


def _is_small_polynomial(expr: sympy.Basic) -> bool:
    for size, e in enumerate(sympy.preorder_traversal(expr), 1):
        if size > POLYNOMIAL_SIZE:
            return False
        if isinstance(e, sympy.Pow):
            if not (isinstance(e.exp, sympy.Integer) and e.exp >= 0):
                return False
        elif not isinstance(e, (sympy.Rational, sympy.Symbol, sympy.Add, sympy.Mul)):
            return False
    # (x1 + ... + x9)^12 would expand to 10^5 terms: few variables only.
    return len(expr.free_symbols) <= POLYNOMIAL_VARIABLES and _degree(expr) <= POLYNOMIAL_DEGREE


def _draw(
    rng: random.Random, symbols: list[sympy.Symbol], attempt: int
) -> dict[sympy.Symbol, Fraction]:
    """A rational point with small, mostly non-integer coordinates: in [-3, 3]^n, and on
    every other attempt in (0, 3]^n, where log(x) and sqrt(x) are defined."""
    point = {}
    for s in symbols:
        q = rng.choice(_DENOMINATORS)
        low = 1 if attempt % 2 else -3 * q
        point[s] = Fraction(rng.randint(low, 3 * q), q)
    return point


def _agree(a: Any, b: Any, exact: bool, scale: Any) -> bool:
    if exact:
        return bool(a == b)
    tolerance = max(abs(a), abs(b)) / 10**REL_TOL_DIGITS + SCALE_TOL * scale
    return bool(abs(a - b) <= tolerance)


def _value_or_none(ev: _Evaluator, e: sympy.Basic) -> tuple[Any, bool]:
    """The value of ``e`` (None where it has none) and whether it is defined there."""
    try:
        return ev.value(e), True
    except _TooLarge:
        return None, True  # defined, only too large to compare here
    except _Undefined:
        return None, False


def _compare(
    a: sympy.Basic, b: sympy.Basic, symbols: list[sympy.Symbol], deadline: float
) -> bool | None:
    exact = _is_rational(a) and _is_rational(b)
    evaluator = _ExactEvaluator if exact else _FloatEvaluator
    # each generic function its own stand-in (one for all would make f(x) ≡ g(x))
    names = sorted({str(e.func) for e in a.atoms(AppliedUndef) | b.atoms(AppliedUndef)})
    substitutions: list[dict[str, _Substitution] | None] = [
        {n: _SUBSTITUTIONS[(k + i) % len(_SUBSTITUTIONS)] for i, n in enumerate(names)}
        for k in range(len(_SUBSTITUTIONS))
    ] or [None]
    rng = random.Random(_SEED)
    for substitution in substitutions:
        agreed = 0
        a_defined = b_defined = False
        for attempt in range(MAX_ATTEMPTS):
            if time.monotonic() > deadline:
                return None
            point = _draw(rng, symbols, attempt)
            ev = evaluator(point, substitution, deadline)
            (va, a_here), (vb, b_here) = _value_or_none(ev, a), _value_or_none(ev, b)
            a_defined, b_defined = a_defined or a_here, b_defined or b_here
            if va is None or vb is None:
                continue
            if not _agree(va, vb, exact, ev.scale):
                return False
            agreed += 1
            if agreed == POINTS:
                break
        else:
            # undefined at every point where the other is defined (log(−x²)): not the
            # same function, whatever the other is (only a person could say otherwise
            # when neither side was ever defined)
            if a_defined != b_defined:
                return False
            return None  # too few points where both sides are defined
    return True


def equivalent(
    a: sympy.Expr,
    b: sympy.Expr,
    variables: Sequence[str],
    generic_functions: Sequence[str] = (),
    *,
    timeout: float = 2.0,
) -> bool | None:
    """Whether ``a`` and ``b`` are the same function of ``variables``.

    True/False, or None when it could not be decided within ``timeout`` seconds (or no
    point was found where both sides are real and well-conditioned).  Every undefined
    function (``f``) counts as generic: the formulas must agree for each concrete ``f`` in
    a fixed list.  Free symbols not among ``variables`` are sampled as variables too.
    Deterministic: the sample points come from a fixed seed.

    >>> x, y = sympy.symbols("x y")
    >>> equivalent(2*x + y + 2*(x + y), 4*x + 3*y, ["x", "y"])
    True
    """
    deadline = time.monotonic() + timeout
    for e in (a, b):
        if not isinstance(e, sympy.Basic):
            raise TypeError(f"expected a sympy expression, got {type(e).__name__}")
    _names(_tuple(variables), (), _tuple(generic_functions))  # validates the names
    if a == b:
        return True
    named = [sympy.Symbol(v) for v in variables]
    extra = sorted((a.free_symbols | b.free_symbols) - set(named), key=str)
    symbols = named + [s for s in extra if isinstance(s, sympy.Symbol)]
    try:
        if _is_small_polynomial(a) and _is_small_polynomial(b):
            return bool(sympy.expand(a - b) == 0)
        return _compare(a, b, symbols, deadline)
    except (_Undecidable, RecursionError):
        return None
