"""``grader check``: is a build exactly what the assignment and the secret produce, and are
its keys right by a second, independent computation?

For every student in the manifest: re-derive the variants from the secret, regenerate
every text file in memory (the same code ``generate`` ran) and compare it byte for byte
with the file on disk; compare every file (PDFs too) with its sha256 in the manifest;
and recompute each key on disk with the exercise's independent method (float64 or
sympy, sharing no code with the exact engine).  One line per mismatch; exit 1 if any.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from grader.core.errors import UserError
from grader.course.assignment import Assignment, Student, load_assignment
from grader.course.variants import (
    Variant,
    make_variants,
    needs_secret,
    read_secret,
    search_version,
)
from grader.exercises import get_exercise
from grader.exercises.base import pointer
from grader.make.build import progress_bar, shared_files, student_files
from grader.make.documents import student_doc
from grader.make.manifest import (
    assignment_digest,
    fingerprint_matches,
    manifest_students,
    read_manifest,
    sha256,
    tool_version,
)

MAX_DIFFS_PER_FILE = 10
_BUILD_PATH_RE = re.compile(
    r"^(?:schema\.json|(?:sheets|keys|templates|forms)/[A-Za-z0-9][A-Za-z0-9_.-]{0,80})$"
)
_STUDENT_FOLDERS = ("sheets", "keys", "templates", "forms")  # the tool's own: extras are errors


def _search_version_problems(
    assignment: Assignment, students: Sequence[Student], secret: bytes | None, built: int
) -> list[str]:
    """``grade`` draws by the assignment's variant search: a build made by another one is
    a problem only when that gives some student other variants than their sheet's."""
    asked = search_version(assignment)
    if asked == built:
        return []
    for student in students:
        made = make_variants(assignment, student.id, secret, formulas=False, version=built)
        now = make_variants(assignment, student.id, secret, formulas=False, version=asked)
        if any(a.params != b.params for a, b in zip(made, now, strict=True)):
            return [
                f"this build was made with variant search {built}, but the assignment file "
                f"draws by {asked}: grading would use other variants than {student.id}'s sheet "
                f"(and maybe others'); add 'variant_search: {built}' to the assignment file"
            ]
    return []


def json_differences(disk: Any, expected: Any, at: str = "") -> list[str]:
    """Every place where two JSON values differ, as ``pointer: disk vs expected``."""
    if isinstance(disk, dict) and isinstance(expected, dict):
        out = []
        for key in list(expected) + [k for k in disk if k not in expected]:
            where = at + pointer(key)
            if key not in disk:
                out.append(f"{where}: missing (expected {_short(expected[key])})")
            elif key not in expected:
                out.append(f"{where}: unexpected {_short(disk[key])}")
            else:
                out += json_differences(disk[key], expected[key], where)
        return out
    if isinstance(disk, list) and isinstance(expected, list) and len(disk) == len(expected):
        out = []
        for i, (a, b) in enumerate(zip(disk, expected, strict=True)):
            out += json_differences(a, b, at + pointer(i))
        return out
    if disk == expected and type(disk) is type(expected):
        return []
    return [f"{at or '/'}: file has {_short(disk)}, regenerated {_short(expected)}"]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def text_difference(disk: bytes, expected: bytes) -> str:
    """Where a text file departs from its regeneration: the first differing line."""
    a = disk.decode("utf-8", errors="replace").splitlines()
    b = expected.decode("utf-8", errors="replace").splitlines()
    for number, (x, y) in enumerate(zip(a, b, strict=False), start=1):
        if x != y:
            return f"line {number} differs: file has {x[:60]!r}, regenerated {y[:60]!r}"
    return f"file has {len(a)} lines, regenerated {len(b)}"


