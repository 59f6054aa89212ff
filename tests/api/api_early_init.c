/* api_early_init: the allocator works before main: a constructor with priority 101 (before
 * ordinary constructors) allocates, frees and keeps a block alive into main, where it is still
 * intact and can be resized and freed. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

static unsigned char *early_block;
static void *early_aligned;
static int ctor_ran;

__attribute__((constructor(101))) static void early(void) {
    for (int i = 0; i < 100; i++) {
        void *p = malloc((size_t)i * 37 + 1);
        if (!p) abort();
        memset(p, i, (size_t)i * 37 + 1);
        free(p);
    }
    early_block = calloc(1, 5000);
    if (!early_block) abort();
    for (int i = 0; i < 5000; i++)
        if (early_block[i] != 0) abort();
    test_fill(early_block, 5000, 101);
    if (posix_memalign(&early_aligned, 256, 300) != 0) abort();
    memset(early_aligned, 0x77, 300);
    void *big = malloc(3 << 20);
    if (!big) abort();
    memset(big, 1, 3 << 20);
    free(big);
    ctor_ran = 1;
}

int main(void) {
    CHECK(ctor_ran);
    CHECK(early_block != NULL);
    CHECK(hf_owns(early_block));
    CHECK_GE(malloc_usable_size(early_block), 5000);
    CHECK_PATTERN(early_block, 5000, 101);
    unsigned char *p = realloc(early_block, 50000);
    CHECK(p != NULL);
    CHECK_PATTERN(p, 5000, 101);
    free(p);
    CHECK(hf_owns(early_aligned));
    CHECK_ALIGNED(early_aligned, 256);
    for (int i = 0; i < 300; i++) CHECK_EQ(((unsigned char *)early_aligned)[i], 0x77);
    free(early_aligned);
    puts("api_early_init: ok");
    return 0;
}
