"""Time how long the ``refebm`` command takes to answer ``--help`` and ``--version``.

Each command runs in a fresh interpreter, as a user runs it: through the installed console
script ``refebm`` when it is on PATH (it runs ``refebm.cli:main``), and through
``python -m refebm.cli`` as well. One warm-up run each (so the first run's disk reads do not
count), then ``--repeats`` timed runs, interleaved across the commands so that a burst of load
on a shared machine hits all of them alike. Prints one JSON line per command: the median and
the fastest wall time, the goal (0.5 s), and whether the median meets it; a first line gives the
versions and the interpreter's own start-up time (``python -c pass``), the floor no command can
go below.

``--help`` and ``--version`` are fast because ``refebm/__init__.py`` and ``refebm/cli.py``
import nothing numerical until a subcommand needs it; ``tests/test_cli.py`` checks that
import graph (no NumPy, SciPy, matplotlib or autograd), this script the time.

Run: ``python benchmarks/bench_cli.py [--repeats 15]``. Not a test; pytest does not collect it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

GOAL_SECONDS = 0.5


def _commands():
    python = [sys.executable]
    cmds = {"python -c pass": python + ["-c", "pass"]}
    script = shutil.which("refebm")
    for flag in ("--help", "--version"):
        if script:
            cmds[f"refebm {flag}"] = [script, flag]
        cmds[f"python -m refebm.cli {flag}"] = python + ["-m", "refebm.cli", flag]
    return cmds


def _run_once(argv):
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False, env=os.environ.copy())
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()}")
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per command")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"`--repeats` must be >= 1, got {args.repeats}")

    import refebm

    cmds = _commands()
    times = {name: [] for name in cmds}
    for argv_ in cmds.values():  # warm-up: file-system caches, .pyc files
        _run_once(argv_)
    for _ in range(args.repeats):
        for name, argv_ in cmds.items():
            times[name].append(_run_once(argv_))
    floor = statistics.median(times.pop("python -c pass"))
    print(json.dumps({"meta": True, "refebm": refebm.__version__,
                      "python": platform.python_version(), "machine": platform.machine(),
                      "cpus": os.cpu_count(), "repeats": args.repeats,
                      "python_startup_median_s": round(floor, 4)}), flush=True)
    for name, values in times.items():
        median = statistics.median(values)
        print(json.dumps({"command": name, "median_s": round(median, 4),
                          "min_s": round(min(values), 4), "goal_s": GOAL_SECONDS,
                          "meets_goal": median < GOAL_SECONDS}), flush=True)


if __name__ == "__main__":
    main()
