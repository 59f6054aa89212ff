/* api_static: a program linked against the static library libheapforge.a (not the shared one):
 * the libc names resolve to heapforge (hf_owns says so) and the basic calls work. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

int main(void) {
    enum { N = 5000 };
    static void *ptrs[N];
    static size_t len[N];
    uint64_t rng = 5;
    for (int i = 0; i < N; i++) {
        len[i] = (i % 250 == 0) ? test_rand_range(&rng, 100000, 4 << 20)
                                : test_rand_range(&rng, 0, 3000);
        ptrs[i] = (i % 3 == 0) ? calloc(1, len[i]) : malloc(len[i]);
        CHECK(ptrs[i] != NULL);
        CHECK(hf_owns(ptrs[i]));
        CHECK_ALIGNED(ptrs[i], 16);
        CHECK_GE(malloc_usable_size(ptrs[i]), len[i]);
        test_fill(ptrs[i], len[i], (uint64_t)i);
    }
    for (int i = 0; i < N; i += 2) {
        ptrs[i] = realloc(ptrs[i], len[i] * 2 + 1);
        CHECK(ptrs[i] != NULL);
        CHECK_PATTERN(ptrs[i], len[i], (uint64_t)i);
    }
    for (int i = 0; i < N; i++) {
        CHECK_PATTERN(ptrs[i], len[i], (uint64_t)i);
        errno = 1234;
        free(ptrs[i]);
        CHECK_EQ(errno, 1234);
    }
    void *a = aligned_alloc(4096, 10000);
    CHECK(a != NULL && hf_owns(a));
    CHECK_ALIGNED(a, 4096);
    free(a);
    /* the library's own hf_* names agree with the libc names */
    void *h = hf_malloc(100);
    CHECK(h != NULL);
    CHECK_EQ(malloc_usable_size(h), hf_usable_size(h));
    free(h);
    puts("api_static: ok");
    return 0;
}
