#!/bin/sh
# preload_coreutils: sort (a generated 200k-line file, several key orders, with threads), ls and
# cat with heapforge preloaded; outputs must equal those of the plain runs (ls without -a: the
# temporary directory's own mtime changes as the outputs are written). Coreutils close stderr
# at exit, before heapforge could print its summary, so the proof that heapforge was in each
# process is the loader's LD_DEBUG=files trace ("calling init: .../libheapforge.so...").
. "$(dirname "$0")/common.sh"
need sort ls cat awk cmp
cd "$TMP" || exit 1
awk 'BEGIN { for (i = 1; i <= 200000; i++) printf "%08x %d %s\n", (i * 2654435761) % 4294967296, i, substr("qwertyuiopasdfghjklzxcvbnm", 1 + i % 26, 1 + i % 7) }' >lines.txt ||
    fail "generating input"
[ "$(wc -l <lines.txt)" -eq 200000 ] || fail "input has the wrong length"
for args in "" "-n -k2" "-r -k3,3 -k1,1" "-u -k3,3"; do
    # shellcheck disable=SC2086
    sort -S 32M --parallel=2 $args lines.txt >plain.sorted || fail "plain sort $args"
    # shellcheck disable=SC2086
    pre env LD_DEBUG=files sort -S 32M --parallel=2 $args lines.txt >pre.sorted || fail "preloaded sort $args"
    same plain.sorted pre.sorted "sort $args"
done
pre env LD_DEBUG=files sort -n -k2 lines.txt | pre env LD_DEBUG=files cat >pre.cat || fail "preloaded sort | cat"
cmp -s pre.cat lines.txt || fail "sort -n -k2 | cat does not give back the generated order"
pre env LD_DEBUG=files cat lines.txt lines.txt >pre.cat2 || fail "preloaded cat"
cat lines.txt lines.txt | cmp -s - pre.cat2 || fail "cat output differs"
mkdir d && for i in 1 2 3 4 5 6 7 8 9 10; do echo "$i" >"d/f$i"; done
ls -l --time-style=+%s -R d lines.txt >plain.ls || fail "plain ls"
pre env LD_DEBUG=files ls -l --time-style=+%s -R d lines.txt >pre.ls || fail "preloaded ls"
same plain.ls pre.ls ls
finish_ld_debug 8
