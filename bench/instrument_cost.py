#!/usr/bin/env python3
"""instrument_cost.py -- what counting every call costs a real program.

Runs real programs on heapforge plain, with HEAPFORGE_STATS=1 (statistics), and with
HEAPFORGE_TRACE=file (recording), in interleaved rounds, and prints median wall time, each
mode's ratio to plain heapforge (with the spread of the per-round ratios), and the trace's size.

  bench/instrument_cost.py [--build build/release] [--rounds 5]

Python 3 standard library only.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def workloads(scratch):
    sql = (REPO / "bench" / "sqlite_load.sql").read_text().replace("VALUES(200000)", "VALUES(60000)")
    sql_path = Path(scratch) / "load.sql"
    sql_path.write_text(sql)
    return {
        "python": (["/usr/bin/python3", str(REPO / "bench" / "py_alloc.py")], None),
        "sqlite": (["sqlite3", "-batch", ":memory:"], sql_path),
    }


def run_once(argv, stdin, env):
    f = open(stdin) if stdin else subprocess.DEVNULL
    t = time.perf_counter()
    r = subprocess.run(argv, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    if stdin:
        f.close()
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (argv[0], r.stderr.decode()[-300:]))
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--build", default=str(REPO / "build" / "release"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    lib = Path(args.build) / "libheapforge.so"
    if not lib.exists():
        sys.exit("no %s: build the release preset first" % lib)
    with tempfile.TemporaryDirectory() as scratch:
        trace = Path(scratch) / "t.hft"
        modes = {
            "plain": {},
            "stats": {"HEAPFORGE_STATS": "1", "HEAPFORGE_STATS_FILE": "/dev/null"},
            "trace": {"HEAPFORGE_TRACE": str(trace)},
        }
        print("| workload | plain (s) | stats (s) | stats / plain | trace (s) | trace / plain | trace size |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, (argv, stdin) in workloads(scratch).items():
            times = {m: [] for m in modes}
            for _ in range(args.rounds):
                for m, extra in modes.items():  # interleaved: a noisy neighbour hits every mode
                    env = dict(os.environ, LD_PRELOAD=str(lib), **extra)
                    times[m].append(run_once(argv, stdin, env))
            size = trace.stat().st_size if trace.exists() else 0

            def ratio(m):
                rs = sorted(a / b for a, b in zip(times[m], times["plain"]))
                return "%.2f (%.2f-%.2f)" % (statistics.median(rs), rs[0], rs[-1])

            med = {m: statistics.median(v) for m, v in times.items()}
            print("| %s | %.3f | %.3f | %s | %.3f | %s | %.1f MiB |" %
                  (name, med["plain"], med["stats"], ratio("stats"), med["trace"], ratio("trace"),
                   size / 2**20))


if __name__ == "__main__":
    main()
