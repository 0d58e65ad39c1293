"""The LaTeX sandbox, from both sides.

1. Escaping: an assignment whose title, course, due date and exercise titles, and a roster
   whose names, are TeX attacks (``\\input{/etc/hostname}``, ``\\write18``, ``\\openout``,
   ``\\catcode``, ``^^5c``, ``\\def\\x{\\x}\\x``, ``\\loop\\iftrue\\repeat``, ``\\csname``, a
   name at the length limit made of attacks) compiles to PDFs that show the text as written
   and read and write nothing outside the build; a 1 MB string is a clear error.
2. The sandbox itself: malicious .tex handed straight to :mod:`grader.make.pdf` (no escaping)
   cannot read /etc/passwd or /etc/hostname, cannot write outside its directory, cannot
   run a command, and a TeX that never stops is killed at the time limit with a clear
   error.  A control run without the sandbox's settings shows the same document *does*
   read the file, so the test would notice a sandbox that stopped working.

One generate with PDFs (two TeX jobs) and a handful of one-line documents: TeX runs stay few.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from grader.cli import main
from grader.make import pdf
from tests.conftest import under_ci

ASSIGNMENT = """\
id: sandbox-hw
title: {title}
course: {course}
due: {due}
exercises:
  - id: sgd
    type: sgd_chain
    title: {sgd_title}
    params:
      data: [[5, 0], [1, 1]]
      order: [2, 1]
      learning_rate: 5
      depth: 3
      init: zeros
      activation: sigmoid
      loss: mse
      rounding: {{mode: transcendental, decimals: 4}}
  - id: graph
    type: chain_rule
    title: {graph_title}
    params:
      nodes:
        - {{name: a, op: square, args: [x]}}
        - {{name: b, op: mul, args: [x, y]}}
        - {{name: c, op: add, args: [x, y]}}
        - {{name: d, op: add, args: [a, b]}}
        - {{name: e, op: square, args: [c]}}
        - {{name: f, op: add, args: [d, e]}}
      point: {{x: 1, y: 2}}
"""
HOSTNAME_FILE = Path("/etc/hostname")


def yaml_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def secrets_on_this_machine() -> list[str]:
    """Texts that must never reach a PDF: the host's name and a line of /etc/passwd."""
    found = ["root:x:0:0"]
    if HOSTNAME_FILE.is_file() and len(HOSTNAME_FILE.read_text().strip()) >= 4:
        found.append(HOSTNAME_FILE.read_text().strip())
    if len(socket.gethostname()) >= 4:
        found.append(socket.gethostname())
    return found


def pdf_text(path: Path) -> str:
    """The text in the order TeX wrote it (``-raw``): a long title that runs beside the
    student box is not interleaved with it."""
    return subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
        timeout=120,
    ).stdout


def squeeze(text: str) -> str:
    """Compared without whitespace and hyphens (a line may break at one, or gain one), and
    with TeX's typographic quotes (a ` prints as ‘) made plain."""
    return "".join(text.replace("‘", "`").replace("’", "'").replace("-", "").split())


# ------------------------------------------------------------------ 1. escaping


@dataclass
class Hostile:
    root: Path
    out: Path
    markers: list[Path]
    texts: dict[str, str]  # what each hostile field says
    names: list[str]
    result: object


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    if not pdf.find_engine():
        if under_ci():
            pytest.fail("TeX is not installed, and under CI=true TeX tests must run")
        pytest.skip("TeX (pdflatex) is not installed")
    root = tmp_path_factory.mktemp("sandbox")
    tag = uuid.uuid4().hex[:12]
    markers = [Path(f"/tmp/pwned-{tag}-{i}") for i in range(8)] + [root / f"pwned-{tag}.tex"]
    texts = {
        "title": rf"\input{{/etc/hostname}}\immediate\write18{{touch {markers[0]}}}^^5cinput{{/etc/passwd}}",
        "course": rf"\immediate\openout5={markers[1]} \catcode`\{{=12 \def\x{{\x}}\x",
        "due": r"\csname input\endcsname{/etc/hostname} \loop\iftrue\repeat %",
        "sgd_title": r"}\end{document}\input{/etc/passwd}",
        # spaces: a long word in a heading runs off the page (titles get no break points)
        "graph_title": rf"\newwrite\w \immediate\openout\w=../{markers[8].name} \immediate\write\w{{x}}",
    }
    names = [
        r"\input{/etc/hostname}",
        rf"\immediate\write18{{touch {markers[2]}}}",
        r"\catcode`\^^5c=0 ^^5cinput{/etc/passwd}",
        rf"\immediate\openout1={markers[3]}",
        r"\def\x{\x}\x",
        r"\loop\iftrue\repeat",
        rf"\input{{|touch {markers[4]}}}",
        "\\write18{touch " + str(markers[5]) + "}",
        ("\\input{/etc/passwd}" * 20)[:200],  # a name at the 200-character limit
        "^^5c^^5cinput{/etc/hostname} ^^M^^J\\end{document}",
        r"\makeatletter\@@input /etc/hostname \makeatother",
        r"\special{pdf: /etc/passwd}\pdfobj file {/etc/passwd}",
    ]
    fields = {k: yaml_string(v) for k, v in texts.items()}
    (root / "hw.yaml").write_text(ASSIGNMENT.format(**fields), encoding="utf-8")
    with (root / "roster.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name"])
        writer.writerows((f"s{i + 1:02d}", name) for i, name in enumerate(names))
    out = root / "build"
    old = Path.cwd()
    os.chdir(root)  # relative attacks would land here
    try:
        result = CliRunner().invoke(
            main,
            ["generate", "hw.yaml", "--roster", "roster.csv", "--out", str(out)],
            catch_exceptions=False,
        )
    finally:
        os.chdir(old)
    return Hostile(root, out, markers, texts, names, result)


