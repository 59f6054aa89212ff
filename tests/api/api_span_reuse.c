/* api_span_reuse: the span cache hands warm pages back without faulting them in again, and
 * without letting a block see another's bytes or losing its own.
 *
 * 1. Churn: 4 live blocks of 5-25 MiB, every page written; free one, allocate another (malloc,
 *    or calloc, which must read zero even when its pages come from a freed block). Contents are
 *    checked on free, blocks never overlap, and after a warm-up the minor faults stay under a
 *    quarter of the pages written (a cache that re-faults, or unmaps, fails this).
 * 2. realloc: buffers doubled from 256 KiB to 16 MiB keep their bytes; the second round faults
 *    under a quarter of its pages (cached pages are moved in, not faulted in).
 * 3. malloc_trim(0) leaves no span cached and RSS back near where it started.
 * The fault bounds are skipped in sanitizer builds (their shadow memory faults too). */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "heapforge.h"
#include "test_util.h"

enum { LIVE = 4, PAGE = 4096 };
#define MIB ((size_t)1 << 20)

struct blk {
    unsigned char *p;
    size_t n;
    unsigned char seed;
};

static long minor_faults(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static void write_pages(struct blk *b) {
    for (size_t off = 0; off < b->n; off += PAGE)
        b->p[off] = (unsigned char)(b->seed + (off >> 12));
    b->p[b->n - 1] = b->seed;
}

static void check_pages(const struct blk *b) {
    for (size_t off = 0; off < b->n; off += PAGE)
        CHECK_EQ(b->p[off], (unsigned char)(b->seed + (off >> 12)));
    CHECK_EQ(b->p[b->n - 1], b->seed);
}

static void check_apart(const struct blk *live, int k) {
    for (int j = 0; j < LIVE; j++)
        if (j != k && live[j].p)
            CHECK(live[k].p + live[k].n <= live[j].p || live[j].p + live[j].n <= live[k].p);
}

static void make(struct blk *live, int k, uint64_t *rng, int serial) {
    struct blk *b = &live[k];
    b->n = test_rand_range(rng, 5 * MIB, 25 * MIB);
    b->seed = (unsigned char)(serial * 37 + 11);
    if (serial % 3 == 0) {
        b->p = calloc(1, b->n);
        CHECK(b->p != NULL);
        for (size_t off = 0; off < b->n; off += PAGE / 2) CHECK_EQ(b->p[off], 0);
        CHECK_EQ(b->p[b->n - 1], 0);
    } else {
        b->p = malloc(b->n);
        CHECK(b->p != NULL);
    }
    CHECK_GE(malloc_usable_size(b->p), b->n);
    check_apart(live, k);
    write_pages(b);
}

static void churn(double scale) {
    struct blk live[LIVE] = {{0}};
    uint64_t rng = 0x5ba7ULL;
    int iters = (int)test_scaled(120, scale), serial = 0;
    for (int k = 0; k < LIVE; k++) make(live, k, &rng, serial++);
    long faults = 0, pages = 0;
    for (int it = 0; it < iters; it++) {
        int k = (int)(test_rand(&rng) % LIVE);
        check_pages(&live[k]);
        free(live[k].p);
        live[k].p = NULL;
        long before = minor_faults();
        make(live, k, &rng, serial++);
        if (it >= 20) { /* the warm-up has filled the cache */
            faults += minor_faults() - before;
            pages += (long)(live[k].n / PAGE);
        }
    }
    for (int k = 0; k < LIVE; k++) {
        check_pages(&live[k]);
        free(live[k].p);
    }
    printf("churn: %ld faults for %ld pages written\n", faults, pages);
#if !HF_TEST_SANITIZE
    CHECK_LE(faults, pages / 4);
#endif
}

static void doubling(void) {
    long faults = 0, pages = 0;
    for (int round = 0; round < 2; round++) {
        unsigned char *p[LIVE];
        size_t n = 256 << 10;
        long before = minor_faults();
        for (int b = 0; b < LIVE; b++) {
            p[b] = malloc(n);
            CHECK(p[b] != NULL);
            memset(p[b], b + 1, n);
        }
        for (; n < 16 * MIB; n *= 2)
            for (int b = 0; b < LIVE; b++) {
                p[b] = realloc(p[b], 2 * n);
                CHECK(p[b] != NULL);
                CHECK_EQ(p[b][0], (unsigned char)(b + 1));
                CHECK_EQ(p[b][n - 1], (unsigned char)(b + 1));
                CHECK_EQ(p[b][n / 2], (unsigned char)(b + 1));
                memset(p[b] + n, b + 1, n);
            }
        if (round == 1) {
            faults = minor_faults() - before;
            pages = (long)(LIVE * n / PAGE);
        }
        for (int b = 0; b < LIVE; b++) {
            CHECK_EQ(p[b][n - 1], (unsigned char)(b + 1));
            free(p[b]);
        }
    }
    printf("realloc: %ld faults for %ld pages written\n", faults, pages);
#if !HF_TEST_SANITIZE
    CHECK_LE(faults, pages / 4);
#endif
}

/* A span grown by realloc into fresh pages, written whole, freed, then taken by calloc: every
 * byte must read zero (the grown part was once counted clean, and calloc cleared only the old
 * size: found by fuzz_fast). */
static void calloc_after_grown(void) {
    malloc_trim(0); /* nothing cached: the growth takes fresh pages */
    unsigned char *p = malloc(MIB);
    CHECK(p != NULL);
    memset(p, 0x22, MIB);
    p = realloc(p, 20 * MIB);
    CHECK(p != NULL);
    memset(p, 0x33, 20 * MIB);
    free(p);
    size_t n = 19 * MIB + 12345;
    unsigned char *q = calloc(1, n);
    CHECK(q != NULL);
    for (size_t k = 0; k < n; k += 1 + (k % 509)) /* a sample of every page, and the ends */
        CHECK_EQ(q[k], 0);
    CHECK_EQ(q[n - 1], 0);
    free(q);
}

int main(int argc, char **argv) {
    double scale = test_scale(argc, argv);
    void *w = malloc(100); /* the allocator's own fixed overhead belongs to the baseline */
    free(w);
    size_t rss0 = test_rss_bytes();
    churn(scale);
    doubling();
    calloc_after_grown();
    malloc_trim(0);
    hf_process_info info = {.version = sizeof info};
    hf_process_info_get(&info);
    printf("after malloc_trim: cached %zu, rss %zu -> %zu\n", info.cached_bytes, rss0,
           test_rss_bytes());
    CHECK_EQ(info.cached_bytes, 0);
    CHECK_LE(test_rss_bytes(), rss0 + 16 * MIB);
    puts("api_span_reuse: ok");
    return 0;
}
