/* lab_calloc: calloc clears only what is not fresh from the OS, for every lab policy and both
 * backings. A calloc that grows the arena clears at most the policy's node (the arena's
 * calloc_cleared_bytes counter) and leaves the block's pages untouched (mincore); a calloc of
 * reused memory is zero; a random mix of dirty mallocs, frees and callocs always gets zeros;
 * and an sbrk heap destroyed and built again over the same break hands out zeros. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lab_util.h"

/* lab.h: HF_LAB_FRESH_HEAD + HF_LAB_FRESH_TAIL, the most a fresh calloc clears. */
#define HF_TEST_FRESH_MAX 304

static int passed;

static size_t cleared(hf_arena *a) {
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    CHECK_EQ(st.version, sizeof st);
    return st.calloc_cleared_bytes;
}

/* Resident pages among those wholly inside [p, p + n). */
static size_t resident_pages(const void *p, size_t n) {
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + pg - 1) & ~(pg - 1), hi = ((uintptr_t)p + n) & ~(pg - 1);
    if (hi <= lo) return 0;
    static unsigned char vec[(64 << 20) / 4096];
    size_t np = (hi - lo) / pg;
    CHECK_LE(np, sizeof vec);
    CHECK(mincore((void *)lo, hi - lo, vec) == 0);
    size_t r = 0;
    for (size_t i = 0; i < np; i++) r += vec[i] & 1;
    return r;
}

static void check_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) {
            fprintf(stderr, "byte %zu of %zu is 0x%02x\n", i, n, p[i]);
            CHECK(0);
        }
}

static hf_arena *arena(hf_policy pol, hf_backing backing) {
    hf_arena_config cfg = {.seed = 3, .backing = backing, .mmap_threshold = 16 << 20};
    hf_arena *a = hf_arena_create(pol, &cfg);
    CHECK(a != NULL);
    return a;
}

/* Growth: a calloc bigger than anything the policy holds is served from fresh memory. */
static void test_fresh(hf_policy pol, hf_backing backing) {
    hf_arena *a = arena(pol, backing);
    size_t c0 = cleared(a);
    static const size_t sizes[] = {3 << 20, 2 << 20}; /* buddy: up to 4 MiB */
    for (unsigned i = 0; i < 2; i++) {
        /* mmap: a new mapping, all fresh. sbrk: the break grows in place and the policy's last
         * free block (which it had, so it may be dirty) absorbs the new piece: at most that
         * much is cleared. */
        hf_arena_statistics st;
        hf_arena_stats(a, &st);
        size_t held = backing == HF_BACKING_MMAP ? 0 : st.free_bytes;
        unsigned char *p = hf_arena_calloc(a, 1, sizes[i]);
        CHECK(p != NULL);
        size_t c = cleared(a) - c0;
        c0 += c;
        CHECK_LE(c, held + HF_TEST_FRESH_MAX);
        CHECK_LE(resident_pages(p, sizes[i]), held / 4096 + 2); /* only where the policy wrote */
        check_zero(p, sizes[i]);
        check_arena(a, "fresh calloc");
    }
    /* A policy fed piece by piece serves a calloc that fits the rest of its region from memory
     * it never had: only the first piece (64 KiB, which the block absorbs) is cleared. */
    if (pol != HF_POLICY_BUDDY) {
        hf_arena *b = arena(pol, backing);
        size_t b0 = cleared(b);
        hf_arena_statistics st;
        hf_arena_stats(b, &st);
        CHECK_LE(st.free_bytes, 64 << 10); /* the first piece */
        unsigned char *q = hf_arena_calloc(b, 1, 300 << 10);
        CHECK(q != NULL);
        CHECK_LE(cleared(b) - b0, (64 << 10) + HF_TEST_FRESH_MAX);
        CHECK_LE(resident_pages(q, 300 << 10), 16 + 2);
        check_zero(q, 300 << 10);
        hf_arena_destroy(b);
    }
    hf_arena_destroy(a);
    passed++;
}

/* Reused memory is cleared whole; a random mix always reads zero. */
static void test_reuse(hf_policy pol, hf_backing backing) {
    hf_arena *a = arena(pol, backing);
    unsigned char *p = hf_arena_malloc(a, 100000);
    CHECK(p != NULL);
    memset(p, 0xAB, 100000);
    hf_arena_free(a, p);
    size_t c0 = cleared(a);
    unsigned char *q = hf_arena_calloc(a, 1000, 100);
    CHECK(q != NULL);
    CHECK_GE(cleared(a) - c0, 100000);
    check_zero(q, 100000);
    hf_arena_free(a, q);
    enum { K = 64 };
    unsigned char *lv[K] = {0};
    size_t ln[K] = {0};
    uint64_t rng = 99 + (uint64_t)pol;
    for (int op = 0; op < 3000; op++) {
        unsigned i = (unsigned)test_rand_range(&rng, 0, K - 1);
        if (lv[i]) {
            hf_arena_free(a, lv[i]);
            lv[i] = NULL;
            continue;
        }
        size_t n = test_rand_range(&rng, 1, test_rand_range(&rng, 0, 3) ? 2000 : 300000);
        if (op & 1) {
            lv[i] = hf_arena_calloc(a, 1, n);
            CHECK(lv[i] != NULL);
            check_zero(lv[i], n);
        } else {
            lv[i] = hf_arena_malloc(a, n);
            CHECK(lv[i] != NULL);
        }
        memset(lv[i], 0xEE, n); /* every block leaves dirt behind */
        ln[i] = n;
    }
    (void)ln;
    check_arena(a, "random callocs");
    hf_arena_destroy(a);
    passed++;
}

/* The break comes down and goes up again over memory that held data: still zero. */
static void test_sbrk_again(hf_policy pol) {
    for (int round = 0; round < 2; round++) {
        hf_arena *a = arena(pol, HF_BACKING_SBRK);
        unsigned char *p = hf_arena_calloc(a, 1, 3 << 20);
        CHECK(p != NULL);
        check_zero(p, 3 << 20);
        memset(p, 0x5A, 3 << 20);
        hf_arena_destroy(a);
    }
    passed++;
}

int main(void) {
    for (unsigned i = 0; i < NPOL; i++) {
        for (int b = 0; b < 2; b++) {
            test_fresh(lab_policies[i], (hf_backing)b);
            test_reuse(lab_policies[i], (hf_backing)b);
        }
        test_sbrk_again(lab_policies[i]);
    }
    printf("lab_calloc: %d passed, 0 failed\n", passed);
    return 0;
}
