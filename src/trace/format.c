/* trace/format.c -- the binary trace format's primitives: CRC-32, LEB128 varints, the file
 * header, and chunks built in and decoded from caller-provided buffers (docs/trace-format.md).
 *
 * The recorder calls these from inside malloc, so nothing here allocates, takes a lock or calls
 * libc beyond memcpy/memset; every function works only on the memory it is handed. */
#include "trace/format.h"

#include <string.h>

const unsigned char hfi_trace_file_magic[HFI_TRACE_MAGIC_LEN] = {'H', 'F', 'T', 'R',
                                                                 'A', 'C', 'E', 0x1A};

/* ---- little-endian fields ------------------------------------------------------------- */

void hfi_trace_put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
void hfi_trace_put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
void hfi_trace_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
uint16_t hfi_trace_get_u16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}
uint32_t hfi_trace_get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
uint64_t hfi_trace_get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* ---- CRC-32 ----------------------------------------------------------------------------- */

/* Four bits at a time from a 16-entry table: no start-up initialisation (the recorder may run
 * before constructors) and 64 bytes of table instead of 1 KiB, at about half the speed of the
 * byte-wise table -- still far below the cost of the write() that follows. */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t hfi_trace_crc32(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}

/* ---- varints ---------------------------------------------------------------------------- */