def test_hostile_build_compiles(require_tex, hostile: Hostile) -> None:
    assert hostile.result.exit_code == 0, hostile.result.output
    for i in range(1, len(hostile.names) + 1):
        for folder in ("sheets", "keys"):
            assert (hostile.out / folder / f"s{i:02d}.pdf").read_bytes().startswith(b"%PDF")


def test_nothing_is_read_from_outside(require_tex, hostile: Hostile) -> None:
    for document in ("sheets/all.pdf", "keys/all.pdf"):
        text = pdf_text(hostile.out / document)
        for secret in secrets_on_this_machine():
            assert secret not in text, (document, secret)
        reader = PdfReader(hostile.out / document)
        meta = " ".join(str(v) for v in (reader.metadata or {}).values())
        assert not any(secret in meta for secret in secrets_on_this_machine())


def test_nothing_is_written_or_run(require_tex, hostile: Hostile) -> None:
    for marker in hostile.markers:
        assert not marker.exists(), marker
    beside = sorted(p.name for p in hostile.root.iterdir())
    assert beside == ["build", "hw.yaml", "roster.csv"]


def test_the_text_is_shown_as_written(require_tex, hostile: Hostile) -> None:
    sheet = squeeze(pdf_text(hostile.out / "sheets" / "s01.pdf"))
    key = squeeze(pdf_text(hostile.out / "keys" / "s01.pdf"))
    for field in ("title", "course", "due", "sgd_title", "graph_title"):
        assert squeeze(hostile.texts[field]) in sheet, field
        assert squeeze(hostile.texts[field]) in key, field
    for i, name in enumerate(hostile.names, start=1):
        assert squeeze(name) in squeeze(pdf_text(hostile.out / "sheets" / f"s{i:02d}.pdf")), name
    title = PdfReader(hostile.out / "sheets" / "all.pdf").metadata.title
    assert title == hostile.texts["title"]
    tex = (hostile.out / "sheets" / "s01.tex").read_text(encoding="utf-8")
    assert r"\textbackslash{}input\{/etc/hostname\}" in tex
    assert "\\input{" not in tex.replace("\\textbackslash{}input", "")