def _compare(sid: str, rel: str, disk: bytes, expected: bytes) -> list[str]:
    if disk == expected:
        return []
    prefix = f"student {sid}: {rel}" if sid else rel
    if rel.endswith(".json"):
        try:
            diffs = json_differences(json.loads(disk), json.loads(expected))
        except ValueError:
            return [f"{prefix}: not valid JSON"]
        if not diffs:  # same data, other bytes (formatting)
            return [f"{prefix}: same data but not the bytes generate writes"]
        shown = [f"{prefix} {d}" for d in diffs[:MAX_DIFFS_PER_FILE]]
        if len(diffs) > MAX_DIFFS_PER_FILE:
            shown.append(f"{prefix}: … and {len(diffs) - MAX_DIFFS_PER_FILE} more differences")
        return shown
    return [f"{prefix}: {text_difference(disk, expected)}"]


def independent_problems(sid: str, variants: list[Variant], key_bytes: bytes | None) -> list[str]:
    """The key on disk recomputed by each exercise's independent method."""
    if key_bytes is None:
        return []
    try:
        answers = json.loads(key_bytes).get("answers", {})
    except (ValueError, AttributeError):
        return []  # already reported as a mismatch
    out = []
    for v in variants:
        exercise = get_exercise(v.exercise.type)
        mine = answers.get(v.exercise.id) if isinstance(answers, dict) else None
        if mine is None:
            out.append(f"student {sid}: keys/{sid}.json /answers/{v.exercise.id}: missing")
            continue
        try:
            problems = exercise.check_independently(v.params, mine)
        except Exception as exc:  # noqa: BLE001 - a key on disk may be any JSON at all
            problems = [
                f"could not be recomputed: the layout is not a key's ({type(exc).__name__})"
            ]
        for problem in problems:
            out.append(
                f"student {sid}: keys/{sid}.json /answers/{v.exercise.id}"
                + (
                    f"/{problem}"
                    if re.match(r"^[\w.~-]+(/[\w.~-]+)*: ", problem)
                    else f": {problem}"
                )
                + " (independent recomputation)"
            )
    return out


def check_command(assignment_path: str, build_dir: str) -> int:
    """``grader check``: 0 when every key agrees, 1 with one line per mismatch."""
    assignment = load_assignment(assignment_path)
    build = Path(build_dir)
    manifest = read_manifest(build)
    if manifest["assignment"]["id"] != assignment.id:
        raise UserError(
            f"this build is for assignment {manifest['assignment']['id']!r}, not {assignment.id!r}",
            file=str(build),
        )
    secret = read_secret(assignment)
    recorded = manifest.get("secret_fingerprint")
    uses_secret = needs_secret(assignment) and secret is not None
    if (
        uses_secret
        and isinstance(recorded, str)
        and not fingerprint_matches(recorded, secret or b"", assignment.id)
    ):
        click.echo(
            f"wrong secret: {assignment.secret_env} is not the secret this build was generated "
            "with, so no variant can be re-derived"
        )
        return 1

    problems: list[str] = []
    if (recorded is None) == uses_secret or not isinstance(recorded, str | None):
        problems.append(  # the wrong secret was said above: this is a manifest changed by hand
            "manifest.json records no secret fingerprint"
            if recorded is None
            else "manifest.json records a secret fingerprint this assignment has no use for"
        )
    if manifest["assignment"].get("sha256") != assignment_digest(
        Path(assignment_path).read_bytes()
    ):
        problems.append(
            f"{assignment_path}: the assignment file changed since the build was generated"
        )
    if manifest.get("version") != tool_version():
        click.echo(
            f"note: the build was made by version {manifest.get('version')}, this is {tool_version()}"
        )
    students = manifest_students(manifest)
    listed: dict[str, str] = manifest["files"]
    expected: dict[str, str] = {}  # path -> sha256 of the regenerated file
    with progress_bar(Console(stderr=True)) as progress:
        task = progress.add_task("Checking keys", total=len(students))
        for rel, data in shared_files(assignment).items():
            expected[rel] = sha256(data)
            problems += _check_file(build, "", rel, data)
        for student in students:
            found = _check_student(
                assignment, build, student, secret, expected, manifest["variant_search_version"]
            )
            problems += found
            progress.advance(task)
    problems += _check_listing(build, listed, expected, {s.id for s in students}, manifest)
    problems += _search_version_problems(
        assignment, students, secret, manifest["variant_search_version"]
    )

    for line in problems:
        click.echo(line)
    if problems:
        click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found in {build}")
        return 1
    click.echo(f"all {len(students)} keys agree ({build})")
    return 0


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", file=str(path)) from None


