#!/usr/bin/env python3
"""Runs every misuse case under glibc (no preload) and under heapforge at HEAPFORGE_SECURE=0..3
and writes the Markdown table of docs/hardening.md.

Usage: table.py --lib build/release/libheapforge.so --cases build/release/tests/harden/cases
                [--write docs/hardening.md]
Without --write the table goes to stdout; with it, it replaces the text between the
<!-- harden-table:begin --> and <!-- harden-table:end --> lines of that file.
"""
import argparse
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the runner's header parser and case runner)

LEVELS = (0, 1, 2, 3)
BEGIN, END = '<!-- harden-table:begin -->', '<!-- harden-table:end -->'


def describe(header, r):
    """One cell: what happened, in a few words."""
    first = r['stderr'].split('\n', 1)[0].strip()
    first = re.sub(r'0x[0-9a-f]+', '0x…', first)
    if r['signal'] == 'SIGABRT' and first:
        msg = first[len('heapforge: '):] if first.startswith('heapforge: ') else first
        msg = re.sub(r' of 0x…', '', msg)
        return 'caught (%s)' % msg.replace('|', '\\|')
    if r['signal']:
        expected = [e.split(' ', 1)[0] for e in [header['expect']] + list(header.get('later', {}).values())]
        said = ''
        if first.startswith('heapforge: '):  # the fault handler's report: its kind and access
            m = re.match(r'heapforge: (.*?)(?: of 0x….*?\)| at 0x…): (\w+)', first)
            said = ': %s, %s' % (m.group(1), m.group(2)) if m else ': ' + first[len('heapforge: '):]
        if r['signal'] in expected:
            return 'caught (%s%s)' % (r['signal'], said)
        return 'crash (%s%s)' % (r['signal'], said)
    if header['expect'] == 'ok' and r['status'] == 'missed':
        return 'ok' if not first else 'ok, but said: %s' % first
    return r['status']


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--lib', required=True)
    ap.add_argument('--cases', required=True, help='directory of the built case programs')
    ap.add_argument('--source', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'cases'))
    ap.add_argument('--write', help='Markdown file whose table to replace')
    a = ap.parse_args()

    rows = ['| misuse | promised from | glibc | level 0 | level 1 | level 2 | level 3 |',
            '|---|---|---|---|---|---|---|']
    for src in sorted(glob.glob(os.path.join(a.source, '*.c'))):
        h = run.read_header(src)
        binary = os.path.join(a.cases, h['name'])
        if not os.path.exists(binary):
            raise SystemExit('%s: not built (%s)' % (h['name'], binary))
        promised = 'control' if h['expect'] == 'ok' else ('none' if h['level'] is None else str(h['level']))
        cells = [describe(h, run.run_case(binary))]
        for level in LEVELS:
            r = run.run_case(binary, a.lib, level)
            cell = describe(h, r)
            if h['level'] is not None and level >= h['level'] and h['expect'] != 'ok':
                cell += '' if run.check(h, r, level) is None else ' ✗'
            cells.append(cell)
        rows.append('| `%s` | %s | %s |' % (h['name'], promised, ' | '.join(cells)))
    table = '\n'.join(rows) + '\n'

    if not a.write:
        sys.stdout.write(table)
        return 0
    with open(a.write) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        raise SystemExit('%s: no %s ... %s markers' % (a.write, BEGIN, END))
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(a.write, 'w') as f:
        f.write(head + BEGIN + '\n' + table + END + tail)
    print('%s: table of %d cases written' % (a.write, len(rows) - 2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
