#!/usr/bin/env python3
"""Runs one heap-misuse program (tests/harden/cases/*.c) and checks heapforge's verdict.

Usage: run.py --lib LIBHEAPFORGE.so --source CASE.c [--max-level N] BINARY

The case's header comment names it and says what heapforge must do:
    level:  the HEAPFORGE_SECURE level from which heapforge must catch the misuse ("none": no
            level promises it; the case is only a row of the table in docs/hardening.md)
    expect: "heapforge: <error> of 0x"  killed by SIGABRT after exactly one stderr line starting
                                        with that text and the pointer the case announced
            "SIGSEGV"                   killed by SIGSEGV (a guard page, an unmapped block)
            "SIGSEGV quiet"             killed by SIGSEGV with nothing on stderr (a fault that is
                                        not on heapforge's memory: no report, the program's fate)
            "SIGSEGV heapforge: ..."    killed by SIGSEGV after exactly one stderr line equal to
                                        the text, where {pointer} {size} {offset} {address} and
                                        {thread} stand for what the case announced on stdout
                                        (harden.h, announce_fault): the fault handler's report;
                                        a text ending "offset {offset}" stands for the whole
                                        line, FAULT_TAIL (address, thread, stacks) included
            "ok"                        a negative control: exit 0, nothing on stderr, at every level
    stdout: (optional) a line the program must also print on stdout (a handler of its own ran)
    expect from N:  (optional, any number) the expectation from level N on, where a higher level
            catches the misuse earlier and under another name (a write into a freed block is a
            forged link at level 1 but a write after free once level 3 quarantines the block)
The binary runs with LD_PRELOAD=LIB and HEAPFORGE_SECURE=L for every L from the case's level
(0 for a control) to --max-level; the test passes if every run meets the expectation.
Exit status: 0 pass, 1 fail, 77 when the case is not promised at any level up to --max-level.
"""
import argparse
import os
import re
import signal
import subprocess
import sys

# The end of every fault report after its offset (src/harden/fault.c, explain).
FAULT_TAIL = ' (address {address}), thread {thread} (no stacks: the call-site capture is not built)'

# Exit codes of a program that survived its misuse (harden.h).
EXITS = {0: 'missed', 2: 'setup failed', 3: 'n/a (not in this libc)', 4: 'mitigated'}


def read_header(source):
    """The case's header fields: name, level (int or None), expect."""
    fields, later = {}, {}
    last = None  # (dict, key) of the field a continuation line (" *     more") extends
    with open(source) as f:
        for line in f:
            m = re.match(r'^(?:/\*| \*)\s*(harden|level|expect|stdout|expect from (\d+)):\s*(.*?)\s*$', line)
            more = re.match(r'^ \*    +(\S.*?)\s*$', line)
            if m and m.group(2):
                later[int(m.group(2))] = m.group(3)
                last = (later, int(m.group(2)))
            elif m:
                fields[m.group(1)] = m.group(3)
                last = (fields, m.group(1))
            elif more and last:
                last[0][last[1]] += ' ' + more.group(1)
            elif line.startswith(' */'):
                break
            else:
                last = None
    for key in ('harden', 'level', 'expect'):
        if key not in fields:
            raise SystemExit('%s: header has no "%s:" line' % (source, key))
    level = None if fields['level'] == 'none' else int(fields['level'])
    return {'name': fields['harden'], 'level': level, 'expect': fields['expect'], 'later': later,
            'stdout': fields.get('stdout')}


def expectation(header, level):
    """The expect text that applies at a level (the latest "expect from N" with N <= level)."""
    expect = header['expect']
    for n in sorted(header.get('later', {})):
        if level is not None and n <= level:
            expect = header['later'][n]
    return expect


