#!/bin/sh
# check_warn.sh PROG -- HEAPFORGE_ON_ERROR=warn: PROG (api_warn) commits four misuses and must
# exit 0 having printed exactly one report line for each; without the variable the first misuse
# aborts; a bad value is warned about and aborting stays the rule.
set -u
prog=$1
err=$(mktemp)
trap 'rm -f "$err"' EXIT
fail() { echo "check_warn: $*" >&2; exit 1; }

HEAPFORGE_ON_ERROR=warn "$prog" 2>"$err" || fail "exit status $? under warn: $(cat "$err")"
[ "$(wc -l <"$err")" -eq 4 ] || fail "expected 4 report lines, got: $(cat "$err")"
[ "$(grep -c '^heapforge: double free of 0x' "$err")" -eq 2 ] || fail "double frees: $(cat "$err")"
grep -q '^heapforge: invalid free of 0x' "$err" || fail "no invalid free line: $(cat "$err")"
grep -q '^heapforge: realloc of a freed block of 0x' "$err" || fail "no realloc line: $(cat "$err")"

"$prog" 2>"$err"
rc=$?
[ "$rc" -gt 128 ] || fail "without HEAPFORGE_ON_ERROR the first misuse must abort (exit $rc)"
# (the shell may add its own "Aborted" line to the same file)
[ "$(grep -c '^heapforge: ' "$err")" -eq 1 ] || fail "abort mode printed: $(cat "$err")"

HEAPFORGE_ON_ERROR=maybe "$prog" 2>"$err"
[ $? -gt 128 ] || fail "a bad HEAPFORGE_ON_ERROR value must keep aborting"
grep -q 'ignoring HEAPFORGE_ON_ERROR=maybe' "$err" || fail "no warning for a bad value: $(cat "$err")"
echo "check_warn: ok"
