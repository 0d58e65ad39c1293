"""Secrets and integrity.

* variants come from HMAC-SHA256(secret, assignment, exercise, student): knowing the
  assignment, the ids and this tool does not reproduce a variant without the secret, other
  secrets give other variants, and the built-in demo secret is never used by generate,
  grade, check or solve;
* ``grader check`` catches a single changed value anywhere in a build: one byte of every
  kind of file (key and template JSON, sheet and key .tex, schema.json, the manifest, the
  PDFs), and one JSON leaf in every part of the JSON files;
* a submission claiming another student's variant (their params, their key's answers) is
  graded against the roster's own variant for its student.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import hmac
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

import grader.course.variants as variants_module
from grader.cli import main
from grader.core.errors import UserError
from grader.course.assignment import load_assignment
from grader.course.keys import key_json
from grader.course.variants import DEMO_SECRET, make_variants, seed_bytes
from grader.grade.batch import grade_command
from grader.make.build import generate_command
from grader.make.check import check_command
from grader.make.manifest import secret_fingerprint
from tests.conftest import under_ci

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "grader" / "samples" / "course.yaml"
SECRET = "integrity-" + hashlib.sha256(b"a course secret for the integrity tests").hexdigest()[:24]
IDS = ["s01", "s02"]


def params_of(secret: bytes | None, student: str) -> list[Any]:
    spec = load_assignment(COURSE)
    return [v.params.model_dump(mode="json") for v in make_variants(spec, student, secret)]


# ------------------------------------------------------------------ the seed


def test_the_seed_is_hmac_sha256_of_the_ids() -> None:
    """Computed here independently: HMAC-SHA256(secret, "assignment\\0exercise\\0student")."""
    for secret, a, e, s in [
        (b"k", "hw1", "sgd", "s01"),
        (b"\x00" * 64, "a", "b", "c"),
        (SECRET.encode(), "backprop-hw1", "mlp", "s.9_x-Y"),
    ]:
        message = f"{a}\x00{e}\x00{s}".encode()
        assert seed_bytes(secret, a, e, s) == hmac.new(secret, message, hashlib.sha256).digest()
    # the separator keeps the fields apart: ("ab", "c") and ("a", "bc") never collide
    assert seed_bytes(b"k", "hw", "ab", "c") != seed_bytes(b"k", "hw", "a", "bc")
    assert seed_bytes(b"k", "hw", "e", "s1") != seed_bytes(b"k", "hw", "e", "s2")
    assert seed_bytes(b"k", "hw", "e", "s") != seed_bytes(b"k2", "hw", "e", "s")


def test_without_the_secret_no_guess_reproduces_a_variant() -> None:
    """What a student knows (the assignment file, every id, this tool) plus the guesses
    anyone would try, and the demo secret: none of them gives the real numbers."""
    spec = load_assignment(COURSE)
    real = params_of(SECRET.encode(), "s01")
    guesses = [
        b"", b"0", b"secret", b"GRADER_SECRET", DEMO_SECRET, spec.id.encode(), spec.title.encode(),
        (spec.course or "").encode(), b"s01", COURSE.read_bytes(), hashlib.sha256(COURSE.read_bytes()).digest(),
        SECRET[:-1].encode(), (SECRET + " ").encode(), SECRET.upper().encode(), b"\x00" * 32,
    ]  # fmt: skip
    for guess in guesses:
        guessed = params_of(guess, "s01")
        assert all(g != r for g, r in zip(guessed, real, strict=True)), guess[:40]


def test_other_secrets_give_other_variants() -> None:
    students = [f"s{i:02d}" for i in range(1, 13)]
    a = {sid: params_of(b"secret-one", sid) for sid in students}
    b = {sid: params_of(b"secret-two", sid) for sid in students}
    for exercise in range(3):
        differ = sum(a[sid][exercise] != b[sid][exercise] for sid in students)
        assert differ >= len(students) - 1, exercise
        distinct = {json.dumps(a[sid][exercise], sort_keys=True) for sid in students}
        assert len(distinct) >= len(students) - 1  # and students differ from each other


def test_no_secret_means_no_variant() -> None:
    spec = load_assignment(COURSE)
    with pytest.raises(ValidationError):  # a randomized exercise cannot be made without it
        make_variants(spec, "s01", None)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("GRADER_SECRET", raising=False)
        for args in (
            ["solve", str(COURSE), "--student", "s01"],
            [
                "generate",
                str(COURSE),
                "--roster",
                str(ROOT / "grader/samples/roster.csv"),
                "--out",
                "/nonexistent/x",
                "--no-pdf",
            ],
            [
                "grade",
                str(COURSE),
                str(ROOT / "grader/samples/submissions"),
                "--roster",
                str(ROOT / "grader/samples/roster.csv"),
                "--out",
                "/nonexistent/y",
            ],
        ):
            result = CliRunner().invoke(main, args, env={"GRADER_SECRET": None})
            assert result.exit_code == 2, result.output
            assert "GRADER_SECRET is not set" in result.stderr


def test_the_demo_secret_is_used_only_by_the_demo() -> None:
    """In the source: DEMO_SECRET and ``read_secret(..., demo=True)`` appear nowhere but in
    grader/demo.py (and where the secret is defined)."""
    offenders = []
    for path in sorted([*(ROOT / "grader").glob("*.py"), *(ROOT / "exercises").glob("*.py")]):
        if path.name in ("demo.py", "variants.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == "DEMO_SECRET":
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.alias) and node.name == "DEMO_SECRET":
                offenders.append(f"{path.name}:import")
            if isinstance(node, ast.keyword) and node.arg == "demo":
                offenders.append(f"{path.name}:{node.value.lineno} demo=")
    assert offenders == []


def test_generate_grade_check_and_solve_never_use_the_demo_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[bytes] = []
    real = variants_module.seed_bytes

    def spy(secret: bytes, *ids: str) -> bytes:
        used.append(secret)
        return real(secret, *ids)

    monkeypatch.setattr(variants_module, "seed_bytes", spy)
    monkeypatch.setenv("GRADER_SECRET", SECRET)
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns01,A\ns02,B\n")
    build = tmp_path / "build"
    assert generate_command(str(COURSE), str(roster), str(build), pdf=False, jobs=1) == 0
    with contextlib.redirect_stdout(io.StringIO()):
        assert check_command(str(COURSE), str(build)) == 0
        assert (
            grade_command(
                str(COURSE),
                [str(build / "keys")],
                str(roster),
                str(tmp_path / "out"),
                lms=None,
                jobs=1,
            )
            == 0
        )
    result = CliRunner().invoke(
        main, ["solve", str(COURSE), "--student", "s01", "--format", "json"]
    )
    assert result.exit_code == 0
    assert used and set(used) == {SECRET.encode()}
    manifest = json.loads((build / "manifest.json").read_text())
    aid = manifest["assignment"]["id"]
    assert manifest["secret_fingerprint"] == secret_fingerprint(SECRET.encode(), aid)
    assert manifest["secret_fingerprint"] != secret_fingerprint(DEMO_SECRET, aid)
    assert SECRET not in (build / "manifest.json").read_text()  # the fingerprint reveals nothing


# ------------------------------------------------------------------ grader check


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build with PDFs (two TeX runs), for every tampering below."""
    from grader.make.pdf import find_engine

    if find_engine() is None:
        if under_ci():
            pytest.fail("TeX is not installed, and under CI=true TeX tests must run")
        pytest.skip("TeX (pdflatex) is not installed")
    tmp = tmp_path_factory.mktemp("integrity")
    roster = tmp / "roster.csv"
    roster.write_text(
        "id,name\n" + "".join(f"{sid},Student {sid} Иванов\n" for sid in IDS), encoding="utf-8"
    )
    out = tmp / "build"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_SECRET", SECRET)
        assert generate_command(str(COURSE), str(roster), str(out), pdf=True, jobs=1) == 0
    return out


