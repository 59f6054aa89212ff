#!/usr/bin/env python3
"""run.py -- heapforge's benchmark runner.

Runs every workload under each allocator (glibc = no preload, heapforge, and jemalloc, mimalloc
and tcmalloc when installed) through LD_PRELOAD, in interleaved rounds, and prints median wall
time, median peak RSS and the ratios to glibc, then geometric means, then heapforge against the
project's bar: every workload within 1.1x the best peer's time and 1.25x its peak RSS, geometric
means at most 0.80x glibc's time and 1.00x its peak RSS, the thread-churn workload (mstress) at
most 1.5x glibc's peak RSS; and heapforge's five worst workloads in time and in peak RSS.

  bench/run.py                      # 5 rounds, every workload, every allocator found
  bench/run.py --quick              # 1 round at a small scale: a fast smoke run
  bench/run.py --only pairs,larson --rounds 9 --markdown
  bench/run.py --threads 2,4,8      # threaded workloads at 2, 4 and 8 threads (mstress@2t, ...)
  bench/run.py --fastpath           # instructions per malloc(16)/free pair, under callgrind
  bench/run.py --allocators heapforge --secure-levels 1,2,3 --rounds 3
                                    # heapforge at HEAPFORGE_SECURE=1..3 too, with their cost
                                    # as ratios to heapforge at level 0

Python 3 standard library only. See bench/README.md.
"""
import argparse
import hashlib
import math
import os
import platform
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_BUILD = REPO_DIR / "build" / "release"
LIBDIR = "/usr/lib/x86_64-linux-gnu"

# Peer allocators: the first existing candidate is used; a peer with none is skipped.
PEERS = {
    "jemalloc": [LIBDIR + "/libjemalloc.so.2", LIBDIR + "/libjemalloc.so"],
    "mimalloc": [LIBDIR + "/libmimalloc.so.2", LIBDIR + "/libmimalloc.so.2.0", LIBDIR + "/libmimalloc.so"],
    "tcmalloc": [LIBDIR + "/libtcmalloc_minimal.so.4", LIBDIR + "/libtcmalloc_minimal.so",
                 LIBDIR + "/libtcmalloc.so.4"],
}
ALL_ALLOCATORS = ["glibc", "heapforge", "jemalloc", "mimalloc", "tcmalloc"]
PEER_NAMES = ["glibc", "jemalloc", "mimalloc", "tcmalloc"]  # "the best peer" is the best of these

# The project's bar for heapforge (see the report's last table).
BAR_TIME = 1.10  # every workload: time <= 1.1x the best peer's
BAR_RSS = 1.25  # every workload: peak RSS <= 1.25x the best peer's
BAR_GEO_TIME = 0.80  # geometric mean of time / glibc
BAR_GEO_RSS = 1.00  # geometric mean of peak RSS / glibc
BAR_CHURN_RSS = 1.50  # the thread-churn workload (mstress): peak RSS <= 1.5x glibc's
CHURN_WORKLOAD = "mstress"
WORST = 5  # rows in the "furthest behind" lists

# Workloads written here (bench/*.c), then programs. THREADED maps the workloads that take a
# thread count to their default one; --threads runs them at several (rows "mstress@8t").
C_WORKLOADS = ["pairs", "batch", "prodcons", "larson", "realloc", "largechurn",
               "mstress", "xmalloc", "larson-classic", "malloc-large", "glibc-simple", "alloc-test",
               "cache-scratch", "cache-thrash", "workingset", "pairs4k"]
THREADED = {"mstress": 4, "xmalloc": 4, "larson-classic": 8, "cache-scratch": 4, "cache-thrash": 4}
PROGRAM_WORKLOADS = ["python", "sqlite", "perl", "lua", "gcc", "git"]
ALL_WORKLOADS = C_WORKLOADS + PROGRAM_WORKLOADS
QUICK_SCALE = 0.2


