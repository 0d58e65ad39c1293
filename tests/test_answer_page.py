"""The answer page ``forms/<id>.html``: words, no key data, the grammar shared with the
grader (a corpus both must read alike, the page's side run in headless Chromium), and the
student's path end to end: type the key, download, ``grade`` → full marks."""

from __future__ import annotations

import base64
import contextlib
import csv
import html as html_lib
import io
import json
import os
import random
import re
import time
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from grader.core.given import given_words
from grader.core.numbers import NumberError, fmt_dec, fmt_frac, parse_number
from grader.exercises import EXERCISE_MODULES, get_exercise
from grader.exercises.base import Exercise
from grader.grade.formula_echo import formula_echo
from grader.grade.formulas import FormulaError, read_formula, vocabulary
from grader.grade.lhs import LhsError, split_lhs
from grader.make import answer_page as page_module
from grader.make.answer_page import name_table
from grader.make.build import generate_command
from tests.browser import chromium  # noqa: F401 - a fixture
from tests.grammar_kinds import FORMULA_KINDS, NUMBER_KINDS, kind_of

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "grader" / "samples"
CORPUS = json.loads((ROOT / "tests" / "data" / "grammar_corpus.json").read_text("utf-8"))
SECRET = "answer-page-secret-2026"  # >= 16 bytes, >= 8 distinct characters
WORDS = ROOT / "templates" / "answer_page.words.yaml"


# softmax_classifier is not in the sample course: plain and with a hidden layer
SOFTMAX_COURSE = {
    "id": "page-softmax",
    "title": "Softmax",
    "exercises": [
        {"id": "plain", "type": "softmax_classifier", "points": 6},
        {
            "id": "hidden",
            "type": "softmax_classifier",
            "points": 8,
            "params": {"hidden": [2], "activation": "relu", "order": [1, 2]},
        },
    ],
}


