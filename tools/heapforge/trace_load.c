/* trace_load.c -- traces in memory: loading a binary trace (docs/trace-format.md) or a
 * malloc-lab .rep file into an op array with block ids, and saving one in either format.
 *
 * Loading is where untrusted bytes meet the tool, so every length, count and size is checked
 * before it is used, and the first problem ends the load with one message naming the byte
 * offset (binary) or line (.rep). Binary chunks of different threads are merged by time stamp
 * (ties keep file order) and addresses become block ids; realloc keeps its block's id. */
#include "tool.h"
#include "trace/format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_names[HFT_KINDS] = {"malloc", "calloc", "realloc", "aligned", "free"};

const char *hft_kind_name(unsigned kind) {
    return kind < HFT_KINDS ? kind_names[kind] : "?";
}

/* ---- errors ---------------------------------------------------------------------------------- */

typedef struct loader {
    const char *path;
    char *err;
    size_t errlen;
} loader;

static int fail(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(loader *L, const char *fmt, ...) {
    int n = snprintf(L->err, L->errlen, "%s: ", L->path);
    if (n < 0 || (size_t)n >= L->errlen) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return HFT_EXIT_BADFILE;
}

/* ---- an address (or .rep id) -> block id map: open addressing, grown at half load ------------ */

typedef struct idmap {
    uint64_t *keys;
    uint32_t *vals;
    uint8_t *state; /* 0 empty, 1 full, 2 deleted */
    size_t cap, used;
} idmap;

static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

static int idmap_grow(idmap *m) {
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    idmap n = {calloc(ncap, 8), calloc(ncap, 4), calloc(ncap, 1), ncap, 0};
    if (!n.keys || !n.vals || !n.state) {
        free(n.keys), free(n.vals), free(n.state);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->state[i] != 1) continue;
        size_t j = mix(m->keys[i]) & (ncap - 1);
        while (n.state[j] != 0) j = (j + 1) & (ncap - 1);
        n.keys[j] = m->keys[i], n.vals[j] = m->vals[i], n.state[j] = 1, n.used++;
    }
    free(m->keys), free(m->vals), free(m->state);
    *m = n;
    return 0;
}

static size_t idmap_slot(const idmap *m, uint64_t key) { /* the key's slot, or SIZE_MAX */
    if (m->cap == 0) return SIZE_MAX;
    size_t j = mix(key) & (m->cap - 1);
    while (m->state[j] != 0) {
        if (m->state[j] == 1 && m->keys[j] == key) return j;
        j = (j + 1) & (m->cap - 1);
    }
    return SIZE_MAX;
}

static int idmap_put(idmap *m, uint64_t key, uint32_t val) {
    if ((m->used + 1) * 2 > m->cap && idmap_grow(m) != 0) return -1;
    size_t j = mix(key) & (m->cap - 1);
    while (m->state[j] == 1) j = (j + 1) & (m->cap - 1);
    if (m->state[j] == 0) m->used++; /* deleted slots were counted already */
    m->keys[j] = key, m->vals[j] = val, m->state[j] = 1;
    return 0;
}

static void idmap_free(idmap *m) {
    free(m->keys), free(m->vals), free(m->state);
}

/* ---- op array ------------------------------------------------------------------------------ */

static int push_op(hft_trace *t, size_t *cap, const hft_op *op) {
    if (t->nops == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4096;
        hft_op *n = realloc(t->ops, ncap * sizeof *n);
        if (n == NULL) return -1;
        t->ops = n, *cap = ncap;
    }
    t->ops[t->nops++] = *op;
    return 0;
}

void hft_trace_free(hft_trace *t) {
    free(t->ops);
    memset(t, 0, sizeof *t);
}

uint64_t hft_trace_peak_live(const hft_trace *t, size_t *at_op) {
    uint64_t *size = calloc(t->nids ? t->nids : 1, sizeof *size);
    uint64_t live = 0, peak = 0;
    size_t at = 0;
    if (size == NULL) return 0;
    for (size_t i = 0; i < t->nops; i++) {
        const hft_op *o = &t->ops[i];
        if (o->failed) continue;
        live -= size[o->id];
        size[o->id] = o->op == HFT_FREE ? 0 : o->size;
        live += size[o->id];
        if (live > peak) peak = live, at = i;
    }
    free(size);
    if (at_op) *at_op = at;
    return peak;
}

