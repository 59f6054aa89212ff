#!/bin/sh
# preload_git: with heapforge preloaded into every git process (and the processes git starts),
# init a repository, add and commit 400 files in two commits, log, gc and fsck. With fixed author
# and dates the commit ids are a deterministic function of the content, so they must equal those
# of the same history built without the preload; fsck must pass and file contents read back.
. "$(dirname "$0")/common.sh"
need git awk
export HOME="$TMP" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="heapforge test" GIT_AUTHOR_EMAIL="test@heapforge.invalid"
export GIT_COMMITTER_NAME="heapforge test" GIT_COMMITTER_EMAIL="test@heapforge.invalid"
export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"

# build_history RUNNER DIR: the same history, with RUNNER "pre" (preloaded) or "" (plain)
build_history() {
    run=$1 dir=$2
    mkdir -p "$dir" && cd "$dir" || fail "cannot enter $dir"
    $run git init -q -b main . || fail "git init ($run)"
    awk 'BEGIN { for (i = 0; i < 400; i++) { f = sprintf("dir%d/file%03d.txt", i % 8, i);
                 system("mkdir -p dir" (i % 8));
                 for (j = 0; j <= i % 60; j++) printf "line %d of file %d: %s\n", j, i, substr("abcdefghijklmnopqrstuvwxyz", 1 + (i + j) % 26) > f;
                 close(f) } }' || fail "generating files"
    $run git add -A || fail "git add ($run)"
    $run git commit -q -m "first: 400 files" || fail "git commit ($run)"
    for i in 1 5 9 42 77 123 399; do echo "changed $i" >>"dir$((i % 8))/file$(printf %03d $i).txt"; done
    rm -f dir3/file003.txt dir3/file011.txt
    $run git add -A || fail "git add 2 ($run)"
    $run git commit -q -m "second: edits" || fail "git commit 2 ($run)"
    $run git log --format='%H %T %s' >"$TMP/log.$3" || fail "git log ($run)"
    $run git log -p --stat >/dev/null || fail "git log -p ($run)"
    $run git gc -q || fail "git gc ($run)"
    $run git fsck --full --strict >"$TMP/fsck.$3" || fail "git fsck ($run)"
    $run git cat-file -p HEAD:dir1/file001.txt >"$TMP/cat.$3" || fail "git cat-file ($run)"
    $run git ls-files >"$TMP/ls.$3" || fail "git ls-files ($run)"
    $run git count-objects -v >"$TMP/count.$3" || fail "git count-objects ($run)"
    cd "$TMP" || exit 1
}

build_history "" "$TMP/plain" plain
build_history pre "$TMP/pre" pre
[ "$(wc -l <"$TMP/log.pre")" -eq 2 ] || fail "expected 2 commits, got: $(cat "$TMP/log.pre")"
[ "$(wc -l <"$TMP/ls.pre")" -eq 398 ] || fail "expected 398 files in the index"
[ ! -s "$TMP/fsck.pre" ] || fail "git fsck reported: $(cat "$TMP/fsck.pre")"
grep -q '^changed 1$' "$TMP/cat.pre" || fail "edited file content not read back"
grep -q '^in-pack: [1-9]' "$TMP/count.pre" || fail "git gc did not pack"
same "$TMP/log.plain" "$TMP/log.pre" "git log (commit ids)"
same "$TMP/cat.plain" "$TMP/cat.pre" "git cat-file"
same "$TMP/ls.plain" "$TMP/ls.pre" "git ls-files"
finish
