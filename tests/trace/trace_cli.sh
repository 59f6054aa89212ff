#!/bin/sh
# trace_cli.sh -- the heapforge command's tests: trace round trips, corrupt files, usage errors,
# and replay (determinism, agreement between policies, JSON, CSV, HTML).
#   trace_cli.sh MODE HEAPFORGE_BINARY TESTS_DIR
# MODE: roundtrip | corrupt | usage | replay | record | compare. Each case checks the exit code and the
# message. record also takes THREADED_PROGRAM (a multi-threaded program with cross-thread frees).
set -u
mode=$1 hf=$2 here=$3 threaded=${4:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/hftrace.XXXXXX")
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE MESSAGE CMD...: CMD exits with CODE and its stderr contains MESSAGE (one line).
expect() {
  code=$1 msg=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  rc=$?
  [ "$rc" -eq "$code" ] || fail "$* -> exit $rc, expected $code: $(cat "$work/err")"
  if [ -n "$msg" ]; then
    grep -qF -- "$msg" "$work/err" || fail "$* -> message '$(cat "$work/err")' lacks '$msg'"
    [ "$(wc -l <"$work/err")" -eq 1 ] || fail "$* -> more than one line on stderr"
  fi
}

python3 "$here/mktrace.py" "$work" || exit 1

case $mode in
roundtrip)
  for k in steady bursty random; do
    expect 0 "" "$hf" gen $k -n 3000 --seed 7 -o "$work/$k.hft"
    # The same seed writes the same bytes.
    expect 0 "" "$hf" gen $k -n 3000 --seed 7 -o "$work/$k.again.hft"
    cmp -s "$work/$k.hft" "$work/$k.again.hft" || fail "gen $k is not deterministic"
    # binary -> ops -> binary: a second pass is byte-identical (ids become the same addresses).
    expect 0 "" "$hf" convert "$work/$k.hft" -o "$work/$k.b1.hft"
    expect 0 "" "$hf" convert "$work/$k.b1.hft" -o "$work/$k.b2.hft"
    cmp -s "$work/$k.b1.hft" "$work/$k.b2.hft" || fail "$k: binary -> binary changed"
    # binary -> rep -> binary -> rep: the same operations.
    expect 0 "" "$hf" convert "$work/$k.hft" -o "$work/$k.rep"
    expect 0 "" "$hf" convert "$work/$k.rep" -o "$work/$k.r.hft"
    expect 0 "" "$hf" convert "$work/$k.r.hft" -o "$work/$k.r.rep"
    cmp -s "$work/$k.rep" "$work/$k.r.rep" || fail "$k: binary -> rep -> binary changed the ops"
    # The ops agree with the original: peak live is the same through every conversion.
    for f in "$work/$k.hft" "$work/$k.b2.hft" "$work/$k.rep" "$work/$k.r.hft"; do
      "$hf" replay --policy tlsf --csv "$f" | cut -d, -f4,6 | tail -1 >>"$work/$k.peaks"
    done
    [ "$(sort -u "$work/$k.peaks" | wc -l)" -eq 1 ] || fail "$k: conversions disagree: $(cat "$work/$k.peaks")"
  done
  # .rep -> ops -> .rep, from a hand-written classic file (header, sparse ids, realloc).
  printf '# a comment\n100\n3\n6\n1\na 5 10\na 9 20\nr 5 40\nf 9\na 2 8\nf 5\n' >"$work/hand.rep"
  expect 0 "" "$hf" convert "$work/hand.rep" -o "$work/hand.out.rep"
  printf '60\n3\n6\n1\na 0 10\na 1 20\nr 0 40\nf 1\na 2 8\nf 0\n' >"$work/hand.want.rep"
  cmp -s "$work/hand.out.rep" "$work/hand.want.rep" || fail ".rep -> .rep: $(cat "$work/hand.out.rep")"
  expect 0 "" "$hf" convert "$work/hand.out.rep" -o "$work/hand.out2.rep"
  cmp -s "$work/hand.out.rep" "$work/hand.out2.rep" || fail ".rep -> .rep is not stable"
  # A trace written by an independent encoder (mktrace.py): failed malloc, calloc, aligned,
  # realloc, two threads; and chunks whose threads interleave in time.
  expect 0 "" "$hf" convert "$work/good.hft" -o "$work/good.rep"
  printf '1320\n3\n7\n1\na 0 100\na 1 64\na 2 256\nr 0 1000\nf 1\nf 0\nf 2\n' >"$work/good.want.rep"
  cmp -s "$work/good.rep" "$work/good.want.rep" || fail "good.hft: $(cat "$work/good.rep")"
  expect 0 "" "$hf" convert "$work/merge.hft" -o "$work/merge.rep"
  printf '30\n2\n4\n1\na 0 10\na 1 20\nf 0\nf 1\n' >"$work/merge.want.rep"
  cmp -s "$work/merge.rep" "$work/merge.want.rep" || fail "merge.hft: $(cat "$work/merge.rep")"
  # The failed malloc survives binary -> binary.
  expect 0 "" "$hf" convert "$work/good.hft" -o "$work/good.b.hft"
  "$hf" replay --json --policy fast "$work/good.b.hft" | grep -q '"ops": 7,' ||
    fail "good.hft: the failed malloc is not skipped, or lost"
  ;;