size_t hfi_trace_varint_put(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t hfi_trace_varint_get(const uint8_t *in, size_t avail, uint64_t *out) {
    uint64_t v = 0;
    for (size_t i = 0; i < avail && i < 10; i++) {
        uint64_t byte = in[i];
        /* The tenth byte may carry only the top bit of a 64-bit value. */
        if (i == 9 && byte > 1) return 0;
        v |= (byte & 0x7F) << (7 * i);
        if ((byte & 0x80) == 0) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

/* Pointers are stored as zigzag deltas from the previous pointer field of the same chunk:
 * consecutive blocks of one thread are usually close together, so most take 2-3 bytes
 * instead of 6-7. */
static uint64_t zigzag(uint64_t now, uint64_t prev) {
    int64_t d = (int64_t)(now - prev);
    return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}
static uint64_t unzigzag(uint64_t z, uint64_t prev) {
    uint64_t d = (z >> 1) ^ (0 - (z & 1));
    return prev + d;
}

/* ---- file header ------------------------------------------------------------------------- */

size_t hfi_trace_write_file_header(uint8_t *buf, uint32_t pid, uint64_t start_realtime_ns,
                                   uint64_t start_mono_ns, const char *program, uint32_t flags) {
    size_t name_len = 0;
    if (program != NULL)
        while (name_len < HFI_TRACE_NAME_MAX && program[name_len] != 0) name_len++;
    size_t size = HFI_TRACE_FILE_FIXED + name_len + 4;
    memcpy(buf, hfi_trace_file_magic, HFI_TRACE_MAGIC_LEN);
    hfi_trace_put_u16(buf + 8, HFI_TRACE_VERSION);
    hfi_trace_put_u16(buf + 10, (uint16_t)size);
    hfi_trace_put_u32(buf + 12, pid);
    hfi_trace_put_u64(buf + 16, start_realtime_ns);
    hfi_trace_put_u64(buf + 24, start_mono_ns);
    hfi_trace_put_u32(buf + 32, flags); /* HFI_TRACE_FLAG_* */
    hfi_trace_put_u16(buf + 36, (uint16_t)name_len);
    if (name_len > 0) memcpy(buf + HFI_TRACE_FILE_FIXED, program, name_len);
    hfi_trace_put_u32(buf + size - 4, hfi_trace_crc32(0, buf, size - 4));
    return size;
}

/* ---- chunks ------------------------------------------------------------------------------ */

void hfi_trace_chunk_begin(hfi_trace_chunk *c, void *buf, size_t cap, uint32_t thread,
                           uint64_t base_ns) {
    c->buf = buf;
    c->cap = cap;
    c->len = HFI_TRACE_CHUNK_HEADER;
    c->count = 0;
    c->thread = thread;
    c->base_ns = base_ns;
    c->last_ns = base_ns;
    c->last_ptr = 0;
}

int hfi_trace_chunk_put_event(hfi_trace_chunk *c, const hfi_trace_event *e) {
    uint8_t tmp[HFI_TRACE_EVENT_MAX];
    uint64_t t = e->time_ns < c->last_ns ? c->last_ns : e->time_ns;
    size_t n = 0;
    uint8_t op = e->op;
    if (op == HFI_TRACE_ALIGNED) op = (uint8_t)(op | (e->variant << 4));
    tmp[n++] = op;
    n += hfi_trace_varint_put(tmp + n, t - c->last_ns);
    uint64_t last_ptr = c->last_ptr;
    n += hfi_trace_varint_put(tmp + n, zigzag(e->ptr, last_ptr));
    last_ptr = e->ptr;
    switch (e->op) {
    case HFI_TRACE_MALLOC:
    case HFI_TRACE_CALLOC:
        n += hfi_trace_varint_put(tmp + n, e->size);
        break;
    case HFI_TRACE_REALLOC:
        n += hfi_trace_varint_put(tmp + n, e->size);
        n += hfi_trace_varint_put(tmp + n, zigzag(e->old_ptr, last_ptr));
        last_ptr = e->old_ptr;
        break;
    case HFI_TRACE_ALIGNED:
        n += hfi_trace_varint_put(tmp + n, e->size);
        n += hfi_trace_varint_put(tmp + n, e->align);
        break;
    default: /* HFI_TRACE_FREE */
        break;
    }
    if (c->len + n > c->cap || c->count == UINT32_MAX ||
        c->len + n - HFI_TRACE_CHUNK_HEADER > HFI_TRACE_PAYLOAD_MAX)
        return 0;
    memcpy(c->buf + c->len, tmp, n);
    c->len += n;
    c->count++;
    c->last_ns = t;
    c->last_ptr = last_ptr;
    return 1;
}

size_t hfi_trace_chunk_finish(hfi_trace_chunk *c) {
    if (c->count == 0) return 0;
    uint8_t *h = c->buf;
    size_t payload = c->len - HFI_TRACE_CHUNK_HEADER;
    hfi_trace_put_u32(h, HFI_TRACE_CHUNK_MAGIC);
    hfi_trace_put_u32(h + 4, c->thread);
    hfi_trace_put_u32(h + 8, c->count);
    hfi_trace_put_u32(h + 12, (uint32_t)payload);
    hfi_trace_put_u64(h + 16, c->base_ns);
    hfi_trace_put_u32(h + 24, hfi_trace_crc32(0, h + HFI_TRACE_CHUNK_HEADER, payload));
    hfi_trace_put_u32(h + 28, 0); /* reserved */
    return c->len;
}

/* ---- decoding ---------------------------------------------------------------------------- */

void hfi_trace_cursor_init(hfi_trace_cursor *c, const void *payload, size_t len, uint64_t base_ns) {
    c->payload = payload;
    c->len = len;
    c->pos = 0;
    c->last_ns = base_ns;
    c->last_ptr = 0;
}

static int get_field(hfi_trace_cursor *c, size_t *pos, uint64_t *v, const char **why) {
    size_t n = hfi_trace_varint_get(c->payload + *pos, c->len - *pos, v);
    if (n == 0) {
        *why = *pos >= c->len ? "event cut off at the end of the payload" : "malformed varint";
        return 0;
    }
    *pos += n;
    return 1;
}

int hfi_trace_cursor_next(hfi_trace_cursor *c, hfi_trace_event *e, const char **why) {
    if (c->pos >= c->len) return 0;
    size_t pos = c->pos;
    uint8_t op = c->payload[pos++];
    memset(e, 0, sizeof *e);
    e->op = op & 15;
    e->variant = op >> 4;
    if (e->op < HFI_TRACE_MALLOC || e->op > HFI_TRACE_FREE ||
        (e->op != HFI_TRACE_ALIGNED && e->variant != 0) || e->variant > HFI_TRACE_PVALLOC) {
        *why = "unknown operation code";
        return -1;
    }
    uint64_t dt, z;
    if (!get_field(c, &pos, &dt, why) || !get_field(c, &pos, &z, why)) return -1;
    if (dt > UINT64_MAX - c->last_ns) {
        *why = "time stamp overflows";
        return -1;
    }
    e->time_ns = c->last_ns + dt;
    e->ptr = unzigzag(z, c->last_ptr);
    uint64_t last_ptr = e->ptr;
    if (e->op != HFI_TRACE_FREE && !get_field(c, &pos, &e->size, why)) return -1;
    if (e->op == HFI_TRACE_REALLOC) {
        if (!get_field(c, &pos, &z, why)) return -1;
        e->old_ptr = unzigzag(z, last_ptr);
        last_ptr = e->old_ptr;
    } else if (e->op == HFI_TRACE_ALIGNED) {
        if (!get_field(c, &pos, &e->align, why)) return -1;
    }
    c->pos = pos;
    c->last_ns = e->time_ns;
    c->last_ptr = last_ptr;
    return 1;
}
