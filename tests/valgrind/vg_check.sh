#!/bin/sh
# vg_check.sh MODE VG_PROG [LIBHEAPFORGE] -- one memcheck case of the `valgrind` preset.
#   clean     vg_prog clean: exit 0, "ERROR SUMMARY: 0 errors", no leak
#   uaf       vg_prog uaf: exit 99 (--error-exitcode), "Invalid read"
#   overflow  vg_prog overflow: exit 99, "Invalid read" one byte past a 100-byte block
#   leak      vg_prog leak: exit 99, "4,321 bytes in 1 blocks are definitely lost"
#   python    python3 -c 'print(1)' with LIBHEAPFORGE preloaded: exit 0, no error (time-bound:
#             skipped, exit 77, if it runs out of time)
set -u
mode=$1 prog=$2 lib=${3:-}
out=$(mktemp "${TMPDIR:-/tmp}/hfvg.XXXXXX")
trap 'rm -f "$out"' EXIT
# nouserintercepts: memcheck must not put its own malloc in place of heapforge's (by default it
# replaces malloc in every shared object); it sees our blocks through the client requests.
vg="valgrind --soname-synonyms=somalloc=nouserintercepts --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
fail() { echo "FAIL ($mode): $*"; cat "$out"; exit 1; }

case $mode in
python)
  # The interpreter itself, not a wrapper script (pyenv shims): valgrind follows no exec.
  py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || { echo "no python3: skipped"; exit 77; }
  LD_PRELOAD="$lib" timeout 120 $vg "$py" -c 'print(1)' >"$out" 2>&1
  rc=$?
  [ $rc -eq 124 ] && { echo "python under valgrind took over 120 s: skipped"; exit 77; }
  ;;
*)
  $vg "$prog" "$mode" >"$out" 2>&1
  rc=$?
  ;;
esac

case $mode in
clean|python)
  [ $rc -eq 0 ] || fail "exit $rc, expected 0"
  grep -q "ERROR SUMMARY: 0 errors" "$out" || fail "memcheck reported errors"
  # memcheck saw heapforge's blocks (client requests), not none at all.
  grep -Eq "total heap usage: [1-9][0-9,]* allocs" "$out" || fail "memcheck saw no allocation"
  grep -q "definitely lost: 0 bytes" "$out" || grep -q "All heap blocks were freed" "$out" || fail "a leak"
  ;;
uaf|overflow)
  [ $rc -eq 99 ] || fail "exit $rc, expected 99"
  grep -q "Invalid read of size 1" "$out" || fail "no 'Invalid read'"
  if [ "$mode" = uaf ]; then
    grep -q "inside a block of size 64 free'd" "$out" || fail "not described as a freed block"
  else
    grep -q "0 bytes after a block of size 100 alloc'd" "$out" || fail "not described as past the block"
  fi
  ;;
leak)
  [ $rc -eq 99 ] || fail "exit $rc, expected 99"
  grep -q "4,321 bytes in 1 blocks are definitely lost" "$out" || fail "no definite leak of 4,321 bytes"
  ;;
esac
case $mode in
uaf|overflow|leak) # the block came from heapforge (its hooked path), not from memcheck's malloc
  grep -q "hfi_hooked_alloc" "$out" || fail "the block was not heapforge's"
  ;;
esac
echo "ok ($mode)"
