"""Start-up: how long ``grader --help`` takes, and which imports cost the most.

Runs ``grader --help`` ``--runs`` times as a fresh process (the console script of this
environment, else ``python -m grader``) and prints the median wall time, then one run under
``python -X importtime`` with its top offenders (cumulative time of the modules imported
directly, and self time of any module), and checks that the heavy libraries (sympy,
pydantic, jinja2, …) stay unloaded.  For scale it also prints what importing each heavy
library alone costs: what lazy imports save on every command that does not need them.

    python bench/bench_startup.py [--runs 10]

Target: under 0.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402

TARGET_S = 0.3
HEAVY = ("sympy", "pydantic", "jinja2", "numpy", "rich", "yaml", "pikepdf")


def grader_command() -> list[str]:
    script = Path(sys.executable).parent / "grader"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "grader"]


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def importtime(code: str) -> list[tuple[int, int, int, str]]:
    """(self µs, cumulative µs, depth, module) of every import ``python -c code`` makes."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((int(own), int(cumulative), depth, name.strip()))
    return rows


HELP_RUN = (
    "import sys; sys.argv = ['grader', '--help']\n"
    "from grader.cli import main\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
    "loaded = sorted({m.split('.')[0] for m in sys.modules} & set(%r))\n"
    "sys.stderr.write('HEAVY ' + ','.join(loaded) + '\\n')\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(describe())
    command = grader_command()
    wall(command + ["--help"])  # warm the OS file cache and .pyc files
    times = [wall(command + ["--help"]) for _ in range(args.runs)]
    median = statistics.median(times)
    verdict = "met" if median < TARGET_S else "NOT met"
    print(
        f"`grader --help`: median {median * 1000:.0f} ms of {args.runs} runs "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); "
        f"target < {TARGET_S * 1000:.0f} ms: {verdict}"
    )
    proc = subprocess.run(
        [sys.executable, "-c", HELP_RUN % (HEAVY,)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    heavy = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY ")]
    loaded = heavy[0].removeprefix("HEAVY ") if heavy else "?"
    print(f"  heavy libraries loaded by --help: {loaded or 'none'} (of {', '.join(HEAVY)})")

    rows = importtime("import grader.cli")
    children: list[tuple[int, int, int, str]] = []
    cli = (0, 0, 0, "grader.cli")
    pending: list[tuple[int, int, int, str]] = []
    for row in rows:  # importtime prints a module's imports before the module itself
        if row[2] == 1:
            pending.append(row)
        elif row[2] == 0:
            if row[3] == "grader.cli":
                children, cli = pending, row
            pending = []
    print(f"  python -X importtime: import grader.cli takes {cli[1] / 1000:.1f} ms; its imports:")
    for _own, cumulative, _, name in sorted(children, key=lambda r: -r[1])[:6]:
        print(f"      {cumulative / 1000:7.1f} ms  {name}")
    print("    top modules by self time:")
    for own, _, _, name in sorted(rows, key=lambda r: -r[0])[:6]:
        print(f"      {own / 1000:7.1f} ms  {name}")

    base = sum(r[0] for r in importtime("pass"))  # the interpreter's own start-up imports
    print("  for scale, importing a heavy library alone (what lazy imports keep off --help):")
    for name in ("sympy", "numpy", "pikepdf", "rich.progress", "jinja2", "pydantic", "yaml"):
        try:
            lib = importtime(f"import {name}")
        except subprocess.CalledProcessError:
            continue
        print(f"      {(sum(r[0] for r in lib) - base) / 1000:7.1f} ms  {name}")


if __name__ == "__main__":
    main()