class UsageError(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# Allocators and workloads


class Allocator:
    def __init__(self, name, lib, extra=None):
        self.name = name
        self.lib = lib  # path of the shared object to preload, None for glibc
        self.extra = extra or {}  # environment of this variant (HEAPFORGE_SECURE)

    def env(self, base):
        env = dict(base)
        env.pop("LD_PRELOAD", None)
        env.pop("HEAPFORGE_SECURE", None)
        if self.lib:
            env["LD_PRELOAD"] = self.lib
        env.update(self.extra)
        return env


SECURE_PREFIX = "hf-secure"  # heapforge at HEAPFORGE_SECURE=N is the allocator "hf-secureN"


def resolve_allocators(names, build, explicit):
    """Turn names into Allocator objects. heapforge must exist; peers are optional."""
    out, notes = [], []
    for name in names:
        if name == "glibc":
            out.append(Allocator("glibc", None))
        elif name == "heapforge":
            lib = build / "libheapforge.so"
            if not lib.is_file():
                raise UsageError(
                    "heapforge library not found: %s\n"
                    "  build it first (from %s): cmake --preset release && cmake --build --preset release\n"
                    "  or leave heapforge out: --allocators glibc,jemalloc,mimalloc,tcmalloc" % (lib, REPO_DIR))
            out.append(Allocator("heapforge", str(lib)))
        elif name in PEERS:
            lib = next((p for p in PEERS[name] if os.path.isfile(p)), None)
            if lib is None:
                msg = "%s not installed (looked for %s): skipped" % (name, ", ".join(PEERS[name]))
                if explicit:
                    msg += " -- on Debian: apt-get install libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4"
                notes.append(msg)
                continue
            out.append(Allocator(name, lib))
        else:
            raise UsageError("unknown allocator %r (known: %s)" % (name, ", ".join(ALL_ALLOCATORS)))
    return out, notes


class Workload:
    """A command line to run; `prepare` may write input files into a scratch directory."""

    def __init__(self, name, argv, stdin=None, env=None, note="", base=None, threads=None):
        self.name = name  # the row's name: "mstress", or "mstress@8t" at a chosen thread count
        self.argv = argv
        self.stdin = stdin
        self.env = env or {}
        self.note = note
        self.base = base or name  # the workload itself, without a thread count
        self.threads = threads


class Lcg:
    """A fixed linear congruential generator, so generated inputs are the same in every run."""

    def __init__(self, seed):
        self.state = seed

    def __call__(self, n):
        self.state = (self.state * 1103515245 + 12345) % 2147483648
        return (self.state >> 16) % n


def generate_c(functions):
    """A C file of `functions` generated functions (structs, loops, switches, inline helpers,
    calls between functions and string tables) for the gcc workload: compiling it at -O2 keeps
    cc1, where gcc's allocating happens, busy for about 25 ms per function."""
    rnd = Lcg(12345)
    ops = ["+", "-", "*", "^", "|", "&"]
    out = ["/* generated by bench/run.py for the gcc workload */",
           "#include <stddef.h>", "#include <string.h>", ""]
    for k in range(8):
        out.append("struct rec%d { int a[%d]; long b; double c; const char *name; struct rec%d *next; };"
                   % (k, 4 + k, k))
    out.append("")
    for h in range(16):
        out.append("static inline long helper%d(long x, long y) { return (x %s %d) %s (y >> %d); }"
                   % (h, ops[rnd(6)], 1 + rnd(97), ops[rnd(6)], rnd(7)))
    out.append("")
    kinds = []
    for f in range(functions):
        k = rnd(8)
        kinds.append(k)
        out.append("long func%d(struct rec%d *r, long *v, size_t n, int k) {" % (f, k))
        out.append("    long acc = %d;" % rnd(1000))
        out.append("    for (size_t i = 0; i < n; i++) {")
        out.append("        long t = v[i] %s helper%d(acc, (long)i);" % (ops[rnd(6)], rnd(16)))
        out.append("        if (t %% %d == %d) acc += t; else acc ^= t << %d;" % (3 + rnd(13), rnd(3), rnd(5)))
        out.append("        v[i] = acc %s r->a[i %% %d];" % (ops[rnd(6)], 4 + k))
        out.append("    }")
        out.append("    switch (k %% %d) {" % (6 + rnd(10)))
        for c in range(6 + rnd(8)):
            out.append("    case %d: acc = helper%d(acc, %d) %s r->b; break;" % (c, rnd(16), rnd(500), ops[rnd(6)]))
        out.append("    default: acc += (long)strlen(r->name ? r->name : \"f%d\"); break;" % f)
        out.append("    }")
        out.append("    for (struct rec%d *p = r; p != NULL; p = p->next) {" % k)
        out.append("        p->a[%d] += (int)(acc >> %d) %s %d;" % (rnd(4 + k), rnd(9), ops[rnd(6)], rnd(50)))
        out.append("        p->c = p->c * %d.5 + (double)acc;" % rnd(9))
        out.append("    }")
        for _ in range(2 if f > 0 else 0):
            g = rnd(f)
            out.append("    if (k > %d && n > %d) acc += func%d((struct rec%d *)(void *)r, v + 1, n - 1, k - %d);"
                       % (rnd(40), rnd(8), g, kinds[g], 1 + rnd(3)))
        out.append("    static const char *const msg%d[] = {\"m%d\", \"n%d\", \"o%d\"};"
                   % (f, rnd(99), rnd(99), rnd(99)))
        out.append("    acc += (long)strlen(msg%d[(unsigned long)acc %% 3]);" % f)
        out.append("    return acc;")
        out.append("}")
        out.append("")
    return "\n".join(out) + "\n"


def generate_git_tree(root, files, rounds=6):
    """The inputs of the git workload: root/round0 holds `files` text files in 10 directories
    (about 40 lines each); each later round rewrites a fifth of them and adds a few."""
    rnd = Lcg(4242)
    words = ["alpha", "beta", "gamma", "delta", "value", "count", "index", "name", "size", "node"]
    content = {}

    def text(path, version):
        n = 20 + rnd(40)
        lines = ["# %s, version %d" % (path, version)]
        for i in range(n):
            lines.append("%s %s = %d;  // %s" % (words[rnd(10)], words[rnd(10)], rnd(100000), words[rnd(10)]))
        return "\n".join(lines) + "\n"

    names = ["dir%d/file%04d.txt" % (i % 10, i) for i in range(files)]
    for r in range(rounds):
        changed = names if r == 0 else [names[rnd(len(names))] for _ in range(max(1, len(names) // 5))]
        if r > 0:
            extra = ["dir%d/new%d_%d.txt" % (i % 10, r, i) for i in range(max(1, files // 50))]
            names = names + extra
            changed = changed + extra
        for path in sorted(set(changed)):
            old = content.get(path)
            if old is None:
                new = text(path, r)
            else:
                # keep most lines, rewrite some: diffs with context, not whole-file replacements
                lines = old.split("\n")
                for _ in range(1 + rnd(5)):
                    lines[1 + rnd(len(lines) - 2)] = "%s changed in round %d = %d;" % (words[rnd(10)], r, rnd(1000))
                new = "\n".join(lines)
            content[path] = new
            dest = root / ("round%d" % r) / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(new)


def find_program(names):
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    return None


def make_program(name, scale, scratch):
    """A real program's workload, or a string saying why it is skipped."""
    if name == "python":
        py = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else (
            shutil.which("python3") or sys.executable)
        return Workload(name, [py, str(BENCH_DIR / "py_alloc.py"), "%g" % scale],
                        env={"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"})
    if name == "sqlite":
        sqlite = find_program(["sqlite3"])
        if sqlite is None:
            return "sqlite3 not found (apt-get install sqlite3)"
        text = (BENCH_DIR / "sqlite_load.sql").read_text()
        rows = max(1000, int(200000 * scale))
        text, n = re.subn(r"INSERT INTO params VALUES\(\d+\);", "INSERT INTO params VALUES(%d);" % rows, text)
        if n != 1:
            raise UsageError("bench/sqlite_load.sql: cannot find the row count line")
        sql = scratch / "sqlite_load.sql"
        sql.write_text(text)
        return Workload(name, [sqlite, "-batch", ":memory:"], stdin=str(sql),
                        note="%s with %d rows" % (BENCH_DIR / "sqlite_load.sql", rows))
    if name == "perl":
        perl = find_program(["perl"])
        if perl is None:
            return "perl not found (apt-get install perl)"
        return Workload(name, [perl, str(BENCH_DIR / "perl_load.pl"), "%g" % scale],
                        env={"PERL_HASH_SEED": "0", "PERL_PERTURB_KEYS": "0"})
    if name == "lua":
        lua = find_program(["lua5.4"])
        if lua is None:
            return "lua5.4 not found (apt-get install lua5.4)"
        return Workload(name, [lua, str(BENCH_DIR / "lua_load.lua"), "%g" % scale])
    if name == "gcc":
        gcc = find_program(["gcc"])
        if gcc is None:
            return "gcc not found (apt-get install gcc)"
        functions = max(4, int(36 * scale))
        src = scratch / "gcc_load.c"
        src.write_text(generate_c(functions))
        # The assembly goes to stdout, so every allocator must produce the same code.
        return Workload(name, [gcc, "-O2", "-S", "-o", "-", str(src)],
                        note="gcc -O2 -S of a generated file of %d functions" % functions)
    if name == "git":
        git = find_program(["git"])
        if git is None:
            return "git not found (apt-get install git)"
        files = max(20, int(200 * scale))
        src = scratch / "git_src"
        generate_git_tree(src, files)
        return Workload(name, ["/bin/sh", str(BENCH_DIR / "git_load.sh"), str(src), str(scratch / "git_work")],
                        note="%d files, 6 commits" % files)
    raise UsageError("unknown workload %r (known: %s)" % (name, ", ".join(ALL_WORKLOADS)))


def expand_names(names, threads):
    """(row name, workload, thread count) for each requested workload. A threaded workload runs
    at each count of --threads (rows "name@Nt"), or once at its default count (row "name");
    "name@Nt" in --only asks for that one count."""
    rows = []
    for n in names:
        base, _, t = n.partition("@")
        if t:
            rows.append((n, base, int(t[:-1])))
        elif base in THREADED and threads:
            rows += [("%s@%dt" % (base, k), base, k) for k in threads]
        else:
            rows.append((base, base, THREADED.get(base)))
    seen = set()
    return [r for r in rows if not (r[0] in seen or seen.add(r[0]))]


def make_workloads(names, build, scale, scratch, threads=None):
    """The workloads to run, and notes on those skipped (a program not installed)."""
    bench_bin = build / "bench"
    out, skipped = [], []
    for row, base, nthreads in expand_names(names, threads):
        if base in C_WORKLOADS:
            exe = bench_bin / ("bench-" + base)
            if not os.access(exe, os.X_OK):
                raise UsageError("workload binary missing: %s\n  build it: cmake --build %s --target bench-%s"
                                 % (exe, build, base))
            argv = [str(exe), "%g" % scale]
            if base in THREADED:
                argv.append(str(nthreads))
            out.append(Workload(row, argv, base=base, threads=nthreads))
        else:
            w = make_program(base, scale, scratch)
            if isinstance(w, str):
                skipped.append("%s: %s: skipped" % (base, w))
            else:
                out.append(w)
    return out, skipped


# ----------------------------------------------------------------------------------------------
# Running one process


class Run:
    def __init__(self, seconds, rss_kib, code, stdout, stderr, timed_out):
        self.seconds = seconds
        self.rss_kib = rss_kib
        self.code = code  # exit code, or -signal
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.problem = None  # set when the run failed or its checksum differs from glibc's

    @property
    def ok(self):
        return self.problem is None


def run_once(argv, env, stdin, scratch, timeout, measure=None):
    """Run argv and return its wall time, peak RSS (KiB) and output.

    With `measure` (the bench-measure helper), the helper forks and execs argv and reports the
    child's wall time and wait4 ru_maxrss: a child forked by this Python process would start
    with Python's own RSS already counted in its peak. LD_PRELOAD in env is handed to the
    helper as BENCH_LD_PRELOAD, so that only the measured command runs on the allocator.
    Without `measure`, argv is spawned and waited for (os.wait4) directly.
    """
    out_path = scratch / "stdout"
    err_path = scratch / "stderr"
    res_path = scratch / "result"
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, stdin or os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(out_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, str(err_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    if measure:
        env = dict(env)
        preload = env.pop("LD_PRELOAD", None)
        if preload:
            env["BENCH_LD_PRELOAD"] = preload
        if res_path.exists():
            res_path.unlink()
        argv = [str(measure), str(res_path)] + list(argv)
    lock = threading.Lock()
    state = {"done": False, "killed": False}
    start = time.perf_counter()
    # A session of its own, so that a timeout kills the whole process group.
    pid = os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True)

    def kill():
        with lock:
            if not state["done"]:
                state["killed"] = True
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    timer = threading.Timer(timeout, kill)
    timer.daemon = True
    timer.start()
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    with lock:
        state["done"] = True
    timer.cancel()
    code, rss = os.waitstatus_to_exitcode(status), usage.ru_maxrss
    if measure and not state["killed"]:
        try:
            fields = res_path.read_text().split()
            seconds, rss = float(fields[0]), int(fields[1])
            code = os.waitstatus_to_exitcode(int(fields[2]))
        except (OSError, ValueError, IndexError):
            code = code if code != 0 else 125  # the helper itself failed
    return Run(seconds, rss, code, condense(out_path.read_text(errors="replace")),
               err_path.read_text(errors="replace"), state["killed"])


BIG_OUTPUT = 16384


def condense(text):
    """A long output (gcc's assembly) is kept as its first lines and a digest, which is all the
    comparison with glibc's output needs."""
    if len(text) <= BIG_OUTPUT:
        return text
    head = "".join(text.splitlines(True)[:3])
    return "%s... [%d bytes, %d lines, sha256 %s]\n" % (
        head[:400], len(text), text.count("\n"), hashlib.sha256(text.encode()).hexdigest())


def first_difference(got, want):
    """The first line where two outputs differ, for the failure message."""
    a, b = got.splitlines(), want.splitlines()
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "line %d: got %r, expected %r" % (i + 1, x[:200], y[:200])
    if len(a) != len(b):
        return "got %d lines, expected %d" % (len(a), len(b))
    return "got %r, expected %r" % (got[:300], want[:300])


def describe_exit(code):
    if code >= 0:
        return "exit %d" % code
    try:
        return "killed by %s" % signal.Signals(-code).name
    except ValueError:
        return "killed by signal %d" % -code


# ----------------------------------------------------------------------------------------------
# Statistics and tables


def geomean(values):
    values = [v for v in values if v and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def fmt_ratio(x):
    return "-" if x is None else "%.2f" % x


def fmt_mib(kib):
    return "%.1f" % (kib / 1024.0)


class Summary:
    def __init__(self, runs):
        good = [r for r in runs if r.ok]
        self.runs = runs
        self.failed = [r for r in runs if not r.ok]
        self.ok = bool(runs) and not self.failed
        self.time = statistics.median(r.seconds for r in good) if good else None
        self.tmin = min(r.seconds for r in good) if good else None
        self.tmax = max(r.seconds for r in good) if good else None
        self.rss = statistics.median(r.rss_kib for r in good) if good else None


def render(headers, rows, markdown, align=None):
    """A plain-text (aligned columns) or Markdown table."""
    align = align or ["l"] + ["r"] * (len(headers) - 1)
    if markdown:
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join(("---:" if a == "r" else ":---") for a in align) + "|"]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        parts = []
        for i, c in enumerate(cells):
            c = str(c)
            parts.append(c.rjust(widths[i]) if align[i] == "r" else c.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def machine_line():
    cpu = "unknown cpu"
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %d cpus, Linux %s" % (cpu, os.cpu_count() or 0, platform.release())


def best_peer(sums, wname, names, key):
    """(value, allocator) of the best peer (glibc, jemalloc, mimalloc, tcmalloc) for a
    workload by `key` ("time" or "rss"), among the peers that ran it without failing."""
    cands = [(getattr(sums[(wname, a)], key), a) for a in PEER_NAMES
             if a in names and sums[(wname, a)].ok]
    return min(cands) if cands else (None, None)


def report_bar(workloads, names, sums, geo, md, head, out):
    """heapforge's worst workloads against the best peer, then heapforge against the bar."""
    peers = [a for a in PEER_NAMES if a in names]
    rows = []  # (workload, hf time, best time, peer, time ratio, hf rss, best rss, peer, rss ratio)
    for w in workloads:
        hf = sums[(w.name, "heapforge")]
        bt, ta = best_peer(sums, w.name, names, "time")
        br, ra = best_peer(sums, w.name, names, "rss")
        if not hf.ok or bt is None:
            rows.append((w.name, hf, None, None, None, None, None, None))
            continue
        rows.append((w.name, hf, bt, ta, hf.time / bt, br, ra, hf.rss / br))
    measured = [r for r in rows if r[4] is not None]

    head("heapforge's worst workloads: furthest behind the best of %s" % ", ".join(peers))
    by_time = sorted(measured, key=lambda r: -r[4])[:WORST]
    by_rss = sorted(measured, key=lambda r: -r[7])[:WORST]
    table = []
    for i in range(max(len(by_time), len(by_rss))):
        row = []
        if i < len(by_time):
            r = by_time[i]
            row += [r[0], "%.2f" % r[4], "%.3f / %.3f (%s)" % (r[1].time, r[2], r[3])]
        else:
            row += ["", "", ""]
        if i < len(by_rss):
            r = by_rss[i]
            row += [r[0], "%.2f" % r[7], "%s / %s (%s)" % (fmt_mib(r[1].rss), fmt_mib(r[5]), r[6])]
        else:
            row += ["", "", ""]
        table.append(row)
    out.write(render(["time: workload", "ratio", "heapforge / best s", "peak RSS: workload", "ratio",
                      "heapforge / best MiB"], table, md, ["l", "r", "r", "l", "r", "r"]) + "\n")

    head("heapforge against the bar: each workload time <= %.2fx and peak RSS <= %.2fx the best peer's"
         % (BAR_TIME, BAR_RSS))
    table, misses = [], []
    for name, hf, bt, ta, tr, br, ra, rr in rows:
        if tr is None:
            table.append([name, "-" if hf.time is None else "%.3f" % hf.time, "-", "-",
                          "-" if hf.rss is None else fmt_mib(hf.rss), "-", "-",
                          "FAIL" if not hf.ok else "no peer"])
            misses.append("%s failed" % name if not hf.ok else "%s: no peer ran it" % name)
            continue
        over = [k for k, bad in (("TIME", tr > BAR_TIME), ("RSS", rr > BAR_RSS)) if bad]
        table.append([name, "%.3f" % hf.time, "%.3f (%s)" % (bt, ta), "%.2f" % tr, fmt_mib(hf.rss),
                      "%s (%s)" % (fmt_mib(br), ra), "%.2f" % rr, "+".join(over) or "ok"])
        if over:
            misses.append("%s %s" % (name, "+".join(over).lower()))
    out.write(render(["workload", "heapforge s", "best peer s", "time ratio", "heapforge MiB",
                      "best peer MiB", "RSS ratio", "bar"], table, md,
                     ["l", "r", "r", "r", "r", "r", "r", "l"]) + "\n")
    per_workload_misses = len(misses)

    # The aggregate criteria.
    checks = []
    gt, gr = geo.get("heapforge", (None, None))
    checks.append(("geomean time / glibc", gt, BAR_GEO_TIME))
    checks.append(("geomean peak RSS / glibc", gr, BAR_GEO_RSS))
    for w in workloads:
        if w.base == CHURN_WORKLOAD:
            hf, base = sums[(w.name, "heapforge")], sums[(w.name, "glibc")]
            r = hf.rss / base.rss if hf.ok and base.ok else None
            checks.append(("%s peak RSS / glibc" % w.name, r, BAR_CHURN_RSS))
    table = []
    for what, value, limit in checks:
        verdict = "ok" if value is not None and value <= limit else ("-" if value is None else "OVER")
        if verdict != "ok":
            misses.append("%s %s" % (what, fmt_ratio(value)))
        table.append([what, fmt_ratio(value), "<= %.2f" % limit, verdict])
    out.write("\n" + render(["criterion", "heapforge", "bar", "verdict"], table, md, ["l", "r", "r", "l"]) + "\n")
    out.write("\n%d of %d workload(s) outside the per-workload bar; %s\n" % (
        per_workload_misses, len(workloads),
        "heapforge meets the bar" if not misses else "misses: " + ", ".join(misses)))


def report(workloads, allocs, results, args, scale, out, notes=()):
    md = args.markdown
    names = [a.name for a in allocs]
    sums = {(w.name, a): Summary(results[(w.name, a)]) for w in workloads for a in names}

    def head(title):
        out.write(("\n### %s\n\n" if md else "\n== %s ==\n\n") % title)

    if md:
        out.write("## heapforge benchmark\n\n")
    out.write("%d round(s), scale %g, %s, %s\n" % (args.rounds, scale, machine_line(),
                                                  time.strftime("%Y-%m-%d %H:%M")))
    if md:
        out.write("\n")
    def where(lib):
        if not lib:
            return "libc"
        try:
            return str(Path(lib).relative_to(REPO_DIR))
        except ValueError:
            return lib

    out.write("allocators: %s\n" % ", ".join("%s (%s)" % (a.name, where(a.lib)) for a in allocs))
    for n in notes:
        out.write("note: %s\n" % n)

    head("Per workload: median of %d round(s); ratios are to glibc (lower is better)" % args.rounds)
    rows = []
    for w in workloads:
        base = sums[(w.name, "glibc")]
        for a in names:
            s = sums[(w.name, a)]
            if s.time is None:
                rows.append([w.name, a, "-", "-", "-", "-", "-", "FAIL"])
                continue
            tr = s.time / base.time if base.time else None
            rr = s.rss / base.rss if base.rss else None
            status = "ok" if s.ok else "FAIL %d/%d" % (len(s.failed), len(s.runs))
            rows.append([w.name, a, "%.3f" % s.time, "%.3f-%.3f" % (s.tmin, s.tmax), fmt_ratio(tr),
                         fmt_mib(s.rss), fmt_ratio(rr), status])
    out.write(render(["workload", "allocator", "time s", "min-max s", "time/glibc", "peak RSS MiB",
                      "RSS/glibc", "status"], rows, md, ["l", "l", "r", "r", "r", "r", "r", "l"]) + "\n")

    head("Geometric mean over workloads of the ratios to glibc")
    rows, geo = [], {}
    for a in names:
        tr, rr, n = [], [], 0
        for w in workloads:
            s, base = sums[(w.name, a)], sums[(w.name, "glibc")]
            if s.ok and base.ok:
                tr.append(s.time / base.time)
                rr.append(s.rss / base.rss)
                n += 1
        geo[a] = (geomean(tr), geomean(rr))
        rows.append([a, fmt_ratio(geo[a][0]), fmt_ratio(geo[a][1]), "%d/%d" % (n, len(workloads))])
    out.write(render(["allocator", "time", "peak RSS", "workloads"], rows, md) + "\n")

    if "heapforge" in names:
        report_bar(workloads, names, sums, geo, md, head, out)

    secure = [a for a in names if a.startswith(SECURE_PREFIX)]
    if secure:
        head("Secure levels: cost as ratios to heapforge at HEAPFORGE_SECURE=0 (time, peak RSS)")
        rows, per = [], {a: ([], []) for a in secure}
        for w in workloads:
            base = sums[(w.name, "heapforge")]
            row = [w.name, "%.3f" % base.time if base.time else "-"]
            for a in secure:
                s = sums[(w.name, a)]
                tr = s.time / base.time if s.time and base.time else None
                rr = s.rss / base.rss if s.rss and base.rss else None
                if tr:
                    per[a][0].append(tr)
                if rr:
                    per[a][1].append(rr)
                row.append("%s / %s" % (fmt_ratio(tr), fmt_ratio(rr)))
            rows.append(row)
        rows.append(["geomean", ""] + ["%s / %s" % (fmt_ratio(geomean(per[a][0])), fmt_ratio(geomean(per[a][1])))
                                       for a in secure])
        out.write(render(["workload", "level 0 s"] + ["level %s" % a[len(SECURE_PREFIX):] for a in secure],
                         rows, md, ["l", "r"] + ["r"] * len(secure)) + "\n")

    failed = [(w.name, a) for w in workloads for a in names if sums[(w.name, a)].failed]
    if failed:
        head("Failures")
        for wname, a in failed:
            s = sums[(wname, a)]
            out.write("- %s under %s: %d of %d run(s) failed; first: %s\n"
                      % (wname, a, len(s.failed), len(s.runs), s.failed[0].problem))
    return not failed


# ----------------------------------------------------------------------------------------------
# Modes


def check_preload(allocs, build, scratch, timeout):
    """Prove that LD_PRELOAD really interposes each allocator's malloc and free."""
    probe = build / "bench" / "bench-whichmalloc"
    if not os.access(probe, os.X_OK):
        raise UsageError("probe binary missing: %s (cmake --build %s --target bench-whichmalloc)" % (probe, build))
    bad = []
    for a in allocs:
        r = run_once([str(probe)], a.env(os.environ), None, scratch, timeout)
        if r.code != 0:
            bad.append("%s: the probe failed (%s): %s" % (a.name, describe_exit(r.code), r.stderr.strip()[-400:]))
            continue
        want = os.path.realpath(a.lib) if a.lib else None
        for ln in r.stdout.splitlines():
            fn, _, obj = ln.partition(" ")
            real = os.path.realpath(obj)
            if want is not None and real != want:
                bad.append("%s: %s resolves to %s, not to the preloaded %s" % (a.name, fn, obj, a.lib))
            if want is None and "libc.so" not in obj:
                bad.append("glibc: %s resolves to %s (is LD_PRELOAD set?)" % (fn, obj))
    return bad


def run_suite(args, build, scale):
    names = args.allocators
    explicit = names is not None
    names = names if names else list(ALL_ALLOCATORS)
    if "glibc" not in names:
        names = ["glibc"] + names  # the reference for checksums and ratios
    allocs, notes = resolve_allocators(names, build, explicit)
    for level in args.secure_levels or []:
        hf = next((a for a in allocs if a.name == "heapforge"), None)
        if hf is None:
            raise UsageError("--secure-levels needs heapforge among the allocators")
        allocs.append(Allocator("%s%d" % (SECURE_PREFIX, level), hf.lib, {"HEAPFORGE_SECURE": str(level)}))
    if args.baseline:
        # Another heapforge build (e.g. the previous commit) in the same interleaved rounds, so a
        # change is measured before/after under the same machine noise.
        if not os.path.isfile(args.baseline):
            raise UsageError("--baseline: no such library: %s" % args.baseline)
        allocs.append(Allocator("hf-base", os.path.abspath(args.baseline)))
    for n in notes:
        print("note: " + n, file=sys.stderr)
    # Scratch files (outputs, generated inputs, git's repository) go to a memory file system
    # where there is one: on a disk, git's run time is mostly the writeback of earlier runs.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK) else None
    with tempfile.TemporaryDirectory(prefix="hf-bench-", dir=shm) as tmp:
        scratch = Path(tmp)
        workloads, skipped = make_workloads(args.only or ALL_WORKLOADS, build, scale, scratch, args.threads)
        for n in skipped:
            print("note: " + n, file=sys.stderr)
        if not workloads:
            raise UsageError("no workload left to run")
        measure = build / "bench" / "bench-measure"
        if not os.access(measure, os.X_OK):
            raise UsageError("helper binary missing: %s (cmake --build %s --target bench-measure)" % (measure, build))
        bad = check_preload(allocs, build, scratch, args.timeout)
        if bad:
            for b in bad:
                print("error: " + b, file=sys.stderr)
            return 1
        results = {(w.name, a.name): [] for w in workloads for a in allocs}
        base_env = dict(os.environ)
        total = args.rounds * len(workloads) * len(allocs)
        done = 0
        for rnd in range(args.rounds):
            # Rotate the order each round, so no allocator always runs right after another.
            k = rnd % len(allocs)
            order = allocs[k:] + allocs[:k]
            for w in workloads:
                for a in order:
                    env = a.env(base_env)
                    env.update(w.env)
                    r = run_once(w.argv, env, w.stdin, scratch, args.timeout, measure)
                    done += 1
                    if r.timed_out:
                        r.problem = "timed out after %gs" % args.timeout
                    elif r.code != 0:
                        tail = r.stderr.strip()[-600:]
                        r.problem = "%s; command: LD_PRELOAD=%s %s%s" % (
                            describe_exit(r.code), a.lib or "", " ".join(w.argv),
                            " < " + (w.note or w.stdin) if w.stdin else "")
                        if tail:
                            r.problem += "; stderr: " + tail.replace("\n", " | ")
                    results[(w.name, a.name)].append(r)
                    print("[%3d/%d] round %d  %-18s %-9s %7.3fs %8.1f MiB  %s" % (
                        done, total, rnd + 1, w.name, a.name, r.seconds, r.rss_kib / 1024.0,
                        "ok" if r.problem is None else "FAILED"), file=sys.stderr, flush=True)
        # Checksums: every run must print exactly what glibc printed.
        for w in workloads:
            ref_runs = [r for r in results[(w.name, "glibc")] if r.ok]
            if not ref_runs:
                continue
            ref = ref_runs[0].stdout
            for a in allocs:
                for r in results[(w.name, a.name)]:
                    if r.ok and r.stdout != ref:
                        r.problem = "output differs from glibc's: " + first_difference(r.stdout, ref)
        ok = report(workloads, allocs, results, args, scale, sys.stdout, notes + skipped)
        return 0 if ok else 1


def callgrind_costs(path):
    """Parse a callgrind output file: total Ir and self Ir per object and per (object, function).

    Only what is needed here: "ob=" and "fn=" set the current object and function (with name
    compression: "(id) name" defines an id, "(id)" refers to it); a cost line ("<pos> <Ir>")
    adds self cost, except the one right after "calls=", which is a call's inclusive cost.
    """
    tables = {"ob": {}, "fn": {}}
    name_re = re.compile(r"^\((\d+)\)(?: (.*))?$")

    def lookup(table, value):
        m = name_re.match(value)
        if not m:
            return value
        if m.group(2) is not None:
            tables[table][m.group(1)] = m.group(2)
        return tables[table].get(m.group(1), "(%s)" % m.group(1))

    obj = fn = None
    per_obj, per_fn = {}, {}
    total = None
    skip_next_cost = False
    with open(path, errors="replace") as f:
        for ln in f:
            c = ln[:1]
            if c.isdigit() or c in "+-*":
                if skip_next_cost:
                    skip_next_cost = False
                    continue
                parts = ln.split()
                if len(parts) >= 2 and obj is not None:
                    ir = int(parts[1])
                    per_obj[obj] = per_obj.get(obj, 0) + ir
                    per_fn[(obj, fn)] = per_fn.get((obj, fn), 0) + ir
                continue
            if ln.startswith("summary:") or ln.startswith("totals:"):
                total = int(ln.split(":", 1)[1].split()[0])
                continue
            key, eq, value = ln.rstrip("\n").partition("=")
            if not eq:
                continue
            if key == "ob":
                obj = lookup("ob", value)
            elif key == "fn":
                fn = lookup("fn", value)
            elif key == "cob":
                lookup("ob", value)
            elif key == "cfn":
                lookup("fn", value)
            elif key == "calls":
                skip_next_cost = True
    return total, per_obj, per_fn


def short_obj(path):
    return "-" if path is None else os.path.basename(path)


def run_fastpath(args, build):
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise UsageError("valgrind not found (apt-get install valgrind)")
    exe = build / "bench" / "bench-fastpath"
    if not os.access(exe, os.X_OK):
        raise UsageError("workload binary missing: %s (cmake --build %s --target bench-fastpath)" % (exe, build))
    names = args.allocators or list(ALL_ALLOCATORS)
    allocs, notes = resolve_allocators(names, build, args.allocators is not None)
    for n in notes:
        print("note: " + n, file=sys.stderr)
    n1 = args.fastpath_n
    n2 = 2 * n1
    rows, problems = [], []
    with tempfile.TemporaryDirectory(prefix="hf-callgrind-") as tmp:
        scratch = Path(tmp)
        for a in allocs:
            want = os.path.realpath(a.lib) if a.lib else None
            measured = {}
            for n in (n1, n2):
                out = scratch / ("%s-%d.out" % (a.name, n))
                argv = [valgrind, "--tool=callgrind", "--callgrind-out-file=%s" % out, str(exe), str(n)]
                env = a.env(os.environ)
                print("callgrind: %s N=%d" % (a.name, n), file=sys.stderr, flush=True)
                r = run_once(argv, env, None, scratch, args.timeout)
                if r.code != 0 or not out.is_file():
                    problems.append("%s N=%d: %s; command: LD_PRELOAD=%s %s; stderr: %s" % (
                        a.name, n, describe_exit(r.code), a.lib or "", " ".join(argv),
                        r.stderr.strip()[-600:].replace("\n", " | ")))
                    break
                measured[n] = callgrind_costs(out)
            if len(measured) != 2:
                rows.append([a.name, "-", "-", "-", "-", "FAIL"])
                continue
            (t1, o1, f1), (t2, o2, f2) = measured[n1], measured[n2]
            # Which object did the program's malloc and free run in? Callgrind names the object
            # "???" for code it cannot place (tcmalloc keeps malloc in a "google_malloc" section).
            homes = {}
            for fname in ("malloc", "free"):
                # "malloc" or a prefixed alias of it (hf_malloc, __libc_malloc, je_malloc, ...).
                by_obj = {}
                for (ob, fn), ir in f2.items():
                    if fn == fname or fn.endswith("_" + fname):
                        by_obj[ob] = by_obj.get(ob, 0) + ir
                best = max(((ir, ob) for ob, ir in by_obj.items()), default=None)
                homes[fname] = best[1] if best and best[0] >= n1 else None
            loaded = [o for o in o2 if (want is None and "/libc.so" in o)
                      or (want is not None and os.path.realpath(o) == want)]
            verdict = "ok"
            for fname, ob in homes.items():
                if ob is None:
                    verdict = "NOT SEEN"
                    problems.append("%s: callgrind saw no %s called per pair" % (a.name, fname))
                elif ob in loaded:
                    continue
                elif ob == "???" and loaded and want is not None:
                    verdict = "ok (unmapped section)"
                else:
                    verdict = "WRONG"
                    problems.append("%s: %s ran in %s, not in %s" % (a.name, fname, ob, a.lib or "libc"))
            # Instructions outside the benchmark's own loop (main) per pair: the allocator's share.
            exe_objs = [o for o in o2 if os.path.realpath(o) == os.path.realpath(str(exe))]
            loop1 = sum(o1.get(o, 0) for o in exe_objs)
            loop2 = sum(o2.get(o, 0) for o in exe_objs)
            alloc_per_pair = ((t2 - t1) - (loop2 - loop1)) / n1
            top = sorted(((ir, fn) for (ob, fn), ir in f2.items() if ob in loaded or ob == "???"),
                         reverse=True)[:3]
            rows.append([a.name, "%.1f" % ((t2 - t1) / n1), "%.1f" % alloc_per_pair,
                         ", ".join("%s %.1f" % (fn, ir / n2) for ir, fn in top if ir >= n2),
                         "%s / %s" % (short_obj(homes["malloc"]), short_obj(homes["free"])), verdict])
    md = args.markdown
    print(("\n### %s\n" if md else "\n== %s ==\n") % (
        "Fast path: instructions per malloc(16)/free pair = (Ir(2N) - Ir(N)) / N, N = %d" % n1))
    print(render(["allocator", "Ir/pair", "outside the loop", "busiest functions (Ir per pair, 2N run)",
                  "malloc / free ran in", "preload"], rows, md, ["l", "r", "r", "l", "l", "l"]))
    print("\nIr/pair: every instruction the process ran, per extra pair; 'outside the loop' leaves out"
          " the benchmark's own loop in main (about 11 instructions).")
    for p in problems:
        print("problem: " + p)
    return 0 if not problems else 1


def parse_args(argv):
    p = argparse.ArgumentParser(description="Run heapforge's benchmarks under several allocators.")
    p.add_argument("--build", default=None, help="CMake build directory (default: %s)" % DEFAULT_BUILD)
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5; 1 with --quick)")
    p.add_argument("--only", default=None, help="comma-separated workloads: %s" % ",".join(ALL_WORKLOADS))
    p.add_argument("--threads", default=None,
                   help="comma-separated thread counts (e.g. 2,4,8) to run each threaded workload at "
                        "(%s), as rows like mstress@8t; default: once at its own default count"
                        % ", ".join("%s %d" % kv for kv in THREADED.items()))
    p.add_argument("--allocators", default=None,
                   help="comma-separated allocators (default: all found): %s" % ",".join(ALL_ALLOCATORS))
    p.add_argument("--quick", action="store_true", help="1 round at scale %g: a fast smoke run" % QUICK_SCALE)
    p.add_argument("--scale", type=float, default=None, help="work scale factor (default 1; %g with --quick)"
                   % QUICK_SCALE)
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before a run is killed (default 300)")
    p.add_argument("--secure-levels", default=None,
                   help="comma-separated HEAPFORGE_SECURE levels (1-3) to run heapforge at as well, "
                        "with a table of their cost relative to level 0")
    p.add_argument("--baseline", default=None,
                   help="another libheapforge.so (e.g. an older build) to run as allocator hf-base")
    p.add_argument("--fastpath", action="store_true",
                   help="count instructions per malloc(16)/free pair under callgrind instead")
    p.add_argument("--fastpath-n", type=int, default=100000, help="N for --fastpath (runs N and 2N; default 1e5)")
    args = p.parse_args(argv)

    def split(v):
        return [x.strip() for x in v.split(",") if x.strip()] if v else None

    args.only = split(args.only)
    args.allocators = split(args.allocators)
    try:
        args.secure_levels = [int(x) for x in split(args.secure_levels) or []]
    except ValueError:
        p.error("--secure-levels takes levels like 1,2,3")
    if any(not 1 <= x <= 3 for x in args.secure_levels):
        p.error("--secure-levels: levels are 1, 2 or 3")
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.scale is not None and not args.scale > 0:
        p.error("--scale must be positive")
    if args.fastpath_n < 1:
        p.error("--fastpath-n must be positive")
    try:
        args.threads = [int(x) for x in split(args.threads) or []]
    except ValueError:
        p.error("--threads takes counts like 2,4,8")
    if any(not 1 <= x <= 256 for x in args.threads):
        p.error("--threads: counts are 1 to 256")
    for w in args.only or []:
        base, at, t = w.partition("@")
        if base not in ALL_WORKLOADS:
            p.error("unknown workload %r (known: %s)" % (w, ", ".join(ALL_WORKLOADS)))
        if at and (base not in THREADED or not re.fullmatch(r"[1-9][0-9]*t", t) or int(t[:-1]) > 256):
            p.error("%r: only a threaded workload (%s) takes a thread count, as in %s@8t"
                    % (w, ", ".join(THREADED), next(iter(THREADED))))
    for a in args.allocators or []:
        if a not in ALL_ALLOCATORS:
            p.error("unknown allocator %r (known: %s)" % (a, ", ".join(ALL_ALLOCATORS)))
    return args


def main(argv):
    args = parse_args(argv)
    build = Path(args.build).resolve() if args.build else DEFAULT_BUILD
    try:
        if not build.is_dir():
            raise UsageError("build directory not found: %s\n  configure and build first (from %s):\n"
                             "  cmake --preset release && cmake --build --preset release" % (build, REPO_DIR))
        if args.fastpath:
            return run_fastpath(args, build)
        scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else 1.0)
        return run_suite(args, build, scale)
    except UsageError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
