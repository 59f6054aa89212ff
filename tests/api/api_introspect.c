/* api_introspect: malloc_trim, mallinfo2, malloc_stats, malloc_info, mallopt, hf_stats_print and
 * hf_process_info_get work (no crash, output written, figures consistent with live memory). */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

static long file_size(FILE *f) {
    CHECK(fflush(f) == 0);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    return ftell(f);
}

int main(void) {
    enum { N = 4096 };
    static void *small[N];
    for (int i = 0; i < N; i++) {
        small[i] = malloc((size_t)(i % 64) * 16 + 16);
        CHECK(small[i] != NULL);
        memset(small[i], 1, (size_t)(i % 64) * 16 + 16);
    }
    const size_t big_n = 64 << 20;
    void *big = malloc(big_n);
    CHECK(big != NULL);
    memset(big, 2, big_n);

    hf_process_info info;
    memset(&info, 0xff, sizeof info);
    info.version = sizeof info;
    hf_process_info_get(&info);
    CHECK_EQ(info.version, sizeof info);
    CHECK_GE(info.committed_bytes, big_n);
    CHECK_GE(info.reserved_bytes, info.committed_bytes);
    CHECK_GE(info.spans + info.segments, 1);
    CHECK_GE(info.mmap_calls, 1);
    CHECK_GE(info.threads, 1);
    CHECK_LE(info.threads, 64);

    struct mallinfo2 mi = mallinfo2();
    (void)mi;

    malloc_stats(); /* to stderr */
    FILE *f = tmpfile();
    CHECK(f != NULL);
    CHECK_EQ(malloc_info(0, f), 0);
    long info_len = file_size(f);
    CHECK_GE(info_len, 1);
    long before = info_len;
    hf_stats_print(f);
    CHECK(file_size(f) > before);
    fclose(f);

    /* M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX: accepted or ignored, never a crash */
    (void)mallopt(M_TRIM_THRESHOLD, 1 << 20);
    (void)mallopt(M_MMAP_THRESHOLD, 1 << 20);
    (void)mallopt(M_ARENA_MAX, 2);
    (void)mallopt(12345, 1);

    for (int i = 0; i < N; i++) free(small[i]);
    free(big);
    int trimmed = malloc_trim(0);
    CHECK(trimmed == 0 || trimmed == 1);
    (void)hf_trim(0);
    (void)malloc_trim(1 << 20);

    /* after all that the allocator still hands out distinct, writable blocks */
    for (int i = 0; i < N; i++) {
        small[i] = malloc(100);
        CHECK(small[i] != NULL);
        test_fill(small[i], 100, (uint64_t)i + 1);
    }
    for (int i = 0; i < N; i++) {
        CHECK_PATTERN(small[i], 100, (uint64_t)i + 1);
        free(small[i]);
    }
    struct mallinfo2 mi2 = mallinfo2();
    (void)mi2;
    puts("api_introspect: ok");
    return 0;
}
