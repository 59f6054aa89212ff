-- sqlite_load.sql -- an allocation-heavy SQLite load for bench/run.py (run on an in-memory db:
--   sqlite3 -batch :memory: < bench/sqlite_load.sql).
-- (the 3,000-row version of bench/sqlite_load.sql, recorded into traces/sqlite.hft)
CREATE TABLE params(n INTEGER);
INSERT INTO params VALUES(3000);

CREATE TABLE item(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, val REAL, note TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < (SELECT n FROM params))
INSERT INTO item
SELECT i, i % 1000, 'name-' || ((i * 7919) % 100003), ((i * 37) % 1009) / 7.0,
       printf('%.*c', 8 + (i % 57), 'x') || hex(i * i)
FROM c;

CREATE INDEX item_name ON item(name);
CREATE INDEX item_grp_val ON item(grp, val);

SELECT count(*), sum(grp), round(sum(val), 3), sum(length(note)) FROM item;
SELECT grp, count(*), round(avg(val), 4), max(name) FROM item GROUP BY grp ORDER BY grp LIMIT 5;
SELECT count(DISTINCT name) FROM item;
SELECT name, count(*) AS c FROM item GROUP BY name ORDER BY c DESC, name LIMIT 5;

UPDATE item SET val = val * 2, note = note || '-u' WHERE grp % 3 = 0;
DELETE FROM item WHERE id % 5 = 0;
SELECT count(*), round(sum(val), 3), sum(length(note)) FROM item;

SELECT count(*) FROM item a JOIN item b ON a.name = b.name AND a.id < b.id WHERE a.grp < 100;
SELECT group_concat(name, ',') IS NOT NULL, length(group_concat(note, '')) FROM item WHERE grp < 50;
