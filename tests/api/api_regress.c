/* api_regress: regressions for bugs the fuzzers found (fuzz/README.md, "Findings").
 *  1. hf_aligned_alloc(a, 0) with a >= 256 KiB returned a block of usable size 0, and with
 *     a = 4 MiB its free was reported as an invalid free.
 *  2. realloc of an over-aligned span down to a medium size copied the new size, not the
 *     smaller usable size, and read past the mapping. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

static void test_aligned_zero_bytes(void) {
    for (size_t align = 16; align <= ((size_t)16 << 20); align *= 2) {
        void *p = hf_aligned_alloc(align, 0);
        CHECK(p != NULL);
        CHECK_ALIGNED(p, align);
        CHECK(hf_owns(p));
        CHECK_GE(hf_usable_size(p), 1);
        ((volatile char *)p)[0] = 1;
        hf_free(p);
        void *q = NULL;
        CHECK_EQ(hf_posix_memalign(&q, align, 0), 0);
        CHECK_ALIGNED(q, align);
        CHECK_GE(hf_usable_size(q), 1);
        hf_free(q);
    }
    void *p = hf_aligned_alloc((size_t)4 << 20, 0); /* the fuzzer's reproducer */
    hf_free(p);
}

static void test_span_realloc_to_medium(void) {
    for (size_t align = (size_t)256 << 10; align <= ((size_t)4 << 20); align *= 2) {
        unsigned char *p = hf_aligned_alloc(align, 100);
        CHECK(p != NULL);
        size_t usable = hf_usable_size(p);
        memset(p, 0x5A, usable);
        size_t n = (size_t)100 << 10; /* medium, above the usable size */
        unsigned char *q = hf_realloc(p, n);
        CHECK(q != NULL);
        CHECK_GE(hf_usable_size(q), n);
        size_t keep = usable < n ? usable : n;
        for (size_t i = 0; i < keep; i++) CHECK_EQ(q[i], 0x5A);
        hf_free(q);
    }
}

int main(void) {
    test_aligned_zero_bytes();
    test_span_realloc_to_medium();
    return 0;
}