/* ---- binary traces ------------------------------------------------------------------------- */

typedef struct raw_event {
    hfi_trace_event e;
    uint32_t thread;
    uint64_t offset; /* byte offset of the event in the file */
    uint64_t seq;    /* file order, the tie-breaker */
} raw_event;

static int raw_cmp(const void *a, const void *b) {
    const raw_event *x = a, *y = b;
    if (x->e.time_ns != y->e.time_ns) return x->e.time_ns < y->e.time_ns ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int is_pow2(uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

/* Addresses to ids, in merged order. */
static int events_to_ops(loader *L, raw_event *ev, size_t n, uint64_t t0, hft_trace *t) {
    idmap live = {0};
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const hfi_trace_event *e = &ev[i].e;
        hft_op op = {0};
        op.thread = ev[i].thread;
        op.time_ns = e->time_ns - t0;
        op.size = e->size;
        unsigned long long off = (unsigned long long)ev[i].offset;
        size_t slot;
        switch (e->op) {
        case HFI_TRACE_MALLOC:
        case HFI_TRACE_CALLOC:
        case HFI_TRACE_ALIGNED:
        new_block:
            op.op = e->op == HFI_TRACE_CALLOC    ? HFT_CALLOC
                    : e->op == HFI_TRACE_ALIGNED ? HFT_ALIGNED
                                                 : HFT_MALLOC;
            op.variant = e->variant;
            op.align = e->align;
            if (e->ptr == 0) {
                op.failed = 1, op.id = HFT_NO_ID;
                break;
            }
            if (idmap_slot(&live, e->ptr) != SIZE_MAX) {
                rc = fail(L,
                          "byte %llu: %s returned 0x%" PRIx64
                          ", which is still live (a free is missing)",
                          off, hft_kind_name(op.op), e->ptr);
                break;
            }
            if (t->nids == HFT_NO_ID) {
                rc = fail(L, "byte %llu: too many blocks", off);
                break;
            }
            op.id = t->nids++;
            if (idmap_put(&live, e->ptr, op.id) != 0) rc = fail(L, "out of memory");
            break;
        case HFI_TRACE_REALLOC:
            if (e->old_ptr == 0) goto new_block; /* realloc(NULL, n) is malloc(n) */
            slot = idmap_slot(&live, e->old_ptr);
            if (slot == SIZE_MAX && (t->flags & HFI_TRACE_FLAG_FORKED)) {
                t->inherited++; /* the parent's block: a new one as far as this trace goes */
                if (e->ptr == 0) continue;
                goto new_block;
            }
            if (slot == SIZE_MAX) {
                rc = fail(L,
                          "byte %llu: realloc of unknown pointer 0x%" PRIx64
                          " (never allocated, or already freed)",
                          off, e->old_ptr);
                break;
            }
            op.id = live.vals[slot];
            if (e->ptr == 0 && e->size == 0) { /* realloc(p, 0) freed p */
                op.op = HFT_FREE, op.size = 0;
                live.state[slot] = 2;
                break;
            }
            op.op = HFT_REALLOC;
            if (e->ptr == 0) { /* failed: the block stays where it was */
                op.failed = 1;
                break;
            }
            live.state[slot] = 2;
            if (idmap_slot(&live, e->ptr) != SIZE_MAX) {
                rc = fail(L, "byte %llu: realloc returned 0x%" PRIx64 ", which is still live", off,
                          e->ptr);
                break;
            }
            if (idmap_put(&live, e->ptr, op.id) != 0) rc = fail(L, "out of memory");
            break;
        default:                       /* HFI_TRACE_FREE */
            if (e->ptr == 0) continue; /* free(NULL): nothing to replay */
            slot = idmap_slot(&live, e->ptr);
            if (slot == SIZE_MAX && (t->flags & HFI_TRACE_FLAG_FORKED)) {
                t->inherited++; /* allocated by the parent before the fork */
                continue;
            }
            if (slot == SIZE_MAX) {
                rc = fail(L,
                          "byte %llu: free of unknown pointer 0x%" PRIx64
                          " (never allocated, or freed twice)",
                          off, e->ptr);
                break;
            }
            op.op = HFT_FREE, op.id = live.vals[slot], op.size = 0;
            live.state[slot] = 2;
            break;
        }
        if (rc == 0 && push_op(t, &cap, &op) != 0) rc = fail(L, "out of memory");
    }
    idmap_free(&live);
    return rc;
}

static int load_binary(loader *L, const uint8_t *b, size_t len, hft_trace *t) {
    if (len < HFI_TRACE_FILE_FIXED + 4)
        return fail(L, "byte %zu: file header truncated (%zu bytes, a header needs at least %d)",
                    len, len, HFI_TRACE_FILE_FIXED + 4);
    unsigned version = hfi_trace_get_u16(b + 8);
    if (version != HFI_TRACE_VERSION)
        return fail(L, "byte 8: unsupported trace version %u (this heapforge reads version %d)",
                    version, HFI_TRACE_VERSION);
    size_t hsize = hfi_trace_get_u16(b + 10), name_len = hfi_trace_get_u16(b + 36);
    if (name_len > HFI_TRACE_NAME_MAX || hsize < HFI_TRACE_FILE_FIXED + name_len + 4)
        return fail(L, "byte 10: bad header size %zu (program name of %zu bytes)", hsize, name_len);
    if (hsize > len)
        return fail(L, "byte %zu: file header truncated (header size %zu)", len, hsize);
    uint32_t stored = hfi_trace_get_u32(b + hsize - 4), crc = hfi_trace_crc32(0, b, hsize - 4);
    if (stored != crc)
        return fail(L, "byte %zu: file header CRC mismatch (stored 0x%08x, computed 0x%08x)",
                    hsize - 4, stored, crc);
    t->pid = hfi_trace_get_u32(b + 12);
    t->start_realtime_ns = hfi_trace_get_u64(b + 16);
    t->flags = hfi_trace_get_u32(b + 32);
    if (t->flags & ~HFI_TRACE_FLAGS_KNOWN)
        return fail(L, "byte 32: unknown header flags 0x%x (this heapforge knows 0x%x)", t->flags,
                    HFI_TRACE_FLAGS_KNOWN);
    uint64_t mono0 = hfi_trace_get_u64(b + 24);
    memcpy(t->program, b + HFI_TRACE_FILE_FIXED, name_len);
    t->program[name_len] = 0;

    /* Pass 1: validate every chunk's framing and CRC and count the events, so that pass 2
     * allocates once and trusts nothing it has not checked. */
    size_t total = 0;
    for (size_t off = hsize; off < len;) {
        if (len - off < HFI_TRACE_CHUNK_HEADER)
            return fail(L, "byte %zu: chunk header truncated (%zu of %d bytes)", off, len - off,
                        HFI_TRACE_CHUNK_HEADER);
        const uint8_t *h = b + off;
        uint32_t magic = hfi_trace_get_u32(h), count = hfi_trace_get_u32(h + 8);
        uint32_t plen = hfi_trace_get_u32(h + 12);
        if (magic != HFI_TRACE_CHUNK_MAGIC)
            return fail(L, "byte %zu: bad chunk magic 0x%08x (expected 0x%08x)", off, magic,
                        HFI_TRACE_CHUNK_MAGIC);
        if (plen > HFI_TRACE_PAYLOAD_MAX)
            return fail(L, "byte %zu: absurd chunk payload length %u (limit %u)", off + 12, plen,
                        HFI_TRACE_PAYLOAD_MAX);
        /* The smallest event (a free) takes 3 bytes. */
        if (count == 0 || count > plen / 3)
            return fail(L, "byte %zu: impossible event count %u for a payload of %u bytes", off + 8,
                        count, plen);
        if (hfi_trace_get_u32(h + 28) != 0)
            return fail(L, "byte %zu: reserved chunk field is not zero", off + 28);
        if (len - off - HFI_TRACE_CHUNK_HEADER < plen)
            return fail(L, "byte %zu: chunk payload truncated (%zu of %u bytes)", len,
                        len - off - HFI_TRACE_CHUNK_HEADER, plen);
        uint32_t want = hfi_trace_get_u32(h + 24);
        uint32_t got = hfi_trace_crc32(0, h + HFI_TRACE_CHUNK_HEADER, plen);
        if (want != got)
            return fail(L, "byte %zu: chunk payload CRC mismatch (stored 0x%08x, computed 0x%08x)",
                        off + 24, want, got);
        total += count;
        off += HFI_TRACE_CHUNK_HEADER + plen;
    }

    raw_event *ev = malloc((total ? total : 1) * sizeof *ev);
    if (ev == NULL) return fail(L, "out of memory for %zu events", total);
    size_t n = 0;
    int rc = 0;
    for (size_t off = hsize; off < len && rc == 0;) {
        const uint8_t *h = b + off;
        uint32_t thread = hfi_trace_get_u32(h + 4), count = hfi_trace_get_u32(h + 8);
        uint32_t plen = hfi_trace_get_u32(h + 12);
        size_t pstart = off + HFI_TRACE_CHUNK_HEADER;
        hfi_trace_cursor c;
        hfi_trace_cursor_init(&c, b + pstart, plen, hfi_trace_get_u64(h + 16));
        uint32_t seen = 0;
        for (;;) {
            size_t at = pstart + c.pos;
            const char *why = NULL;
            raw_event *r = &ev[n];
            int got = seen < count ? hfi_trace_cursor_next(&c, &r->e, &why) : 0;
            if (got == 0) break;
            if (got < 0) {
                rc = fail(L, "byte %zu: %s", at, why);
                break;
            }
            if (r->e.size > HFT_SIZE_LIMIT) {
                rc = fail(L, "byte %zu: absurd size %" PRIu64 " in a %s event", at, r->e.size,
                          hft_kind_name(r->e.op - 1));
                break;
            }
            if (r->e.op == HFI_TRACE_ALIGNED &&
                (!is_pow2(r->e.align) || r->e.align > HFT_ALIGN_LIMIT)) {
                rc = fail(L, "byte %zu: bad alignment %" PRIu64, at, r->e.align);
                break;
            }
            r->thread = thread, r->offset = at, r->seq = n;
            n++, seen++;
        }
        if (rc == 0 && (seen != count || c.pos != plen))
            rc = fail(L, "byte %zu: chunk says %u events, its payload holds %s", off + 8, count,
                      seen < count ? "fewer" : "more");
        off = pstart + plen;
    }
    if (rc == 0) {
        qsort(ev, n, sizeof *ev, raw_cmp);
        uint64_t t0 = n > 0 && ev[0].e.time_ns < mono0 ? ev[0].e.time_ns : mono0;
        rc = events_to_ops(L, ev, n, t0, t);
    }
    free(ev);
    return rc;
}

/* ---- .rep text traces -------------------------------------------------------------------- */

/* Parses an unsigned decimal number at *p, moving past it and leading blanks. */
static int rep_number(const char **p, const char *end, uint64_t *out) {
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t')) s++;
    if (s == end || *s < '0' || *s > '9') return 0;
    uint64_t v = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        if (v > (UINT64_MAX - 9) / 10) return 0;
        v = v * 10 + (uint64_t)(*s++ - '0');
    }
    *p = s;
    *out = v;
    return 1;
}

