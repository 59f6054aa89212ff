/* pairs4k -- malloc(4096)/free pairs (one thread).
 *
 * A page-sized buffer allocated, used and freed at once, as I/O and formatting code does with
 * a scratch buffer. 4 KiB is where some allocators leave their small-block path (or round a
 * page-sized request up to more than a page). Each block gets its first and last cache line
 * written and read back; one live 4 KiB block is kept beside the pair and replaced every 64
 * steps, so the pair does not always land on an otherwise empty heap.
 *
 * usage: bench-pairs4k [scale]
 */
#include "bench_common.h"

enum { SIZE = 4096, LINE = 64 };

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    long steps = bench_count(1.0e7, scale);
    uint64_t sum = 0;
    uint64_t *keep = bench_malloc(SIZE);
    keep[0] = 0;
    for (long i = 0; i < steps; i++) {
        uint64_t *p = bench_malloc(SIZE);
        uint64_t v = (uint64_t)i * 0x9E3779B97F4A7C15ull;
        for (size_t k = 0; k < LINE / 8; k++) p[k] = v + k;
        for (size_t k = (SIZE - LINE) / 8; k < SIZE / 8; k++) p[k] = v ^ k;
        bench_escape(p);
        BENCH_CHECK(p[1] == v + 1 && p[SIZE / 8 - 1] == (v ^ (SIZE / 8 - 1)),
                    "pairs4k: block damaged");
        sum = mix(sum, p[LINE / 8 - 1] ^ p[SIZE / 8 - 2]);
        free(p);
        if (i % 64 == 63) {
            BENCH_CHECK(keep[0] == (uint64_t)(i / 64), "pairs4k: kept block damaged");
            free(keep);
            keep = bench_malloc(SIZE);
            keep[0] = (uint64_t)(i / 64) + 1;
        }
    }
    free(keep);
    printf("pairs4k pairs=%ld checksum=%016llx\n", steps, (unsigned long long)sum);
    return 0;
}