@pytest.fixture
def build(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "build"
    shutil.copytree(pristine, copy)
    return copy


def run_check(build: Path) -> tuple[int, str]:
    """``grader check`` in process: (exit code, everything it said)."""
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        mp.setenv("GRADER_SECRET", SECRET)
        try:
            code = check_command(str(COURSE), str(build))
        except UserError as exc:
            return exc.exit_code, exc.line()
    return code, out.getvalue()


def test_the_pristine_build_agrees(require_tex, build: Path) -> None:
    code, said = run_check(build)
    assert code == 0, said
    assert f"all {len(IDS)} keys agree" in said
    assert any(build.rglob("*.pdf"))


FILES = [
    ("keys/s02.json", "student s02: keys/s02.json"),
    ("templates/s02.json", "student s02: templates/s02.json"),
    ("sheets/s02.tex", "student s02: sheets/s02.tex"),
    ("keys/s02.tex", "student s02: keys/s02.tex"),
    ("schema.json", "schema.json"),
    ("manifest.json", ""),
    ("sheets/s02.pdf", "student s02: sheets/s02.pdf does not match its sha256 in manifest.json"),
    ("keys/s01.pdf", "student s01: keys/s01.pdf does not match its sha256 in manifest.json"),
    ("sheets/all.pdf", "sheets/all.pdf does not match its sha256 in manifest.json"),
    ("keys/all.pdf", "keys/all.pdf does not match its sha256 in manifest.json"),
]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize(("rel", "named"), FILES, ids=[f[0] for f in FILES])
def test_one_changed_byte_anywhere_is_caught(
    require_tex, build: Path, rel: str, named: str, where: str
) -> None:
    path = build / rel
    data = bytearray(path.read_bytes())
    i = {"first": 0, "middle": len(data) // 2, "last": len(data) - 1}[where]
    data[i] ^= 0x01  # one bit of one byte
    path.write_bytes(bytes(data))
    code, said = run_check(build)
    assert code in (1, 2), said  # 2: a manifest that no longer reads as one
    assert named in said, said


def _leaves(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*at, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*at, i))]
    return [at]


