"""``manifest.json``: what a build contains, so ``grader check`` can verify it later.

It records the assignment (id and sha256 of the file), the tool version, the students,
every file with its sha256, and a slow, salted fingerprint of the course secret: check
can say "wrong secret" without the manifest making the secret any easier to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

from grader.core.errors import UserError
from grader.course.assignment import Student, valid_student_id
from grader.course.variants import VARIANT_SEARCH_VERSIONS

MANIFEST = "manifest.json"
TOOL = "backprop-grader"
FORMAT = 1
_FINGERPRINT_MESSAGE = b"backprop-grader secret fingerprint"


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(TOOL)
    except PackageNotFoundError:  # running from a source checkout
        return "0+unknown"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """:func:`sha256` of a file, read in pieces (a class PDF need not be in memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# scrypt with these costs takes ~0.1 s and 16 MB per guess: the fingerprint makes guessing a
# weak secret far slower than the variants do (a fast hash here let anyone with the manifest
# try ~730 000 secrets a second).  The salt ties a fingerprint to one assignment.
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
FINGERPRINT_PREFIX = "scrypt-n16384-r8-p1:"


# A line pinning the variant search (``variant_search: 1``) is left out of the assignment's
# digest: pinning the search a build was made with changes nothing the build was made from
# (an assignment generated before the pin existed gains that line to keep grading right).
_PIN_LINE = re.compile(rb"^variant_search:[ \t]*[0-9]+[ \t]*(?:#[^\n]*)?\r?\n?", re.MULTILINE)


def assignment_digest(data: bytes) -> str:
    """The digest of an assignment file as the manifest records it."""
    return sha256(_PIN_LINE.sub(b"", data))


def secret_fingerprint(secret: bytes | None, assignment_id: str) -> str | None:
    """A deliberately slow, salted derivation of the secret: equal for equal secrets and
    assignments, and says nothing useful about the secret."""
    if secret is None:
        return None
    salt = _FINGERPRINT_MESSAGE + b"\x00" + assignment_id.encode("utf-8")
    digest = hashlib.scrypt(secret, salt=salt, dklen=32, maxmem=64 * 2**20, **SCRYPT)
    return FINGERPRINT_PREFIX + digest.hex()


def legacy_fingerprint(secret: bytes) -> str:
    """The fingerprint builds made before the slow one record (HMAC-SHA256 of a constant):
    ``check`` still recognises it, ``generate`` no longer writes it."""
    return hmac.new(secret, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()


def fingerprint_matches(recorded: str, secret: bytes, assignment_id: str) -> bool:
    """Whether ``recorded`` (either format) is the fingerprint of ``secret``."""
    if recorded.startswith(FINGERPRINT_PREFIX):
        expected = secret_fingerprint(secret, assignment_id) or ""
    else:
        expected = legacy_fingerprint(secret)
    return hmac.compare_digest(recorded.encode("utf-8"), expected.encode("utf-8"))


def make_manifest(
    *,
    assignment_id: str,
    assignment_sha256: str,
    fingerprint: str | None,
    students: list[Student],
    digests: dict[str, str],
    pdf: bool,
    variant_search_version: int,
) -> dict[str, Any]:
    """The manifest of a build; ``digests``: the sha256 of every file, by path."""
    return {
        "tool": TOOL,
        "format": FORMAT,
        "version": tool_version(),
        "variant_search_version": variant_search_version,
        "assignment": {"id": assignment_id, "sha256": assignment_sha256},
        "secret_fingerprint": fingerprint,
        "pdf": pdf,
        "students": [{"id": s.id, "name": s.name} for s in students],
        "files": {path: digests[path] for path in sorted(digests)},
    }


def is_our_manifest(path: Path) -> bool:
    """Whether ``path`` is a manifest a build of this tool wrote (so the build may be replaced)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("tool") == TOOL


def read_manifest(build_dir: Path) -> dict[str, Any]:
    """The manifest of a build, validated enough that nothing in it is used unchecked."""
    path = build_dir / MANIFEST
    name = str(path)
    if not build_dir.is_dir():
        raise UserError("no such build directory", file=str(build_dir))
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UserError(
            "no manifest.json: not a build written by 'grader generate'", file=str(build_dir)
        ) from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the manifest: {exc}", file=name) from None
    if not isinstance(data, dict) or data.get("tool") != TOOL:
        raise UserError("not a manifest written by 'grader generate'", file=name)
    if data.get("format") != FORMAT:
        raise UserError(
            f"manifest format {data.get('format')!r} is not {FORMAT}; regenerate the build",
            file=name,
        )
    students = data.get("students")
    if not isinstance(students, list) or not all(
        isinstance(s, dict)
        and isinstance(s.get("id"), str)
        and valid_student_id(s["id"])
        and isinstance(s.get("name"), str)
        for s in students
    ):
        raise UserError(
            "expected a list of students with valid ids and names", file=name, where="/students"
        )
    ids = [s["id"] for s in students]
    if len(set(ids)) != len(ids):
        raise UserError("a student appears twice", file=name, where="/students")
    files = data.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in files.items()
    ):
        raise UserError("expected a mapping of file paths to sha256", file=name, where="/files")
    assignment = data.get("assignment")
    if not isinstance(assignment, dict) or not isinstance(assignment.get("id"), str):
        raise UserError("expected the assignment's id and sha256", file=name, where="/assignment")
    version = data.setdefault("variant_search_version", 1)  # builds before it was recorded
    if type(version) is not int or version not in VARIANT_SEARCH_VERSIONS:
        known = ", ".join(map(str, VARIANT_SEARCH_VERSIONS))
        raise UserError(
            f"variant search version {version!r} is unknown to this grader (it knows {known}); "
            "check the build with the version of backprop-grader that generated it",
            file=name,
            where="/variant_search_version",
        )
    return data


def manifest_students(data: dict[str, Any]) -> list[Student]:
    return [Student(id=s["id"], name=s["name"]) for s in data["students"]]
