# Allocation-heavy workload for preload_python.sh: prints a digest of deterministic results.
import hashlib
import json

h = hashlib.sha256()
# dict of 100k string keys, updated and shrunk
d = {}
for i in range(100000):
    d["key-%d-%s" % (i, "x" * (i % 37))] = [i, str(i * 7), (i, i * i)]
for i in range(0, 100000, 3):
    del d["key-%d-%s" % (i, "x" * (i % 37))]
total = sum(v[0] for v in d.values())
assert len(d) == 100000 - len(range(0, 100000, 3))
h.update(str(total).encode())
# strings: build, split, join, replace
s = "".join("word%d " % (i % 1000) for i in range(50000))
parts = s.split()
assert len(parts) == 50000
joined = "-".join(sorted(set(parts)))
h.update(joined.replace("word", "w").encode())
# lists of lists, sorting, slicing
rows = [[(i * 7919) % 10007, str(i), bytes(i % 50)] for i in range(80000)]
rows.sort()
h.update(repr(rows[:1000]).encode())
h.update(repr(rows[-1000:]).encode())
# json round trip of a nested structure
obj = {"items": [{"id": i, "name": "n%d" % i, "tags": ["t%d" % (i % 10)] * (i % 5)} for i in range(15000)]}
text = json.dumps(obj, sort_keys=True)
back = json.loads(text)
assert back == obj
h.update(text.encode())
# bytearray growth
b = bytearray()
for i in range(50000):
    b += i.to_bytes(4, "little")
h.update(bytes(b))
print("entries", len(d), "total", total, "json", len(text))
print("digest", h.hexdigest())
print("checks passed")
