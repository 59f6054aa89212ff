#!/bin/sh
# check_stats.sh PROG -- the exit reports: HEAPFORGE_STATS=1 prints the figures, to
# HEAPFORGE_STATS_FILE when set; HEAPFORGE_LEAKS=1 lists the blocks still live, grouped by size;
# the JSON document parses.
set -eu
prog=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_stats: $*" >&2; exit 1; }

HEAPFORGE_STATS=1 "$prog" json "$tmp/stats.json" 2>"$tmp/err"
grep -q '^heapforge: live .* requested (peak' "$tmp/err" || fail "no live line in the exit report"
grep -q '^heapforge: utilization ' "$tmp/err" || fail "no utilization line"
python3 - "$tmp/stats.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["instrumented"] == 1, d
assert d["peak_live_requested"] >= d["live_requested"]
assert 0 < d["utilization"] <= 1, d["utilization"]
assert sum(c["live"] for c in d["classes"]) == d["live_blocks"]
PY

# Every exit report names its process first.
head -n 1 "$tmp/err" | grep -Eq '^heapforge: exit report of .+ \(pid [0-9]+\)$' ||
  fail "the report does not start with its process: $(head -n 1 "$tmp/err")"

# HEAPFORGE_STATS=json: the exit report is one JSON object on one line (after the label);
# HEAPFORGE_STATS=yes is HEAPFORGE_STATS=1.
HEAPFORGE_STATS=json "$prog" 2>"$tmp/jerr"
tail -n 1 "$tmp/jerr" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["instrumented"] == 1 and d["mallocs"] > 0, d
' || fail "HEAPFORGE_STATS=json: not a JSON report: $(cat "$tmp/jerr")"
HEAPFORGE_STATS=yes "$prog" 2>"$tmp/yerr"
grep -q '^heapforge: utilization ' "$tmp/yerr" || fail "HEAPFORGE_STATS=yes: no report: $(cat "$tmp/yerr")"

HEAPFORGE_STATS=1 HEAPFORGE_STATS_FILE="$tmp/report.%p" "$prog" 2>"$tmp/err2"
[ ! -s "$tmp/err2" ] || fail "report went to stderr despite HEAPFORGE_STATS_FILE: $(cat "$tmp/err2")"
ls "$tmp"/report.* >/dev/null 2>&1 || fail "no report file"
grep -q '^heapforge: calls: malloc ' "$tmp"/report.* || fail "report file lacks the calls line"

HEAPFORGE_LEAKS=1 "$prog" leak 2>"$tmp/leaks"
grep -q '^heapforge: leaks: .* x 1000 bytes = ' "$tmp/leaks" || fail "1000-byte leaks not grouped: $(cat "$tmp/leaks")"
grep -Eq '^heapforge: leaks: +3 x 1000 bytes' "$tmp/leaks" || fail "wrong count for 1000-byte leaks"
grep -Eq '^heapforge: leaks: +1 x 77777 bytes' "$tmp/leaks" || fail "77777-byte leak missing"

"$prog" off
echo "check_stats: ok"
