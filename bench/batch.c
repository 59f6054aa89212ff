/* batch -- allocate thousands of blocks, then free them all; repeated.
 *
 * Models phases that build a large structure (a parse tree, a request's objects) and tear it
 * down at once. Each round allocates 10,000 blocks of 16-1024 B and frees them in allocation
 * order (FIFO), in reverse order (LIFO) or in random order, in turn.
 */
#include "bench_common.h"

enum { BLOCKS = 10000 };

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    long rounds = bench_count(600, scale);
    uint64_t rng = xs_seed(0x6261746368ull, 0);
    uint64_t sum = 0;

    unsigned char **blk = bench_malloc(BLOCKS * sizeof *blk);
    size_t *size = bench_malloc(BLOCKS * sizeof *size);
    unsigned *order = bench_malloc(BLOCKS * sizeof *order);

    for (long r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < BLOCKS; i++) {
            size_t n = xs_range(&rng, 16, 1024);
            unsigned char *p = bench_malloc(n);
            uint64_t tag = ((uint64_t)r << 32) | i;
            memcpy(p, &tag, sizeof tag);
            memset(p + 8, (int)(i & 0xFF), 7);
            p[n - 1] = (unsigned char)(i * 7);
            blk[i] = p;
            size[i] = n;
        }
        int mode = (int)(r % 3);
        for (unsigned i = 0; i < BLOCKS; i++) order[i] = (mode == 1) ? BLOCKS - 1 - i : i;
        if (mode == 2) {
            for (unsigned i = BLOCKS - 1; i > 0; i--) {
                unsigned j = (unsigned)(xs_next(&rng) % (i + 1));
                unsigned t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        for (unsigned k = 0; k < BLOCKS; k++) {
            unsigned i = order[k];
            unsigned char *p = blk[i];
            uint64_t tag;
            memcpy(&tag, p, sizeof tag);
            BENCH_CHECK(tag == (((uint64_t)r << 32) | i) && p[8] == (unsigned char)i &&
                            p[14] == (unsigned char)i && p[size[i] - 1] == (unsigned char)(i * 7),
                        "batch: block %u of round %ld damaged", i, r);
            sum = mix(sum, tag + size[i]);
            free(p);
        }
    }
    free(order);
    free(size);
    free(blk);
    printf("batch rounds=%ld blocks=%d checksum=%016llx\n", rounds, BLOCKS,
           (unsigned long long)sum);
    return 0;
}
