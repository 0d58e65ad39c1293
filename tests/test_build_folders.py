"""A build folder belongs to the instructor (issue 15): one writer per --out, foreign files
kept, grade outputs replaced as one set, unreadable inputs, secret strength, clear errors
on read-only and full disks, LMS rows, and TeX processes that die with their run.

Runs go through ``python -m grader`` in a child process wherever a second process, a
lock or a kill is part of the story.  Every wait is bounded (``TIMEOUT``).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.core.outdir import MARKER, Staging
from grader.course.secret import secret_problem
from tests.conftest import under_ci
from tests.helpers import OTHER_STRONG_SECRET, STRONG_SECRET

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "grader" / "samples" / "course.yaml"
TIMEOUT = 120  # seconds: only turns a hang into a failure
ROSTER = "id,name\ns001,Ada Lovelace\ns002,Blaise Pascal\ns003,Zoë Martin\n"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="flock, /proc and prctl: Linux")


def run(
    *args: str, cwd: Path, secret: str | bytes | None = STRONG_SECRET, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environb.items() if k != b"GRADER_SECRET"}
    if secret is not None:
        env[b"GRADER_SECRET"] = secret.encode() if isinstance(secret, str) else secret
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd,
        env=env,  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A course folder: the sample assignment and a three-student roster."""
    (tmp_path / "course.yaml").write_bytes(COURSE.read_bytes())
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return tmp_path