@pytest.mark.parametrize(
    ("where", "content", "message"),
    [
        (
            "roster",
            "x" * 1_000_000,
            "line 2: cannot read this row: field larger than field limit (131072)",
        ),
        ("roster", "x" * 100_000, "line 2: student name is longer than 200 characters"),
        ("title", "t" * 900_000, "2: /title: String should have at most 200 characters"),
        ("title", "t" * 1_000_000, "assignment file is larger than 1000000 bytes"),
    ],
)
def test_a_megabyte_string_is_a_clear_error(
    tmp_path: Path, where: str, content: str, message: str
) -> None:
    texts = {"title": "Sandbox", "course": "c", "due": "d", "sgd_title": "s", "graph_title": "g"}
    if where == "title":
        texts["title"] = content
    (tmp_path / "hw.yaml").write_text(
        ASSIGNMENT.format(**{k: yaml_string(v) for k, v in texts.items()})
    )
    name = content if where == "roster" else "Ann"
    (tmp_path / "roster.csv").write_text(f"id,name\ns01,{name}\n")
    result = CliRunner().invoke(
        main,
        [
            "generate",
            str(tmp_path / "hw.yaml"),
            "--roster",
            str(tmp_path / "roster.csv"),
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert result.exit_code == 2
    file = tmp_path / ("roster.csv" if where == "roster" else "hw.yaml")
    separator = ":" if message[0].isdigit() or message.startswith("line ") else ": "
    assert result.stderr.splitlines() == [f"error: {file}{separator}{message}"]
    assert not (tmp_path / "b").exists()


# ------------------------------------------------------------------ 2. the sandbox itself

DOC = "\\documentclass{{article}}\\begin{{document}}\n{body}\n\\end{{document}}\n"


def _compile(name: str, body: str, root: Path) -> bytes | pdf.TexFailure:
    engine = pdf.find_engine()
    assert engine is not None
    try:
        return pdf.compile_one(
            pdf.TexJob(name, DOC.format(body=body), ["s01"]), root / f"tex-{name}", engine
        ).read_bytes()
    except pdf.TexFailure as exc:
        return exc


@pytest.fixture(scope="module")
def direct(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[Path], dict[str, bytes | pdf.TexFailure]]:
    """Malicious documents, all compiled at once (two at a time), the loops with a 3 s limit."""
    if not pdf.find_engine():
        if under_ci():
            pytest.fail("TeX is not installed, and under CI=true TeX tests must run")
        pytest.skip("TeX (pdflatex) is not installed")
    root = tmp_path_factory.mktemp("direct")
    tag = uuid.uuid4().hex[:12]
    m = [Path(f"/tmp/pwned-direct-{tag}-{i}") for i in range(4)]
    docs = {
        "probe": (
            "\\IfFileExists{/etc/passwd}{PASSWD-FOUND}{PASSWD-REFUSED} "
            "\\openin1=/etc/hostname \\ifeof1 HOSTNAME-REFUSED\\else HOSTNAME-OPENED\\fi "
            f"\\immediate\\write18{{touch {m[0]}}} SHELL-TRIED"
        ),
        "input-passwd": "\\input{/etc/passwd}",
        "hat-hat-input": "^^5cinput{/etc/hostname}",
        "pipe-input": f'\\input{{|"touch {m[1]}"}}',
        "openout-absolute": f"\\newwrite\\f\\immediate\\openout\\f={m[2]}\\immediate\\write\\f{{x}}\\immediate\\closeout\\f",
        "openout-parent": "\\newwrite\\f\\immediate\\openout\\f=../escaped.tex\\immediate\\write\\f{x}\\immediate\\closeout\\f",
        "openout-dotfile": "\\newwrite\\f\\immediate\\openout\\f=.bashrc\\immediate\\write\\f{x}\\immediate\\closeout\\f",
        "memory-bomb": "\\def\\x{\\x\\x}\\x",
        "loop": "\\loop\\iftrue\\repeat",
        "tail-recursion": "\\def\\x{\\x}\\x",
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pdf, "timeout_for", lambda students: 3.0)
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(_compile, name, body, root) for name, body in docs.items()}
            results = {name: f.result() for name, f in futures.items()}
    return root, m, results


def test_reading_is_refused(require_tex, direct) -> None:
    root, _, results = direct
    probe = results["probe"]
    assert isinstance(probe, bytes), probe
    (root / "probe.pdf").write_bytes(probe)
    text = pdf_text(root / "probe.pdf")
    assert "PASSWD-REFUSED" in text and "HOSTNAME-REFUSED" in text
    assert "FOUND" not in text.replace("REFUSED", "") and "OPENED" not in text
    for secret in secrets_on_this_machine():
        assert secret not in text


def test_without_the_sandbox_the_probe_does_read(require_tex, tmp_path: Path) -> None:
    """The control: TeX's usual settings let the same document read the files."""
    body = (
        "\\IfFileExists{/etc/passwd}{PASSWD-FOUND}{PASSWD-REFUSED} "
        "\\openin1=/etc/hostname \\ifeof1 HOSTNAME-REFUSED\\else HOSTNAME-OPENED\\fi"
    )
    (tmp_path / "probe.tex").write_text(DOC.format(body=body))
    env = dict(pdf.tex_environment(), openin_any="a")
    subprocess.run(
        [
            pdf.find_engine() or "pdflatex",
            "-interaction=nonstopmode",
            "-no-shell-escape",
            "probe.tex",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    text = pdf_text(tmp_path / "probe.pdf")
    assert "PASSWD-FOUND" in text
    assert "HOSTNAME-OPENED" in text or not HOSTNAME_FILE.is_file()


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("input-passwd", "LaTeX Error: File `/etc/passwd.tex' not found."),
        ("hat-hat-input", "LaTeX Error: File `/etc/hostname.tex' not found."),
        ("pipe-input", "not found."),
        ("openout-absolute", "I can't write on file `/tmp/pwned-direct-"),
        ("openout-parent", "I can't write on file `../escaped.tex'."),
        ("openout-dotfile", "I can't write on file `.bashrc'."),
        ("memory-bomb", "TeX capacity exceeded, sorry"),
        ("loop", "TeX took longer than 3 s on the loop and was stopped"),
        ("tail-recursion", "TeX took longer than 3 s on the tail-recursion and was stopped"),
    ],
)
def test_an_attack_is_a_clear_failure(require_tex, direct, name: str, fragment: str) -> None:
    root, markers, results = direct
    failure = results[name]
    assert isinstance(failure, pdf.TexFailure), name
    line = failure.line()
    assert line.startswith(f"TeX {'failed' if 'longer' not in fragment else 'took'}"), line
    assert fragment in line, line
    assert "\n" not in line and "apt-get" not in line  # no package is missing here
    assert not any(secret in failure.log for secret in secrets_on_this_machine())


def test_no_attack_wrote_or_ran_anything(require_tex, direct) -> None:
    root, markers, results = direct
    for marker in markers:
        assert not marker.exists() and not marker.with_name(marker.name + ".tex").exists(), marker
    assert not (root / "escaped.tex").exists()
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith("tex-")) in (
        [],
        ["probe.pdf"],
    )
    for workdir in root.glob("tex-*"):
        assert not (workdir / ".bashrc").exists()
