"""An output folder has one writer at a time, and the tool's temporary folders are marked.

* :func:`exclusive` holds an exclusive ``flock`` on the output folder itself (the folder's
  own file descriptor), so a lock leaves no file behind, even after a SIGKILL: the kernel
  drops it with the process.  A second run waits up to ``wait`` seconds, then stops
  (exit 2) naming the run that holds it (pid, command and start time, read from /proc).
* :class:`Staging` is a temporary folder this run made, with a marker file inside that
  says so (and for which output folder) and that the run holds locked while it lives.
  :func:`stale` finds only such folders whose owner is gone: a folder without the marker,
  for another output, or still held by a live run is never touched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader.core.errors import UserError

MARKER = ".grader-staging"  # inside every temporary folder this tool makes
TOOL = "backprop-grader"
POLL_SECONDS = 0.05

# The descriptors whose flocks this process holds.  A forked child (a worker process)
# would share each lock and keep it after this process died, so children close them.
_HELD: set[int] = set()


def _close_held_in_child() -> None:
    for fd in _HELD:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_in_child)


def _hold(fd: int) -> int:
    _HELD.add(fd)
    return fd


def _let_go(fd: int) -> None:
    _HELD.discard(fd)
    os.close(fd)


@contextmanager
def exclusive(out: Path, *, wait: float) -> Iterator[None]:
    """Be the only writer of ``out`` (made if missing) while the block runs."""
    created = False
    if not out.exists():
        try:
            out.mkdir(parents=True)
            created = True
        except FileExistsError:
            pass  # made by a run that started at the same moment: the lock decides
        except OSError as exc:
            raise os_error(exc, out) from None
    deadline = time.monotonic() + max(0.0, wait)
    fd = _hold(_locked_fd(out, deadline))
    try:
        yield
    except BaseException:
        if created:  # leave no empty folder behind a run that failed before writing it
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    finally:
        _let_go(fd)


def _locked_fd(out: Path, deadline: float) -> int:
    while True:
        try:
            fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
        except NotADirectoryError:
            raise UserError(
                "cannot write: it exists and is not a directory", file=str(out)
            ) from None
        except OSError as exc:
            raise os_error(exc, out) from None
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = holder_of(fd)
                    os.close(fd)
                    raise UserError(
                        f"another grader run is writing into this folder ({holder}); "
                        "wait for it to finish, or give --wait SECONDS",
                        file=str(out),
                    ) from None
                time.sleep(POLL_SECONDS)
        # a generate run swaps a new folder in under the same name: lock the one there now
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(out))
        except OSError:
            same = False
        if same:
            return fd
        os.close(fd)


def holder_of(fd: int) -> str:
    """Which process holds the flock on ``fd``'s file: "pid N: command, started T" as far
    as /proc tells (Linux), else a plain "another process"."""
    info = os.fstat(fd)
    dev = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as handle:
            lines = handle.read(1_000_000).splitlines()
    except OSError:
        return "another process"
    for line in lines:
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5] == dev:
            with contextlib.suppress(ValueError):
                return _describe(int(parts[4]))
    return "another process"


def _describe(pid: int) -> str:
    text = f"pid {pid}"
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()[:400]
        command = " ".join(raw.decode("utf-8", "replace").split("\x00")).strip()
        command = "".join(ch if ch.isprintable() else "?" for ch in command)[:200]
        if command:
            text += f": {command}"
    with contextlib.suppress(OSError, ValueError, IndexError):
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        started = boot + ticks / os.sysconf("SC_CLK_TCK")
        text += ", started " + datetime.fromtimestamp(started, timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S UTC"
        )
    return text


class Staging:
    """A temporary folder beside (or inside) an output folder, owned by this run."""

    def __init__(self, path: Path, fd: int, record: dict[str, Any]) -> None:
        self.path = path
        self._fd = fd
        self.record = record

    @classmethod
    def create(cls, parent: Path, prefix: str, out: str) -> Staging:
        """A new folder ``parent/<prefix><8 random characters>`` marked as staging for ``out``."""
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        try:
            return cls.mark(path, out)
        except BaseException:
            with contextlib.suppress(OSError):
                path.rmdir()
            raise

    @classmethod
    def mark(cls, path: Path, out: str) -> Staging:
        """Mark the existing folder ``path`` as this run's, for ``out``."""
        fd = os.open(path / MARKER, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held until release: a live owner's folder is never stale
        _hold(fd)
        staging = cls(path, fd, {"tool": TOOL, "out": out, "pid": os.getpid()})
        try:
            staging.note()
        except BaseException:  # a full disk: no half-written marker stays behind
            _let_go(fd)
            (path / MARKER).unlink(missing_ok=True)
            raise
        return staging

    def note(self, **fields: Any) -> None:
        """Record ``fields`` in the marker (what a later run needs to finish or undo our work)."""
        self.record.update(fields)
        data = json.dumps(self.record, ensure_ascii=False).encode("utf-8")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)

    def release(self) -> None:
        _let_go(self._fd)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()


def stale(parent: Path, prefix: str, out: str) -> Iterator[Staging]:
    """Marked staging folders ``parent/<prefix>*`` for ``out`` whose owner is gone; each is
    yielded locked by us (the caller removes or releases it)."""
    try:
        entries = sorted(os.scandir(parent), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            fd = os.open(Path(entry.path) / MARKER, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            _remove_if_empty(entry.path, prefix)  # killed before its marker: nothing in it
            continue  # else not ours (or not provably): leave it alone
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by a live run
            os.close(fd)
            continue
        try:
            record = json.loads(os.pread(fd, 65536, 0))
        except (OSError, ValueError):  # not our marker, or one a killed run never wrote
            if os.fstat(fd).st_size == 0 and os.listdir(entry.path) == [MARKER]:
                with contextlib.suppress(OSError):
                    os.unlink(Path(entry.path) / MARKER)
                _remove_if_empty(entry.path, prefix)
            os.close(fd)
            continue
        if not isinstance(record, dict) or record.get("tool") != TOOL or record.get("out") != out:
            os.close(fd)
            continue
        yield Staging(Path(entry.path), _hold(fd), record)


def _remove_if_empty(path: str, prefix: str) -> None:
    """Remove an empty folder named exactly as ``tempfile.mkdtemp`` names ours (a run killed
    between making it and marking it): removing an empty folder loses nothing."""
    name = os.path.basename(path)
    rest = name[len(prefix) :]
    if len(rest) == 8 and all(ch in "abcdefghijklmnopqrstuvwxyz0123456789_" for ch in rest):
        with contextlib.suppress(OSError):
            os.rmdir(path)  # fails unless empty


def os_error(exc: OSError, path: Path | str) -> UserError:
    """One line for an operating-system error: the path and the OS's reason."""
    where = exc.filename if isinstance(exc.filename, str) and exc.filename else str(path)
    reason = exc.strerror or os.strerror(exc.errno or errno.EIO)
    return UserError(f"cannot write: {reason}", file=where)