def _check_file(build: Path, sid: str, rel: str, expected: bytes) -> list[str]:
    disk = _read(build / rel)
    if disk is None:
        return [f"student {sid}: {rel} is missing" if sid else f"{rel} is missing"]
    return _compare(sid, rel, disk, expected)


def _check_student(
    assignment: Assignment,
    build: Path,
    student: Student,
    secret: bytes | None,
    expected: dict[str, str],
    version: int,
) -> list[str]:
    # the variants of the search the build was made with (a newer one draws others)
    variants = make_variants(assignment, student.id, secret, version=version)
    doc = student_doc(assignment, student, variants)
    problems: list[str] = []
    for rel, data in student_files(assignment, student, variants, doc).items():
        expected[rel] = sha256(data)
        problems += _check_file(build, student.id, rel, data)
    problems += independent_problems(student.id, variants, _read(build / f"keys/{student.id}.json"))
    return problems


def _check_listing(
    build: Path,
    listed: dict[str, str],
    expected: dict[str, str],
    student_ids: set[str],
    manifest: dict[str, Any],
) -> list[str]:
    """Every file the manifest lists matches its sha256; nothing is missing or extra.

    Text files were compared with their regeneration already; here they only need the
    manifest to record the right hash."""
    problems = [f"manifest.json does not list {rel}" for rel in sorted(set(expected) - set(listed))]
    for rel, digest in sorted(listed.items()):
        if not _BUILD_PATH_RE.match(rel) or ".." in rel:
            problems.append(f"manifest.json lists an unexpected path {rel[:80]!r}")
            continue
        data = _read(build / rel)
        if rel in expected:
            if data is not None and sha256(data) == expected[rel] != digest:
                problems.append(f"manifest.json records a wrong sha256 for {rel}")
            continue
        owner = _owner(rel, student_ids)
        stem = rel.rsplit("/", 1)[-1].split(".", 1)[0]
        if rel.split("/", 1)[0] in _STUDENT_FOLDERS and stem != "all" and not owner:
            # never regenerated nor recomputed: only the hash beside it vouches for it
            problems.append(f"manifest.json lists {rel}, which belongs to no student of the build")
            continue
        if data is None:
            problems.append(f"{owner}{rel} is missing")
        elif sha256(data) != digest:
            problems.append(f"{owner}{rel} does not match its sha256 in manifest.json")
    for folder in _STUDENT_FOLDERS:
        directory = build / folder
        if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
            problems.append(f"{folder} is not a folder of the build (a name the build uses)")
            continue
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            rel = f"{folder}/{path.name}"
            if rel in listed or rel in expected:
                continue
            stem = path.name.split(".", 1)[0]
            if stem != "all" and stem not in student_ids:
                problems.append(f"extra student {stem!r}: {rel} belongs to no student of the build")
            else:
                problems.append(f"extra file {rel} (not in manifest.json)")
    pdfs = sum(rel.endswith(".pdf") for rel in listed)
    if manifest.get("pdf") and not pdfs:
        problems.append("manifest.json says the build has PDFs but lists none")
    elif not manifest.get("pdf") and pdfs:
        problems.append(f"manifest.json says the build has no PDFs but lists {pdfs}")
    return problems


def _owner(rel: str, student_ids: set[str]) -> str:
    stem = rel.rsplit("/", 1)[-1].split(".", 1)[0]
    return f"student {stem}: " if stem in student_ids else ""
