#!/usr/bin/env python3
"""The layering of docs/architecture.md, checked against the code.

Reads the picture under '## Layers' (row number, then the files of the row in the second
column; a line without a number continues the row above; 'dir/*.c' places every file of a
folder that no other line names), links each object of the library in BUILD_DIR to the objects
that define the global symbols it uses (nm), and fails when a file calls a file on a higher
row, when a src/ file has no row, or when a circle of files (calls within one row) is larger
than three. Usage: layers.py BUILD_DIR ARCHITECTURE_MD"""
import fnmatch, os, re, subprocess, sys

build, doc = sys.argv[1], sys.argv[2]
text = open(doc).read()
sec = text[text.index('## Layers'):]
pic = sec[sec.index('```') + 3:]
pic = pic[pic.index('\n') + 1:pic.index('```')]
rows, globs, row = {}, [], None
for line in pic.splitlines():
    m = re.match(r'\s*(\d+)\s', line)
    if m:
        row = int(m.group(1))
    elif not line.strip() or line.lstrip().startswith('row'):
        continue
    for f in line[5:47].split():
        if not f.endswith('.c'):
            continue
        if '*' in f:
            globs.append((f, row))
        else:
            rows[f] = row

objs = {}
for root, _, files in os.walk(build):
    for f in files:
        p = os.path.join(root, f)
        if not f.endswith('.o') or '/src/' not in p or 'entry_shared' in p:
            continue
        key = p.split('.dir/', 1)[-1][:-2]
        if key.startswith('src/'):
            objs.setdefault(key[4:], p)
if not objs:
    sys.exit('layers.py: no objects of the library under ' + build)

def row_of(f):
    if f in rows:
        return rows[f]
    for g, r in globs:
        if fnmatch.fnmatch(f, g):
            return r
    return None

defs, uses = {}, {}
for k, p in objs.items():
    out = subprocess.run(['nm', p], capture_output=True, text=True, check=True).stdout
    u = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == 'U':
            u.add(parts[1])
        elif len(parts) == 3 and parts[1] in 'TDBRVW':
            defs.setdefault(parts[2], k)
    uses[k] = u

bad = []
for k in sorted(objs):
    if row_of(k) is None:
        bad.append(f'{k}: not placed in the picture of {doc}')
graph = {k: set() for k in objs}
for k in sorted(objs):
    for s in sorted(uses[k]):
        t = defs.get(s)
        if t is None or t == k:
            continue
        graph[k].add(t)
        rk, rt = row_of(k), row_of(t)
        if rk is not None and rt is not None and rt > rk:
            bad.append(f'{k} (row {rk}) calls up into {t} (row {rt}): {s}')

# Largest strongly connected component (Tarjan, iterative).
index, low, onstack, stack, comps, n = {}, {}, set(), [], [], [0]
for v0 in graph:
    if v0 in index:
        continue
    work = [(v0, iter(sorted(graph[v0])))]
    index[v0] = low[v0] = n[0]; n[0] += 1; stack.append(v0); onstack.add(v0)
    while work:
        v, it = work[-1]
        w = next(it, None)
        if w is not None:
            if w not in index:
                index[w] = low[w] = n[0]; n[0] += 1; stack.append(w); onstack.add(w)
                work.append((w, iter(sorted(graph[w]))))
            elif w in onstack:
                low[v] = min(low[v], index[w])
            continue
        work.pop()
        if work:
            low[work[-1][0]] = min(low[work[-1][0]], low[v])
        if low[v] == index[v]:
            c = []
            while True:
                w = stack.pop(); onstack.discard(w); c.append(w)
                if w == v:
                    break
            comps.append(sorted(c))
big = max(comps, key=len)
for c in comps:
    if len(c) > 3:
        bad.append(f'a circle of {len(c)} files: {" ".join(c)}')
print(f'{len(objs)} src objects; largest circle {len(big)}: {" ".join(big)}')
for b in bad:
    print('layers.py:', b)
sys.exit(1 if bad else 0)
