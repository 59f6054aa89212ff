/* glibc-simple -- malloc and free of one small size in tight loops (one thread).
 *
 * The shape of glibc's bench-malloc-simple: allocate a batch of blocks of one size (32 B),
 * write each, then free them all, over and over; batch sizes cycle through 1, 25, 100, 400 and
 * 1600 blocks, so the loop sees plain pairs as well as batches that outgrow a per-thread cache.
 * Frees go in allocation order. The allocator's fast paths and nothing else.
 *
 * usage: bench-glibc-simple [scale]
 */
#include "bench_common.h"

enum { SIZE = 32, MAX_BATCH = 1600 };

static const int batches[] = {1, 25, 100, 400, 1600};

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    long total = bench_count(4.0e7, scale); /* blocks to allocate in all */
    static uint64_t *blk[MAX_BATCH];
    uint64_t sum = 0, serial = 0;
    long done = 0;
    for (long round = 0; done < total; round++) {
        int n = batches[round % 5];
        /* a batch of 1 repeats as often as one of 1600 */
        long repeat = n == 1 ? 1600 : MAX_BATCH / n;
        for (long r = 0; r < repeat && done < total; r++) {
            for (int i = 0; i < n; i++) {
                uint64_t *p = bench_malloc(SIZE);
                p[0] = serial;
                p[SIZE / 8 - 1] = ~serial;
                serial++;
                blk[i] = p;
            }
            for (int i = 0; i < n; i++) {
                uint64_t *p = blk[i];
                BENCH_CHECK(p[SIZE / 8 - 1] == ~p[0], "glibc-simple: block damaged");
                sum += p[0] * 0x9E3779B97F4A7C15ull;
                free(p);
            }
            done += n;
        }
    }
    printf("glibc-simple size=%d blocks=%ld checksum=%016llx\n", SIZE, done,
           (unsigned long long)sum);
    return 0;
}
