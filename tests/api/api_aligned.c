/* api_aligned: posix_memalign, aligned_alloc, memalign, valloc, pvalloc with every power-of-two
 * alignment from 1 to 1 MiB and sizes 0, 1, 7, 100, 4096, 100000, 3 MiB: alignment, usable size,
 * the whole usable size writable; posix_memalign's EINVAL leaves errno alone, its ENOMEM sets it
 * (glibc). */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heapforge.h"
#include "test_util.h"

static volatile size_t v_size_max = SIZE_MAX;
static const size_t sizes[] = {0, 1, 7, 100, 4096, 100000, 3 << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* Check a fresh aligned block, write all of it; returns its usable size. */
static size_t check_block(void *p, size_t align, size_t size) {
    CHECK(p != NULL);
    CHECK_ALIGNED(p, align);
    CHECK_ALIGNED(p, 16);
    CHECK(hf_owns(p));
    size_t u = malloc_usable_size(p);
    CHECK_GE(u, size);
    memset(p, 0xC3, u);
    return u;
}

static void test_posix_memalign(void) {
    for (size_t align = 1; align <= (1 << 20); align *= 2) {
        void *live[NSIZES];
        for (size_t s = 0; s < NSIZES; s++) {
            void *p = (void *)&live; /* sentinel value */
            errno = 1234;
            int r = posix_memalign(&p, align, sizes[s]);
            CHECK_EQ(errno, 1234);
            if (align < sizeof(void *)) {
                CHECK_EQ(r, EINVAL);
                CHECK(p == (void *)&live || p == NULL);
                live[s] = NULL;
                continue;
            }
            CHECK_EQ(r, 0);
            check_block(p, align, sizes[s]);
            live[s] = p;
        }
        /* the blocks of one alignment are live together: they must not overlap */
        for (size_t s = 0; s < NSIZES; s++)
            if (live[s]) {
                const unsigned char *b = live[s];
                size_t u = malloc_usable_size(live[s]);
                for (size_t k = 0; k < u; k += 61) CHECK_EQ(b[k], 0xC3);
                memset(live[s], (int)s, u);
            }
        for (size_t s = 0; s < NSIZES; s++)
            if (live[s]) {
                const unsigned char *b = live[s];
                size_t u = malloc_usable_size(live[s]);
                for (size_t k = 0; k < u; k += 61) CHECK_EQ(b[k], s);
                errno = 1234;
                free(live[s]);
                CHECK_EQ(errno, 1234);
            }
    }
    /* not a power of two: EINVAL, errno untouched */
    const size_t bad[] = {0, 3, 12, 24, 48, 100, 4097, 3 << 12, ((size_t)1 << 20) + 16, v_size_max};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)bad;
        errno = 1234;
        CHECK_EQ(posix_memalign(&p, bad[i], 64), EINVAL);
        CHECK_EQ(errno, 1234);
        CHECK(p == (void *)bad || p == NULL);
    }
    /* impossible size: ENOMEM returned, and errno ENOMEM too, as glibc leaves it */
    void *p = NULL;
    errno = 1234;
    CHECK_EQ(posix_memalign(&p, 64, v_size_max / 2), ENOMEM);
    CHECK_EQ(errno, ENOMEM);
    errno = 1234;
    CHECK_EQ(posix_memalign(&p, 4096, v_size_max - 100), ENOMEM);
    CHECK_EQ(errno, ENOMEM);
}

static void test_aligned_alloc_memalign(void) {
    for (size_t align = 1; align <= (1 << 20); align *= 2) {
        for (size_t s = 0; s < NSIZES; s++) {
            void *a = aligned_alloc(align, sizes[s]);
            check_block(a, align, sizes[s]);
            void *m = memalign(align, sizes[s]);
            check_block(m, align, sizes[s]);
            CHECK(a != m);
            free(a);
            free(m);
        }
    }
    errno = 0;
    CHECK(aligned_alloc(64, v_size_max / 2) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(memalign(4096, v_size_max - 8) == NULL);
    CHECK_EQ(errno, ENOMEM);
}

static void test_valloc_pvalloc(void) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t s = 0; s < NSIZES; s++) {
        void *v = valloc(sizes[s]);
        check_block(v, page, sizes[s]);
        void *pv = pvalloc(sizes[s]);
        size_t u = check_block(pv, page, sizes[s]);
        CHECK_GE(u, (sizes[s] + page - 1) / page * page); /* pvalloc rounds up to whole pages */
        free(v);
        free(pv);
    }
    errno = 0;
    CHECK(valloc(v_size_max - 1) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(pvalloc(v_size_max - 1) == NULL);
    CHECK_EQ(errno, ENOMEM);
}

/* Many small blocks at large alignment interleaved with plain ones: no overlaps. */
static void test_mixed_live(void) {
    enum { N = 3000 };
    static void *ptrs[N];
    static size_t use[N];
    uint64_t rng = 77;
    for (int i = 0; i < N; i++) {
        size_t n = test_rand_range(&rng, 1, 600);
        if (i % 3 == 0) {
            size_t align = (size_t)1 << test_rand_range(&rng, 4, 13);
            ptrs[i] = aligned_alloc(align, n);
            CHECK(ptrs[i] != NULL);
            CHECK_ALIGNED(ptrs[i], align);
        } else {
            ptrs[i] = malloc(n);
            CHECK(ptrs[i] != NULL);
        }
        use[i] = malloc_usable_size(ptrs[i]);
        CHECK_GE(use[i], n);
        test_fill(ptrs[i], use[i], (uint64_t)i + 1);
    }
    for (int i = 0; i < N; i++) {
        CHECK_PATTERN(ptrs[i], use[i], (uint64_t)i + 1);
        free(ptrs[i]);
    }
}

int main(void) {
    test_posix_memalign();
    test_aligned_alloc_memalign();
    test_valloc_pvalloc();
    test_mixed_live();
    puts("api_aligned: ok");
    return 0;
}
