/* lab_sbrk: lab arenas on the program break, for every lab policy -- growth keeps the heap
 * contiguous (the break moves by exactly the footprint added), requests at or above the mmap
 * threshold get a mapping of their own that free() unmaps at once, a random run against a
 * shadow model with both paths in use, calloc after reuse, destroy lowering the break again
 * (and leaving it when other code moved it), and a bad backing value. hf_arena_check runs
 * after every operation. This program moves the break itself only where a test says so. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lab_util.h"

#define UNIT ((uintptr_t)4 << 20) /* the page map's unit: sbrk regions start on one */

static int passed;

static uintptr_t brk_now(void) {
    return (uintptr_t)sbrk(0);
}

static size_t footprint(hf_arena *a) {
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    return st.footprint;
}

typedef struct walk_info {
    uintptr_t lo, hi;            /* policy blocks must lie in [lo, hi) */
    size_t outside, used_blocks; /* blocks outside that range (the direct ones) */
    const void *find;            /* a used block to look for */
    int found;
} walk_info;

static void visit(const hf_block_info *b, void *arg) {
    walk_info *w = arg;
    uintptr_t p = (uintptr_t)b->addr;
    if (p < w->lo || p >= w->hi) w->outside++;
    if (b->used) w->used_blocks++;
    if (b->used && b->addr == w->find) w->found = 1;
}

static hf_arena *sbrk_arena(hf_policy pol, size_t initial, size_t step, size_t threshold) {
    hf_arena_config cfg = {.initial_size = initial,
                           .growth_step = step,
                           .seed = 11,
                           .backing = HF_BACKING_SBRK,
                           .mmap_threshold = threshold};
    hf_arena *a = hf_arena_create(pol, &cfg);
    CHECK(a != NULL);
    check_arena(a, "create");
    return a;
}

static void test_config(void) {
    hf_arena_config cfg = {.backing = (hf_backing)2};
    errno = 0;
    CHECK(hf_arena_create(HF_POLICY_FIRST_FIT, &cfg) == NULL && errno == EINVAL);
    cfg.backing = (hf_backing)-1;
    errno = 0;
    CHECK(hf_arena_create(HF_POLICY_TLSF, &cfg) == NULL && errno == EINVAL);
    /* mmap backing ignores the threshold: a big block stays with the policy */
    cfg.backing = HF_BACKING_MMAP;
    cfg.mmap_threshold = 4096;
    uintptr_t b0 = brk_now();
    hf_arena *a = hf_arena_create(HF_POLICY_FIRST_FIT, &cfg);
    CHECK(a != NULL);
    void *p = hf_arena_malloc(a, 100000);
    CHECK(p != NULL);
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    CHECK_EQ(st.used_blocks, 1);
    CHECK_EQ(brk_now(), b0);
    hf_arena_destroy(a);
    passed++;
}

/* The heap grows in place: the break moves by the footprint added, and every block lies
 * between the first region's start and the break. Destroy lowers the break again. */
static void test_contiguous(hf_policy pol) {
    uintptr_t b0 = brk_now();
    hf_arena *a = sbrk_arena(pol, 64 << 10, 64 << 10, 0);
    uintptr_t base = (b0 + UNIT - 1) & ~(UNIT - 1);
    uintptr_t b1 = brk_now();
    size_t f1 = footprint(a);
    CHECK_EQ(b1 - base, f1); /* padding to the unit, then exactly the first region */
    static void *blocks[4096];
    unsigned n = 0;
    uint64_t rng = 5 + (uint64_t)pol;
    int grown = 0;
    while (n < 4096 && grown < 4) {
        uintptr_t before = brk_now();
        size_t m = test_rand_range(&rng, 16, 3000);
        blocks[n] = hf_arena_malloc(a, m);
        CHECK(blocks[n] != NULL);
        CHECK((uintptr_t)blocks[n] >= base && (uintptr_t)blocks[n] < brk_now());
        test_fill(blocks[n], m > 64 ? 64 : m, n);
        if (brk_now() != before) grown++;
        n++;
        check_arena(a, "a small malloc");
    }
    CHECK_EQ(grown, 4);
    uintptr_t b2 = brk_now();
    CHECK_EQ(b2 - b1, footprint(a) - f1); /* contiguous: no new header, no padding */
    walk_info w = {base, b2, 0, 0, NULL, 0};
    hf_arena_walk(a, visit, &w);
    CHECK_EQ(w.outside, 0);
    CHECK_EQ(w.used_blocks, n);
    rng = 5 + (uint64_t)pol;
    for (unsigned i = 0; i < n; i++) {
        size_t m = test_rand_range(&rng, 16, 3000);
        CHECK_PATTERN(blocks[i], m > 64 ? 64 : m, i);
        if (i % 2) LIBC_FREE(blocks[i]); /* through the page map, tail units included */
    }
    check_arena(a, "frees");
    hf_arena_destroy(a);
    CHECK_EQ(brk_now(), b0); /* nothing else moved the break: all of it came back */
    passed++;
}

