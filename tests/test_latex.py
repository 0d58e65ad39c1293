"""LaTeX rendering: hostile text is always escaped, templates are strict, sheets and keys
render in English and Russian, numbers print as the key promises.  No TeX run here."""

from __future__ import annotations

import re
from fractions import Fraction as F
from pathlib import Path

import jinja2
import pytest

from grader.core.latex import MAX_TEXT_CHARS, Tex, escape_tex, num
from grader.core.models import RoundingSpec
from grader.course.assignment import Assignment, Student, load_assignment
from grader.course.variants import make_variants
from grader.exercises.sgd_chain import EXERCISE
from grader.exercises.sgd_chain.params import SgdChainParams
from grader.exercises.sgd_chain.view import Numbers
from grader.make.documents import points_text, render_document, renumbered, student_doc
from grader.make.rendering import environment

SAMPLES = Path(__file__).resolve().parent.parent / "grader" / "samples"
HOSTILE = [
    "O'Brien & Sons_#1 $100 %",
    r"\input{/etc/hostname}",
    r"\write18{touch /tmp/pwned}",
    r"\immediate\write18{rm -rf ~}",
    "^^5c^^5cinput{/etc/hostname}",
    r"\def\x{\x}\x",
    "}{\\end{document}",
    '~ < > | " { }',
    "tab\there\nnew line\r\x00\x07\x1b\x7f",
    "emoji 😀 and 陈伟 and \u202e",
]

# After escaping, a backslash may only start one of these (our own commands).
_ALLOWED_COMMANDS = re.compile(
    r"\\(textbackslash|textasciicircum|textasciitilde|textless|textgreater|textbar|"
    r"textquotedbl|ldots)\{\}|\\[{}$&#_%]"
)


def assert_safe(tex: str) -> None:
    """No command but the escapes, no bare special character, nothing unprintable."""
    rest = _ALLOWED_COMMANDS.sub("", tex)
    assert "\\" not in rest, tex
    for ch in "{}$&#_%^~":
        assert ch not in rest, (ch, tex)
    assert all(ch == "\n" or ord(ch) >= 0x20 for ch in tex)
    assert "\x7f" not in tex and "\u202e" not in tex


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_escaped(text):
    out = escape_tex(text)
    assert isinstance(out, Tex)
    assert_safe(out)


def test_escapes_are_the_expected_ones():
    assert escape_tex("O'Brien & Sons_#1 $100 %") == r"O'Brien \& Sons\_\#1 \$100 \%"
    assert escape_tex(r"\input{/etc/hostname}") == r"\textbackslash{}input\{/etc/hostname\}"
    assert escape_tex("^^5c") == r"\textasciicircum{}\textasciicircum{}5c"
    assert escape_tex("a\x00b\x07c") == "a?b?c"
    assert escape_tex("😀") == "?"
    assert escape_tex("Иванов Zoë Søren Małgorzata") == "Иванов Zoë Søren Małgorzata"


def test_megabyte_string_is_bounded():
    out = escape_tex("\\" * 1_000_000)
    # at most MAX_TEXT_CHARS characters survive, each at most one escape long
    assert len(out) <= (MAX_TEXT_CHARS + 1) * len(r"\textbackslash{}")
    assert_safe(out)


def test_finalize_escapes_values_printed_by_templates():
    template = environment().from_string(r"Name: \VAR{name}; rate \VAR{rate}")
    out = template.render(name="A_B & $x$", rate=F(5, 4))
    assert out == r"Name: A\_B \& \$x\$; rate \frac{5}{4}"


def test_missing_variable_is_an_error():
    with pytest.raises(jinja2.UndefinedError):
        environment().from_string(r"\VAR{no_such_thing}").render()
    with pytest.raises(jinja2.UndefinedError):
        environment().from_string(r"\VAR{student.name}").render(student={})


def test_num_formatting():
    assert num(F(3)) == "3"
    assert num(F(-2)) == "-2"
    assert num(F(5, 4)) == r"\frac{5}{4} = 1.25"
    assert num(F(-1, 8)) == r"-\frac{1}{8} = -0.125"
    # a long value is cut short and marked with an ellipsis: ≈ means "rounded by the rule"
    assert num(F(1, 3)) == r"\frac{1}{3} = 0.3333333\ldots"
    assert num(F(-2, 3)) == r"-\frac{2}{3} = -0.6666666\ldots"  # cut, not rounded to ...7
    assert num(F(118438919837, 3200000000000)) == r"0.0370121\ldots"


def test_key_numbers_are_exact_or_marked():
    nf = Numbers()
    assert nf.result(F(5, 4)) == r"= \frac{5}{4} = 1.25"
    assert nf.result(F(118438919837, 500000000000)) == "= 0.236877839674"
    assert nf.result(F(8267, 10000), rounded=True) == r"\approx 0.8267"
    assert nf.value(F(25, 16)) == r"\frac{25}{16}"
    assert nf.value(F(8267, 10000)) == "0.8267"
    assert nf.value(F(1, 7**30)).endswith(r"\ldots")  # cut, never silently rounded
    assert Numbers(decimal_first=True).value(F(1, 50)) == "0.02"