def _changed(value: Any) -> Any:
    """Another value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "0"
    text = str(value)
    if text and text[-1].isdigit():
        return text[:-1] + str((int(text[-1]) + 1) % 10)
    return text[:-1] + ("b" if text[-1:] != "b" else "c") if text else "x"


JSON_FILES = ["keys/s02.json", "templates/s02.json", "schema.json", "manifest.json"]
SAMPLES_PER_FILE = 12


def _sampled_leaves(pristine: Path, rel: str) -> list[tuple[Any, ...]]:
    """Leaves spread evenly over the whole file (every part of it), at most a dozen."""
    leaves = _leaves(json.loads((pristine / rel).read_text(encoding="utf-8")))
    step = max(1, len(leaves) // SAMPLES_PER_FILE)
    return leaves[::step][:SAMPLES_PER_FILE]


def _leaf_cases() -> list[Any]:
    return [
        pytest.param(rel, k, id=f"{rel}-{k}") for rel in JSON_FILES for k in range(SAMPLES_PER_FILE)
    ]


@pytest.mark.parametrize(("rel", "k"), _leaf_cases())
def test_one_changed_json_leaf_anywhere_is_caught(
    require_tex, pristine: Path, build: Path, rel: str, k: int
) -> None:
    leaves = _sampled_leaves(pristine, rel)
    if k >= len(leaves):
        pytest.skip("a small file: fewer leaves than samples")
    where = leaves[k]
    path = build / rel
    data = json.loads(path.read_text(encoding="utf-8"))
    node = data
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = _changed(node[where[-1]])
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    code, said = run_check(build)
    if where == ("version",):  # another tool version made it: said, not an error
        assert code == 0 and "note: the build was made by version" in said
        return
    assert code in (1, 2), (where, said)
    if rel != "manifest.json":
        assert rel in said, said


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda m: m.update(pdf=False), "manifest.json says the build has no PDFs but lists"),
        (
            lambda m: m.update(secret_fingerprint=None),
            "manifest.json records no secret fingerprint",
        ),
        (
            lambda m: m["students"].pop(),
            "manifest.json lists keys/s02.json, which belongs to no student of the build",
        ),
        (
            lambda m: m["students"].append({"id": "s03", "name": "Eve"}),
            "student s03: keys/s03.json is missing",
        ),
        (
            lambda m: m["files"].pop("keys/s01.pdf"),
            "extra file keys/s01.pdf (not in manifest.json)",
        ),
        (
            lambda m: m["files"].update({"keys/s01.pdf": "0" * 64}),
            "student s01: keys/s01.pdf does not match its sha256",
        ),
        (
            lambda m: m["assignment"].update(sha256="0" * 64),
            "the assignment file changed since the build was generated",
        ),
        (
            lambda m: m["assignment"].update(id="other-hw"),
            "this build is for assignment 'other-hw'",
        ),
        (lambda m: m.update(tool="other-tool"), "not a manifest written by 'grader generate'"),
    ],
    ids=[
        "pdf-flag",
        "no-fingerprint",
        "student-dropped",
        "student-added",
        "file-unlisted",
        "digest",
        "assignment-sha",
        "assignment-id",
        "tool",
    ],
)
def test_manifest_tampering_is_named(require_tex, build: Path, change: Any, named: str) -> None:
    path = build / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    code, said = run_check(build)
    assert code in (1, 2) and named in said, said


def test_a_dropped_student_with_a_forged_key_is_caught(require_tex, build: Path) -> None:
    """The two changes a forger needs: drop the student from the manifest's list (so their
    key is not regenerated) and record the forged key's hash."""
    key_path = build / "keys" / "s02.json"
    key = json.loads(key_path.read_text(encoding="utf-8"))
    key["answers"]["sgd"]["steps"][0]["deltas"][2] = "1/2"
    key_path.write_text(json.dumps(key, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    path = build / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["students"] = [s for s in manifest["students"] if s["id"] != "s02"]
    manifest["files"]["keys/s02.json"] = hashlib.sha256(key_path.read_bytes()).hexdigest()
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    code, said = run_check(build)
    assert code == 1 and "keys/s02.json" in said, said


# ------------------------------------------------------------------ claimed variants


def test_a_submission_claiming_another_variant_is_graded_against_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRADER_SECRET", SECRET)
    spec = load_assignment(COURSE)
    mine = key_json(spec, "s02", make_variants(spec, "s02", SECRET.encode()))
    theirs = key_json(spec, "s01", make_variants(spec, "s01", SECRET.encode()))
    assert mine["params"] != theirs["params"]
    subs = tmp_path / "subs"
    subs.mkdir()
    # s02 hands in s01's variant: its params and its (perfect) answers
    (subs / "s02.json").write_text(json.dumps(dict(theirs, student="s02")))
    # s03 claims params of an easier instance, with answers computed for them
    fixed = load_assignment(ROOT / "grader" / "samples" / "canonical.yaml")
    canonical = key_json(fixed, "s03", make_variants(fixed, "s03", None))
    (subs / "s03.json").write_text(
        json.dumps(
            {
                "assignment": spec.id,
                "student": "s03",
                "params": canonical["params"],
                "answers": canonical["answers"],
            }
        )
    )
    (subs / "s01.json").write_text(json.dumps(theirs))  # the control: s01's own key
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns01,A\ns02,B\ns03,C\n")
    out = tmp_path / "out"
    with contextlib.redirect_stdout(io.StringIO()):
        assert grade_command(str(COURSE), [str(subs)], str(roster), str(out), lms=None, jobs=1) == 0
    reports = {
        sid: json.loads((out / "reports" / f"{sid}.json").read_text())
        for sid in ("s01", "s02", "s03")
    }
    assert reports["s01"]["score"] == reports["s01"]["max_score"] == 24
    # Not full marks.  (About half: with zero initial weights the first SGD step is the same
    # for any data, and error carried forward credits the copied key's consistency.)
    assert reports["s02"]["score"] < 24 and reports["s03"]["score"] < 24
    status = {f["pointer"]: f["status"] for f in reports["s02"]["fields"]}
    assert status["/answers/mlp/h1/0/0"] == "incorrect"  # X·W₁ with the roster's own X and W₁
    # every expected value in s02's report is s02's own key, whatever the file claimed
    for field in reports["s02"]["fields"]:
        node: Any = mine
        for part in field["pointer"].split("/")[1:]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert field["expected"] == node, field["pointer"]
