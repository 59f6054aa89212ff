"""py_alloc.py -- an allocation-heavy Python workload for bench/run.py.

Builds and tears down dicts, lists, strings and small objects in several phases and prints a
checksum of the results (deterministic: no hash() of strings, no addresses, a seeded RNG).
bench/run.py runs it with PYTHONMALLOC=malloc so that every object reaches the preloaded
allocator instead of CPython's own small-object arena.

Usage: python3 py_alloc.py [scale]
"""
import json
import random
import sys
import zlib


class Record:
    def __init__(self, ident, name, tags, score):
        self.ident = ident
        self.name = name
        self.tags = tags
        self.score = score
        self.children = []


def build_records(rng, count):
    records = []
    for i in range(count):
        name = "rec-%d-%s" % (i, "x" * rng.randint(0, 40))
        tags = [("t%d" % rng.randint(0, 99)) for _ in range(rng.randint(0, 6))]
        records.append(Record(i, name, tags, rng.random()))
    # Give some records children, making a loose tree.
    for i in range(1, count):
        records[rng.randrange(i)].children.append(records[i])
    return records


def phase_objects(rng, count):
    records = build_records(rng, count)
    by_tag = {}
    for r in records:
        for t in r.tags:
            by_tag.setdefault(t, []).append(r.ident)
    index = {r.name: r for r in records}
    total = sum(len(v) for v in by_tag.values())
    longest = max(len(n) for n in index)
    # Drop half of the records, rebuild the index.
    survivors = [r for r in records if r.ident % 2 == 0]
    index = {r.name: r.ident for r in survivors}
    return total * 31 + longest + len(index)


def phase_strings(rng, count):
    words = ["".join(chr(97 + rng.randrange(26)) for _ in range(rng.randint(1, 12)))
             for _ in range(2000)]
    acc = 0
    for i in range(count):
        line = " ".join(words[rng.randrange(len(words))] for _ in range(rng.randint(3, 30)))
        parts = line.split()
        up = line.upper().replace("A", "aa")
        acc = (acc * 131 + len(parts) + len(up) + zlib.crc32(up.encode())) % (1 << 61)
    return acc


def phase_json(rng, count):
    acc = 0
    for i in range(count):
        doc = {
            "id": i,
            "items": [{"k": "key%d" % j, "v": [rng.randint(0, 1000) for _ in range(rng.randint(0, 8))]}
                      for j in range(rng.randint(1, 20))],
            "meta": {"name": "doc-%d" % i, "flag": bool(i & 1)},
        }
        text = json.dumps(doc, sort_keys=True)
        back = json.loads(text)
        acc = (acc + len(text) + len(back["items"])) % (1 << 61)
    return acc


def phase_dict_churn(rng, count):
    d = {}
    acc = 0
    for i in range(count):
        key = "k%d" % rng.randrange(count // 4 + 1)
        if key in d and rng.random() < 0.4:
            acc += len(d.pop(key))
        else:
            d[key] = [i] * rng.randint(1, 16)
    acc += sum(len(v) for v in d.values())
    return acc + len(d)


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rng = random.Random(12345)
    n = max(1, int(scale * 450))
    results = [
        phase_objects(rng, 60 * n),
        phase_strings(rng, 30 * n),
        phase_json(rng, 4 * n),
        phase_dict_churn(rng, 150 * n),
    ]
    print("py_alloc scale=%g checksum=%s" % (scale, " ".join(str(r) for r in results)))


if __name__ == "__main__":
    main()
