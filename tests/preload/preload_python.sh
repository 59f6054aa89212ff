#!/bin/sh
# preload_python: python3 running an allocation-heavy script (dicts, lists, strings, json) with
# heapforge preloaded, once with Python's own small-object allocator and once with
# PYTHONMALLOC=malloc (every object from heapforge); the result must match a plain run, and the
# script checks its own invariants.
. "$(dirname "$0")/common.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "SKIP: python3 not found"; exit 77; }

"$PY" "$HERE/workload.py" >"$TMP/plain.out" || fail "plain python run failed"
grep -q '^checks passed' "$TMP/plain.out" || fail "workload did not complete without preload"
pre "$PY" "$HERE/workload.py" >"$TMP/pre.out" || fail "preloaded python run failed (status $?)"
same "$TMP/plain.out" "$TMP/pre.out" python
pre env PYTHONMALLOC=malloc "$PY" "$HERE/workload.py" >"$TMP/pre2.out" || fail "preloaded PYTHONMALLOC=malloc run failed"
same "$TMP/plain.out" "$TMP/pre2.out" "python (PYTHONMALLOC=malloc)"
finish