/* At or above the threshold: a mapping of its own, gone as soon as it is freed. */
static void test_direct(hf_policy pol) {
    const size_t thr = 64 << 10;
    uintptr_t b0 = brk_now();
    hf_arena *a = sbrk_arena(pol, 256 << 10, 0, thr);
    uintptr_t b1 = brk_now();
    size_t f1 = footprint(a);
    char *p = hf_arena_malloc(a, thr);
    CHECK(p != NULL);
    CHECK_ALIGNED(p, 16);
    CHECK_EQ(brk_now(), b1); /* not from the break */
    CHECK(hf_owns(p));
    CHECK(hf_arena_usable_size(a, p) >= thr);
    CHECK(hf_usable_size(p) >= thr);
    CHECK(hf_arena_usable_size(a, p + 16) == 0); /* only the block's start is a block */
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    CHECK(st.footprint >= f1 + thr);
    CHECK(st.live_bytes >= thr);
    CHECK_EQ(st.used_blocks, 1);
    walk_info w = {b1 - f1, b1, 0, 0, p, 0};
    hf_arena_walk(a, visit, &w);
    CHECK(w.found && w.outside == 1);
    test_fill(p, thr, 1);
    check_arena(a, "a direct block");
    /* below the threshold: the policy, from the break */
    char *q = hf_arena_malloc(a, thr - 16);
    CHECK(q != NULL && (uintptr_t)q < brk_now() && (uintptr_t)q >= b1 - f1);
    /* memalign and calloc above the threshold */
    char *m = hf_arena_memalign(a, 1 << 16, 3 * thr);
    CHECK(m != NULL);
    CHECK_ALIGNED(m, 1 << 16);
    char *c = hf_arena_calloc(a, 5, thr);
    CHECK(c != NULL);
    for (size_t i = 0; i < 5 * thr; i++) CHECK(c[i] == 0);
    check_arena(a, "memalign and calloc");
    /* realloc: staying above keeps the mapping; dropping below moves into the policy */
    CHECK(hf_arena_realloc(a, p, thr + 8) == p);
    char *r = hf_arena_realloc(a, p, 1000);
    CHECK(r != NULL && r != p);
    CHECK(!hf_owns(p));
    CHECK_PATTERN(r, 1000, 1);
    char *g = hf_arena_realloc(a, r, 2 * thr); /* and back up into a mapping */
    CHECK(g != NULL && ((uintptr_t)g >= brk_now() || (uintptr_t)g < b1 - f1));
    CHECK_PATTERN(g, 1000, 1);
    check_arena(a, "reallocs");
    hf_free(g);
    CHECK(!hf_owns(g));
    hf_arena_free(a, m);
    CHECK(!hf_owns(m));
    LIBC_FREE(c);
    CHECK(!hf_owns(c));
    hf_arena_free(a, q);
    hf_arena_stats(a, &st);
    CHECK_EQ(st.footprint, f1);
    CHECK_EQ(st.live_bytes, 0);
    CHECK_EQ(st.used_blocks, 0);
    check_arena(a, "freeing the direct blocks");
    /* destroy unmaps the direct blocks still live */
    void *left = hf_arena_malloc(a, 5 * thr);
    CHECK(left != NULL && hf_owns(left));
    hf_arena_destroy(a);
    CHECK(!hf_owns(left));
    CHECK_EQ(brk_now(), b0);
    passed++;
}

enum { SLOTS = 200 };

