#!/bin/sh
# preload_policies: real programs with the whole process on one lab policy
# (HEAPFORGE_POLICY=<policy>) for every policy: python3 (dicts, strings, json, sort), sqlite3 (a
# generated script) and git (init, commit, log, fsck). Each output must equal the plain run's, and
# each process's exit summary must name the policy (proof that the lab arena served it).
. "$(dirname "$0")/common.sh"
need python3 sqlite3 git
cd "$TMP" || exit 1
cat >work.py <<'PY'
import json, hashlib
d = {}
for i in range(60000):
    d["k%d" % i] = [i, str(i) * (i % 7), {"x": i % 13}]
blob = json.dumps(d, sort_keys=True)
back = json.loads(blob)
words = sorted((k[::-1] for k in back), key=lambda s: (len(s), s))
h = hashlib.sha256(blob.encode() + "".join(words[:1000]).encode()).hexdigest()
print(len(back), len(blob), h)
PY
cat >load.sql <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, s TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
INSERT INTO t SELECT i, i % 97, printf('%.*c', 5 + i % 40, 'y') || hex(i * 7919) FROM c;
CREATE INDEX t_s ON t(s);
SELECT g, count(*), sum(length(s)) FROM t GROUP BY g ORDER BY g LIMIT 5;
UPDATE t SET s = s || 'z' WHERE g % 3 = 0;
DELETE FROM t WHERE id % 4 = 0;
SELECT count(*), sum(length(s)), max(s) FROM t;
PRAGMA integrity_check;
SQL
python3 work.py >py.plain || fail "plain python3"
sqlite3 -batch :memory: <load.sql >sql.plain || fail "plain sqlite3"
for policy in first-fit next-fit best-fit worst-fit segregated buddy tlsf; do
    : >"$ERR"
    HEAPFORGE_POLICY=$policy pre python3 work.py >py.out || fail "python3 under $policy"
    same py.plain py.out "python3 under $policy"
    HEAPFORGE_POLICY=$policy pre sqlite3 -batch :memory: <load.sql >sql.out ||
        fail "sqlite3 under $policy"
    same sql.plain sql.out "sqlite3 under $policy"
    rm -rf repo && mkdir repo && cd repo || fail "mkdir"
    export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid GIT_COMMITTER_NAME=t \
        GIT_COMMITTER_EMAIL=t@example.invalid GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" \
        GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
    HEAPFORGE_POLICY=$policy pre git init -q . || fail "git init under $policy"
    i=0
    while [ $i -lt 50 ]; do echo "file $i $policy" >"f$i.txt"; i=$((i + 1)); done
    HEAPFORGE_POLICY=$policy pre git add . || fail "git add under $policy"
    HEAPFORGE_POLICY=$policy pre git commit -q -m "one $policy" || fail "git commit under $policy"
    HEAPFORGE_POLICY=$policy pre git fsck --strict >/dev/null || fail "git fsck under $policy"
    [ "$(HEAPFORGE_POLICY=$policy pre git log --format=%s)" = "one $policy" ] ||
        fail "git log under $policy"
    cd .. || exit 1
    n=$(grep -c "^heapforge: policy $policy: " "$ERR")
    [ "$n" -ge 7 ] || fail "only $n processes report running on $policy"
    echo "$policy: python3, sqlite3, git ok ($n processes on the policy)"
done
echo ok