static int rep_rest_blank(const char *s, const char *end) {
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r')) s++;
    return s == end;
}

static int load_rep(loader *L, const char *text, size_t len, hft_trace *t) {
    idmap live = {0};
    uint64_t header[4];
    unsigned nheader = 0;
    size_t cap = 0, line = 0, header_line = 0;
    int rc = 0, ops_started = 0;
    t->from_rep = 1;
    for (const char *p = text, *end = text + len; p < end && rc == 0;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL) eol = end;
        const char *s = p;
        p = eol + 1;
        line++;
        while (s < eol && (*s == ' ' || *s == '\t')) s++;
        if (s == eol || *s == '\r' || *s == '#') continue;
        uint64_t a, size = 0;
        if (*s >= '0' && *s <= '9') {
            if (ops_started || nheader == 4 || !rep_number(&s, eol, &header[nheader]) ||
                !rep_rest_blank(s, eol)) {
                rc =
                    fail(L, "line %zu: expected an operation (a ID SIZE, r ID SIZE or f ID)", line);
                break;
            }
            if (nheader == 2) header_line = line;
            nheader++;
            continue;
        }
        char c = *s++;
        ops_started = 1;
        if (c != 'a' && c != 'r' && c != 'f') {
            rc = fail(L, "line %zu: unknown operation '%c' (expected a, r or f)", line,
                      (unsigned char)c >= 32 && (unsigned char)c < 127 ? c : '?');
            break;
        }
        if (!rep_number(&s, eol, &a) || (c != 'f' && !rep_number(&s, eol, &size)) ||
            !rep_rest_blank(s, eol)) {
            rc = fail(L, "line %zu: expected '%s'", line,
                      c == 'a'   ? "a ID SIZE"
                      : c == 'r' ? "r ID SIZE"
                                 : "f ID");
            break;
        }
        if (size > HFT_SIZE_LIMIT) {
            rc = fail(L, "line %zu: absurd size %" PRIu64, line, size);
            break;
        }
        size_t slot = idmap_slot(&live, a);
        hft_op op = {0};
        op.size = size;
        op.time_ns = t->nops; /* .rep files have no time: one nanosecond per operation */
        if (c == 'a') {
            if (slot != SIZE_MAX) {
                rc = fail(L, "line %zu: id %" PRIu64 " allocated while it is still live", line, a);
                break;
            }
            if (t->nids == HFT_NO_ID) { /* ids would wrap onto HFT_NO_ID and each other */
                rc = fail(L, "line %zu: too many blocks", line);
                break;
            }
            op.op = HFT_MALLOC, op.id = t->nids++;
            if (idmap_put(&live, a, op.id) != 0) rc = fail(L, "out of memory");
        } else if (slot == SIZE_MAX) {
            rc = fail(L, "line %zu: %s of unknown id %" PRIu64 " (never allocated, or freed)", line,
                      c == 'r' ? "realloc" : "free", a);
            break;
        } else {
            op.id = live.vals[slot];
            op.op = c == 'r' && size > 0 ? HFT_REALLOC : HFT_FREE;
            if (op.op == HFT_FREE) live.state[slot] = 2, op.size = 0;
        }
        if (rc == 0 && push_op(t, &cap, &op) != 0) rc = fail(L, "out of memory");
    }
    if (rc == 0 && nheader >= 3 && header[2] != t->nops)
        rc = fail(L, "line %zu: the header says %" PRIu64 " operations, the file holds %zu",
                  header_line, header[2], t->nops);
    idmap_free(&live);
    return rc;
}

