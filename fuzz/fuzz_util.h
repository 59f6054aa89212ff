/* fuzz_util.h -- the pieces fuzz_fast and fuzz_lab share: a byte reader that turns the fuzzer's
 * input into operation codes, sizes and alignments, the block pattern, and the failure report.
 *
 * A failed check prints one line naming the check and aborts: libFuzzer catches the SIGABRT,
 * saves the input as crash-<sha1>, and the input replays the same operations (the allocator's
 * own randomness does not change which checks hold). */
#ifndef HF_FUZZ_UTIL_H
#define HF_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_KIB ((size_t)1 << 10)
#define FUZZ_MIB ((size_t)1 << 20)

/* The loops that fill and compare block contents run over up to 48 MiB an operation; coverage
 * instrumentation (a callback for every compare) would make them most of a run's time and
 * tells the fuzzer nothing. They stay out of line, so the attribute is not lost to inlining. */
#if defined(__clang__)
#define FUZZ_DATA_LOOP __attribute__((noinline, unused, no_sanitize("coverage")))
#else
#define FUZZ_DATA_LOOP __attribute__((noinline, unused))
#endif

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz check failed: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The input, read front to back; an exhausted input reads as zeros and ends the run. */
typedef struct fuzz_input {
    const uint8_t *data;
    size_t size, pos;
} fuzz_input;

static inline int fuzz_more(const fuzz_input *in) {
    return in->pos < in->size;
}
static inline uint32_t fuzz_u8(fuzz_input *in) {
    return in->pos < in->size ? in->data[in->pos++] : 0;
}
static inline uint32_t fuzz_u16(fuzz_input *in) {
    uint32_t lo = fuzz_u8(in);
    return lo | fuzz_u8(in) << 8;
}
static inline uint32_t fuzz_u32(fuzz_input *in) {
    uint32_t lo = fuzz_u16(in);
    return lo | fuzz_u16(in) << 16;
}

/* A request size: mostly small (0..1 KiB), then medium (1 KiB..128 KiB), large (128 KiB..4 MiB)
 * and, when huge_ok, rarely huge (32..48 MiB, beyond the span cache's huge threshold). */
static inline size_t fuzz_size(fuzz_input *in, int huge_ok) {
    uint32_t kind = fuzz_u8(in) % 16;
    if (kind < 8) return fuzz_u16(in) % (FUZZ_KIB + 1);
    if (kind < 12) return FUZZ_KIB + 1 + fuzz_u32(in) % (128 * FUZZ_KIB - FUZZ_KIB);
    if (kind < 15 || !huge_ok || fuzz_u8(in) >= 16)
        return 128 * FUZZ_KIB + 1 + fuzz_u32(in) % (4 * FUZZ_MIB - 128 * FUZZ_KIB);
    return 32 * FUZZ_MIB + fuzz_u32(in) % (16 * FUZZ_MIB);
}

/* A power-of-two alignment from 16 bytes to 2^(4 + max_shift) bytes. */
static inline size_t fuzz_align(fuzz_input *in, unsigned max_shift) {
    return (size_t)16 << (fuzz_u8(in) % (max_shift + 1));
}

/* The pattern of block `id`: every byte depends on the id and its offset, so a block that
 * received another block's bytes, or a copy shifted by any amount, does not verify. */
static inline uint64_t fuzz_word(uint64_t id, size_t w) {
    uint64_t x = (id + 1) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)w * 0xBF58476D1CE4E5B9ULL;
    return x ^ (x >> 29);
}

/* Which bytes of a block of `usable` bytes carry the pattern: all of them up to 64 KiB; in a
 * bigger block the first and last 16 KiB and the first 64 bytes of every 4 KiB page between
 * (every page is still written and checked, at a fraction of the cost of multi-MiB fills). */
#define FUZZ_FULL  (64 * FUZZ_KIB)
#define FUZZ_EDGE  (16 * FUZZ_KIB)
#define FUZZ_PAGE  ((size_t)4096)
#define FUZZ_PROBE ((size_t)64)

/* Calls f(p, from, to, id) on each patterned range of [0, limit) of a block of `usable` bytes;
 * stops and returns the first non-(size_t)-1 result. */
typedef size_t (*fuzz_range_fn)(uint8_t *p, size_t from, size_t to, uint64_t id);
static inline size_t fuzz_ranges(uint8_t *p, size_t usable, size_t limit, uint64_t id,
                                 fuzz_range_fn f) {
    size_t r;
#define FUZZ_RANGE(a, b)                                                                           \
    do {                                                                                           \
        size_t a_ = (a), b_ = (b) < limit ? (b) : limit;                                           \
        if (a_ < b_ && (r = f(p, a_, b_, id)) != (size_t)-1) return r;                             \
    } while (0)
    if (usable <= FUZZ_FULL) {
        FUZZ_RANGE(0, usable);
        return (size_t)-1;
    }
    FUZZ_RANGE(0, FUZZ_EDGE);
    for (size_t o = FUZZ_EDGE; o < usable - FUZZ_EDGE; o += FUZZ_PAGE)
        FUZZ_RANGE(o, o + FUZZ_PROBE);
    FUZZ_RANGE(usable - FUZZ_EDGE, usable);
#undef FUZZ_RANGE
    return (size_t)-1;
}