corrupt)
  while read -r file code msg; do
    expect "$code" "$msg" "$hf" replay --quiet "$work/$file"
    expect "$code" "$msg" "$hf" convert "$work/$file" -o "$work/out.hft"
  done <"$work/cases.txt"
  expect 3 "cannot open" "$hf" replay "$work/does-not-exist.hft"
  ;;
usage)
  expect 2 "unknown command 'frobnicate'" "$hf" frobnicate
  expect 2 "unknown option '--bogus'" "$hf" replay --bogus "$work/good.hft"
  expect 2 "unknown policy 'nope'" "$hf" replay --policy fast,nope "$work/good.hft"
  expect 2 "no trace file given" "$hf" replay
  expect 2 "--json and --csv exclude each other" "$hf" replay --json --csv "$work/good.hft"
  expect 2 "option '--policy' needs a value" "$hf" replay "$work/good.hft" --policy
  expect 2 "unknown workload 'lumpy'" "$hf" gen lumpy -o "$work/x.hft"
  expect 2 "no output file given" "$hf" gen steady
  expect 2 "bad op count '-5'" "$hf" gen steady -n -5 -o "$work/x.hft"
  expect 2 "unknown policy 'nope'" "$hf" run --policy nope -- true
  expect 2 "bad secure level '7'" "$hf" run --secure 7 -- true
  expect 2 "no command given" "$hf" run --stats
  expect 2 "no output file given" "$hf" record -- true
  expect 2 "unknown option '--stats'" "$hf" record -o "$work/r.hft" --stats -- true
  expect 2 "bad round count" "$hf" compare --rounds 0 -- true
  expect 2 "best-fit takes no parameter 'max-order' (keys: region," "$hf" replay "$work/good.hft" --policy best-fit:max-order=3
  expect 2 "max-order=99: expected an order from 8 to 40" "$hf" replay "$work/good.hft" --policy fast,buddy:max-order=99
  expect 2 "'foo' is not key=value" "$hf" replay "$work/good.hft" --policy tlsf:foo
  expect 2 "backing=disk: expected mmap or sbrk" "$hf" run --policy first-fit:backing=disk -- true
  expect 2 "no command given" "$hf" compare
  for c in replay gen convert run record compare; do
    "$hf" $c --help >"$work/help" 2>&1 || fail "$c --help exits non-zero"
    grep -q "^usage: heapforge $c" "$work/help" || fail "$c --help has no usage line"
    grep -q "Exit status" "$work/help" || fail "$c --help does not document the exit status"
  done
  "$hf" --help | grep -q "Exit status" || fail "heapforge --help"
  # run: the environment the program sees.
  "$hf" run --policy best-fit --stats --leaks --secure 2 --trace "$work/t.hft" -- env >"$work/env" 2>/dev/null ||
    fail "run env"
  for v in HEAPFORGE_POLICY=best-fit HEAPFORGE_STATS=1 HEAPFORGE_LEAKS=1 HEAPFORGE_SECURE=2 \
    "HEAPFORGE_TRACE=$work/t.hft"; do
    grep -qx "$v" "$work/env" || fail "run does not set $v"
  done
  grep -q '^LD_PRELOAD=/.*libheapforge\.so' "$work/env" || fail "run does not preload libheapforge.so"
  expect 127 "cannot run" "$hf" run -- "$work/no-such-program"
  "$hf" run -- sh -c 'exit 5' 2>/dev/null
  [ $? -eq 5 ] || fail "run does not pass the program's exit status on"
  ;;
