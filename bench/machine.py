"""One line describing the machine, printed at the top of every benchmark."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def describe() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    return (
        f"machine: {cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()} "
        f"on {platform.system()}{load_note()}"
    )


def load_note() -> str:
    """``, load 0.12``: the 1-minute load average when the benchmark starts.  Near the
    number of cores, other work shares the CPU and wall times are inflated."""
    try:
        return f"; load average {os.getloadavg()[0]:.2f}"
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        return ""


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_capacity(workers: int = 2, n: int = 5_000_000) -> str:
    """``2 processes run 1.96x as fast as one``: how many cores are really free now.  On a
    shared machine another job may hold a core, and no ``--jobs`` can beat this figure."""
    import time
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_spin, [1000] * workers))  # start the workers first
        start = time.perf_counter()
        _spin(n)
        serial = time.perf_counter() - start
        start = time.perf_counter()
        list(pool.map(_spin, [n] * workers))
        parallel = time.perf_counter() - start
    return f"{workers} processes run {workers * serial / parallel:.2f}x as fast as one"


# Where the benchmarks write.  By default where a user's --out would be: a directory beside
# the project (bench/.scratch, git-ignored); --scratch picks another.  Nothing is deleted
# until a benchmark has printed everything: on a filesystem without a journal (this VM's
# ext4), creating a file while many inodes were deleted in the last half minute costs up to
# 1 ms, because ext4 then skips every recently deleted inode one by one (perf shows
# `recently_deleted` under `__ext4_new_inode`).  Deleting one stage's files would make the
# next stage pay for it.
DEFAULT_SCRATCH = Path(__file__).resolve().parent / ".scratch"


def add_scratch_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scratch",
        type=Path,
        default=None,
        help=f"directory for the bench's files (default: {DEFAULT_SCRATCH})",
    )
    parser.add_argument(
        "--keep-scratch",
        action="store_true",
        help="leave the files there (run_all.py removes them after the last benchmark)",
    )


@contextlib.contextmanager
def scratch_dir(prefix: str, args: argparse.Namespace) -> Iterator[Path]:
    """A fresh directory under ``args.scratch`` (default bench/.scratch), removed when the
    benchmark is done with it (unless ``args.keep_scratch``): open it once, around
    everything that is measured."""
    base = args.scratch or DEFAULT_SCRATCH
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    try:
        yield path
    finally:
        if not args.keep_scratch:
            shutil.rmtree(path, ignore_errors=True)


def file_creation_note(directory: Path, count: int = 500) -> str:
    """``creating a 2 kB file: 0.03 ms in …``: the filesystem's share of every report and
    generated file, measured now (the files stay until the scratch directory goes)."""
    import time

    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=directory))
    payload = b"x" * 2048
    start = time.perf_counter()
    for i in range(count):
        fd = os.open(probe / f"f{i}", os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
        os.write(fd, payload)
        os.close(fd)
    seconds = (time.perf_counter() - start) / count
    return f"creating a 2 kB file: {seconds * 1000:.3f} ms in {directory}"
