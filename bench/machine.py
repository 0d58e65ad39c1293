"""One line describing the machine, printed at the top of every benchmark."""

from __future__ import annotations

import os
import platform


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