replay)
  "$hf" gen bursty -n 4000 --seed 3 -o "$work/b.hft" || fail "gen"
  # Policy parameters: a 4 MiB first region shows in the footprint; the others replay as given.
  "$hf" replay --csv "$work/b.hft" --policy fast,best-fit:region=4M,min-split=64,buddy:max-order=20,tlsf \
    >"$work/p.csv" || fail "replay with policy parameters"
  [ "$(cut -d, -f2 "$work/p.csv" | tail -n +2 | tr '\n' ' ')" = "fast best-fit buddy tlsf " ] ||
    fail "policies with parameters: $(cat "$work/p.csv")"
  fp=$(grep ',best-fit,' "$work/p.csv" | cut -d, -f7)
  [ "$fp" -ge 4194304 ] || fail "best-fit:region=4M has a footprint of $fp bytes"
  # A report that cannot be written is refused before any replay, in one line; nothing written.
  expect 1 "folder '$work/none' does not exist" "$hf" replay "$work/b.hft" --html "$work/none/r.html"
  expect 1 "folder '$work/none' does not exist" "$hf" replay "$work/b.hft" --svg "$work/none/svg"
  expect 1 "it is a folder" "$hf" replay "$work/b.hft" --html "$work"
  [ ! -s "$work/out" ] || fail "a refused report still replayed: $(cat "$work/out")"
  # Determinism: the same trace and policy give the same footprint (and peak live), twice.
  "$hf" replay --csv "$work/b.hft" | cut -d, -f2,6,7 >"$work/r1" || fail "replay 1"
  "$hf" replay --csv "$work/b.hft" | cut -d, -f2,6,7 >"$work/r2" || fail "replay 2"
  cmp -s "$work/r1" "$work/r2" || fail "replay is not deterministic: $(diff "$work/r1" "$work/r2")"
  # Agreement: every policy reports the same peak live bytes, and all 8 replayed.
  [ "$(tail -n +2 "$work/r1" | wc -l)" -eq 8 ] || fail "not every policy replayed"
  [ "$(tail -n +2 "$work/r1" | cut -d, -f2 | sort -u | wc -l)" -eq 1 ] || fail "peak live differs: $(cat "$work/r1")"
  # The table: one unit per latency column, named in its header; no value carries its own.
  "$hf" replay --quiet "$work/b.hft" "$work/good.hft" >"$work/table" || fail "replay table"
  [ "$(grep -cE '^policy +ops/s \| +p50 (ns|us|ms) +p99 (ns|us|ms) +p99\.9 (ns|us|ms) \|' "$work/table")" -eq 2 ] ||
    fail "latency headers do not name their units: $(grep '^policy' "$work/table")"
  grep -E '^(fast|first-fit|next-fit|best-fit|worst-fit|segregated|buddy|tlsf) ' "$work/table" |
    cut -d'|' -f2,3 | grep -E '[0-9](ns|us|ms)' && fail "a latency value carries its own unit"
  # JSON parses, and says the same.
  "$hf" replay --json "$work/b.hft" "$work/good.hft" >"$work/r.json" || fail "replay --json"
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for t in d["traces"]:
    peaks = {p["peak_live_bytes"] for p in t["policies"]}
    assert peaks == {t["peak_live_bytes"]}, peaks
    assert all(p["ok"] and p["utilization"] > 0 or p["policy"] == "fast" for p in t["policies"])
    assert set(t["policies"][0]["latency_ns"]) == {"malloc", "calloc", "realloc", "aligned", "free"}