/* ---- loading ------------------------------------------------------------------------------- */

int hft_trace_load_mem(const char *name, const uint8_t *b, size_t len, hft_trace *t, char *err,
                       size_t errlen) {
    loader L = {name, err, errlen};
    memset(t, 0, sizeof *t);
    int rc;
    if (len == 0) {
        rc = fail(&L, "byte 0: empty file (not a trace)");
    } else if (memcmp(b, hfi_trace_file_magic,
                      len < HFI_TRACE_MAGIC_LEN ? len : HFI_TRACE_MAGIC_LEN) == 0) {
        rc = len < HFI_TRACE_MAGIC_LEN
                 ? fail(&L, "byte %zu: file header truncated (%zu bytes)", len, len)
                 : load_binary(&L, b, len, t);
    } else if (len >= 4 && memcmp(b, hfi_trace_file_magic, 4) == 0) {
        rc = fail(&L, "byte 0: bad magic (a heapforge trace starts with \"HFTRACE\\x1a\")");
    } else if (memchr(b, 0, len) == NULL) {
        rc = load_rep(&L, (const char *)b, len, t);
    } else {
        rc = fail(&L,
                  "byte 0: not a heapforge trace or .rep file (starts with "
                  "%02x %02x %02x %02x)",
                  b[0], len > 1 ? b[1] : 0, len > 2 ? b[2] : 0, len > 3 ? b[3] : 0);
    }
    if (rc != 0) hft_trace_free(t);
    return rc;
}

