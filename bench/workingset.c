/* workingset -- a 25 MiB working set allocated and freed whole, over and over (one thread).
 *
 * Each round allocates 100,000 blocks of 256 B (25 MiB), writes every block in full, then
 * checks and frees them all in allocation order. Nothing survives a round, so what counts is how
 * fast a large set of one size class is carved and taken back, and whether the allocator keeps
 * the freed 25 MiB for the next round or returns it to the OS and faults it in again.
 *
 * usage: bench-workingset [scale]
 */
#include "bench_common.h"

enum { BLOCKS = 100000, SIZE = 256 };

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    long rounds = bench_count(20, scale);
    uint64_t **blk = bench_malloc(BLOCKS * sizeof *blk);
    uint64_t sum = 0;
    for (long r = 0; r < rounds; r++) {
        for (size_t i = 0; i < BLOCKS; i++) {
            uint64_t *p = bench_malloc(SIZE);
            uint64_t v = ((uint64_t)r << 32) | i;
            for (size_t k = 0; k < SIZE / 8; k++) p[k] = v + k;
            blk[i] = p;
        }
        for (size_t i = 0; i < BLOCKS; i++) {
            uint64_t *p = blk[i];
            uint64_t v = ((uint64_t)r << 32) | i;
            BENCH_CHECK(p[0] == v && p[SIZE / 16] == v + SIZE / 16 &&
                            p[SIZE / 8 - 1] == v + SIZE / 8 - 1,
                        "workingset: block %zu of round %ld damaged", i, r);
            sum += p[SIZE / 8 - 1] * 0x9E3779B97F4A7C15ull;
            free(p);
        }
    }
    free(blk);
    printf("workingset rounds=%ld blocks=%d size=%d checksum=%016llx\n", rounds, BLOCKS, SIZE,
           (unsigned long long)sum);
    return 0;
}