/* Random operations against a shadow model; sizes up to 256 KiB, so both paths are used. */
static void test_random(hf_policy pol) {
    uintptr_t b0 = brk_now();
    hf_arena *a = sbrk_arena(pol, 64 << 10, 64 << 10, 0); /* threshold 128 KiB */
    static unsigned char *p[SLOTS];
    static size_t n[SLOTS];
    memset(p, 0, sizeof p);
    uint64_t rng = 0xABCDEF + (uint64_t)pol;
    unsigned direct_seen = 0;
    for (int op = 0; op < 2500; op++) {
        unsigned k = (unsigned)(test_rand(&rng) % SLOTS);
        unsigned r = (unsigned)(test_rand(&rng) % 10);
        size_t m =
            r < 7 ? test_rand_range(&rng, 1, 4096) : test_rand_range(&rng, 4097, (size_t)256 << 10);
        if (p[k] != NULL) {
            CHECK_PATTERN(p[k], n[k], k);
            if (r % 3 == 0) {
                unsigned char *q = hf_arena_realloc(a, p[k], m);
                CHECK(q != NULL);
                CHECK_PATTERN(q, n[k] < m ? n[k] : m, k);
                p[k] = q, n[k] = m;
                test_fill(q, m, k);
            } else {
                void *old = p[k];
                int big = n[k] >= (128 << 10);
                if (r % 2)
                    hf_arena_free(a, p[k]);
                else
                    LIBC_FREE(p[k]);
                p[k] = NULL;
                if (big) CHECK(!hf_owns(old)); /* unmapped at once */
            }
        } else {
            unsigned kind = (unsigned)(test_rand(&rng) % 3);
            if (kind == 0) {
                size_t align = (size_t)32 << (test_rand(&rng) % 8);
                p[k] = hf_arena_memalign(a, align, m);
                CHECK(p[k] != NULL);
                CHECK_ALIGNED(p[k], align);
            } else if (kind == 1) {
                p[k] = hf_arena_calloc(a, 1, m);
                CHECK(p[k] != NULL);
                for (size_t i = 0; i < m; i++) CHECK(p[k][i] == 0);
            } else {
                p[k] = hf_arena_malloc(a, m);
                CHECK(p[k] != NULL);
            }
            CHECK_ALIGNED(p[k], 16);
            CHECK(hf_arena_usable_size(a, p[k]) >= m);
            CHECK(hf_owns(p[k]));
            direct_seen += m >= (128 << 10);
            n[k] = m;
            test_fill(p[k], m, k);
        }
        check_arena(a, "an operation");
    }
    CHECK(direct_seen > 0);
    walk_info w = {0, 0, 0, 0, NULL, 0};
    hf_arena_walk(a, visit, &w);
    size_t live = 0, bytes = 0;
    for (unsigned k = 0; k < SLOTS; k++)
        if (p[k]) live++, bytes += n[k];
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    CHECK_EQ(w.used_blocks, live);
    CHECK_EQ(st.used_blocks, live);
    CHECK(st.live_bytes >= bytes);
    CHECK(st.peak_footprint >= st.footprint);
    for (unsigned k = 0; k < SLOTS; k++)
        if (p[k]) {
            CHECK_PATTERN(p[k], n[k], k);
            hf_arena_free(a, p[k]);
        }
    hf_arena_stats(a, &st);
    CHECK_EQ(st.live_bytes, 0);
    CHECK_EQ(st.used_blocks, 0);
    check_arena(a, "freeing everything");
    hf_arena_destroy(a);
    CHECK_EQ(brk_now(), b0);
    passed++;
}

/* calloc of memory that held data before: zero, on both paths. */
static void test_calloc_reuse(hf_policy pol) {
    hf_arena *a = sbrk_arena(pol, 0, 0, 0);
    static const size_t sizes[] = {24, 200, 3000, 40000, 130000, 200000};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    for (int round = 0; round < 3; round++) {
        unsigned char *p[NS];
        for (unsigned i = 0; i < NS; i++) {
            p[i] = hf_arena_malloc(a, sizes[i]);
            CHECK(p[i] != NULL);
            memset(p[i], 0xAB, sizes[i]);
        }
        for (unsigned i = 0; i < NS; i++) hf_arena_free(a, p[i]);
        for (unsigned i = 0; i < NS; i++) {
            p[i] = hf_arena_calloc(a, sizes[i], 1);
            CHECK(p[i] != NULL);
            for (size_t j = 0; j < sizes[i]; j++) CHECK(p[i][j] == 0);
            memset(p[i], 0xCD, sizes[i]);
        }
        check_arena(a, "callocs");
        for (unsigned i = 0; i < NS; i++) hf_arena_free(a, p[i]);
    }
    hf_arena_destroy(a);
    passed++;
}

