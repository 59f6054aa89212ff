#!/usr/bin/env python3
"""png_tool.py -- the little PNG work the report's browser test needs, in the standard library.

  png_tool.py edge FILE.png [BACKGROUND_HEX]   exit 0 when the right-most column of pixels is
                                               all background (nothing drawn runs off the page)
  png_tool.py crop IN.png OUT.png HEIGHT [STEP] the top HEIGHT rows, every STEP-th pixel kept
"""
import struct
import sys
import zlib


def read(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit("%s: not a PNG file" % path)
    pos, idat, width = 8, bytearray(), 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise SystemExit("%s: only 8-bit RGB(A) non-interlaced PNGs" % path)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw, stride, rows, prev = zlib.decompress(bytes(idat)), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def write(path, width, rows):
    raw = b"".join(b"\x00" + bytes(r) for r in rows)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    cmd = sys.argv[1]
    w, h, bpp, rows = read(sys.argv[2])
    if cmd == "edge":
        bg = bytes.fromhex(sys.argv[3] if len(sys.argv) > 3 else "f5f7fa")
        bad = [y for y in range(h) if bytes(rows[y][(w - 1) * bpp:(w - 1) * bpp + 3]) != bg]
        if bad:
            print("%s: %d of %d pixels of the right edge are not background (rows %d..%d)"
                  % (sys.argv[2], len(bad), h, bad[0], bad[-1]))
            return 1
        return 0
    if cmd == "crop":
        height, step = int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 1
        out = []
        for y in range(0, min(h, height), step):
            r = rows[y]
            out.append(bytearray(b for x in range(0, w, step) for b in r[x * bpp:x * bpp + 3]))
        write(sys.argv[3], (w + step - 1) // step, out)
        return 0
    raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    sys.exit(main())
