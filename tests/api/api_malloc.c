/* api_malloc: malloc/free edge cases through the libc names (bound to heapforge by link order).
 * malloc(0), impossible sizes, 16-byte alignment, usable size written to the very end,
 * errno preserved by free, free_sized / free_aligned_sized. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

/* C23 names; glibc 2.36 does not declare them. */
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t alignment, size_t size);

/* Sizes passed through a volatile so the compiler neither warns nor folds the calls. */
static volatile size_t v_size_max = SIZE_MAX, v_4g = (size_t)1 << 32;

static void test_binding(void) {
    void *p = malloc(100);
    CHECK(p != NULL);
    CHECK(hf_owns(p)); /* the libc name really reached heapforge */
    CHECK_GE(malloc_usable_size(p), 100);
    CHECK_EQ(malloc_usable_size(p), hf_usable_size(p));
    free(p);
}

static void test_malloc_zero(void) {
    enum { N = 1000 };
    static void *ptrs[N];
    for (int i = 0; i < N; i++) {
        ptrs[i] = malloc(0);
        CHECK(ptrs[i] != NULL);
        CHECK_ALIGNED(ptrs[i], 16);
        for (int j = 0; j < i; j++) CHECK(ptrs[j] != ptrs[i]);
    }
    for (int i = 0; i < N; i++) free(ptrs[i]);
}

static void test_impossible_sizes(void) {
    const size_t sizes[] = {v_size_max,           v_size_max - 1,    v_size_max / 2,
                            v_size_max / 2 + 1,   v_size_max - 4096, (size_t)1 << 62,
                            ((size_t)1 << 48) + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        errno = 0;
        void *p = malloc(sizes[i]);
        CHECK(p == NULL);
        CHECK_EQ(errno, ENOMEM);

        errno = 0;
        p = calloc(1, sizes[i]);
        CHECK(p == NULL);
        CHECK_EQ(errno, ENOMEM);

        void *q = malloc(32);
        CHECK(q != NULL);
        memset(q, 0x5a, 32);
        errno = 0;
        void *r = realloc(q, sizes[i]);
        CHECK(r == NULL);
        CHECK_EQ(errno, ENOMEM);
        for (int k = 0; k < 32; k++) CHECK_EQ(((unsigned char *)q)[k], 0x5a); /* q untouched */
        free(q);
    }
    /* count * size overflows */
    errno = 0;
    CHECK(calloc(v_size_max / 2, 3) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(calloc(3, v_size_max / 2) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(calloc(v_4g, v_4g + 1) == NULL);
    CHECK_EQ(errno, ENOMEM);

    void *q = malloc(64);
    CHECK(q != NULL);
    errno = 0;
    CHECK(reallocarray(q, v_size_max / 2, 3) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(reallocarray(NULL, v_4g * 2, v_4g * 2) == NULL);
    CHECK_EQ(errno, ENOMEM);
    void *r = reallocarray(q, 10, 100); /* q is still valid after the failures */
    CHECK(r != NULL);
    CHECK_GE(malloc_usable_size(r), 1000);
    free(r);
}

static void test_alignment_and_usable(void) {
    uint64_t rng = 0x1234567;
    enum { N = 4000 };
    static void *ptrs[N];
    static size_t req[N], use[N];
    for (int i = 0; i < N; i++) {
        size_t n;
        switch (i % 4) {
        case 0:
            n = test_rand_range(&rng, 0, 128);
            break;
        case 1:
            n = test_rand_range(&rng, 0, 4096);
            break;
        case 2:
            n = test_rand_range(&rng, 0, 70000);
            break;
        default:
            n = (i % 40 == 3) ? test_rand_range(&rng, 100000, 3 << 20)
                              : test_rand_range(&rng, 0, 1024);
        }
        req[i] = n;
        ptrs[i] = malloc(n);
        CHECK(ptrs[i] != NULL);
        CHECK_ALIGNED(ptrs[i], 16);
        use[i] = malloc_usable_size(ptrs[i]);
        CHECK_GE(use[i], n);
        /* write the whole usable size; overlaps with other live blocks would show below */
        memset(ptrs[i], (int)(i * 7 + 1) & 0xff, use[i]);
    }
    for (int i = 0; i < N; i++) {
        const unsigned char *b = ptrs[i];
        unsigned char want = (unsigned char)((i * 7 + 1) & 0xff);
        for (size_t k = 0; k < use[i]; k++)
            if (b[k] != want) {
                fprintf(stderr, "block %d (%zu/%zu bytes) byte %zu corrupted\n", i, req[i], use[i],
                        k);
                CHECK(0);
            }
        CHECK_EQ(malloc_usable_size(ptrs[i]), use[i]);
    }
    for (int i = 0; i < N; i += 2) free(ptrs[i]);
    for (int i = 1; i < N; i += 2) free(ptrs[i]);
    CHECK_EQ(malloc_usable_size(NULL), 0);
}

static void test_free_keeps_errno(void) {
    const size_t sizes[] = {0, 8, 16, 100, 1000, 4096, 30000, 70000, 300000, 2 << 20, 20 << 20};
    errno = 1234;
    free(NULL);
    CHECK_EQ(errno, 1234);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int rep = 0; rep < (sizes[i] > (1 << 20) ? 4 : 50); rep++) {
            void *p = malloc(sizes[i]);
            CHECK(p != NULL);
            memset(p, 1, sizes[i]);
            errno = 1234;
            free(p);
            CHECK_EQ(errno, 1234);
        }
    }
    /* many frees in a row (pages become empty and may be purged/unmapped) */
    enum { N = 20000 };
    static void *ptrs[N];
    for (int i = 0; i < N; i++) {
        ptrs[i] = malloc((size_t)(i % 500) * 8 + 1);
        CHECK(ptrs[i] != NULL);
    }
    for (int i = 0; i < N; i++) {
        errno = 1234;
        free(ptrs[i]);
        CHECK_EQ(errno, 1234);
    }
}

static void test_free_sized(void) {
    const size_t sizes[] = {0, 1, 24, 100, 512, 5000, 70000, 1 << 20, 9 << 20};
    for (int rep = 0; rep < 3; rep++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            void *p = malloc(sizes[i]);
            CHECK(p != NULL);
            memset(p, 0x33, sizes[i]);
            errno = 1234;
            free_sized(p, sizes[i]);
            CHECK_EQ(errno, 1234);
            for (size_t al = 16; al <= 65536; al *= 4) {
                size_t n = (sizes[i] + al - 1) / al * al; /* aligned_alloc wants a multiple */
                void *q = aligned_alloc(al, n);
                CHECK(q != NULL);
                CHECK_ALIGNED(q, al);
                memset(q, 0x44, n);
                errno = 1234;
                free_aligned_sized(q, al, n);
                CHECK_EQ(errno, 1234);
            }
        }
    }
    free_sized(NULL, 0);
    free_aligned_sized(NULL, 64, 0);
    /* the allocator still works and hands out clean, distinct blocks */
    void *a = malloc(100), *b = malloc(100);
    CHECK(a && b && a != b);
    free(a);
    free(b);
}

int main(void) {
    test_binding();
    test_malloc_zero();
    test_impossible_sizes();
    test_alignment_and_usable();
    test_free_keeps_errno();
    test_free_sized();
    puts("api_malloc: ok");
    return 0;
}
