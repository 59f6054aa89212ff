/* api_foreign: pointers heapforge never handed out (a static, a stack variable, memory from a
 * private mmap) passed to free are ignored: no crash, the memory is not touched, and the
 * allocator keeps working correctly afterwards. Also hf_owns / malloc_usable_size report them
 * as foreign. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "heapforge.h"
#include "test_util.h"

static unsigned char static_buf[256] __attribute__((aligned(64)));

/* Hide the provenance from the compiler (it rightly warns about freeing non-heap objects). */
static void *launder(void *p) {
    void *volatile v = p;
    return v;
}

static void use_allocator(uint64_t seed) {
    enum { N = 2000 };
    static void *ptrs[N];
    static size_t len[N];
    uint64_t rng = seed;
    for (int i = 0; i < N; i++) {
        len[i] =
            (i % 100 == 0) ? test_rand_range(&rng, 70000, 1 << 20) : test_rand_range(&rng, 1, 2000);
        ptrs[i] = malloc(len[i]);
        CHECK(ptrs[i] != NULL);
        test_fill(ptrs[i], len[i], seed + (uint64_t)i);
    }
    for (int i = 0; i < N; i++) {
        CHECK_PATTERN(ptrs[i], len[i], seed + (uint64_t)i);
        free(ptrs[i]);
    }
}

int main(void) {
    use_allocator(1);
    unsigned char stack_buf[256] __attribute__((aligned(64)));
    memset(static_buf, 0x11, sizeof static_buf);
    memset(stack_buf, 0x22, sizeof stack_buf);
    const size_t map_len = 4 << 20;
    unsigned char *map =
        mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED);
    memset(map, 0x33, map_len);

    void *foreign[] = {static_buf, static_buf + 16, stack_buf,       stack_buf + 32,    map,
                       map + 16,   map + 4096,      map + (2 << 20), map + map_len - 64};
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        CHECK(!hf_owns(foreign[i]));
        CHECK_EQ(hf_usable_size(foreign[i]), 0);
        CHECK_EQ(malloc_usable_size(launder(foreign[i])), 0);
        errno = 1234;
        free(launder(foreign[i]));
        CHECK_EQ(errno, 1234);
    }
    /* interleave with real work, then try again */
    use_allocator(2);
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) free(launder(foreign[i]));
    use_allocator(3);

    for (size_t i = 0; i < sizeof static_buf; i++) CHECK_EQ(static_buf[i], 0x11);
    for (size_t i = 0; i < sizeof stack_buf; i++) CHECK_EQ(stack_buf[i], 0x22);
    for (size_t i = 0; i < map_len; i++) CHECK_EQ(map[i], 0x33);
    /* nothing handed out afterwards lands in the foreign memory */
    for (int i = 0; i < 10000; i++) {
        unsigned char *p = malloc((size_t)(i % 300) + 1);
        CHECK(p != NULL);
        CHECK(!(p >= map && p < map + map_len));
        CHECK(!(p >= static_buf && p < static_buf + sizeof static_buf));
        CHECK(!(p >= stack_buf && p < stack_buf + sizeof stack_buf));
        free(p);
    }
    CHECK(munmap(map, map_len) == 0);
    puts("api_foreign: ok");
    return 0;
}