def run_case(binary, lib=None, level=None, timeout=60):
    """Runs binary (under heapforge when lib is given) and describes what happened."""
    env = dict(os.environ)
    env.pop('LD_PRELOAD', None)
    for k in [k for k in env if k.startswith('HEAPFORGE_')]:
        del env[k]
    if lib:
        env['LD_PRELOAD'] = os.path.abspath(lib)
        env['HEAPFORGE_SECURE'] = str(level)
    try:
        p = subprocess.run([binary], env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {'status': 'timeout', 'signal': None, 'stderr': '', 'pointer': None}
    out = p.stdout.decode(errors='replace')
    err = p.stderr.decode(errors='replace')
    m = re.search(r'^pointer (0x[0-9a-f]+|\(nil\))$', out, re.M)
    announced = dict(re.findall(r'^(size|offset|address|thread) (\S+)$', out, re.M))
    r = {'stderr': err, 'pointer': m.group(1) if m else None, 'signal': None, 'code': p.returncode,
         'stdout': out, 'announced': announced}
    if p.returncode < 0:
        r['signal'] = signal.Signals(-p.returncode).name
        r['status'] = 'signal'
    else:
        r['status'] = EXITS.get(p.returncode, 'exit %d' % p.returncode)
    return r


def check(header, r, level=None):
    """None when the run r (at level) meets the header's expectation, else the reason it does not."""
    expect = expectation(header, level)
    first = r['stderr'].split('\n', 1)[0]
    want_out = header.get('stdout')
    if want_out and want_out not in r.get('stdout', '').split('\n'):
        return 'expected %r on stdout, got %r (stderr %r)' % (want_out, r.get('stdout', ''), r['stderr'])
    if expect == 'ok':
        if r['status'] == 'missed' and r['stderr'] == '':
            return None
        return 'expected a clean exit, got %s%s, stderr: %r' % (
            r['status'], ' ' + r['signal'] if r['signal'] else '', r['stderr'])
    if re.fullmatch(r'SIG[A-Z]+', expect):
        if r['signal'] == expect:
            return None
        return 'expected %s, got %s %s, stderr: %r' % (expect, r['status'], r['signal'] or '', r['stderr'])
    m = re.fullmatch(r'(SIG[A-Z]+) (quiet|heapforge: .*)', expect)
    if m:
        sig, text = m.groups()
        if r['signal'] != sig:
            return 'expected %s, got %s %s, stderr: %r' % (sig, r['status'], r['signal'] or '', r['stderr'])
        if text == 'quiet':
            return None if r['stderr'] == '' else 'expected nothing on stderr, got %r' % r['stderr']
        values = dict(r.get('announced', {}), pointer=r['pointer'] or '?')
        if text.endswith('offset {offset}'):
            text += FAULT_TAIL
        want = re.sub(r'\{(\w+)\}', lambda v: values.get(v.group(1), '{%s}' % v.group(1)), text)
        if r['stderr'] != want + '\n':
            return 'expected exactly the line %r, got %r' % (want, r['stderr'])
        return None
    if r['signal'] != 'SIGABRT':
        return 'not caught: %s%s, stderr: %r' % (r['status'], ' ' + r['signal'] if r['signal'] else '',
                                                 r['stderr'])
    want = expect
    if expect.endswith('0x') and r['pointer'] and r['pointer'].startswith('0x'):
        want = expect[:-2] + r['pointer']
    if not first.startswith(want):
        return 'expected a line starting %r, got %r' % (want, r['stderr'])
    if r['stderr'].count('\n') != 1:
        return 'expected exactly one stderr line, got %r' % r['stderr']
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--lib', required=True)
    ap.add_argument('--source', required=True)
    ap.add_argument('--max-level', type=int, default=0)
    ap.add_argument('binary')
    a = ap.parse_args()
    h = read_header(a.source)
    first = 0 if h['expect'] == 'ok' else h['level']
    if first is None or first > a.max_level:
        print('%s: not promised at levels 0..%d' % (h['name'], a.max_level))
        return 77
    failed = False
    for level in range(first, a.max_level + 1):
        r = run_case(a.binary, a.lib, level)
        why = check(h, r, level)
        if why:
            print('%s at HEAPFORGE_SECURE=%d: %s' % (h['name'], level, why))
            failed = True
        else:
            seen = r['stderr'].strip() or r['signal'] or 'clean exit'
            print('%s at HEAPFORGE_SECURE=%d: ok: %s' % (h['name'], level, seen))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