int hft_trace_load(const char *path, hft_trace *t, char *err, size_t errlen) {
    loader L = {path, err, errlen};
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail(&L, "cannot open: %s", strerror(errno));
        return HFT_EXIT_BADFILE;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *b = malloc(cap);
    for (;;) {
        if (b == NULL) {
            fclose(f);
            return fail(&L, "out of memory reading the file");
        }
        len += fread(b + len, 1, cap - len, f);
        if (len < cap) break;
        uint8_t *nb = realloc(b, cap * 2);
        if (nb == NULL) free(b);
        b = nb, cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    int rc = bad ? fail(&L, "read error: %s", strerror(errno))
                 : hft_trace_load_mem(path, b, len, t, err, errlen);
    free(b);
    return rc;
}

/* ---- saving -------------------------------------------------------------------------------- */

static FILE *open_out(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *path, char *err, size_t errlen) {
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "%s: write error: %s", path, strerror(errno));
        return HFT_EXIT_FAIL;
    }
    return 0;
}

/* Ids become synthetic addresses, distinct for every id, 64 bytes apart: what a reader needs
 * is only that live blocks never share an address. */
static uint64_t fake_addr(uint32_t id) {
    return 0x100000000ULL + (uint64_t)id * 64;
}

int hft_trace_save_binary(const hft_trace *t, const char *path, char *err, size_t errlen) {
    FILE *f = open_out(path, err, errlen);
    if (f == NULL) return HFT_EXIT_FAIL;
    static uint8_t buf[1 << 16];
    const uint64_t base = 1000000000ULL; /* the recording's monotonic start, arbitrary here */
    /* Inherited frees were dropped and inherited reallocs made mallocs: no flag. */
    size_t hn = hfi_trace_write_file_header(buf, t->pid, t->start_realtime_ns, base, t->program, 0);
    fwrite(buf, 1, hn, f);
    hfi_trace_chunk c;
    int open = 0;
    for (size_t i = 0; i <= t->nops; i++) {
        const hft_op *o = i < t->nops ? &t->ops[i] : NULL;
        hfi_trace_event e = {0};
        if (o != NULL) {
            static const uint8_t code[HFT_KINDS] = {HFI_TRACE_MALLOC, HFI_TRACE_CALLOC,
                                                    HFI_TRACE_REALLOC, HFI_TRACE_ALIGNED,
                                                    HFI_TRACE_FREE};
            e.op = code[o->op];
            e.variant = o->op == HFT_ALIGNED ? o->variant : 0;
            e.time_ns = base + o->time_ns;
            e.size = o->size;
            e.align = o->align;
            e.ptr = o->failed ? 0 : fake_addr(o->id);
            if (o->op == HFT_REALLOC) e.old_ptr = fake_addr(o->id);
        }
        /* A new chunk when the thread changes or this one is full. */
        if (open && (o == NULL || o->thread != c.thread || !hfi_trace_chunk_put_event(&c, &e))) {
            fwrite(buf, 1, hfi_trace_chunk_finish(&c), f);
            open = 0;
        }
        if (o != NULL && !open) {
            hfi_trace_chunk_begin(&c, buf, sizeof buf, o->thread, e.time_ns);
            hfi_trace_chunk_put_event(&c, &e);
            open = 1;
        }
    }
    return close_out(f, path, err, errlen);
}

int hft_trace_save_rep(const hft_trace *t, const char *path, char *err, size_t errlen) {
    FILE *f = open_out(path, err, errlen);
    if (f == NULL) return HFT_EXIT_FAIL;
    size_t n = 0;
    for (size_t i = 0; i < t->nops; i++) n += !t->ops[i].failed;
    /* The classic header: suggested heap size, ids, operations, weight. */
    fprintf(f, "%" PRIu64 "\n%u\n%zu\n1\n", hft_trace_peak_live(t, NULL), t->nids, n);
    for (size_t i = 0; i < t->nops; i++) {
        const hft_op *o = &t->ops[i];
        if (o->failed) continue; /* .rep cannot say "this returned NULL" */
        if (o->op == HFT_FREE)
            fprintf(f, "f %u\n", o->id);
        else
            fprintf(f, "%c %u %" PRIu64 "\n", o->op == HFT_REALLOC ? 'r' : 'a', o->id, o->size);
    }
    return close_out(f, path, err, errlen);
}
