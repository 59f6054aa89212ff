/* api_realloc: realloc to larger / smaller / the same size / zero, contents preserved,
 * realloc(NULL, n) behaves as malloc, reallocarray, and huge growth 1 MiB -> 256 MiB by doubling.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

static void test_realloc_null_and_zero(void) {
    void *p = realloc(NULL, 100);
    CHECK(p != NULL);
    CHECK(hf_owns(p));
    CHECK_ALIGNED(p, 16);
    CHECK_GE(malloc_usable_size(p), 100);
    memset(p, 1, 100);
    /* glibc semantics: realloc(p, 0) frees p and returns NULL */
    void *q = realloc(p, 0);
    CHECK(q == NULL);
    /* realloc(NULL, 0) is malloc(0): a unique non-NULL block */
    void *a = realloc(NULL, 0), *b = realloc(NULL, 0);
    CHECK(a != NULL && b != NULL && a != b);
    free(a);
    free(b);
    /* realloc(p, 0) of a large block, too */
    p = malloc(5 << 20);
    CHECK(p != NULL);
    memset(p, 2, 5 << 20);
    CHECK(realloc(p, 0) == NULL);
}

/* Walk one block through a sequence of sizes, checking the preserved prefix each time. */
static void walk_sizes(const size_t *seq, size_t n, uint64_t seed) {
    size_t cur = seq[0];
    unsigned char *p = malloc(cur);
    CHECK(p != NULL);
    test_fill(p, cur, seed);
    for (size_t i = 1; i < n; i++) {
        size_t next = seq[i];
        unsigned char *q = realloc(p, next);
        CHECK(q != NULL);
        CHECK_ALIGNED(q, 16);
        CHECK_GE(malloc_usable_size(q), next);
        size_t keep = cur < next ? cur : next;
        CHECK_PATTERN(q, keep, seed);
        seed++;
        test_fill(q, next, seed);
        memset(q + next, 0xEE, malloc_usable_size(q) - next); /* slack is writable */
        p = q;
        cur = next;
    }
    CHECK_PATTERN(p, cur, seed);
    free(p);
}

static void test_realloc_sizes(void) {
    const size_t up[] = {1,    2,     15,    16,     17,      100,     1000,    4096,
                         5000, 65536, 70000, 300000, 1 << 20, 3 << 20, 17 << 20};
    const size_t down[] = {
        17 << 20, 3 << 20, (3 << 20) - 4096, 1 << 20, 300000, 70000, 4096, 1000, 100, 17, 1};
    const size_t same[] = {100, 100, 100, 4096, 4096, 1 << 20, 1 << 20, 8 << 20, 8 << 20, 1, 1};
    const size_t zigzag[] = {64, 5 << 20, 48, 70000, 32, 200000, 16, 2 << 20, 1000, 1 << 20, 8};
    walk_sizes(up, sizeof up / sizeof up[0], 1);
    walk_sizes(down, sizeof down / sizeof down[0], 100);
    walk_sizes(same, sizeof same / sizeof same[0], 200);
    walk_sizes(zigzag, sizeof zigzag / sizeof zigzag[0], 300);

    /* random realloc sequences on many live blocks at once */
    enum { N = 500, ROUNDS = 20 };
    static unsigned char *ptrs[N];
    static size_t len[N];
    uint64_t rng = 99;
    for (int i = 0; i < N; i++) {
        len[i] = test_rand_range(&rng, 0, 2000);
        ptrs[i] = malloc(len[i]);
        CHECK(ptrs[i] != NULL);
        test_fill(ptrs[i], len[i], (uint64_t)i);
    }
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < N; i++) {
            size_t n = (test_rand(&rng) % 50 == 0) ? test_rand_range(&rng, 100000, 1 << 20)
                                                   : test_rand_range(&rng, 0, 3000);
            unsigned char *q = realloc(ptrs[i], n ? n : 1);
            CHECK(q != NULL);
            CHECK_PATTERN(q, len[i] < n ? len[i] : n, (uint64_t)i + (uint64_t)r * N);
            len[i] = n;
            ptrs[i] = q;
            test_fill(q, n, (uint64_t)i + (uint64_t)(r + 1) * N);
        }
    for (int i = 0; i < N; i++) {
        CHECK_PATTERN(ptrs[i], len[i], (uint64_t)i + (uint64_t)ROUNDS * N);
        free(ptrs[i]);
    }
}

static void test_reallocarray(void) {
    int *a = reallocarray(NULL, 100, sizeof(int));
    CHECK(a != NULL);
    for (int i = 0; i < 100; i++) a[i] = i * 3;
    a = reallocarray(a, 100000, sizeof(int));
    CHECK(a != NULL);
    for (int i = 0; i < 100; i++) CHECK_EQ(a[i], i * 3);
    a[99999] = 7;
    a = reallocarray(a, 50, sizeof(int));
    CHECK(a != NULL);
    for (int i = 0; i < 50; i++) CHECK_EQ(a[i], i * 3);
    errno = 0;
    volatile size_t big = SIZE_MAX / 2;
    CHECK(reallocarray(a, big, 3) == NULL);
    CHECK_EQ(errno, ENOMEM);
    for (int i = 0; i < 50; i++) CHECK_EQ(a[i], i * 3); /* untouched by the failure */
    free(a);
}

/* 1 MiB -> 256 MiB by doubling: the first 64 KiB, the last 4 KiB written at every size and a
 * marker word 64 bytes into every MiB stay intact; then back down by halving. */
static void check_markers(const unsigned char *p, size_t n) {
    for (size_t off = 1 << 20; off < n; off += 1 << 20) {
        size_t got;
        memcpy(&got, p + off + 64, sizeof got);
        CHECK_EQ(got, off);
    }
}

static void test_huge_growth(void) {
    const size_t MiB = 1 << 20, head = 64 << 10, tail = 4096;
    size_t n = MiB;
    unsigned char *p = malloc(n);
    CHECK(p != NULL);
    test_fill(p, head, 4242);
    test_fill(p + n - tail, tail, n);
    for (; n < 256 * MiB; n *= 2) {
        for (size_t off = MiB; off < n; off += MiB) memcpy(p + off + 64, &off, sizeof off);
        p = realloc(p, n * 2);
        CHECK(p != NULL);
        CHECK_ALIGNED(p, 16);
        CHECK_GE(malloc_usable_size(p), n * 2);
        CHECK_PATTERN(p, head, 4242);
        for (size_t s = MiB; s <= n; s *= 2) CHECK_PATTERN(p + s - tail, tail, s);
        check_markers(p, n);
        test_fill(p + 2 * n - tail, tail, 2 * n);
    }
    CHECK_EQ(n, 256 * MiB);
    for (; n > MiB; n /= 2) {
        p = realloc(p, n / 2);
        CHECK(p != NULL);
        CHECK_GE(malloc_usable_size(p), n / 2);
        CHECK_PATTERN(p, head, 4242);
        for (size_t s = MiB; s <= n / 2; s *= 2) CHECK_PATTERN(p + s - tail, tail, s);
        check_markers(p, n / 2);
    }
    free(p);
}

int main(void) {
    test_realloc_null_and_zero();
    test_realloc_sizes();
    test_reallocarray();
    test_huge_growth();
    puts("api_realloc: ok");
    return 0;
}