' "$work/r.json" || fail "replay --json output: $(head -c 300 "$work/r.json")"
  # HTML: produced, self-contained, with the plots.
  "$hf" replay --quiet --html "$work/r.html" --svg "$work/svg" "$work/b.hft" >/dev/null || fail "replay --html"
  grep -q "<svg" "$work/r.html" || fail "no <svg in the report"
  grep -q "</html>" "$work/r.html" || fail "the report is not complete"
  if grep -Eo '(src|href)="[a-z]+:[^"]*' "$work/r.html" | grep -v 'http://www.w3.org' | grep -q .; then
    fail "the report refers to external resources"
  fi
  grep -Eq '<(script|link|img)' "$work/r.html" && fail "the report needs scripts or external files"
  python3 -c '
import sys, html.parser
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []
    def handle_starttag(self, t, a):
        if t not in ("meta", "br", "col", "input", "hr", "wbr"): self.stack.append(t)
    def handle_startendtag(self, t, a): pass
    def handle_endtag(self, t):
        assert self.stack and self.stack[-1] == t, (t, self.stack[-3:])
        self.stack.pop()
p = P(); p.feed(open(sys.argv[1]).read()); assert not p.stack, p.stack
' "$work/r.html" || fail "the report is not well-formed"
  ls "$work/svg"/*.svg >/dev/null 2>&1 || fail "--svg wrote no files"
  # dump: a row per operation, as CSV and as JSON lines, the same in both; the .rep conversion
  # dumps the same operations (it keeps kinds, ids and sizes); stats counts what dump shows.
  "$hf" dump "$work/b.hft" >"$work/d.csv" || fail "dump --csv"
  "$hf" dump --jsonl "$work/b.hft" -o "$work/d.jsonl" || fail "dump --jsonl"
  "$hf" convert "$work/b.hft" -o "$work/b.rep" || fail "convert to .rep"
  "$hf" dump "$work/b.rep" >"$work/r.csv" || fail "dump of the .rep"
  "$hf" stats "$work/b.hft" >"$work/s.txt" || fail "stats"
  python3 -c '
import csv, json, sys
w = sys.argv[1]
rows = list(csv.DictReader(open(w + "/d.csv")))
objs = [json.loads(l) for l in open(w + "/d.jsonl")]
assert len(rows) == len(objs) > 0, (len(rows), len(objs))
for r, o in zip(rows, objs):
    assert r["op"] == o["op"] and int(r["id"]) == o["id"] and int(r["size"]) == o["size"], (r, o)
rep = list(csv.DictReader(open(w + "/r.csv")))
key = lambda r: ("free" if r["op"] == "free" else "alloc", r["id"], r["size"])
assert [key(r) for r in rep] == [key(r) for r in rows if r["failed"] == "0"], "the .rep dumps other operations"
first = open(w + "/s.txt").readline()
assert first.split(": ")[1].startswith("%d operations" % len(rows)), first
frees = sum(r["op"] == "free" for r in rows)
assert ("%d free;" % frees) in first, first
' "$work" || fail "dump and stats disagree: $(head -n 3 "$work/d.csv") $(head -n 1 "$work/s.txt")"
  expect 3 "" "$hf" dump "$work/bad_magic.hft"
  expect 2 "no trace file given" "$hf" stats
  # The report as a user reads it: a policy that failed (every policy fails a 16 TiB malloc)
  # is in no plot and one line says why; every policy has a heap map, fast too; the footprint
  # panels of a trace share one byte scale; the table names each latency column's unit.
  printf 'a 0 100\na 1 17592186044416\nf 1\nf 0\n' >"$work/huge.rep"
  "$hf" replay --quiet --html "$work/f.html" "$work/b.hft" "$work/huge.rep" >/dev/null 2>&1
  python3 -c '
import re, sys
page = open(sys.argv[1]).read()
b, huge = page.split("<h2>")[1:3]
svgs = re.findall(r"<svg.*?</svg>", huge, re.S)
assert not svgs, "a plot of the failed trace: %s" % svgs[0][:200]
assert "failed 0 B" not in page and "replay failed</text>" not in page
line = re.findall(r"<p class=.fail.>Left out of every plot[^\n]*", huge)
assert len(line) == 1 and all(p in line[0] for p in ("fast", "tlsf", "malloc of 17592186044416 bytes failed")), line
maps = re.findall(r"aria-label=.([a-z-]+) at op", b)
assert sorted(maps) == sorted(["fast", "first-fit", "next-fit", "best-fit", "worst-fit", "segregated",
                               "buddy", "tlsf"]), maps
panels = [s for s in re.findall(r"<svg.*?</svg>", b, re.S) if "peak footprint " in s[:300] and "one scale" in s]
assert len(panels) == 8, len(panels)
tops = {re.findall(r"text-anchor=.end. fill=.#616e7c.>([^<]*)<", s)[-1] for s in panels}
assert len(tops) == 1, "the footprint panels have different y scales: %s" % tops
head = re.search(r"<tr><th>policy.*?</tr>", b).group(0)
assert len(re.findall(r"p(50|99|99\.9) <span class=.u.>(ns|µs|ms)</span>", head)) == 6, head
cells = re.findall(r"<td>([^<]*)</td>", b)
assert not [c for c in cells if re.search(r"[0-9] ?(ns|µs|ms)$", c)], "a latency cell with its own unit"
' "$work/f.html" || fail "the report with a failed trace, heap maps, shared scales, units"
  # A .rep file replays too.
  expect 0 "" "$hf" replay --quiet --policy first-fit,buddy "$work/good.hft"
  ;;
record)
  # A real program recorded through HEAPFORGE_TRACE, with its result checked, then replayed.
  out=$("$hf" record -o "$work/py.hft" -- python3 -c \
    'import json; d={str(i): [i]*3 for i in range(20000)}; print(sum(len(v) for v in json.loads(json.dumps(d)).values()))' \
    2>"$work/err")
  [ "$out" = "60000" ] || fail "python3 under the recorder printed '$out': $(cat "$work/err")"
  grep -q "operations on" "$work/err" || fail "record did not summarise the trace: $(cat "$work/err")"
  "$hf" replay --csv --policy fast,best-fit "$work/py.hft" >"$work/py.csv" || fail "replay of the python3 trace"
  [ "$(tail -n +2 "$work/py.csv" | wc -l)" -eq 2 ] || fail "python3 trace: $(cat "$work/py.csv")"
  # Threads with cross-thread frees: chunks of several threads merge by time stamp, and a
  # reused address never meets its previous block alive (the loader would refuse the file).
  if [ -n "$threaded" ]; then
    "$hf" record -o "$work/mt.hft" -- "$threaded" 0.05 >/dev/null 2>"$work/err" ||
      fail "record of $threaded: $(cat "$work/err")"
    "$hf" replay --quiet --policy fast,tlsf "$work/mt.hft" >/dev/null 2>"$work/err" ||
      fail "replay of the threaded trace: $(cat "$work/err")"
  fi
  # A process tree: every process its own trace, the command's in FILE, the others' in FILE
  # with their pid (or FILE's %p replaced), each listed, each loading and replaying.
  "$hf" record -o "$work/tree.hft" -- sh -c \
    'python3 -c "print(len([str(i) for i in range(5000)]))"; python3 -c "print(2)"' \
    >"$work/out" 2>"$work/err" || fail "record of a process tree: $(cat "$work/err")"
  [ "$(cat "$work/out")" = "$(printf '5000\n2')" ] || fail "the tree printed '$(cat "$work/out")'"
  [ -s "$work/tree.hft" ] || fail "the command's own trace tree.hft is missing"
  n=$(ls "$work"/tree.*.hft 2>/dev/null | wc -l)
  [ "$n" -ge 2 ] || fail "expected the two python3 traces beside tree.hft, found $n: $(ls "$work")"
  grep -q "processes recorded" "$work/err" || fail "record did not say what it wrote: $(cat "$work/err")"
  [ "$(grep -c ' (pid [0-9]*): [0-9]* operations' "$work/err")" -ge 2 ] ||
    fail "the other processes' traces are not listed: $(cat "$work/err")"
  "$hf" replay --quiet --policy fast,tlsf "$work"/tree*.hft >/dev/null 2>"$work/err2" ||
    fail "replay of the tree's traces: $(cat "$work/err2")"
  ls -a "$work" | grep -q '^\.heapforge-record' && fail "record left its private files: $(ls -a "$work")"
  # %p in FILE, and a forked child (no exec) that frees its parent's blocks: its trace is
  # flagged FORKED and replays (the loader skips frees of blocks allocated before the fork).
  "$hf" record -o "$work/p.%p.hft" -- python3 -c '
import os, sys
d = [str(i) * 10 for i in range(20000)]
pid = os.fork()
if pid == 0:
    del d
    e = [str(i) for i in range(3000)]
    sys.exit(0)
os.waitpid(pid, 0)
print(len(d))' >"$work/out" 2>"$work/err" || fail "record with %p: $(cat "$work/err")"
  [ "$(cat "$work/out")" = 20000 ] || fail "the forking program printed '$(cat "$work/out")'"
  [ "$(ls "$work"/p.*.hft | wc -l)" -ge 2 ] || fail "expected 2 traces p.PID.hft: $(ls "$work")"
  "$hf" replay --quiet --policy fast "$work"/p.*.hft >/dev/null 2>"$work/err2" ||
    fail "replay of a forked child's trace: $(cat "$work/err2")"
  # --root-only: the command alone, its children unrecorded.
  "$hf" record --root-only -o "$work/root.hft" -- python3 -c 'import subprocess; subprocess.run(["true"])' \
    2>"$work/err" || fail "record --root-only: $(cat "$work/err")"
  [ "$(ls "$work"/root*.hft | wc -l)" -eq 1 ] || fail "--root-only wrote $(ls "$work"/root*.hft)"
  "$hf" replay --quiet --policy fast "$work/root.hft" >/dev/null || fail "the --root-only trace"
  ;;
compare)
  # Every run reads the same input: from a redirected stdin (spooled once), from a pipe and
  # from --input. The command fails unless it reads all 100,000 bytes, so one run that got EOF
  # fails the compare (every run after the first did before).
  head -c 100000 /dev/zero >"$work/in"
  reads='n=$(wc -c); [ "$n" -eq 100000 ]'
  "$hf" compare --rounds 2 -- sh -c "$reads" <"$work/in" >"$work/out" 2>"$work/err" ||
    fail "compare with stdin redirected: $(cat "$work/out" "$work/err")"
  cat "$work/in" | "$hf" compare --rounds 2 -- sh -c "$reads" >"$work/out" 2>"$work/err" ||
    fail "compare with stdin from a pipe: $(cat "$work/out" "$work/err")"
  "$hf" compare --rounds 2 --input "$work/in" -- sh -c "$reads" </dev/null >"$work/out" 2>"$work/err" ||
    fail "compare --input: $(cat "$work/out" "$work/err")"
  # Another allocator by --with (here heapforge's own library again), spreads and JSON.
  lib=$(grep -o '/[^ ]*libheapforge[^ ]*' "$work/out" | head -n 1)
  [ -n "$lib" ] || fail "compare does not name heapforge's library: $(cat "$work/out")"
  "$hf" compare --rounds 3 --with again="$lib" --json "$work/c.json" -- sh -c "$reads" \
    <"$work/in" >"$work/out" 2>"$work/err" || fail "compare --with: $(cat "$work/out" "$work/err")"
  grep -q '^again ' "$work/out" || fail "no row for --with again: $(cat "$work/out")"
  grep -q 'min-max' "$work/out" || fail "no spreads: $(cat "$work/out")"
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
names = [a["name"] for a in d["allocators"]]
assert names[:2] == ["glibc", "heapforge"] and names[-1] == "again", names
for a in d["allocators"]:
    assert len(a["seconds"]) == 3 and len(a["peak_rss_kib"]) == 3, a
    assert a["median_seconds"] == sorted(a["seconds"])[1], a
' "$work/c.json" || fail "compare --json: $(cat "$work/c.json")"
  expect 2 "--with takes NAME=LIB" "$hf" compare --with foo -- true
  expect 2 "cannot read '/nonexistent.so'" "$hf" compare --with x=/nonexistent.so -- true
  expect 2 "cannot read input file" "$hf" compare --input "$work/none" -- true
  ;;
*)
  echo "unknown mode $mode"
  exit 2
  ;;
esac
[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok ($mode)"