/* Ranges start and end on multiples of 8 except possibly at `usable` or `limit`. */
FUZZ_DATA_LOOP static size_t fuzz_fill_range(uint8_t *b, size_t from, size_t to, uint64_t id) {
    for (size_t o = from & ~(size_t)7; o < to; o += 8) {
        uint64_t v = fuzz_word(id, o / 8);
        size_t lo = o < from ? from - o : 0, hi = to - o < 8 ? to - o : 8;
        __builtin_memcpy(b + o + lo, (const uint8_t *)&v + lo, hi - lo);
    }
    return (size_t)-1;
}
FUZZ_DATA_LOOP static size_t fuzz_verify_range(uint8_t *b, size_t from, size_t to, uint64_t id) {
    for (size_t o = from & ~(size_t)7; o < to; o += 8) {
        uint64_t v = fuzz_word(id, o / 8);
        const uint8_t *e = (const uint8_t *)&v;
        size_t lo = o < from ? from - o : 0, hi = to - o < 8 ? to - o : 8;
        if (hi - lo == 8) {
            uint64_t got;
            __builtin_memcpy(&got, b + o, 8);
            if (got == v) continue;
        }
        for (size_t i = lo; i < hi; i++)
            if (b[o + i] != e[i]) return o + i;
    }
    return (size_t)-1;
}

static inline void fuzz_fill(void *p, size_t usable, uint64_t id) {
    fuzz_ranges(p, usable, usable, id, fuzz_fill_range);
}
/* First byte of [0, limit) of a block of `usable` bytes filled for `id` that differs, or -1. */
static inline size_t fuzz_verify(const void *p, size_t usable, size_t limit, uint64_t id) {
    return fuzz_ranges((uint8_t *)(uintptr_t)p, usable, limit, id, fuzz_verify_range);
}
FUZZ_DATA_LOOP static size_t fuzz_first_nonzero(const void *p, size_t n) {
    const uint8_t *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        __builtin_memcpy(&w, b + i, 8);
        if (w != 0) break;
    }
    for (; i < n; i++)
        if (b[i] != 0) return i;
    return (size_t)-1;
}

/* Two live blocks [a, a+an) and [b, b+bn) must not share a byte. */
static inline int fuzz_overlap(const void *a, size_t an, const void *b, size_t bn) {
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x < y + bn && y < x + an;
}

/* ---- The shadow model: one record per live block ---------------------------------------- */
#define FUZZ_SLOTS 64

typedef struct fuzz_block {
    unsigned char *p;
    size_t req, usable, align;
    uint64_t id;
} fuzz_block;

static inline void fuzz_block_verify(const fuzz_block *b, size_t n, const char *when) {
    size_t bad = fuzz_verify(b->p, b->usable, n, b->id);
    FUZZ_CHECK(bad == (size_t)-1, "%s: block %p (req %zu, usable %zu) differs at offset %zu", when,
               (void *)b->p, b->req, b->usable, bad);
}

/* Check a block just returned (p, usable bytes) against every live block of slots[0..FUZZ_SLOTS)
 * and record it, filled with the pattern of `id`, in slots[i], which must be empty. */
static inline void fuzz_block_adopt(fuzz_block *slots, int i, void *p, size_t req, size_t align,
                                    size_t usable, int zeroed, uint64_t id) {
    FUZZ_CHECK(p != NULL, "allocation of %zu bytes (align %zu) failed", req, align);
    FUZZ_CHECK((uintptr_t)p % align == 0 && (uintptr_t)p % 16 == 0, "%p not aligned to %zu", p,
               align);
    FUZZ_CHECK(usable >= req && usable >= 1, "usable size %zu < requested %zu of %p", usable, req,
               p);
    for (int j = 0; j < FUZZ_SLOTS; j++)
        if (slots[j].p && j != i)
            FUZZ_CHECK(!fuzz_overlap(p, usable, slots[j].p, slots[j].usable),
                       "new block %p+%zu overlaps live block %p+%zu", p, usable, (void *)slots[j].p,
                       slots[j].usable);
    if (zeroed) {
        size_t nz = fuzz_first_nonzero(p, req);
        FUZZ_CHECK(nz == (size_t)-1, "zeroed block %p (req %zu) has a non-zero byte at %zu", p, req,
                   nz);
    }
    fuzz_block *b = &slots[i];
    b->p = p;
    b->req = req;
    b->usable = usable;
    b->align = align;
    b->id = id;
    fuzz_fill(p, usable, id);
}

#endif /* HF_FUZZ_UTIL_H */
