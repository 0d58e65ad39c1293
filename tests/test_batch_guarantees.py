"""Whole-batch guarantees: nothing gets in, nothing is lost.

* a batch with every kind of broken submission completes: every roster student and every
  file gets a gradebook row, exit code 1, no traceback, the same result on 1 or 2 jobs;
* nothing is written outside ``--out`` (the directory trees around it are snapshotted
  before and after) and nothing a student or a roster wrote is executed;
* outputs are atomic: ``grader grade`` and ``grader generate --no-pdf`` are killed
  (SIGKILL, the whole process group) at several moments of a large batch; afterwards every
  file is complete (each equals the one a full run writes), the only leftovers are
  dot-prefixed staging files, and a rerun succeeds and removes them.

The moments are points of progress (the n-th report written, the staging directory
appearing), so the tests do not depend on how fast the machine is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.course.assignment import load_assignment, load_roster
from grader.course.keys import key_json
from grader.course.variants import make_variants
from tests.helpers import OTHER_STRONG_SECRET

pytestmark = pytest.mark.skipif(
    not hasattr(os, "killpg") or not hasattr(os, "mkfifo"),
    reason="needs POSIX process groups and FIFOs",
)
ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "grader" / "samples" / "course.yaml"
SECRET = "batch-guarantees-secret"
LARGE = 60  # students in the large batch (keys, reports, builds)
WATCHDOG = 300  # seconds: only turns a hang into a failure
TEMP_FILE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # fileio's staging files


def run_grader(*args: str, cwd: Path, secret: str = SECRET) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, GRADER_SECRET=secret)
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        capture_output=True,
        text=True,
        timeout=WATCHDOG,
        cwd=cwd,
        env=env,
        check=False,
    )


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every entry under ``root``: its kind, and the sha256 of a file, the target of a
    link (FIFOs and devices are never opened)."""
    found: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if (rel_dir / d).as_posix() not in skip)
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = (rel_dir / name).as_posix()
            if rel in skip:
                continue
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[rel] = ("dir",)
            elif stat.S_ISREG(info.st_mode):
                found[rel] = (
                    "file",
                    info.st_size,
                    info.st_mtime_ns,
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                )
            else:
                found[rel] = ("special", stat.S_IFMT(info.st_mode))
    return found


