/* stress_rss_return: allocate ~1 GiB in 256-byte blocks (the pointer array comes from mmap, not
 * the allocator), write them all, free them all, then watch /proc/self/statm: within 3 s RSS must
 * come back to within 64 MiB of what it was before the allocation phase. The program keeps
 * running lightly meanwhile (one small malloc/free per 100 ms poll); malloc_trim is not called.
 * With the argument "trim", malloc_trim(0) is called right after the frees and RSS must be back
 * at once. Libc names (linked to heapforge). A second argument scales the block count. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "heapforge.h"
#include "test_util.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int trim = argc > 1 && strcmp(argv[1], "trim") == 0;
    double scale = argc > 2 ? strtod(argv[2], NULL) : 1.0;
    const size_t block = 256, slack = 64u << 20;
    size_t count = test_scaled((size_t)4 << 20, scale > 0 ? scale : 1.0);

    /* warm up the allocator so its own fixed overhead is in the baseline */
    void *w = malloc(100);
    CHECK(w != NULL);
    free(w);
    size_t rss_before = test_rss_bytes();

    size_t arr_len = count * sizeof(void *);
    void **ptrs = mmap(NULL, arr_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(ptrs != MAP_FAILED);
    double t0 = now();
    for (size_t i = 0; i < count; i++) {
        ptrs[i] = malloc(block);
        CHECK(ptrs[i] != NULL);
        memset(ptrs[i], (int)(i & 0xff), block);
    }
    size_t rss_peak = test_rss_bytes();
    CHECK_GE(rss_peak, rss_before + count * block / 2); /* the blocks really were committed */
    /* free in two passes (odd, then even) so pages empty out only at the end */
    for (size_t i = 1; i < count; i += 2) {
        CHECK_EQ(((unsigned char *)ptrs[i])[block - 1], i & 0xff);
        free(ptrs[i]);
    }
    for (size_t i = 0; i < count; i += 2) {
        CHECK_EQ(((unsigned char *)ptrs[i])[0], i & 0xff);
        free(ptrs[i]);
    }
    CHECK(munmap(ptrs, arr_len) == 0);
    double t1 = now();

    size_t rss = 0;
    double waited = 0;
    if (trim) {
        (void)malloc_trim(0); /* 0 is fine too: the memory may be released already */
        rss = test_rss_bytes();
    } else {
        for (int poll = 0; poll <= 30; poll++) {
            rss = test_rss_bytes();
            if (rss <= rss_before + slack) break;
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            void *p = malloc(64);
            CHECK(p != NULL);
            free(p);
            waited = now() - t1;
        }
    }
    printf("stress_rss_return%s: %zu x %zu B in %.2f s; RSS before %zu MiB, peak %zu MiB, after "
           "%zu MiB "
           "(waited %.1f s)\n",
           trim ? " (trim)" : "", count, block, t1 - t0, rss_before >> 20, rss_peak >> 20,
           rss >> 20, waited);
    CHECK_LE(rss, rss_before + slack);
    /* and the allocator still works */
    for (int i = 0; i < 1000; i++) {
        void *p = malloc(block);
        CHECK(p != NULL);
        memset(p, 1, block);
        free(p);
    }
    puts("stress_rss_return: ok");
    return 0;
}