@pytest.mark.parametrize(
    ("points", "language", "text"),
    [
        (F(10), "en", "10 points"),
        (F(1), "en", "1 point"),
        (F(5, 2), "en", "2.5 points"),
        (F(1), "ru", "1 балл"),
        (F(3), "ru", "3 балла"),
        (F(10), "ru", "10 баллов"),
        (F(21), "ru", "21 балл"),
        (F(12), "ru", "12 баллов"),
    ],
)
def test_points_text(points, language, text):
    assert points_text(points, language) == text


# ------------------------------------------------------------ documents


def canonical(language: str) -> Assignment:
    spec = load_assignment(SAMPLES / "canonical.yaml")
    return spec.model_copy(update={"language": language, "due": "Friday & later"})


def docs(spec: Assignment, names: list[str]):
    out = []
    for i, name in enumerate(names):
        student = Student(id=f"s{i:03d}", name=name)
        out.append(student_doc(spec, student, make_variants(spec, student.id, None)))
    return out


@pytest.mark.parametrize("language", ["en", "ru"])
def test_sheet_renders_with_escaped_names(language):
    spec = canonical(language)
    tex = render_document("sheet", spec, docs(spec, [HOSTILE[0]]))
    assert r"O'Brien \& Sons\_\#1 \$100 \%" in tex
    assert "Friday \\& later" in tex
    assert r"\begin{tikzpicture}" in tex and tex.count(r"\node[neuron") == 3
    assert r"\gamma = 5" in tex
    # W0 as a 2×3 matrix of zeros, the rounding instruction with k = 4
    assert r"\begin{pmatrix} 0 & 0 & 0 \\ 0 & 0 & 0 \end{pmatrix}" in tex
    expected_words = {
        "en": ["Problem sheet", "4 decimal places", "Exercise", "10 points"],
        "ru": ["Задание", "до 4 знаков", "Задача", "10 баллов", r"main=russian"],
    }[language]
    for word in expected_words:
        assert word in tex, word
    body = tex.split(r"\begin{document}")[1]
    assert "{k}" not in body and "{S}" not in body and "{id}" not in body


@pytest.mark.parametrize("language", ["en", "ru"])
def test_key_shows_the_canonical_derivation(language):
    spec = canonical(language)
    tex = render_document("key", spec, docs(spec, ["Zoë"]))
    assert r"\sigma\left(\frac{25}{16}\right) \approx 0.8267" in tex
    assert r"\delta_3 &= 2(o_3 - y)\, o_3(1 - o_3)" in tex
    assert r"= -\frac{1}{4} = -0.25" in tex  # δ3 of step 1
    assert "= 0.236877839674" in tex  # δ3 of step 2, exact
    for approx in ("-0.1850608", "0.0656108", "-0.0925304", "0.0328054"):  # W² ≈ …
        assert approx in tex
    assert ("Solution key" if language == "en" else "Решение") in tex


def test_batch_gives_every_student_a_numbered_part():
    spec = canonical("en")
    batch = render_document("sheet", spec, renumbered(docs(spec, ["A", "B", "C"])))
    body = batch.split(r"\begin{document}")[1]
    assert [int(n) for n in re.findall(r"\\studentstart\{(\d+)\}", body)] == [1, 2, 3]
    assert body.count(r"\duplexbreak") == 3
    single = render_document("sheet", spec, docs(spec, ["A"]))
    assert r"\duplexbreak" not in single.split(r"\begin{document}")[1]


def test_rendering_is_deterministic():
    spec = canonical("ru")
    a = render_document("key", spec, docs(spec, ["Иванов Иван"]))
    b = render_document("key", spec, docs(spec, ["Иванов Иван"]))
    assert a == b


@pytest.mark.parametrize(
    "activation", ["sigmoid", "tanh", "relu", "identity", "hard_sigmoid", "softsign"]
)
@pytest.mark.parametrize("mode", ["exact", "transcendental", "all"])
def test_every_sgd_variant_renders(activation, mode):
    import random

    rng = random.Random(f"{activation}/{mode}")
    for depth in (2, 4):
        params = EXERCISE.sample(
            rng,
            {"activation": activation, "depth": depth, "rounding": RoundingSpec(mode=mode)},
        )
        assert isinstance(params, SgdChainParams)
        solution = EXERCISE.solve(params, "sgd")
        view = EXERCISE.latex_view(params, solution, "en")
        assert len(view["steps"]) == len(params.order)
        # two lines (h, o) per layer, one δ per layer
        assert all(len(step["forward"]) == 2 * depth for step in view["steps"])
        assert all(len(step["deltas"]) == depth for step in view["steps"])
        for step in view["steps"]:
            for line in (*step["forward"], *step["deltas"], step["loss"]):
                # a long line is folded: one alignment point on each of its display lines
                assert isinstance(line, Tex)
                assert all(part.count("&") == 1 for part in line.split("\\\\\n"))


@pytest.mark.parametrize("text", HOSTILE + ["x" * 5000, "/very/long/path/" * 20])
def test_names_may_break_and_stay_escaped(text):
    from grader.make.documents import breakable

    out = breakable(text)
    assert_safe(out.replace(r"\allowbreak{}", ""))
    assert len(out) <= 2 * (MAX_TEXT_CHARS + 1) * len(r"\textbackslash{}")
