# common.sh -- sourced by the preload tests. $1 is the path of libheapforge.so.
# Provides: $LIB, a temporary directory $TMP (removed on exit), need PROG... (exit 77 when a program
# is missing), pre CMD... (run CMD with heapforge preloaded and HEAPFORGE_STATS=1, its stderr
# appended to $ERR), fail MSG, and finish (checks that heapforge really was loaded: its
# HEAPFORGE_STATS summary, lines starting with "heapforge:", is on stderr).
set -u
LIB=${1:?usage: $0 path/to/libheapforge.so}
case "$LIB" in /*) ;; *) LIB=$(pwd)/$LIB ;; esac
[ -f "$LIB" ] || { echo "FAIL: library not found: $LIB"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/heapforge-preload.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
ERR=$TMP/preload.stderr
: >"$ERR"
HERE=$(cd "$(dirname "$0")" && pwd)
export LC_ALL=C

need() {
    for p in "$@"; do
        command -v "$p" >/dev/null 2>&1 || { echo "SKIP: $p not found"; exit 77; }
    done
}

pre() {
    LD_PRELOAD="$LIB" HEAPFORGE_STATS=1 "$@" 2>>"$ERR"
}

fail() {
    echo "FAIL: $*"
    echo "--- stderr of the preloaded runs (last 40 lines) ---"
    tail -n 40 "$ERR"
    exit 1
}

# same FILE1 FILE2 WHAT: the preloaded and the plain run produced the same output
same() {
    cmp -s "$1" "$2" || { diff "$1" "$2" | head -n 20; fail "$3: output differs with heapforge preloaded"; }
}

finish() {
    grep -q 'heapforge:' "$ERR" || fail "no 'heapforge:' line on stderr: the library was not loaded"
    echo "$(grep -c 'heapforge:' "$ERR") heapforge: lines from the preloaded processes"
    echo "ok"
    exit 0
}

# finish_ld_debug N: for programs that close their stderr before exiting (GNU coreutils do), so
# that the summary cannot appear: the dynamic loader's LD_DEBUG=files trace must show that it ran
# heapforge's initialisers in at least N processes.
finish_ld_debug() {
    n=$(grep -c "calling init: $LIB\$" "$ERR")
    [ "$n" -ge "$1" ] || fail "the loader initialised heapforge in $n processes, expected $1"
    echo "heapforge initialised in $n preloaded processes (LD_DEBUG trace)"
    grep -q 'heapforge:' "$ERR" && echo "$(grep -c 'heapforge:' "$ERR") heapforge: lines"
    echo "ok"
    exit 0
}
