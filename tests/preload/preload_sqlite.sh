#!/bin/sh
# preload_sqlite: sqlite3 with heapforge preloaded runs a generated SQL script (a recursive CTE
# inserting 100k rows, an index, aggregates, a join, group_concat) on a database file; the output
# must equal that of a plain run and contain the known row count.
. "$(dirname "$0")/common.sh"
need sqlite3
cat >"$TMP/work.sql" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT, b BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO t SELECT x, (x * 7919) % 1000, printf('row-%d-%x', x, x * 31), zeroblob(x % 200) FROM c;
CREATE INDEX t_k ON t(k);
CREATE INDEX t_s ON t(s);
SELECT count(*), sum(k), min(s), max(s), sum(length(b)) FROM t;
SELECT k, count(*), sum(id), max(s) FROM t GROUP BY k ORDER BY k LIMIT 25;
SELECT count(DISTINCT s), count(DISTINCT k) FROM t;
SELECT length(group_concat(s, ',')) FROM (SELECT s FROM t WHERE k < 50 ORDER BY s);
SELECT count(*) FROM t a JOIN t b ON a.k = b.k AND b.id = a.id + 1000 WHERE a.id < 20000;
UPDATE t SET s = s || '-' || k WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(s)) FROM t;
SELECT s FROM t WHERE k = 123 ORDER BY s DESC LIMIT 5;
VACUUM;
PRAGMA integrity_check;
SQL
cd "$TMP" || exit 1
sqlite3 plain.db <work.sql >plain.out || fail "plain sqlite3 run failed"
grep -q '^100000|' plain.out || fail "unexpected plain result: $(head -n 1 plain.out)"
pre sqlite3 pre.db <work.sql >pre.out || fail "preloaded sqlite3 run failed"
same plain.out pre.out sqlite3
tail -n 1 pre.out | grep -qx ok || fail "integrity_check did not say ok"
finish