def build_course(tmp: Path, language: str = "en", assignment: dict[str, Any] | None = None) -> Path:
    """The sample course (every family but softmax) for three students, without PDFs."""
    course = assignment or yaml.safe_load((SAMPLES / "course.yaml").read_text("utf-8"))
    course["language"] = language
    (tmp / "course.yaml").write_text(yaml.safe_dump(course, allow_unicode=True), "utf-8")
    (tmp / "roster.csv").write_text(
        'id,name\ns001,Alice Martin\ns002,Иванов Иван\ns003,<b>Eve</b> & "Co"\n', "utf-8"
    )
    old = os.environ.get("GRADER_SECRET")
    os.environ["GRADER_SECRET"] = SECRET
    try:
        code = generate_command(
            str(tmp / "course.yaml"), str(tmp / "roster.csv"), str(tmp / "build"), pdf=False, jobs=1
        )
    finally:
        if old is None:
            del os.environ["GRADER_SECRET"]
        else:
            os.environ["GRADER_SECRET"] = old
    assert code == 0
    return tmp / "build"


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="module")
def course_ru(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_course(tmp_path_factory.mktemp("course_ru"), "ru")


@pytest.fixture(scope="module")
def softmax_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_course(tmp_path_factory.mktemp("softmax"), "en", dict(SOFTMAX_COURSE))


# ---------------------------------------------------------------- words and build


def _shape(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return len(node)
    return type(node).__name__


def test_words_have_the_same_keys_in_en_and_ru() -> None:
    words = yaml.safe_load(WORDS.read_text("utf-8"))
    assert set(words) == {"en", "ru"}
    assert _shape(words["en"]) == _shape(words["ru"])
    # every error kind the page can report has words
    kinds = {kind for _, kind in NUMBER_KINDS + FORMULA_KINDS} | {"exponent_range"}
    assert kinds <= set(words["en"]["errors"])
    script = (ROOT / "templates" / "answer_page.js").read_text("utf-8")
    assert set(re.findall(r'GrammarError\("(\w+)"', script)) <= set(words["en"]["errors"])
    # the given data's words: those the families share, and each family's own
    shared = yaml.safe_load((ROOT / "templates" / "given.words.yaml").read_text("utf-8"))
    assert set(shared) == {"en", "ru"} and _shape(shared["en"]) == _shape(shared["ru"])
    for name in EXERCISE_MODULES:
        own = [get_exercise(name).words(lang)["given_data"] for lang in ("en", "ru")]
        assert _shape(own[0]) == _shape(own[1]), name


def test_generate_writes_a_page_per_student_listed_and_checked(course: Path) -> None:
    manifest = json.loads((course / "manifest.json").read_text("utf-8"))
    for sid in ("s001", "s002", "s003"):
        assert f"forms/{sid}.html" in manifest["files"]
        assert (course / "forms" / f"{sid}.html").is_file()
    from grader.make.check import check_command

    old = os.environ.get("GRADER_SECRET")
    os.environ["GRADER_SECRET"] = SECRET
    try:
        page = course / "forms" / "s002.html"
        original = page.read_bytes()
        assert check_command(str(course.parent / "course.yaml"), str(course)) == 0
        page.write_bytes(original.replace(b"</main>", b"<p>edited</p></main>"))
        assert check_command(str(course.parent / "course.yaml"), str(course)) == 1
    finally:
        page.write_bytes(original)
        if old is None:
            del os.environ["GRADER_SECRET"]
        else:
            os.environ["GRADER_SECRET"] = old


def test_page_is_self_contained_escaped_and_in_the_course_language(
    course: Path, course_ru: Path
) -> None:
    html = (course / "forms" / "s003.html").read_text("utf-8")
    assert "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'" in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", html)  # nothing fetched
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt; &amp; &#34;Co&#34;" in html
    assert 'lang="en"' in html and "How to write your answers" in html
    assert "W₂[1,2]" in html and "δ₃" in html and "o₁ (Step 1)" in html
    html_ru = (course_ru / "forms" / "s001.html").read_text("utf-8")
    assert 'lang="ru"' in html_ru and "Как записывать ответы" in html_ru and "Шаг 1" in html_ru
    # the data block cannot end the script early, whatever a name holds
    data = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', html, re.S)
    assert data is not None and "<" not in data.group(1)


def test_the_builder_never_receives_a_solution() -> None:
    """Structural: what builds the page takes parameters, never a Variant or a Solution."""
    for fn in (
        page_module.answer_page,
        page_module.form_exercise,
        page_module.render_answer_page,
    ):
        hints = typing.get_type_hints(fn)
        shown = " ".join(str(h) for h in hints.values())
        assert "Variant" not in shown and "Solution" not in shown, fn.__name__
    source = (ROOT / "grader" / "make" / "answer_page.py").read_text("utf-8")
    assert ".solution" not in source and "solve(" not in source
    assert "latex_view" not in source  # a family's view takes a solution
    # the given data come from each family's hook, which is handed the parameters alone
    hints = typing.get_type_hints(Exercise.given_data)
    assert set(hints) == {"params", "language", "return"}
    assert hints["params"] is BaseModel


# ---------------------------------------------------------------- no key data


def _student_specific(html: str) -> str:
    """The page without what every page shares (its script, style and rules, and the
    family's definitions shown with the given data: ``f(t) = min(max(t/4 + 1/2, 0), 1)``,
    the same for every student of that activation, holds constants a key value may equal
    by chance).  The given data themselves stay in: the scan then leaves out the key values
    that equal a given number (:func:`_given_texts`), since the page must show those."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    html = re.sub(r"<script>.*?</script>", "", html, flags=re.S)
    html = re.sub(r'<span class="(?:math|text) fixed">[^<]*</span>', "", html)
    return re.sub(r'<section class="rules".*?</section>', "", html, flags=re.S)


def _leaves(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for v in node.values():
            yield from _leaves(v)
    elif isinstance(node, list):
        for v in node:
            yield from _leaves(v)
    elif node is not None:
        yield node


def _key_texts(key: dict[str, Any]) -> set[str]:
    """Every way a key value could be written: fraction, decimals (point and comma) at 4 and
    7 places, and for a formula its text."""
    texts: set[str] = set()
    for leaf in _leaves(key["answers"]):
        try:
            value = parse_number(leaf)
        except NumberError:
            texts.add(leaf)  # a formula
            continue
        for text in (fmt_frac(value), fmt_dec(value, 4), fmt_dec(value, 7)):
            texts |= {text, text.replace(".", ",")}
    return texts


def _given_texts(key: dict[str, Any]) -> set[str]:
    """The student's given data, as numbers in every form: the page may show those."""
    texts: set[str] = set()
    for leaf in _leaves(key["params"]):
        try:
            value = parse_number(leaf) if isinstance(leaf, str | int) else None
        except NumberError:
            value = None
        if value is not None:
            texts |= {fmt_frac(value), fmt_dec(value, 4), fmt_dec(value, 7)}
    return texts


_NUMBER_TOKEN = re.compile(r"(?<![\w.,/])-?[0-9]+(?:[.,/][0-9]+)*(?![\w.,/])")
SMALL = 20  # integers this small are indices and labels (W₂[1,2], step 1, row 0)


def key_leaks(html: str, key: dict[str, Any]) -> list[str]:
    """Key values found in the page, as written, base64 or hex."""
    specific = _student_specific(html)
    secret = _key_texts(key) - _given_texts(key)
    found = []
    tokens = set(_NUMBER_TOKEN.findall(specific))
    for text in sorted(secret):
        numeric = re.fullmatch(r"-?[0-9]+(?:[.,/][0-9]+)*", text) is not None
        if numeric and re.fullmatch(r"-?[0-9]+", text) and abs(int(text)) <= SMALL:
            continue
        if (numeric and text in tokens) or (not numeric and text in specific):
            found.append(text)
        for encoded in (
            base64.b64encode(text.encode()).decode().rstrip("="),
            text.encode().hex(),
        ):
            if len(encoded) >= 6 and encoded in html:
                found.append(f"{text} as {encoded}")
    return found


def _fixed_definitions(language: str) -> list[str]:
    """The definitions a page may show as ``fixed``: activations, losses, rounding rules
    (the shared given words, and each family's ``given_data:`` words)."""
    tables = [given_words(language)]
    tables += [get_exercise(name).words(language)["given_data"] for name in EXERCISE_MODULES]
    return [
        text
        for table in tables
        for kind in ("activations", "losses", "rounding")
        for text in table.get(kind, {}).values()
    ]


def _only_definitions_are_left_out(html: str) -> None:
    """What the scan leaves out as a family's fixed definition is one of the page's fixed
    words (an activation, a loss, a rounding rule; {k} and {n} small numbers): no student
    data can hide there."""
    lang = re.search(r'<html lang="(\w+)"', html)
    assert lang is not None
    fixed = _fixed_definitions(lang.group(1))
    patterns = [
        re.escape(t).replace(r"\{k\}", "[0-9]{1,2}").replace(r"\{n\}", "[0-9]") for t in fixed
    ]
    spans = re.findall(r'<span class="(?:math|text) fixed">([^<]*)</span>', html)
    assert spans
    for text in spans:
        assert any(re.fullmatch(p, html_lib.unescape(text)) for p in patterns), text


def test_no_page_holds_a_key_value(course: Path, course_ru: Path, softmax_course: Path) -> None:
    checked = 0
    for build in (course, course_ru, softmax_course):
        for key_path in sorted((build / "keys").glob("*.json")):
            key = json.loads(key_path.read_text("utf-8"))
            html = (build / "forms" / f"{key['student']}.html").read_text("utf-8")
            assert key_leaks(html, key) == []
            checked += len(_key_texts(key) - _given_texts(key))
            _only_definitions_are_left_out(html)
    assert checked > 300  # the scan looked at many values
    # the scan finds a value that is there (as text, and as base64)
    key = json.loads((course / "keys" / "s001.json").read_text("utf-8"))
    value = next(t for t in sorted(_key_texts(key) - _given_texts(key)) if "/" in t and len(t) > 4)
    html = (course / "forms" / "s001.html").read_text("utf-8")
    assert key_leaks(html.replace("</main>", f"<p>{value}</p></main>"), key) == [value]
    b64 = base64.b64encode(value.encode()).decode()
    assert key_leaks(html.replace("</main>", f"<p>{b64}</p></main>"), key)


# ---------------------------------------------------------------- given data


def _given_sections(html: str) -> list[str]:
    """Each exercise's "given" section, in exercise order ("" where there is none)."""
    out = []
    for part in html.split('<section class="exercise"')[1:]:
        m = re.search(r'<section class="given".*?</section>', part, re.S)
        out.append(m.group(0) if m else "")
    return out


def _tables(section: str) -> dict[str, list[list[str]]]:
    """The given tables of a section by title: their body rows' cells."""
    tables = {}
    for title, body in re.findall(
        r'<table class="given-table" aria-label="([^"]*)">.*?<tbody>(.*?)</tbody>', section, re.S
    ):
        rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
        tables[html_lib.unescape(title)] = [re.findall(r"<td>(.*?)</td>", r) for r in rows]
    return tables


def _number_leaves(node: Any) -> Iterator[str]:
    """The numbers among the given parameters, as fractions (ids and names left out)."""
    for leaf in _leaves(node):
        if isinstance(leaf, bool):
            continue
        with contextlib.suppress(NumberError):
            yield fmt_frac(parse_number(leaf if isinstance(leaf, str) else str(leaf)))


def test_page_shows_every_given_number_of_the_sheet(
    course: Path, course_ru: Path, softmax_course: Path
) -> None:
    """Every number the key records as given (inputs, weights, rate, point, schedule,
    sizes) is shown in its exercise's "given" box, and matrices are laid out as on the
    sheet (row i of X is row i of the table).  The key's params are the oracle: the page's
    builder never sees the key."""
    seen_families, checked_matrices = set(), 0
    for build in (course, course_ru, softmax_course):
        for key_path in sorted((build / "keys").glob("*.json")):
            key = json.loads(key_path.read_text("utf-8"))
            html = (build / "forms" / f"{key['student']}.html").read_text("utf-8")
            sections = _given_sections(html)
            assert len(sections) == len(key["params"])
            for section, (ex_id, params) in zip(sections, key["params"].items(), strict=True):
                assert section, ex_id
                text = html_lib.unescape(re.sub(r"<[^>]+>", " ", section))
                shown = set(re.findall(r"-?[0-9]+(?:/[0-9]+)?", text))
                given = {k: v for k, v in params.items() if k != "rounding"}
                missing = set(_number_leaves(given)) - shown
                assert not missing, (key_path.name, ex_id, missing)
                tables = _tables(section)
                matrices = {}
                if "labels" not in params:  # softmax_classifier: x is in its data table
                    matrices = {"X": params.get("x"), "y": params.get("y")}
                for l, w in enumerate(params.get("weights") or []):
                    matrices["W" + "₁₂₃₄"[l]] = w
                for l, b in enumerate(params.get("biases") or []):
                    matrices["b" + "₁₂₃₄"[l]] = [b]
                for title, matrix in matrices.items():
                    if matrix is not None:
                        assert tables[title] == [
                            [fmt_frac(parse_number(str(v))) for v in row] for row in matrix
                        ], (ex_id, title)
                        checked_matrices += 1
                if "data" in params:  # sgd_chain: the data table, one observation per row
                    data = next(iter(tables.values()))
                    assert data == [
                        [fmt_frac(parse_number(str(v))) for v in row] for row in params["data"]
                    ]
                if "nodes" in params:
                    seen_families.add("chain_rule")
                    assert f"{params['nodes'][-1]['name']}(x, y) = " in text
                elif "labels" in params:
                    seen_families.add("softmax_classifier")
                    data = next(iter(tables.values()))
                    labels = [int(row[-1]) for row in data]
                    assert labels == params["labels"]
                elif "data" in params:
                    seen_families.add("sgd_chain")
                    decimals = str(params["rounding"]["decimals"])
                    assert re.search(rf"\b{decimals}\b", text)
                else:
                    seen_families.add("mlp_matrix")
            words = "Скорость обучения" if build is course_ru else "Learning rate"
            assert words in html
    assert seen_families == {"chain_rule", "mlp_matrix", "sgd_chain", "softmax_classifier"}
    assert checked_matrices >= 6 * 5 + 2 * 6  # mlp: X, y, W1..W3; softmax: W, b per layer


def test_the_given_function_reads_as_the_sheet_prints_it() -> None:
    """The chain rule's function on the page is the sheet's TeX in plain text; read by the
    grader it is the function of the graph (the oracle: the family's own plain printer)."""
    from grader.exercises import get_exercise
    from grader.exercises.chain_rule.fields import function_text
    from grader.exercises.chain_rule.view import plain_math
    from grader.grade.formulas import parse_formula

    family = get_exercise("chain_rule")
    for seed in range(60):
        params: Any = family.sample(random.Random(seed), {})
        shown = plain_math(function_text(params, tex=True))
        assert not re.search(r"[\\{}^]", shown), shown
        expected = parse_formula(function_text(params), params.variables)
        assert parse_formula(shown, params.variables) == expected, shown
    assert (
        plain_math(r"\frac{1}{2} x (x + y)^{2} - 3 \cdot \frac{3}{4} y")
        == "(1/2)x(x + y)² - 3·(3/4)y"
    )


# ---------------------------------------------------------------- the shared grammar


def python_number(text: str) -> dict[str, Any]:
    try:
        return {"ok": True, "value": fmt_frac(parse_number(text))}
    except NumberError as e:
        return {"ok": False, "kind": kind_of(e.message, NUMBER_KINDS), "position": e.position}


def python_formula(entry: dict[str, Any]) -> dict[str, Any]:
    """The grader's reading of a formula field (grading.py: the optional left-hand side,
    then read_formula with the field's names), with the echo of how it reads it."""
    text, offset = entry["text"], 0
    try:
        if entry["lhs"]:
            _, text, offset = split_lhs(entry["text"])
        reading = formula_echo(
            text,
            entry["variables"],
            entry["functions"],
            entry["generic"],
            [tuple(a) for a in entry["aliases"]],
        )
        return {"ok": True, "reading": reading.text, "other": reading.other}
    except LhsError:
        return {"ok": False, "kind": "lhs", "position": 0}
    except FormulaError as e:
        kind = kind_of(e.message, FORMULA_KINDS)
        return {"ok": False, "kind": kind, "position": e.position + offset}


def test_corpus_covers_every_rule_and_limit() -> None:
    numbers, formulas = CORPUS["numbers"], CORPUS["formulas"]
    assert len(numbers) + len(formulas) >= 300
    assert len(set(numbers)) == len(numbers)
    number_results = [python_number(t) for t in numbers]
    formula_results = [python_formula(e) for e in formulas]
    assert sum(r["ok"] for r in number_results) >= 100
    assert sum(not r["ok"] for r in number_results) >= 100
    assert {r.get("kind") for r in number_results} - {None} == {k for _, k in NUMBER_KINDS}
    formula_kinds = {r.get("kind") for r in formula_results} - {None}
    assert formula_kinds == {k for _, k in FORMULA_KINDS} | {"exponent_range", "lhs"}
    # what the page does not check (the formula's degree) is not in the corpus
    assert "unchecked" not in formula_kinds
    # the limits on both sides of their boundary
    boundaries = {
        "1" * 1000: True,  # MAX_DIGITS significant digits
        "1" * 1001: False,
        " " * 2099 + "1": True,  # MAX_NUMBER_CHARS characters
        "9" * 2101: False,
        "1e80": True,  # MAX_EXPONENT
        "1e-80": True,
        "1e81": False,
        "1e-81": False,
    }
    for text, ok in boundaries.items():
        assert text in numbers and python_number(text)["ok"] is ok
    # the decimal comma in every form it may take and may not
    for text in ("0,25", "-0,125", "\u22120,125", "1,5e-3", "0,25,1", "1.0,5", ",5", "5,"):
        assert text in numbers


def _reread(text: str, entry: dict[str, Any]) -> Any:
    aliases = [tuple(a) for a in entry["aliases"]]
    return read_formula(text, entry["variables"], entry["functions"], entry["generic"], aliases)


def test_the_echo_reads_back_as_the_formula_the_grader_read() -> None:
    """The oracle for the echo: typed back into the grader, it gives the very formula the
    grader read (and the other reading's echo the other reading), it is its own echo, and
    an ambiguous '/' is echoed differently by the two readings."""
    checked = ambiguous = 0
    for entry in CORPUS["formulas"]:
        result = python_formula(entry)
        if not result["ok"]:
            continue
        text = split_lhs(entry["text"])[1] if entry["lhs"] else entry["text"]
        readings = _reread(text, entry)
        echoed = _reread(result["reading"], entry)
        assert echoed.expr == readings.expr, (entry["text"], result["reading"])
        assert python_formula({**entry, "text": result["reading"], "lhs": False}) == {
            "ok": True,
            "reading": result["reading"],
            "other": None,  # the echo has brackets wherever the grouping could be doubted
        }
        checked += 1
        if result["other"] is not None:
            ambiguous += 1
            assert readings.other is not None
            assert _reread(result["other"], entry).expr == readings.other
            assert result["other"] != result["reading"]
    assert checked > 200 and ambiguous >= 30
    # the kinds the answer rules name
    plain = {"variables": ["x", "y", "z"], "generic": [], "aliases": [], "lhs": False}
    for text, reading, other in (
        ("1/2x", "(1/2)·x", "1/(2·x)"),
        ("x/yz", "(x/y)·z", "x/(y·z)"),
        ("1/2(x+1)", "(1/2)·(x + 1)", "1/(2·(x + 1))"),
        ("1/(2x)", "1/(2·x)", None),
        ("-x^2", "-(x^2)", None),
        ("1/2(1-1)", "(1/2)·(1 - 1)", None),  # the other reading divides by zero
    ):
        entry = {**plain, "text": text, "functions": ["exp", "log", "sigma", "tanh", "sqrt"]}
        assert python_formula(entry) == {"ok": True, "reading": reading, "other": other}


def test_page_checker_agrees_with_python_on_the_corpus(chromium: Any, course: Path) -> None:  # noqa: F811
    chromium.get((course / "forms" / "s001.html").as_uri())
    numbers = CORPUS["numbers"]
    page_numbers = chromium.execute_script(
        "return arguments[0].map(t => window.answerPageGrammar.parseNumber(t));", numbers
    )
    disagree = [
        (text, python_number(text), got)
        for text, got in zip(numbers, page_numbers, strict=True)
        if python_number(text) != got
    ]
    assert disagree == []
    formulas = CORPUS["formulas"]
    tables = [
        name_table(e["variables"], e["functions"], e["generic"], [tuple(a) for a in e["aliases"]])
        for e in formulas
    ]
    page_formulas = chromium.execute_script(
        "return arguments[0].map((t, i) => "
        "window.answerPageGrammar.checkFormula(t, arguments[1][i], arguments[2][i]));",
        [e["text"] for e in formulas],
        tables,
        [e["lhs"] for e in formulas],
    )
    disagree = [
        (e["text"], python_formula(e), got)
        for e, got in zip(formulas, page_formulas, strict=True)
        if python_formula(e) != got
    ]
    assert disagree == []


# ---------------------------------------------------------------- end to end


def _fields(driver: Any) -> list[Any]:
    return driver.find_elements("css selector", "input[data-ptr]")


def _value_at(data: Any, ptr: str) -> Any:
    node = data
    for part in ptr.split("/")[1:]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _download(driver: Any, name: str) -> dict[str, Any]:
    target = Path(driver.downloads) / name
    if target.exists():
        target.unlink()
    driver.find_element("id", "download").click()
    for _ in range(100):
        if target.exists() and target.stat().st_size > 0:
            break
        time.sleep(0.05)
    text = target.read_text("utf-8")
    return json.loads(text)


def _grade(course: Path, submission: dict[str, Any], tmp: Path) -> dict[str, Any]:
    from grader.grade.batch import grade_command

    subs = tmp / "subs"
    subs.mkdir(parents=True, exist_ok=True)
    (subs / "s001.json").write_text(json.dumps(submission, ensure_ascii=False), "utf-8")
    roster = tmp / "roster.csv"
    roster.write_text("id,name\ns001,Alice Martin\n", "utf-8")
    old = os.environ.get("GRADER_SECRET")
    os.environ["GRADER_SECRET"] = SECRET
    try:
        grade_command(
            str(course.parent / "course.yaml"),
            [str(subs)],
            str(roster),
            str(tmp / "out"),
            lms=None,
            jobs=1,
        )
    finally:
        if old is None:
            del os.environ["GRADER_SECRET"]
        else:
            os.environ["GRADER_SECRET"] = old
    gradebook = list(
        csv.DictReader(io.StringIO((tmp / "out" / "gradebook.csv").read_text("utf-8")))
    )
    report = json.loads((tmp / "out" / "reports" / "s001.json").read_text("utf-8"))
    return {"row": gradebook[0], "report": report}


def test_typed_key_downloads_a_submission_that_gets_full_marks(
    chromium: Any,  # noqa: F811
    course: Path,
    tmp_path: Path,
) -> None:
    key = json.loads((course / "keys" / "s001.json").read_text("utf-8"))
    chromium.get((course / "forms" / "s001.html").as_uri())
    chromium.execute_script("localStorage.clear(); location.reload();")
    fields = _fields(chromium)
    pointers = [f.get_attribute("data-ptr") for f in fields]
    assert len(pointers) == len(list(_leaves(key["answers"]))) == len(set(pointers))
    typed: dict[str, str] = {}
    for field, ptr in zip(fields, pointers, strict=True):
        text = _value_at(key, ptr)
        value = None
        with contextlib.suppress(NumberError):
            value = parse_number(text)
        # a short terminating decimal is typed with a decimal comma and a trailing zero,
        # which must reach the file as typed
        if value is not None and value.denominator in (2, 4, 5) and len(typed) % 3 == 0:
            text = fmt_dec(value, 2).replace(".", ",") + "0"
        field.send_keys(text)  # real key events
        typed[ptr] = text
        assert "ok" in field.get_attribute("class").split(), (ptr, text)
    submission = _download(chromium, "s001.json")
    assert list(submission) == ["assignment", "student", "answers"]
    assert submission["assignment"] == key["assignment"] and submission["student"] == "s001"
    for ptr, text in typed.items():
        assert _value_at(submission, ptr) == text
    graded = _grade(course, submission, tmp_path / "right")
    assert graded["row"]["score"] == graded["row"]["max_score"] != ""
    assert {f["status"] for f in graded["report"]["fields"]} == {"correct"}

    # one wrong value: that field, and only that one, is incorrect
    wrong_ptr = "/answers/mlp/h1/0/0"
    wrong = chromium.find_element("css selector", f'input[data-ptr="{wrong_ptr}"]')
    right_value = parse_number(typed[wrong_ptr])
    wrong.clear()
    wrong.send_keys(fmt_frac(right_value + 7))
    submission = _download(chromium, "s001.json")
    graded = _grade(course, submission, tmp_path / "wrong")
    statuses = {f["pointer"]: f["status"] for f in graded["report"]["fields"]}
    assert statuses[wrong_ptr] == "incorrect"
    assert float(graded["row"]["score"]) < float(graded["row"]["max_score"])

    # a reload restores the draft
    chromium.refresh()
    restored = {f.get_attribute("data-ptr"): f.get_attribute("value") for f in _fields(chromium)}
    assert restored == {**typed, wrong_ptr: fmt_frac(right_value + 7)}

    # Load file: an empty page reads the downloaded file back, and downloads it unchanged
    path = tmp_path / "handed-in.json"
    path.write_text(json.dumps(submission), "utf-8")
    chromium.execute_script("localStorage.clear(); location.reload();")
    assert all(f.get_attribute("value") == "" for f in _fields(chromium))
    empty = _download(chromium, "s001.json")
    assert list(_leaves(empty["answers"])) == []  # every field null
    chromium.find_element("id", "load").send_keys(str(path))
    for _ in range(100):
        if _fields(chromium)[0].get_attribute("value"):
            break
        time.sleep(0.05)
    assert _download(chromium, "s001.json") == submission


def test_field_status_shows_the_rule(chromium: Any, course: Path) -> None:  # noqa: F811
    chromium.get((course / "forms" / "s001.html").as_uri())
    chromium.execute_script("localStorage.clear(); location.reload();")
    field = chromium.find_element("css selector", 'input[data-ptr="/answers/graph/values/a"]')
    field.send_keys("1,,5")
    status = field.find_element("xpath", "following-sibling::span")
    assert "bad" in field.get_attribute("class") and "decimal comma" in status.text
    field.clear()
    field.send_keys("\u22120,125")
    assert "ok" in field.get_attribute("class") and "-1/8" in field.get_attribute("title")
    formula = chromium.find_element(
        "css selector", 'input[data-ptr="/answers/graph/partials/x/formula"]'
    )
    formula.send_keys("2z + y")
    assert (
        "bad" in formula.get_attribute("class")
        and "unknown name" in formula.find_element("xpath", "following-sibling::span").text
    )
    chromium.execute_script("localStorage.clear();")


def _retype(field: Any, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.BACKSPACE)
    field.send_keys(text)  # real key events: the page reacts to each


@pytest.mark.parametrize("language", ["en", "ru"])
def test_page_echoes_the_reading_and_shows_the_given_data(
    chromium: Any,  # noqa: F811
    course: Path,
    course_ru: Path,
    language: str,
) -> None:
    build = course if language == "en" else course_ru
    words = page_module.page_words(language)
    chromium.get((build / "forms" / "s001.html").as_uri())
    chromium.execute_script("localStorage.clear(); location.reload();")
    # the given data: a visible box above each exercise's fields, in the course's language
    boxes = chromium.find_elements("css selector", ".exercise .given")
    assert len(boxes) == 3 and all(b.is_displayed() for b in boxes)
    assert all(b.text.startswith(words["given"]["title"]) for b in boxes)
    key = json.loads((build / "keys" / "s001.json").read_text("utf-8"))
    point = key["params"]["graph"]["point"]
    assert "x = {x},  y = {y}".format(**point).replace("  ", " ") in boxes[0].text
    assert given_words(language)["learning_rate"] in boxes[1].text and "γ = " in boxes[1].text
    formula = chromium.find_element(
        "css selector", 'input[data-ptr="/answers/graph/partials/x/formula"]'
    )
    reading = formula.find_element("xpath", "..").find_element("css selector", ".reading")
    assert not reading.is_displayed()  # nothing typed: no echo
    _retype(formula, "1/2x + 3y")  # the ambiguous kind: said louder, with the other reading
    assert reading.is_displayed() and "ambiguous" in reading.get_attribute("class")
    assert reading.text == words["reading_ambiguous"].format(
        reading="(1/2)·x + 3·y", other="1/(2·x) + 3·y"
    )
    _retype(formula, "x/yz")  # not in this field's vocabulary (z): an error, no echo
    assert not reading.is_displayed() and "bad" in formula.get_attribute("class")
    _retype(formula, "df/dx = 4x + 3y")
    assert reading.is_displayed() and "ambiguous" not in reading.get_attribute("class")
    assert reading.text == words["reading"].format(reading="4·x + 3·y")
    _retype(formula, "-x^2/2y")
    assert reading.text == words["reading_ambiguous"].format(
        reading="(-(x^2)/2)·y", other="-(x^2)/(2·y)"
    )
    _retype(formula, "")
    assert not reading.is_displayed()
    chromium.execute_script("localStorage.clear();")


def test_page_fields_are_the_graded_fields_with_the_grader_vocabulary(course: Path) -> None:
    """Every graded leaf has a field of its kind, and a formula field accepts exactly the
    names grading accepts there (the test may look at the solution; the page may not)."""
    from grader.course.assignment import load_assignment
    from grader.course.variants import make_variants
    from grader.grade.grading import formula_names

    assignment = load_assignment(str(course.parent / "course.yaml"))
    for sid in ("s001", "s002", "s003"):
        for v in make_variants(assignment, sid, SECRET.encode()):
            form = page_module.form_exercise(v.exercise, v.params, "en", "")
            fields = {f.pointer: f for f in page_module._all_fields(form.sections)}
            comps = {p: c for c in v.solution.computations for p in c.outputs}
            assert {p: f.kind for p, f in fields.items()} == {p: c.kind for p, c in comps.items()}
            activation = v.family.mistake_context(v.params).activation
            for ptr, comp in comps.items():
                assert fields[ptr].lhs == (comp.quantity is not None), ptr
                if comp.kind == "formula":
                    variables, generic = formula_names(v.solution.values[ptr], v)
                    functions, aliases = vocabulary(activation, generic)
                    expected = name_table(variables, functions, generic, aliases)
                    assert form.vocabularies[fields[ptr].vocabulary] == expected


def test_every_sheet_has_the_answer_rules_box(course: Path, course_ru: Path) -> None:
    for sid in ("s001", "s002", "s003"):
        tex = (course / "sheets" / f"{sid}.tex").read_text("utf-8")
        box = tex[tex.index(r"\answerrules{How to write your answers}") :]
        box = box[: box.index("\n}\n")]
        for rule in ('"1/4"', "0,25", "4x + 3y", "2*x + y", f"{{{sid}.json}}"):
            assert rule in box, rule
        assert f"forms/{sid}.html" in box and "grader validate" in box
        assert all(t in box for t in SLASH_RULE_TEX)  # the '/' convention, with its example
    ru = course_ru
    tex = (ru / "sheets" / "s002.tex").read_text("utf-8")
    assert r"\answerrules{Как записывать ответы}" in tex and "forms/s002.html" in tex
    box = tex[tex.index(r"\answerrules{Как") :].split("\n}\n")[0]
    assert all(t in box for t in SLASH_RULE_TEX)
    for build in (course, ru):
        help_text = json.loads((build / "templates" / "s002.json").read_text("utf-8"))["_help"]
        page = (build / "forms" / "s002.html").read_text("utf-8")
        rules = page[page.index('<section class="rules"') : page.index("</section>")]
        for text in (help_text, rules):
            assert "1/2x" in text and "(1/2)·x" in text and "1/(2x)" in text


# How the sheets state the convention for '/' before an implicit product
# (grader/grade/formulas.py reads 1/2x as (1/2)·x).
SLASH_RULE_TEX = (r"\texttt{1/2x}", r"$(1/2)\cdot x$", r"\texttt{1/(2x)}")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_chain_rule_labels_name_the_output_the_sheet_names(language: str) -> None:
    """An assignment may call the output node g: the sheet then asks for ∂g/∂v, and so does
    the page (it wrote ∂f/∂v whatever the output was called)."""
    from grader.course.assignment import ExerciseSpec

    nodes = [
        {"name": "a", "op": "square", "args": ["x"]},
        {"name": "b", "op": "mul", "args": ["x", "y"]},
        {"name": "g", "op": "add", "args": ["a", "b"]},
    ]
    raw = {"variables": ["x", "y"], "point": {"x": 1, "y": 2}, "nodes": nodes}
    params: Any = get_exercise("chain_rule").Params.model_validate(raw)
    spec = ExerciseSpec(id="graph", type="chain_rule", params=raw)
    form = page_module.form_exercise(spec, params, language, "")
    labels = {f.pointer: f.label for f in page_module._all_fields(form.sections)}
    assert labels["/answers/graph/adjoints/a"] == "∂g/∂a"
    assert labels["/answers/graph/adjoints/g"] == "∂g/∂g"
    assert labels["/answers/graph/partials/y/value"].startswith("∂g/∂y: ")
    assert "∂g/∂" in form.sections[1].title
    assert not [t for t in [*labels.values(), form.sections[1].title] if "∂f" in t]


def test_a_family_without_a_page_layout_keeps_each_fields_kind_and_place() -> None:
    """The generic layout takes a field's kind from its computation (it made every field a
    number field, so a new family's formula was refused as "not a number") and names the
    cells of a matrix by row and column."""
    from grader.exercises.base import Computation

    def nothing(*_: Any) -> list[Any]:
        return []

    matrix = tuple(f"/answers/e/W/{i}/{j}" for i in range(2) for j in range(2))
    comps = [
        Computation("ŷ(x)", ("/answers/e/f",), (), nothing, kind="formula", quantity=("output",)),
        Computation("W new", matrix, ("/answers/e/f",), nothing),
    ]
    labels = page_module._field_labels(comps, get_exercise("sgd_chain"), "en")
    layout = {"f": None, "W": [[None, None], [None, None]], "extra": None}
    section = page_module._generic_section("T", layout, "/answers/e", labels)
    assert [(f.label, f.kind, f.vocabulary, f.lhs) for f in section.fields] == [
        ("ŷ(x)", "formula", "v", True),
        ("extra", "number", "", False),  # no computation names it: its pointer
    ]
    (grid,) = section.grids
    assert (grid.title, grid.columns) == ("W new", ["1,1", "1,2", "2,1", "2,2"])
    assert [f.label for _, row in grid.rows for f in row][1] == "W new [1,2]"
