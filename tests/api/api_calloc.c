/* api_calloc: calloc returns zeroed memory, also when it reuses dirty freed blocks of many sizes
 * (small, 1 KiB, 64 KiB, 1 MiB, 40 MiB and in between); overflow of count*size fails. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

static volatile size_t v_size_max = SIZE_MAX, v_4g = (size_t)1 << 32;

static void check_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) {
            fprintf(stderr, "calloc block %p of %zu bytes: byte %zu is 0x%02x\n", p, n, i, b[i]);
            CHECK(0);
        }
}

/* Dirty `count` blocks of `dirty_size`, free them, then calloc `count` blocks of `size`
 * (which should reuse the dirty memory) and check every requested byte is zero. */
static void dirty_then_calloc(size_t dirty_size, size_t size, size_t count) {
    void **ptrs = calloc(count, sizeof(void *));
    CHECK(ptrs != NULL);
    for (size_t i = 0; i < count; i++) {
        ptrs[i] = malloc(dirty_size);
        CHECK(ptrs[i] != NULL);
        memset(ptrs[i], 0xA5, malloc_usable_size(ptrs[i]));
    }
    for (size_t i = 0; i < count; i++) free(ptrs[count - 1 - i]);
    for (size_t i = 0; i < count; i++) {
        /* alternate the argument order: both must give the same zeroed block */
        ptrs[i] = (i & 1) ? calloc(size, 1) : calloc(1, size);
        CHECK(ptrs[i] != NULL);
        CHECK_ALIGNED(ptrs[i], 16);
        check_zero(ptrs[i], size);
        memset(ptrs[i], 0x5A, size); /* dirty again for the next round */
    }
    for (size_t i = 0; i < count; i++) free(ptrs[i]);
    free(ptrs);
}

int main(void) {
    const size_t small[] = {1,   8,   16,  24,  32,  48,  64,   80,  100,
                            128, 200, 256, 384, 512, 777, 1000, 1024};
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) {
            dirty_then_calloc(small[i], small[i], 2000);
            if (small[i] > 8)
                dirty_then_calloc(small[i], small[i] - 7, 500); /* same class, smaller */
        }
    const size_t medium[] = {1500,  4000,  4096,       8192,   10000,
                             32768, 65536, 65536 + 16, 100000, 250000};
    for (size_t i = 0; i < sizeof medium / sizeof medium[0]; i++)
        dirty_then_calloc(medium[i], medium[i], 64);
    const size_t large[] = {1 << 20, (1 << 20) + 100, 3 << 20, 8 << 20};
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++)
        dirty_then_calloc(large[i], large[i], 6);
    dirty_then_calloc(40 << 20, 40 << 20, 2);
    dirty_then_calloc(40 << 20, (40 << 20) - 12345, 1);
    /* a large dirty block split up and reused by smaller requests */
    dirty_then_calloc(8 << 20, 1 << 20, 3);
    dirty_then_calloc(64 << 10, 1024, 64);

    /* calloc(0, n), calloc(n, 0): a unique non-NULL block */
    void *a = calloc(0, 10), *b = calloc(10, 0);
    CHECK(a != NULL && b != NULL && a != b);
    free(a);
    free(b);

    /* overflow of count * size */
    errno = 0;
    CHECK(calloc(v_size_max / 2, 3) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(calloc(v_size_max, v_size_max) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(calloc(v_4g + 1, v_4g) == NULL);
    CHECK_EQ(errno, ENOMEM);
    puts("api_calloc: ok");
    return 0;
}