def generate(
    course: Path,
    *extra: str,
    out: str = "build",
    secret: str | bytes | None = STRONG_SECRET,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    args = ["generate", "course.yaml", "--roster", "roster.csv", "--out", out, "--no-pdf"]
    return run(*args, *extra, cwd=course, secret=secret, timeout=timeout)


def grade(
    course: Path, *extra: str, secret: str | bytes | None = STRONG_SECRET, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    args = ["grade", "course.yaml", "subs", "--roster", "roster.csv", "--out", "graded"]
    return run(*args, *extra, cwd=course, secret=secret, timeout=timeout)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (symlinks as their target text)."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


@contextlib.contextmanager
def holding_lock(folder: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the flock on ``folder`` until the block ends."""
    code = (
        "import fcntl, os, sys, time\n"
        "fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(folder), "600"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=TIMEOUT)


# ------------------------------------------------------------------ 1. one writer per --out


@pytest.mark.parametrize("command", ["generate", "grade"])
def test_a_second_run_into_a_held_folder_stops_and_names_the_other(
    course: Path, command: str
) -> None:
    (course / "subs").mkdir()
    folder = course / ("build" if command == "generate" else "graded")
    folder.mkdir()
    with holding_lock(folder) as holder:
        started = time.monotonic()
        result = (
            generate(course, "--wait", "0.5")
            if command == "generate"
            else grade(course, "--wait", "0.5")
        )
        took = time.monotonic() - started
        assert result.returncode == 2, result.stderr
        assert f"pid {holder.pid}" in result.stderr and "another grader run" in result.stderr
        assert "--wait" in result.stderr and "Traceback" not in result.stderr
        assert 0.5 <= took < 30
    assert list(folder.iterdir()) == []  # the refused run wrote nothing
    # released: the same command goes through, and no lock file is left anywhere
    done = generate(course) if command == "generate" else grade(course)
    assert done.returncode in (0, 1), done.stderr
    assert sorted(p.name for p in course.iterdir()) == sorted(
        ["course.yaml", "roster.csv", "subs", folder.name]
    )
    assert not [p for p in folder.rglob(".*")]


def test_a_run_waits_for_the_holder_within_wait(course: Path) -> None:
    (course / "build").mkdir()
    with holding_lock(course / "build") as holder:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "grader",
                "generate",
                "course.yaml",
                "--roster",
                "roster.csv",
                "--out",
                "build",
                "--no-pdf",
                "--wait",
                "60",
            ],
            cwd=course,
            env=dict(os.environ, GRADER_SECRET=STRONG_SECRET),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        assert proc.poll() is None  # waiting, not failed
        holder.kill()
        out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err
    assert run("check", "course.yaml", "build", cwd=course).returncode == 0


@pytest.mark.parametrize("command", ["generate", "grade"])
def test_two_concurrent_runs_give_one_consistent_result(course: Path, command: str) -> None:
    """Two runs started together into one --out (the second waits): both succeed, and the
    result is whole (check passes; every report agrees with the gradebook)."""
    assert generate(course).returncode == 0
    subs = course / "subs"
    subs.mkdir()
    for key in sorted((course / "build" / "keys").glob("*.json")):
        (subs / key.name).write_bytes(key.read_bytes())
    args = (
        ["generate", "course.yaml", "--roster", "roster.csv", "--out", "build", "--no-pdf"]
        if command == "generate"
        else [
            "grade",
            "course.yaml",
            "subs",
            "--roster",
            "roster.csv",
            "--out",
            "graded",
            "--lms",
            "moodle",
        ]
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "grader", *args, "--wait", "100"],
            cwd=course,
            env=dict(os.environ, GRADER_SECRET=STRONG_SECRET),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=TIMEOUT) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    if command == "generate":
        assert run("check", "course.yaml", "build", cwd=course).returncode == 0
    else:
        assert_reports_agree(course / "graded")
    assert sorted(p.name for p in course.iterdir()) == sorted(
        ["course.yaml", "roster.csv", "subs", "build"] + (["graded"] if command == "grade" else [])
    )


def test_worker_processes_of_a_killed_run_do_not_keep_its_lock(course: Path) -> None:
    """Only the main process is killed (its workers live on for a moment): the lock and
    the staging folder's marker go with it, so the next run goes through at once."""
    roster = "id,name\n" + "".join(f"s{i:03d},Student {i}\n" for i in range(1, 121))
    (course / "roster.csv").write_text(roster, encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            "generate",
            "course.yaml",
            "--roster",
            "roster.csv",
            "--out",
            "build",
            "--no-pdf",
            "--jobs",
            "2",
        ],  # fmt: skip
        cwd=course,
        env=dict(os.environ, GRADER_SECRET=STRONG_SECRET),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while not any((d / "keys").is_dir() for d in course.glob(".build.staging-*")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # the main process only
        proc.wait(timeout=TIMEOUT)
        result = generate(course)
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in course.iterdir()) == ["build", "course.yaml", "roster.csv"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def test_staging_folders_are_removed_only_when_marked_ours_and_abandoned(course: Path) -> None:
    assert generate(course).returncode == 0
    # one abandoned by a killed run (marker, nobody holds it): removed
    dead = Staging.create(course, ".build.staging-", "build")
    (dead.path / "half.tex").write_text("x")
    dead.release()
    # one whose owner is alive (this test holds its marker): left alone
    alive = Staging.create(course, ".build.staging-", "build")
    # named like ours but without a marker, or marked for another output: not ours
    (course / ".build.staging-mine1234").mkdir()
    (course / ".build.staging-mine1234" / "thesis.tex").write_text("years of work")
    other = Staging.create(course, ".build.staging-", "build2")
    other.release()
    try:
        assert generate(course).returncode == 0
        assert not dead.path.exists()
        assert alive.path.is_dir() and (alive.path / MARKER).is_file()
        assert (course / ".build.staging-mine1234" / "thesis.tex").read_text() == "years of work"
        assert other.path.is_dir()
    finally:
        alive.remove()


# ------------------------------------------------------------------ 2. regenerating keeps what is not the tool's


def test_regenerating_carries_the_instructors_files_and_check_ignores_them(course: Path) -> None:
    assert generate(course).returncode == 0
    build = course / "build"
    mine = {
        "NOTES.md": b"# my notes\n",
        ".gitattributes": b"*.pdf binary\n",
        "graded/gradebook.csv": b"student,score\n",
        "graded/reports/s001.md": b"report\n",
        "extra.yaml": b"id: other\n",
        "old-roster.csv": b"id,name\n",
    }
    for rel, data in mine.items():
        (build / rel).parent.mkdir(parents=True, exist_ok=True)
        (build / rel).write_bytes(data)
    os.symlink("NOTES.md", build / "notes-link")
    before = {rel: (build / rel).stat().st_ino for rel in mine}
    result = generate(course, secret=OTHER_STRONG_SECRET)  # a new build: other variants
    assert result.returncode == 0, result.stderr
    assert "kept 6 entries that are not part of a build: .gitattributes, NOTES.md" in result.stdout
    after = tree(build)
    for rel, data in mine.items():
        assert after[rel] == data
        assert (build / rel).stat().st_ino == before[rel]  # moved, not copied: untouched
    assert after["notes-link"] == b"-> NOTES.md"
    checked = run("check", "course.yaml", "build", cwd=course, secret=OTHER_STRONG_SECRET)
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("sheets/notes.txt", "sheets/notes.txt belongs to no student"),
        ("keys/s999.json", "keys/s999.json belongs to no student"),
        ("templates/all.json", "extra file templates/all.json"),
        ("forms/s999.html", "forms/s999.html belongs to no student"),
    ],
)
def test_files_inside_the_tools_folders_stay_errors(course: Path, rel: str, expected: str) -> None:
    assert generate(course).returncode == 0
    path = course / "build" / rel
    path.parent.mkdir(exist_ok=True)
    path.write_text("mine")
    assert generate(course).returncode == 0
    assert path.read_text() == "mine"  # carried over, never deleted
    checked = run("check", "course.yaml", "build", cwd=course)
    assert checked.returncode == 1 and expected in checked.stdout, checked.stdout


# ------------------------------------------------------------------ 3. grade: one consistent set


def assert_reports_agree(out: Path) -> None:
    """Every submitted row has its reports with the row's score; no other report exists."""
    with (out / "gradebook.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    submitted = {r["student"]: r["score"] for r in rows if r["status"] == "submitted"}
    reports = {p.stem for p in (out / "reports").glob("*.json")}
    assert reports == set(submitted) == {p.stem for p in (out / "reports").glob("*.md")}
    for sid, score in submitted.items():
        report = json.loads((out / "reports" / f"{sid}.json").read_text(encoding="utf-8"))
        assert str(report["score"]) == score or f"{float(report['score']):g}" == score, sid


def test_a_rerun_replaces_every_output_and_leaves_the_rest(course: Path) -> None:
    assert generate(course).returncode == 0
    subs = course / "subs"
    subs.mkdir()
    for key in sorted((course / "build" / "keys").glob("*.json")):
        (subs / key.name).write_bytes(key.read_bytes())
    assert grade(course, "--lms", "canvas").returncode == 0
    graded = course / "graded"
    assert_reports_agree(graded)
    (graded / "my-notes.txt").write_text("keep me")
    (graded / ".hidden").write_text("keep me too")
    (subs / "s002.json").unlink()
    (subs / "s003.json").unlink()
    result = grade(course)
    assert result.returncode == 0, result.stderr
    assert_reports_agree(graded)
    assert sorted(p.name for p in (graded / "reports").iterdir()) == ["s001.json", "s001.md"]
    assert not (graded / "gradebook-canvas.csv").exists()  # not part of this run's set
    assert (graded / "my-notes.txt").read_text() == "keep me"
    assert (graded / ".hidden").read_text() == "keep me too"
    assert sorted(p.name for p in graded.iterdir()) == [
        ".hidden",
        "gradebook.csv",
        "my-notes.txt",
        "reports",
        "summary.html",
    ]


def test_a_grade_killed_in_the_swap_is_finished_by_the_next_run(course: Path) -> None:
    """The state a kill between the swap's renames leaves (marker says swapping, the old
    reports moved aside, the new gradebook not yet in): the next run finishes it first."""
    from grader.grade import outputs

    graded = course / "graded"
    graded.mkdir()
    (graded / "reports").mkdir()
    (graded / "reports" / "old.json").write_text("{}")
    (graded / "gradebook.csv").write_text("old")
    left = outputs.staging(graded)
    (left.path / "gradebook.csv").write_text("new")
    (left.path / "reports" / "s001.json").write_text("{}")
    left.note(swapping=True, names=["gradebook.csv", "reports"])
    (graded / "reports").rename(left.path / ".old")  # half of the first phase done
    (left.path / ".old").rename(left.path / ".old-tmp")
    (left.path / ".old").mkdir()
    (left.path / ".old-tmp").rename(left.path / ".old" / "reports")
    left.release()
    outputs.finish_stale(graded)
    assert (graded / "gradebook.csv").read_text() == "new"
    assert sorted(p.name for p in (graded / "reports").iterdir()) == ["s001.json"]
    assert sorted(p.name for p in graded.iterdir()) == ["gradebook.csv", "reports"]


# ------------------------------------------------------------------ 4. unreadable submissions and inputs


def test_loops_fifos_sockets_and_devices_each_get_an_invalid_row(course: Path) -> None:
    assert generate(course).returncode == 0
    subs = course / "subs"
    subs.mkdir()
    (subs / "s001.json").write_bytes((course / "build" / "keys" / "s001.json").read_bytes())
    os.symlink("loop-b.json", subs / "loop-a.json")
    os.symlink("loop-a.json", subs / "loop-b.json")
    os.symlink("self.json", subs / "self.json")
    os.mkfifo(subs / "pipe.json")
    os.symlink("/dev/zero", subs / "device.json")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(subs / "socket.json"))
    try:
        result = grade(course, timeout=60)
    finally:
        listener.close()
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr + result.stdout
    with (course / "graded" / "gradebook.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    invalid = [r for r in rows if r["status"] == "invalid"]
    names = ["loop-a.json", "loop-b.json", "self.json", "pipe.json", "device.json", "socket.json"]
    for name in names:
        assert sum(name in r["reason"] for r in invalid) == 1, (name, invalid)
    assert any(r["student"] == "s001" and r["status"] == "submitted" for r in rows)


@pytest.mark.parametrize("which", ["course.yaml", "roster.csv"])
@pytest.mark.parametrize("command", ["generate", "grade"])
def test_an_input_that_is_a_fifo_is_refused_at_once(course: Path, which: str, command: str) -> None:
    (course / which).unlink()
    os.mkfifo(course / which)
    (course / "subs").mkdir()
    started = time.monotonic()
    result = generate(course, timeout=30) if command == "generate" else grade(course, timeout=30)
    assert time.monotonic() - started < 30
    assert result.returncode == 2
    assert (
        which in result.stderr and "not a regular file" in result.stderr and "FIFO" in result.stderr
    )


# ------------------------------------------------------------------ 5. secrets


WEAK = [
    (b"a", "1 bytes long"),
    (b"abcdefghijklmno", "15 bytes long"),
    (b"abababababababababab", "2 distinct characters"),
    (b"abcdefgabcdefgabcdefg", "7 distinct characters"),
    (b"\xff\xfe\xfd\xfc\xff\xfe\xfd\xfc\xff\xfe\xfd\xfc\xff\xfe\xfd\xfc", "4 distinct characters"),
]


@pytest.mark.parametrize(("secret", "reason"), WEAK)
@pytest.mark.parametrize("command", ["generate", "grade", "check", "solve"])
def test_a_weak_secret_is_refused_by_every_command(
    course: Path, secret: bytes, reason: str, command: str
) -> None:
    (course / "subs").mkdir()
    args = {
        "generate": [
            "generate",
            "course.yaml",
            "--roster",
            "roster.csv",
            "--out",
            "build",
            "--no-pdf",
        ],
        "grade": ["grade", "course.yaml", "subs", "--roster", "roster.csv", "--out", "graded"],
        "check": ["check", "course.yaml", "build"],
        "solve": ["solve", "course.yaml", "--student", "s001"],
    }[command]
    if command == "check":
        assert generate(course).returncode == 0  # a build made with a strong secret
    before = tree(course)
    result = run(*args, cwd=course, secret=secret)
    assert result.returncode == 2
    assert reason in result.stderr and "secrets.token_hex" in result.stderr
    assert tree(course) == before and not (course / "graded").exists()
    shown = secret.decode("utf-8", "replace")
    assert len(secret) < 3 or shown not in result.stderr  # never echoed
    allowed = run(*args, "--allow-weak-secret", cwd=course, secret=secret)
    assert allowed.returncode in (0, 1), allowed.stderr  # check: 1, "wrong secret"


@pytest.mark.parametrize(
    "secret", [STRONG_SECRET + "\n", " " + STRONG_SECRET, STRONG_SECRET + "\t", "a\n"]
)
def test_whitespace_around_the_secret_is_refused_even_when_weak_is_allowed(
    course: Path, secret: str
) -> None:
    for extra in ([], ["--allow-weak-secret"]):
        result = generate(course, *extra, secret=secret)
        assert result.returncode == 2
        assert "starts or ends with whitespace" in result.stderr
        assert STRONG_SECRET not in result.stderr


def test_a_secret_that_is_not_utf8_is_used_as_bytes(course: Path) -> None:
    secret = bytes(range(0x80, 0x90)) + b"\xff\xfe"  # 18 bytes, none of it UTF-8
    result = generate(course, secret=secret)
    assert result.returncode == 0, result.stderr
    checked = run("check", "course.yaml", "build", cwd=course, secret=secret)
    assert checked.returncode == 0, checked.stdout
    wrong = run("check", "course.yaml", "build", cwd=course, secret=secret[:-1] + b"\xfd")
    assert wrong.returncode == 1 and "wrong secret" in wrong.stdout
    for text in (result.stdout, result.stderr, checked.stdout, checked.stderr):
        assert "byte" not in text and "position" not in text


def test_the_fingerprint_is_scrypt_salted_by_the_assignment(course: Path) -> None:
    assert generate(course).returncode == 0
    manifest = json.loads((course / "build" / "manifest.json").read_text(encoding="utf-8"))
    salt = b"backprop-grader secret fingerprint\x00backprop-hw1"
    expected = hashlib.scrypt(STRONG_SECRET.encode(), salt=salt, n=16384, r=8, p=1, dklen=32)
    assert manifest["secret_fingerprint"] == "scrypt-n16384-r8-p1:" + expected.hex()
    started = time.perf_counter()
    hashlib.scrypt(b"guess", salt=salt, n=16384, r=8, p=1, dklen=32)
    assert time.perf_counter() - started > 0.02  # deliberately slow per guess


# HMAC-SHA256(STRONG_SECRET, "backprop-grader secret fingerprint"): the fingerprint builds
# made before the slow one record, typed in literally.
LEGACY_FINGERPRINT = "d4e5836b68af6af000c5f2f27c1c3c1519c68ab9765edf57da3a996cca05d695"


def test_check_accepts_a_build_with_the_old_fingerprint(course: Path) -> None:
    assert generate(course).returncode == 0
    path = course / "build" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["secret_fingerprint"] = LEGACY_FINGERPRINT
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    ok = run("check", "course.yaml", "build", cwd=course)
    assert ok.returncode == 0, ok.stdout
    wrong = run("check", "course.yaml", "build", cwd=course, secret=OTHER_STRONG_SECRET)
    assert wrong.returncode == 1 and "wrong secret" in wrong.stdout


def test_init_prints_a_command_that_makes_a_good_secret(tmp_path: Path) -> None:
    result = run("init", "course", cwd=tmp_path, secret=None)
    assert result.returncode == 0
    line = next(x for x in result.stdout.splitlines() if "export GRADER_SECRET=" in x)
    command = line.split('"$(', 1)[1].split(')"', 1)[0]
    made = subprocess.run(command, shell=True, capture_output=True, check=True, timeout=60)
    secret = made.stdout.strip()
    assert secret_problem(secret) is None and len(secret) >= 32


# ------------------------------------------------------------------ 6. clear errors


@pytest.mark.parametrize("out", [".", "..", "sub/.."])
def test_an_out_that_contains_the_inputs_is_refused(course: Path, out: str) -> None:
    (course / "sub").mkdir()
    before = tree(course)
    result = generate(course, out=out)
    assert result.returncode == 2
    assert "--out is or contains the assignment file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "internal error" not in result.stderr
    assert tree(course) == before


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small tmpfs at ``where``, always unmounted again."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        if under_ci():
            pytest.fail(f"cannot mount a tmpfs under CI=true: {mounted.stderr!r}")
        pytest.skip(f"cannot mount a tmpfs (not root?): {mounted.stderr.decode(errors='replace')}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def remount(where: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True)


def test_a_read_only_disk_is_a_clear_error_and_the_build_stays(course: Path) -> None:
    with tmpfs(course / "disk", "8m") as disk:
        assert generate(course, out="disk/build").returncode == 0
        (course / "subs").mkdir()
        before = tree(disk)
        remount(disk, "ro")
        try:
            for result in (
                generate(course, out="disk/build", secret=OTHER_STRONG_SECRET),
                run(
                    "grade",
                    "course.yaml",
                    "subs",
                    "--roster",
                    "roster.csv",
                    "--out",
                    "disk/graded",
                    cwd=course,
                ),
            ):
                assert result.returncode == 2, result.stderr
                assert "Read-only file system" in result.stderr and "disk" in result.stderr
                assert len(result.stderr.strip().splitlines()) == 1
                assert "internal error" not in result.stderr
            assert tree(disk) == before
        finally:
            remount(disk, "rw")


def test_a_full_disk_is_a_clear_error_and_the_outputs_stay(course: Path) -> None:
    with tmpfs(course / "disk", "400k") as disk:
        (course / "one.csv").write_text("id,name\ns001,Ada\n", encoding="utf-8")
        first = run(
            "generate",
            "course.yaml",
            "--roster",
            "one.csv",
            "--out",
            "disk/build",
            "--no-pdf",
            cwd=course,
        )
        assert first.returncode == 0, first.stderr
        subs = course / "subs"
        subs.mkdir()
        (subs / "s001.json").write_bytes((disk / "build" / "keys" / "s001.json").read_bytes())
        graded = run(
            "grade",
            "course.yaml",
            "subs",
            "--roster",
            "one.csv",
            "--out",
            "disk/graded",
            cwd=course,
        )
        assert graded.returncode == 0, graded.stderr
        before = tree(disk)
        roster = "id,name\n" + "".join(f"s{i:03d},Student {i}\n" for i in range(1, 41))
        (course / "many.csv").write_text(roster, encoding="utf-8")
        result = run(
            "generate",
            "course.yaml",
            "--roster",
            "many.csv",
            "--out",
            "disk/build",
            "--no-pdf",
            cwd=course,
        )
        assert result.returncode == 2, result.stderr
        assert "No space left on device" in result.stderr and "disk" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert tree(disk) == before  # the old build intact, nothing half-written beside it
        filler = disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as handle:
            while True:
                handle.write(b"\0" * 65536)
        regrade = run(
            "grade",
            "course.yaml",
            "subs",
            "--roster",
            "one.csv",
            "--out",
            "disk/graded",
            cwd=course,
        )
        assert regrade.returncode == 2, regrade.stderr
        assert "No space left on device" in regrade.stderr
        filler.unlink()
        assert tree(disk) == before


# ------------------------------------------------------------------ 7. LMS files: roster students only


@pytest.mark.parametrize("lms", ["moodle", "canvas"])
def test_lms_files_hold_only_roster_students(course: Path, lms: str) -> None:
    assert generate(course).returncode == 0
    subs = course / "subs"
    subs.mkdir()
    (subs / "s001.json").write_bytes((course / "build" / "keys" / "s001.json").read_bytes())
    (subs / "garbage.json").write_text("not json at all")
    (subs / "stranger.json").write_text(
        json.dumps({"assignment": "backprop-hw1", "student": "zz9", "answers": {}})
    )
    result = grade(course, "--lms", lms)
    assert result.returncode == 1, result.stderr
    graded = course / "graded"
    with (graded / "gradebook.csv").open(encoding="utf-8", newline="") as handle:
        book = list(csv.DictReader(handle))
    assert len(book) == 5  # three roster students, the garbage and the stranger
    lines = (graded / f"gradebook-{lms}.csv").read_text(encoding="utf-8").splitlines()
    body = list(csv.reader(io.StringIO("\n".join(lines))))
    header_rows = 1 if lms == "moodle" else 2
    students = body[header_rows:]
    ids = [row[0] if lms == "moodle" else row[2] for row in students]
    assert ids == ["s001", "s002", "s003"]
    assert not any(line.startswith(",,") for line in lines)


# ------------------------------------------------------------------ 9. TeX dies with its run


def test_tex_processes_die_when_generate_is_killed(course: Path) -> None:
    """A stand-in pdflatex that records its pid and sleeps; generate is SIGKILLed (no
    clean-up of ours can run); the kernel's parent-death signal ends the TeX process."""
    bin_dir = course / "bin"
    bin_dir.mkdir()
    pids = course / "tex-pids"
    fake = bin_dir / "pdflatex"
    fake.write_text(f"#!/bin/sh\necho $$ >> {pids}\nexec sleep 600\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    (bin_dir / "latexmk").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "latexmk").chmod(0o755)
    env = dict(os.environ, GRADER_SECRET=STRONG_SECRET, PATH=f"{bin_dir}:{os.environ['PATH']}")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grader",
            "generate",
            "course.yaml",
            "--roster",
            "roster.csv",
            "--out",
            "build",
        ],
        cwd=course,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + TIMEOUT
    while not (pids.exists() and pids.read_text().strip()):
        assert proc.poll() is None, "generate ended before TeX started"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # every TeX job of the build has started
    started = [int(x) for x in pids.read_text().split()]
    assert all(alive(pid) for pid in started)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [pid for pid in started if alive(pid)]
    for pid in survivors:  # do not leave them behind even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper has ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status and "\nState:\tX" not in status


def test_the_demo_secret_passes_the_strength_rule() -> None:
    from grader.course.variants import DEMO_SECRET

    assert secret_problem(DEMO_SECRET) is None


def test_an_empty_staging_folder_of_a_run_killed_before_its_marker_is_removed(
    course: Path,
) -> None:
    """Killed between making its staging folder and marking it: the folder is empty (or
    holds an empty marker); removing it loses nothing.  A non-empty unmarked one stays."""
    (course / ".build.staging-abcd1234").mkdir()
    (course / ".build.staging-efgh5678").mkdir()
    (course / ".build.staging-efgh5678" / MARKER).write_bytes(b"")
    (course / ".build.staging-ijkl9012").mkdir()
    (course / ".build.staging-ijkl9012" / "mine.txt").write_text("keep")
    assert generate(course).returncode == 0
    assert sorted(p.name for p in course.iterdir() if p.name.startswith(".")) == [
        ".build.staging-ijkl9012"
    ]
