#!/usr/bin/env python3
"""Writes the kept seed corpus, fuzz/corpus/<target>/seed-NN, from fixed programs.

The inputs are encoded the way fuzz_util.h and the targets decode them: an operation byte and a
slot byte, then the operation's arguments (a size is a kind byte 0..15 and 2 or 4 bytes; an
alignment is a shift byte). Each seed exercises one area (one size range, one call, one policy),
so the fuzzer starts from inputs that already reach every path. Usage: fuzz/make_corpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# fuzz_fast operation codes (op % 16) and fuzz_lab operation codes (op % 8). fuzz_fast's 12
# and 13 run one of 0..11 (the next byte) on the helper thread or on the fuzzing thread with
# sizes mostly <= 8 KiB; 14 controls the helper; 15 is a batch over consecutive slots.
FAST = dict(malloc=0, calloc=2, realloc=3, aligned=4, memalign=5, free=6, free_sized=8,
            free_other=9, probe=10, trim=11, remote=12, small=13, control=14, batch=15)
CONTROL = dict(restart=0, trim=1, warm_remote=2, warm_local=3)
BATCH = dict(malloc=0, calloc=1, free=2, warm_free=3)
LAB = dict(malloc=0, calloc=2, realloc=3, memalign=4, free=5, hf_free=7)
POLICIES = 7


def size(kind, value, huge=False):
    """A size of the given kind: 'small' (<= 1 KiB), 'medium', 'large', 'huge'."""
    if kind == 'small':
        return bytes([0]) + struct.pack('<H', value % 1025)
    if kind == 'medium':
        return bytes([8]) + struct.pack('<I', value)
    if kind == 'large':
        return bytes([12]) + struct.pack('<I', value)
    return bytes([15, 0]) + struct.pack('<I', value)  # huge (fuzz_fast only)


def ssize(value):
    """A size of the codes 12..15 (sizes mostly small): 1..8192 bytes."""
    return bytes([3]) + struct.pack('<H', value - 1)


def remote(name, slot, *args):
    """fuzz_fast: operation `name` run by the helper thread."""
    return bytes([FAST['remote'], slot, FAST[name]]) + b''.join(args)


def local(name, slot, *args):
    """fuzz_fast: operation `name` run by the fuzzing thread, with a small size."""
    return bytes([FAST['small'], slot, FAST[name]]) + b''.join(args)


def control(what, *args):
    return bytes([FAST['control'], 0, CONTROL[what]]) + b''.join(args)


def batch(what, slot, count, on_helper, *args):
    return bytes([FAST['batch'], slot, on_helper | BATCH[what] << 1 | (count - 1) << 3]) + b''.join(args)


def op(table, name, slot, *args):
    return bytes([table[name], slot]) + b''.join(args)


def fast_seeds():
    seeds = []
    for kind in ('small', 'medium', 'large'):
        prog = b''
        for i in range(8):
            prog += op(FAST, 'malloc', i, size(kind, 37 * i + 1))
        for i in range(0, 8, 2):
            prog += op(FAST, 'free', i)
        for i in range(1, 8, 2):
            prog += op(FAST, 'realloc', i, size(kind, 5000 * i + 3))
        seeds.append(prog)
    seeds.append(op(FAST, 'malloc', 0, size('huge', 12345)) + op(FAST, 'realloc', 0, size('large', 9)))
    for shift in (0, 2, 4, 8, 12, 14, 16):
        seeds.append(op(FAST, 'aligned', shift, bytes([shift]), size('small', 100)) +
                     op(FAST, 'memalign', shift + 1, bytes([shift]), size('medium', 70000)) +
                     op(FAST, 'free_other', shift, bytes([1])) + op(FAST, 'free', shift + 1))
    for kind in ('small', 'medium', 'large'):
        seeds.append(b''.join(op(FAST, 'calloc', i, bytes([i]), size(kind, 999 * i)) for i in range(6)) +
                     b''.join(op(FAST, 'free_sized', i) for i in range(6)))
    churn = b''
    for i in range(40):
        churn += op(FAST, 'malloc', i % 16, size('small', i * 24)) + op(FAST, 'free', (i * 7) % 16)
    seeds.append(churn + op(FAST, 'trim', 0, bytes([0])))
    seeds.append(op(FAST, 'malloc', 3, size('small', 0)) + op(FAST, 'probe', 3) +
                 op(FAST, 'free_other', 3, bytes([0])))
    # Cross-thread frees: blocks of the helper's heap freed by the fuzzing thread, which keeps
    # them (it allocated the class first) and hands them out again, calloc included.
    seeds.append(batch('malloc', 0, 16, 1, ssize(256)) + control('warm_local', ssize(256)) +
                 batch('free', 0, 16, 0) + batch('calloc', 16, 24, 0, ssize(256)) +
                 batch('malloc', 0, 16, 0, ssize(256)))
    # The anchor: kept blocks go back on trim (to the page's thread_free), one more is kept,
    # and the fuzzing thread's mallocs take the given-back blocks over.
    seeds.append(batch('malloc', 0, 8, 1, ssize(1024)) + control('warm_local', ssize(1024)) +
                 batch('free', 0, 4, 0) + op(FAST, 'trim', 0, bytes([0])) + batch('free', 4, 1, 0) +
                 batch('calloc', 8, 28, 0, ssize(1024)) + batch('malloc', 36, 28, 0, ssize(1024)))
    # The other way round, then a helper restart while it keeps blocks, remote realloc and trim.
    seeds.append(batch('calloc', 0, 12, 0, ssize(4096)) + batch('warm_free', 0, 6, 1) +
                 remote('calloc', 20, bytes([0]), ssize(4096)) + control('restart') +
                 remote('realloc', 6, ssize(100)) + remote('free', 7) + control('trim') +
                 remote('aligned', 8, bytes([3]), ssize(512)) + local('free_sized', 8) +
                 local('malloc', 9, ssize(8192)) + remote('trim', 0, bytes([0])))
    return seeds


def lab_seeds():
    seeds = []
    for policy in range(POLICIES):
        for backing in (1, 0):  # knobs % 4 == 0 selects sbrk
            knobs = backing | (policy * 0x9E37) << 4
            prog = bytes([policy]) + struct.pack('<I', knobs)
            for i in range(10):
                prog += op(LAB, 'malloc', i, size('small' if i % 3 else 'medium', 53 * i + 8))
            for i in range(0, 10, 3):
                prog += op(LAB, 'free', i)
            prog += op(LAB, 'realloc', 1, size('medium', 40000)) + op(LAB, 'realloc', 2, size('small', 1))
            prog += op(LAB, 'memalign', 12, bytes([5]), size('small', 300))
            prog += op(LAB, 'calloc', 13, bytes([3]), size('large', 1000))
            prog += op(LAB, 'hf_free', 4) + op(LAB, 'hf_free', 13)
            seeds.append(prog + bytes([policy & 1]))
    return seeds


def write(target, seeds):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith('seed-'):
            os.remove(os.path.join(d, f))
    for i, s in enumerate(seeds):
        with open(os.path.join(d, 'seed-%02d' % i), 'wb') as f:
            f.write(s)
    print('%s: %d seeds' % (target, len(seeds)))


if __name__ == '__main__':
    write('fuzz_fast', fast_seeds())
    write('fuzz_lab', lab_seeds())
