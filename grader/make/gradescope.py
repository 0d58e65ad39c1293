"""``grader export gradescope``: the autograder bundle Gradescope runs for each submission.

Layout (Gradescope's autograder specification: ``setup.sh`` and ``run_autograder`` at the
top of the zip, unpacked to ``/autograder/source``)::

    setup.sh            pip only: installs this tool from the wheel below
    run_autograder      reads the secret into the environment, runs `grader autograde`
    wheels/backprop_grader-….whl
    assignment.yaml, roster.csv, secret.txt
    peers.json          the roster's copy-detection index (randomized data only)
    SECRET-README.txt   the bundle holds the course secret: upload it to Gradescope only

The bundle is secret: with the secret and the roster anyone can make every student's key.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from grader.core.errors import UserError
from grader.core.fileio import atomic_write_bytes

ZIP_TIME = (2020, 1, 1, 0, 0, 0)

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, in /autograder/source, to build the autograder's image.
# pip only: the tool comes from the wheel in this bundle, its dependencies from PyPI.
set -euo pipefail
cd "$(dirname "$0")"
"${PYTHON:-python3}" -m pip install --quiet --disable-pip-version-check wheels/*.whl
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission.  It always writes results/results.json.
# (The secret's strength was checked by `grader export gradescope`: not again here.)
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
export @SECRET_ENV@="$(cat "$SOURCE/secret.txt")"
PEERS=()
if [ -f "$SOURCE/peers.json" ]; then PEERS=(--peers "$SOURCE/peers.json"); fi
cd "$SOURCE"  # -I and this folder: only the installed tool is imported, never a checkout
exec "${PYTHON:-python3}" -I -m grader.cli autograde "$SOURCE/assignment.yaml" \\
    --roster "$SOURCE/roster.csv" --root "$ROOT" --allow-weak-secret "${PEERS[@]}"
"""

README = """THIS BUNDLE IS SECRET.

secret.txt holds the course secret: with it and roster.csv anyone can compute every
student's personal parameters and answer key.  Upload autograder.zip only to Gradescope
(Assignment > Configure Autograder > Zip file upload); do not share it, do not commit it.
"""


def export_gradescope(
    assignment_path: str,
    roster_path: str,
    out: str,
    *,
    wheel: str | None = None,
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write the bundle to ``out``; ``extra_files`` (e.g. ``peers.json``, the roster's
    copy-detection index) go into it too."""
    from grader.course.assignment import load_assignment, load_roster
    from grader.course.variants import read_secret

    assignment = load_assignment(assignment_path)
    load_roster(roster_path)  # refuse a bad roster now, not at the first submission
    secret = read_secret(assignment) or b""
    with tempfile.TemporaryDirectory(prefix="grader-wheel-") as scratch:
        wheel_path = Path(wheel) if wheel else _build_wheel(Path(scratch))
        if not wheel_path.is_file() or wheel_path.suffix != ".whl":
            raise UserError("not a wheel file (.whl)", file=str(wheel_path))
        files: dict[str, tuple[bytes, int]] = {
            "setup.sh": (SETUP_SH.encode(), 0o755),
            "run_autograder": (
                RUN_AUTOGRADER.replace("@SECRET_ENV@", assignment.secret_env).encode(),
                0o755,
            ),
            "assignment.yaml": (Path(assignment_path).read_bytes(), 0o644),
            "roster.csv": (Path(roster_path).read_bytes(), 0o644),
            "secret.txt": (secret, 0o600),
            "SECRET-README.txt": (README.encode(), 0o644),
            f"wheels/{wheel_path.name}": (wheel_path.read_bytes(), 0o644),
        }
        files.update({name: (data, 0o600) for name, data in (extra_files or {}).items()})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            data, mode = files[name]
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, data)
    target = Path(out)
    try:
        atomic_write_bytes(target, buffer.getvalue())
        target.chmod(0o600)  # it holds the secret
    except OSError as exc:
        raise UserError(f"cannot write the bundle: {exc.strerror or exc}", file=out) from None
    return target


def _build_wheel(scratch: Path) -> Path:
    """A wheel of this tool, built from its source checkout (pip wheel)."""
    project = Path(__file__).resolve().parents[2]
    if not (project / "pyproject.toml").is_file():
        raise UserError(
            "this installation has no source checkout to build a wheel from; "
            "give --wheel with a backprop_grader wheel"
        )
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(scratch), str(project)],
        capture_output=True,
        text=True,
        check=False,
    )
    wheels = sorted(scratch.glob("backprop_grader-*.whl"))
    if done.returncode != 0 or not wheels:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise UserError(f"cannot build the wheel of this tool: {tail[0][:300]}")
    return wheels[0]
