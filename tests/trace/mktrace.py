#!/usr/bin/env python3
"""mktrace.py -- writes heapforge binary traces byte by byte, independently of the C encoder,
and the corrupt variants the loader must reject (tests/trace/trace_cli.sh).

  mktrace.py DIR     writes DIR/<case>.hft|.rep and DIR/cases.txt: "file exit-code message"
"""
import os
import struct
import sys
import zlib

MAGIC = b"HFTRACE\x1a"
CHUNK_MAGIC = 0x4B434648
MALLOC, CALLOC, REALLOC, ALIGNED, FREE = 1, 2, 3, 4, 5


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def zigzag(now, prev):
    d = (now - prev) & (2**64 - 1)
    if d >= 2**63:
        d -= 2**64
    return ((d << 1) ^ (d >> 63)) & (2**64 - 1)


def header(name=b"mktrace", version=1, pid=42):
    fixed = MAGIC + struct.pack("<HHIQQIH", version, 38 + len(name) + 4, pid, 1700000000 * 10**9,
                                10**9, 0, len(name))
    body = fixed + name
    return body + struct.pack("<I", zlib.crc32(body))


def chunk(events, thread=1, base=10**9, count=None, length=None, crc=None):
    """events: (op, time, ptr, size, old_ptr_or_align)"""
    payload = bytearray()
    last_t, last_p = base, 0
    for op, t, ptr, size, extra in events:
        payload.append(op)
        payload += varint(t - last_t)
        last_t = t
        payload += varint(zigzag(ptr, last_p))
        last_p = ptr
        if op != FREE:
            payload += varint(size)
        if op == REALLOC:
            payload += varint(zigzag(extra, last_p))
            last_p = extra
        elif op == ALIGNED:
            payload += varint(extra)
    head = struct.pack("<IIIIQII", CHUNK_MAGIC, thread, len(events) if count is None else count,
                       len(payload) if length is None else length, base,
                       zlib.crc32(payload) if crc is None else crc, 0)
    return head + bytes(payload)


def good_events():
    t, ev = 10**9, []
    a, b, c = 0x7F0000001000, 0x7F0000002000, 0x7F0000003000
    ev.append((MALLOC, t + 10, a, 100, 0))
    ev.append((CALLOC, t + 20, b, 64, 0))
    ev.append((ALIGNED, t + 30, c, 256, 4096))
    ev.append((REALLOC, t + 40, a + 0x8000, 1000, a))
    ev.append((MALLOC, t + 50, 0, 1 << 40, 0))  # a failed malloc: NULL result
    ev.append((FREE, t + 60, b, 0, 0))
    ev.append((FREE, t + 70, a + 0x8000, 0, 0))
    ev.append((FREE, t + 80, c, 0, 0))
    return ev


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    cases = []

    def put(name, data, code, msg):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        if code is not None:
            cases.append("%s %d %s" % (name, code, msg))

    good = header() + chunk(good_events()[:4], thread=1) + chunk(good_events()[4:], thread=2)
    put("good.hft", good, None, "")
    # Two threads whose chunks interleave in time: the loader must merge them.
    t = 10**9
    th1 = [(MALLOC, t + 1, 0x1000, 10, 0), (FREE, t + 5, 0x1000, 0, 0)]
    th2 = [(MALLOC, t + 3, 0x1000 + 0x100, 20, 0), (FREE, t + 7, 0x1100, 0, 0)]
    put("merge.hft", header() + chunk(th2, thread=2) + chunk(th1, thread=1), None, "")

    put("empty.hft", b"", 3, "byte 0: empty file")
    put("foreign.hft", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56, 3, "not a heapforge trace")
    put("bad_magic.hft", b"HFTRACX\x1a" + good[8:], 3, "byte 0: bad magic")
    bad_version = bytearray(good)
    bad_version[8] = 9
    put("bad_version.hft", bytes(bad_version), 3, "byte 8: unsupported trace version 9")
    put("trunc_magic.hft", good[:5], 3, "file header truncated")
    put("trunc_header.hft", good[:30], 3, "file header truncated")
    bad_hcrc = bytearray(good)
    bad_hcrc[20] ^= 1
    put("header_crc.hft", bytes(bad_hcrc), 3, "file header CRC mismatch")
    hsize = 38 + len(b"mktrace") + 4
    put("trunc_chunk_header.hft", good[:hsize + 10], 3, "chunk header truncated")
    put("trunc_chunk.hft", good[:hsize + 40], 3, "chunk payload truncated")
    bad_crc = bytearray(good)
    bad_crc[hsize + 32 + 3] ^= 0x40
    put("crc.hft", bytes(bad_crc), 3, "chunk payload CRC mismatch")
    bad_cmagic = bytearray(good)
    bad_cmagic[hsize] ^= 0xFF
    put("chunk_magic.hft", bytes(bad_cmagic), 3, "bad chunk magic")
    put("absurd_count.hft", header() + chunk(good_events(), count=0xFFFFFFFF), 3,
        "impossible event count 4294967295")
    put("zero_count.hft", header() + chunk(good_events(), count=0), 3, "impossible event count 0")
    put("absurd_length.hft", header() + chunk(good_events(), length=0x7FFFFFFF), 3,
        "absurd chunk payload length")
    put("count_mismatch.hft", header() + chunk(good_events(), count=5), 3, "chunk says 5 events")
    put("absurd_size.hft", header() + chunk([(MALLOC, t + 1, 0x1000, 1 << 60, 0)]), 3,
        "absurd size 1152921504606846976")
    put("bad_align.hft", header() + chunk([(ALIGNED, t + 1, 0x1000, 64, 48)]), 3, "bad alignment 48")
    put("bad_op.hft", header() + chunk([(9, t + 1, 0x1000, 64, 0)]), 3, "unknown operation code")
    put("free_unknown.hft", header() + chunk([(MALLOC, t + 1, 0x1000, 64, 0), (FREE, t + 2, 0x2000, 0, 0)]),
        3, "free of unknown pointer 0x2000")
    put("double_free.hft", header() + chunk([(MALLOC, t + 1, 0x1000, 64, 0), (FREE, t + 2, 0x1000, 0, 0),
                                             (FREE, t + 3, 0x1000, 0, 0)]), 3, "free of unknown pointer 0x1000")
    put("realloc_unknown.hft", header() + chunk([(REALLOC, t + 1, 0x3000, 64, 0x2000)]), 3,
        "realloc of unknown pointer 0x2000")
    put("still_live.hft", header() + chunk([(MALLOC, t + 1, 0x1000, 64, 0), (MALLOC, t + 2, 0x1000, 8, 0)]),
        3, "which is still live")
    put("rep_free_unknown.rep", b"a 0 16\nf 1\n", 3, "line 2: free of unknown id 1")
    put("rep_bad_line.rep", b"20\n1\n1\n1\na 0\n", 3, "line 5: expected 'a ID SIZE'")
    put("rep_bad_op.rep", b"a 0 16\nx 0\n", 3, "line 2: unknown operation 'x'")
    put("rep_count.rep", b"20\n1\n3\n1\na 0 16\nf 0\n", 3, "line 3: the header says 3 operations")
    put("rep_twice.rep", b"a 0 16\na 0 16\n", 3, "line 2: id 0 allocated while it is still live")
    put("rep_absurd.rep", b"a 0 99999999999999999\n", 3, "line 1: absurd size")
    with open(os.path.join(d, "cases.txt"), "w") as f:
        f.write("\n".join(cases) + "\n")


main()