/* Other code moves the break: the arena starts a new region on a unit boundary, and destroy
 * lowers the break only past what lies above the other code's piece. */
static void test_foreign_break(hf_policy pol) {
    hf_arena *a = sbrk_arena(pol, 64 << 10, 64 << 10, 0);
    uintptr_t b1 = brk_now();
    size_t f1 = footprint(a);
    void *foreign = sbrk(4096);
    CHECK((uintptr_t)foreign == b1);
    static void *blocks[2048];
    unsigned n = 0;
    while (brk_now() == b1 + 4096 && n < 2048) {
        blocks[n] = hf_arena_malloc(a, 1000);
        CHECK(blocks[n] != NULL);
        memset(blocks[n], (int)n, 1000);
        n++;
    }
    CHECK(brk_now() > b1 + 4096);
    void *last = blocks[n - 1];
    uintptr_t start = (b1 + 4096 + UNIT - 1) & ~(UNIT - 1);
    CHECK((uintptr_t)last >= start); /* the new region, past the padding */
    CHECK_EQ(brk_now() - start, footprint(a) - f1);
    check_arena(a, "growth after a foreign sbrk");
    for (unsigned i = 0; i < n; i++) {
        CHECK(((unsigned char *)blocks[i])[999] == (unsigned char)i);
        LIBC_FREE(blocks[i]);
    }
    check_arena(a, "frees");
    hf_arena_destroy(a);
    CHECK_EQ(brk_now(), b1 + 4096); /* down to the foreign piece, not below it */
    CHECK(!hf_owns(last));
    CHECK(sbrk(-4096) != (void *)-1); /* the first region stays in the data segment, unused */
    passed++;
}

/* A page mapped right above the break: the break cannot grow, so the arena falls back to mapped
 * regions -- at creation, and when an arena that started on the break grows. Blocks stay
 * usable, the page map finds them, and destroy gives back both kinds. */
static void *block_break(void) {
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), at = (brk_now() + pg - 1) & ~(pg - 1);
    void *m = mmap((void *)(at + pg), pg, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(m == (void *)(at + pg));
    CHECK(sbrk((intptr_t)(2 * pg)) == (void *)-1); /* really blocked */
    return m;
}

static void fill_and_check(hf_arena *a, unsigned count, const char *when) {
    static unsigned char *p[512];
    CHECK_LE(count, 512);
    for (unsigned i = 0; i < count; i++) {
        p[i] = hf_arena_malloc(a, 3000 + i);
        CHECK(p[i] != NULL);
        CHECK(hf_owns(p[i]));
        memset(p[i], (int)i, 3000 + i);
    }
    check_arena(a, when);
    for (unsigned i = 0; i < count; i++) {
        CHECK(p[i][2999 + i] == (unsigned char)i);
        if (i % 2) LIBC_FREE(p[i]);
    }
    check_arena(a, when);
}

static void test_break_blocked(hf_policy pol) {
    uintptr_t b0 = brk_now();
    void *m = block_break();
    hf_arena *a = sbrk_arena(pol, 64 << 10, 64 << 10, 0); /* created on a mapping */
    CHECK_EQ(brk_now(), b0);
    fill_and_check(a, 200, "allocation with the break blocked");
    hf_arena_destroy(a);
    CHECK(munmap(m, (size_t)sysconf(_SC_PAGESIZE)) == 0);

    a = sbrk_arena(pol, 64 << 10, 64 << 10, 0); /* on the break, then blocked */
    uintptr_t b1 = brk_now();
    CHECK(b1 > b0);
    m = block_break();
    fill_and_check(a, 400, "growth with the break blocked");
    CHECK_EQ(brk_now(), b1);
    hf_arena_destroy(a);
    CHECK_EQ(brk_now(), b0); /* the break region went back; the mappings were unmapped */
    CHECK(munmap(m, (size_t)sysconf(_SC_PAGESIZE)) == 0);
    passed++;
}

int main(void) {
    test_config();
    for (unsigned i = 0; i < NPOL; i++) {
        test_contiguous(lab_policies[i]);
        test_direct(lab_policies[i]);
        test_random(lab_policies[i]);
        test_calloc_reuse(lab_policies[i]);
        test_foreign_break(lab_policies[i]);
        test_break_blocked(lab_policies[i]);
    }
    printf("lab_sbrk: %d passed, 0 failed\n", passed);
    return 0;
}