def files_of(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def gradebook(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8"))))


# ------------------------------------------------------------------ the class


@dataclass
class Course:
    tmp: Path
    assignment: Path
    roster: Path  # LARGE students
    keys: dict[str, dict[str, Any]]  # student -> their key (a perfect submission)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    tmp = tmp_path_factory.mktemp("batch")
    assignment = tmp / "course.yaml"
    shutil.copy(COURSE, assignment)
    roster = tmp / "roster.csv"
    roster.write_text(
        "id,name\n" + "".join(f"s{i:03d},Student {i}\n" for i in range(1, LARGE + 1)),
        encoding="utf-8",
    )
    spec = load_assignment(assignment)
    keys = {
        s.id: key_json(spec, s.id, make_variants(spec, s.id, SECRET.encode()))
        for s in load_roster(roster)
    }
    return Course(tmp, assignment, roster, keys)


def leaves_of(node: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(node, dict):
        return {k: leaves_of(v, fn) for k, v in node.items()}
    if isinstance(node, list):
        return [leaves_of(v, fn) for v in node]
    return fn(node)


# ------------------------------------------------------------------ every kind of broken file


@dataclass
class Broken:
    root: Path
    subs: Path
    roster: Path
    markers: list[Path]
    names: dict[str, str]
    expected: dict[str, tuple[str, str]]  # roster student -> (status, reason fragment)
    orphans: dict[str, str]  # file name -> reason fragment (rows with no student)
    unmatched: dict[str, str]  # file name -> the id it claims


def _make_broken(course: Course, root: Path) -> Broken:
    """A class of 24 and one file of every kind of broken submission."""
    subs = root / "subs"
    subs.mkdir(parents=True)
    tag = uuid.uuid4().hex[:12]
    markers = [Path(f"/tmp/pwned-{tag}-{i}") for i in range(9)] + [root / f"pwned-{tag}"]
    shells = [
        f"$(touch {markers[0]})",
        f"`touch {markers[1]}`",
        f"1; touch {markers[2]}",
        f"1 | touch {markers[3]}",
        f"\\immediate\\write18{{touch {markers[4]}}}",
        f"__import__('os').system('touch {markers[5]}')",
        f"{{{{ cycler.__init__.__globals__.os.system('touch {markers[6]}') }}}}",
    ]
    names = {f"s{i:03d}": f"Student {i}" for i in range(1, 25)}
    names.update(
        {
            "s003": f"$(touch {markers[7]})",
            "s004": f"`touch {markers[8]}`; =cmd|' /C calc'!A0",
            "s005": "<script>alert('x')</script>",
            "s006": f"\\input{{/etc/passwd}}\\write18{{touch {markers[9]}}}",
        }
    )
    roster = root / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name"])
        writer.writerows(names.items())

    def key(sid: str) -> dict[str, Any]:
        return json.loads(json.dumps(course.keys[sid]))

    def put(name: str, data: Any) -> Path:
        path = subs / name
        path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
        return path

    put("s001.json", key("s001"))
    wrong = key("s002")
    wrong["answers"]["sgd"]["steps"][0]["deltas"][2] = "12345"
    put("s002.json", wrong)
    for i, sid in enumerate(["s003", "s004", "s005", "s006", "s007"]):
        put(
            f"{sid}.json",
            dict(
                key(sid),
                answers=leaves_of(key(sid)["answers"], lambda _, i=i: shells[i % len(shells)]),
            ),
        )
    put(
        "s008.json",
        dict(key("s008"), answers=leaves_of(key("s008")["answers"], lambda _: shells[5])),
    )
    put("s009.json", ('{"student": "s009", "note": "caf\u00e9"}').encode("latin-1"))
    put("s010.json", json.dumps(key("s010")).encode("utf-16"))
    put("s011.json", b"")
    put("s012.json", json.dumps(key("s012")).encode()[:300])
    put("s013.json", b'{"student": "s013", "answers": ' + b"[" * 100_000)
    with (subs / "s014.json").open("wb") as handle:
        handle.write(b'{"student": "s014", "answers": ')
        handle.truncate(60_000_000)
    put("s015.json", b'{"student": "s015", "student": "s015", "answers": {}}')
    put("s016.json", [key("s016")])
    put("s017.json", dict(key("s017"), student="../../s017"))
    put("s018.json", dict(key("s018"), student="zz-unknown"))
    put("s019.json", dict(key("s019"), assignment="another-hw"))
    os.mkfifo(subs / "s020.json")
    (subs / "s021.json").symlink_to("/dev/zero")
    put("s022-a.json", key("s022"))
    put("s022-b.json", b'{"student": "s022", "answers": {')
    put("s023.json", dict(key("s001"), student="s023"))  # s001's variant and answers
    put(
        "s024.json",
        b'{"student": "s024", "answers": {"sgd": NaN, "graph": [Infinity], "mlp": {"h1": -Infinity}}}',
    )
    for name in (
        f"$(touch {markers[9].name}).json",
        "`reboot`.json",
        "; rm -rf ~.json",
        "-rf.json",
        "--out=x.json",
    ):
        put(name, b"{")
    (subs / "notes.txt").write_text("not a submission")
    (subs / "folder.json").mkdir()

    expected = {
        "s001": ("submitted", "correct"),
        "s002": ("submitted", "incorrect"),
        "s003": ("submitted", "invalid"),
        "s004": ("submitted", "invalid"),
        "s005": ("submitted", "invalid"),
        "s006": ("submitted", "invalid"),
        "s007": ("submitted", "invalid"),
        "s008": ("submitted", "invalid"),
        "s009": ("invalid", "not UTF-8 text"),
        # unreadable inside, named by their file: the file's stem is a roster id
        "s010": ("invalid", "UTF-16"),
        "s011": ("invalid", "not valid JSON"),
        "s012": ("invalid", "not valid JSON"),
        "s013": ("invalid", "JSON nested more than 64 levels deep"),
        "s014": ("invalid", "the file is 60000000 bytes"),
        "s015": ("invalid", 'the key "student" appears more than once'),
        "s016": ("invalid", "expected a JSON object"),
        "s017": ("invalid", "is not a valid student id"),
        "s018": ("missing", "no submission"),
        "s019": ("invalid", "this submission is for 'another-hw'"),
        "s020": ("invalid", "not a regular file"),
        "s021": ("invalid", "not a regular file"),
        "s022": ("invalid", "2 files for this student"),
        "s023": ("submitted", "incorrect"),
        "s024": ("submitted", "invalid"),
    }
    orphans = {
        f"$(touch {markers[9].name}).json": "not valid JSON",
        "`reboot`.json": "not valid JSON",
        "; rm -rf ~.json": "not valid JSON",
        "-rf.json": "not valid JSON",
        "--out=x.json": "not valid JSON",
    }
    return Broken(
        root, subs, roster, markers, names, expected, orphans, {"s018.json": "zz-unknown"}
    )


@pytest.fixture(scope="module")
def broken(
    course: Course, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Broken, dict[str, Any]]:
    """The broken batch graded once with 1 job and once with 2, tree snapshots around."""
    b = _make_broken(course, tmp_path_factory.mktemp("broken"))
    shutil.copy(course.assignment, b.root / "course.yaml")
    skip = ("out", "out2")
    before = snapshot(b.root, skip)
    one = run_grader(
        "grade", "course.yaml", "subs", "--roster", "roster.csv", "--out", "out", cwd=b.root
    )
    two = run_grader(
        "grade",
        "course.yaml",
        "subs",
        "--roster",
        "roster.csv",
        "--out",
        "out2",
        "--jobs",
        "2",
        cwd=b.root,
    )
    after = snapshot(b.root, skip)
    return b, {"one": one, "two": two, "before": before, "after": after}


def test_broken_batch_completes_with_exit_1_and_no_traceback(broken) -> None:
    b, runs = broken
    for run in (runs["one"], runs["two"]):
        assert run.returncode == 1, run.stderr
        assert "Traceback" not in run.stdout + run.stderr
        assert run.stderr == ""
        assert "Class summary" in run.stdout


def test_every_roster_student_gets_one_row_in_order(broken) -> None:
    b, _ = broken
    rows = gradebook(b.root / "out")
    assert [r["student"] for r in rows[: len(b.names)]] == list(b.names)
    for sid, (status, fragment) in b.expected.items():
        row = rows[list(b.names).index(sid)]
        assert row["status"] == status and fragment in row["reason"], row
    assert not any("internal error" in r["reason"] for r in rows)


def test_every_file_gets_a_row(broken) -> None:
    b, _ = broken
    rows = gradebook(b.root / "out")
    extra = rows[len(b.names) :]
    files = sorted(
        p.name for p in b.subs.iterdir() if p.name.endswith(".json") and p.name != "folder.json"
    )
    for name in files:
        assert any(f"subs/{name}" in r["reason"] for r in rows), name
    orphans = {
        r["reason"].split(": ", 1)[0].removeprefix("subs/"): r for r in extra if r["student"] == ""
    }
    assert set(orphans) == set(b.orphans)
    for name, fragment in b.orphans.items():
        assert orphans[name]["status"] == "invalid" and fragment in orphans[name]["reason"]
    unmatched = [r for r in extra if r["status"] == "unmatched"]
    assert [(r["student"], r["reason"].split(":", 1)[0]) for r in unmatched] == [
        ("zz-unknown", "subs/s018.json")
    ]
    assert len(rows) == len(b.names) + len(b.orphans) + len(b.unmatched)
    assert not any("notes.txt" in r["reason"] or "folder.json" in r["reason"] for r in rows)


def test_one_and_two_jobs_agree(broken) -> None:
    b, _ = broken
    assert files_of(b.root / "out") == files_of(b.root / "out2")


def test_nothing_is_written_outside_out_and_nothing_runs(broken) -> None:
    b, runs = broken
    assert runs["before"] == runs["after"]  # the parent and the submissions, unchanged
    out = b.root / "out"
    # a report for every roster student whose file was found, readable or not
    graded = [sid for sid, (status, _) in b.expected.items() if status in ("submitted", "invalid")]
    assert sorted(files_of(out)) == sorted(
        ["gradebook.csv", "summary.html"]
        + [f"reports/{sid}.{ext}" for sid in graded for ext in ("json", "md")]
    )
    for marker in b.markers:
        assert not marker.exists(), marker
    assert not list(Path("/tmp").glob(f"{b.markers[0].name[:-2]}*"))
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;" in page


def test_roster_variant_counts_not_the_claimed_one(broken) -> None:
    b, _ = broken
    report = json.loads((b.root / "out" / "reports" / "s023.json").read_text(encoding="utf-8"))
    own = json.loads((b.root / "out" / "reports" / "s001.json").read_text(encoding="utf-8"))
    assert own["score"] == own["max_score"] > report["score"]


def test_generate_runs_nothing_and_writes_only_out(course: Course, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:12]
    markers = [Path(f"/tmp/pwned-gen-{tag}-{i}") for i in range(4)]
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name"])
        writer.writerows(
            [
                ("s001", f"$(touch {markers[0]})"),
                ("s002", f"`touch {markers[1]}`"),
                ("s003", f"\\immediate\\write18{{touch {markers[2]}}}"),
                (
                    "s004",
                    "{{ cycler.__init__.__globals__.os.system('touch " + str(markers[3]) + "') }}",
                ),
            ]
        )
    shutil.copy(course.assignment, tmp_path / "course.yaml")
    before = snapshot(tmp_path)
    done = run_grader(
        "generate",
        "course.yaml",
        "--roster",
        "roster.csv",
        "--out",
        "build",
        "--no-pdf",
        cwd=tmp_path,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    after = snapshot(tmp_path, ("build",))
    assert before == after
    assert not any(m.exists() for m in markers)
    sheet = (tmp_path / "build" / "sheets" / "s001.tex").read_text(encoding="utf-8")
    assert "\\$(touch" in sheet and "$(touch" not in sheet.replace("\\$(touch", "")
    assert "{{ cycler" not in (tmp_path / "build" / "sheets" / "s004.tex").read_text(
        encoding="utf-8"
    )


# ------------------------------------------------------------------ killed runs


def start(args: list[str], cwd: Path, secret: str = SECRET) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "grader", *args],
        cwd=cwd,
        env=dict(os.environ, GRADER_SECRET=secret),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill reaches the workers too
    )


def kill_when(proc: subprocess.Popen[bytes], moment: Callable[[], bool]) -> bool:
    """SIGKILL the whole process group as soon as ``moment()`` holds; False if the run
    ended first."""
    deadline = time.monotonic() + WATCHDOG
    while not moment():
        if proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail("the run neither reached the moment nor ended")
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def count(directory: Path, suffix: str) -> Callable[[], int]:
    def n() -> int:
        try:
            return sum(
                1
                for e in os.scandir(directory)
                if e.name.endswith(suffix) and not e.name.startswith(".")
            )
        except FileNotFoundError:
            return 0

    return n


def check_after_kill(out: Path) -> dict[str, bytes]:
    """Every file is whole (JSON parses); leftovers are only dot-prefixed staging files.
    Returns the whole files, to compare with a complete run."""
    complete: dict[str, bytes] = {}
    for path in sorted(out.rglob("*")) if out.exists() else []:
        if path.is_dir():
            continue
        if path.name.startswith("."):
            assert TEMP_FILE.match(path.name), path  # a staging file of fileio
            continue
        data = path.read_bytes()
        if path.suffix == ".json":
            json.loads(data)
        complete[path.relative_to(out).as_posix()] = data
    return complete


@pytest.fixture(scope="module")
def submissions(course: Course, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every student's key, with a mistake in every third, as the large batch."""
    subs = tmp_path_factory.mktemp("large") / "subs"
    subs.mkdir()
    for i, (sid, key) in enumerate(course.keys.items()):
        data = json.loads(json.dumps(key))
        if i % 3 == 0:
            data["answers"]["sgd"]["steps"][0]["deltas"][2] = "7"
        (subs / f"{sid}.json").write_text(json.dumps(data), encoding="utf-8")
    return subs


def test_killed_grade_leaves_the_previous_set_and_a_rerun_completes(
    course: Course, submissions: Path, tmp_path: Path
) -> None:
    """grade writes into a marked staging folder inside --out and swaps its outputs in as
    one set: a run killed while grading leaves the previous run's reports and gradebook
    exactly as they were (never some new reports beside an old gradebook), and the next
    run removes what the killed one left."""
    out = tmp_path / "out"

    def args(subs: Path) -> list[str]:
        return ["grade", str(course.assignment), str(subs), "--roster", str(course.roster),
                "--out", str(out)]  # fmt: skip

    few = tmp_path / "few"  # the previous run: a third of the class handed in
    few.mkdir()
    for path in sorted(submissions.iterdir())[: LARGE // 3]:
        shutil.copy(path, few / path.name)
    assert run_grader(*args(few), cwd=tmp_path).returncode == 0
    previous = files_of(out)
    assert len(list((out / "reports").glob("*.json"))) == LARGE // 3

    def staged() -> int:
        return sum(count(d / "reports", ".json")() for d in out.glob(".grader-grade-*"))

    moments: list[tuple[list[str], Callable[[], bool]]] = [
        ([], lambda: staged() >= 1),
        (["--jobs", "2"], lambda: staged() >= LARGE // 3),
        ([], lambda: staged() >= LARGE - 1),
    ]
    for extra, moment in moments:
        killed = kill_when(start(args(submissions) + extra, tmp_path), moment)
        assert killed, "the run ended before the moment"
        visible = {k: v for k, v in files_of(out).items() if not k.startswith(".")}
        assert visible == previous  # the previous set, whole and alone
    done = run_grader(*args(submissions), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    final = files_of(out)
    assert not [p for p in final if p.startswith(".")]  # the rerun cleaned up
    assert sorted(p.name for p in out.iterdir()) == ["gradebook.csv", "reports", "summary.html"]
    assert len(gradebook(out)) == LARGE
    assert len(list((out / "reports").glob("*.json"))) == LARGE


def test_killed_generate_leaves_the_old_or_the_new_build(course: Course, tmp_path: Path) -> None:
    out = tmp_path / "build"
    args = [
        "generate",
        str(course.assignment),
        "--roster",
        str(course.roster),
        "--out",
        str(out),
        "--no-pdf",
    ]
    assert run_grader(*args, cwd=tmp_path, secret=OTHER_STRONG_SECRET).returncode == 0
    old = files_of(out)

    def beside(kind: str) -> list[Path]:
        return sorted(tmp_path.glob(f".build.{kind}-*"))

    def staged_files() -> int:
        return sum(len(files) for d in beside("staging") for _, _, files in os.walk(d))

    states: list[tuple[dict[str, bytes], dict[str, dict[str, bytes]]]] = []
    moments: list[Callable[[], bool]] = [
        lambda: bool(beside("staging")),  # staging made, files being written
        lambda: staged_files() >= 3 * LARGE,  # halfway through writing
        lambda: bool(beside("old")),  # swapping in: the old build moved aside
    ]
    started = time.monotonic()
    for moment in moments:
        killed = kill_when(start(args, tmp_path), moment)
        assert killed or moment is moments[-1], "the run ended before the moment"
        leftovers = {
            p.name: files_of(p) for p in tmp_path.iterdir() if p.name.startswith(".build.")
        }
        assert all(
            re.match(r"^\.build\.(staging|old)-[a-z0-9_]{8}$", name) for name in leftovers
        ), leftovers
        states.append((files_of(out) if out.exists() else {}, leftovers))
    assert time.monotonic() - started < WATCHDOG
    done = run_grader(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    new = files_of(out)
    assert new != old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build"]  # the rerun cleaned up
    for build, leftovers in states:
        if ".grader-staging" in build:
            # killed in one of the swap's two marked windows, which the next run's
            # replace.clean_beside tidies by removing the marker: the old build marked just
            # before it is moved aside, or the new build in place before its marker goes
            build = {rel: data for rel, data in build.items() if rel != ".grader-staging"}
        if build:
            assert build in (old, new)  # never a mixture, never a half-written file
        else:  # killed between the two renames: the old build waits beside, whole
            assert old in leftovers.values()
        for rel, data in build.items():
            if rel.endswith(".json"):
                json.loads(data)
    manifest = json.loads(new["manifest.json"])
    assert set(manifest["files"]) == set(new) - {"manifest.json"}
    assert all(
        hashlib.sha256(new[rel]).hexdigest() == digest for rel, digest in manifest["files"].items()
    )


def test_a_rerun_puts_back_a_build_left_beside_and_cleans_up(
    course: Course, tmp_path: Path
) -> None:
    """The state a kill between the two renames of the swap leaves: no ``build``, the old
    build and a complete new one beside it as dot-directories."""
    out = tmp_path / "build"
    roster = tmp_path / "five.csv"
    roster.write_text(
        "".join(course.roster.read_text(encoding="utf-8").splitlines(keepends=True)[:6])
    )
    args = [
        "generate",
        str(course.assignment),
        "--roster",
        str(roster),
        "--out",
        str(out),
        "--no-pdf",
    ]
    assert run_grader(*args, cwd=tmp_path).returncode == 0
    built = files_of(out)
    out.rename(tmp_path / ".build.old-abcd1234")
    shutil.copytree(tmp_path / ".build.old-abcd1234", tmp_path / ".build.staging-efgh5678")
    (tmp_path / ".build.staging-efgh5678" / "keys" / "s001.json").write_text('{"half')
    # the marker a run puts into each folder it makes or moves aside (nobody holds it now)
    marker = json.dumps({"tool": "backprop-grader", "out": "build", "pid": 1})
    for left in (".build.old-abcd1234", ".build.staging-efgh5678"):
        (tmp_path / left / ".grader-staging").write_text(marker)
    done = run_grader(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "five.csv"]
    assert files_of(out) == built


def test_a_rerun_tidies_an_old_build_killed_while_marked_in_place(
    course: Course, tmp_path: Path
) -> None:
    """The state a kill between marking the old build and moving it aside leaves: the old
    build whole in ``--out`` with our marker inside.  A rerun builds anew and leaves no
    marker behind."""
    out = tmp_path / "build"
    roster = tmp_path / "five.csv"
    roster.write_text(
        "".join(course.roster.read_text(encoding="utf-8").splitlines(keepends=True)[:6])
    )
    args = ["generate", str(course.assignment), "--roster", str(roster), "--out", str(out),
            "--no-pdf"]  # fmt: skip
    assert run_grader(*args, cwd=tmp_path, secret=OTHER_STRONG_SECRET).returncode == 0
    old = files_of(out)
    marker = json.dumps({"tool": "backprop-grader", "out": "build", "pid": 1})
    (out / ".grader-staging").write_text(marker)
    done = run_grader(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    new = files_of(out)
    assert ".grader-staging" not in new and new != old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "five.csv"]
