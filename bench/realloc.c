/* realloc -- buffers grown by doubling with realloc, written at every step, then freed.
 *
 * Models string builders and dynamic arrays. Four buffers grow side by side from 16 B to 4 MiB
 * (so they get in each other's way), with small blocks allocated between the steps; every
 * eighth repetition one buffer keeps growing to 64 MiB. At each step the new half is written
 * and the old contents are checked.
 */
#include "bench_common.h"

enum { BUFFERS = 4, SMALL_MAX = 64 };

#define TOP_SIZE  ((size_t)4 << 20)
#define HUGE_SIZE ((size_t)64 << 20)

static unsigned char pattern(int buf, int step) {
    return (unsigned char)(step * 13 + buf * 101 + 1);
}

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    long reps = bench_count(40, scale);
    uint64_t rng = xs_seed(0x7265616c6cull, 0);
    uint64_t sum = 0;

    for (long r = 0; r < reps; r++) {
        unsigned char *buf[BUFFERS];
        size_t size[BUFFERS];
        unsigned char *small[SMALL_MAX];
        int nsmall = 0;
        for (int b = 0; b < BUFFERS; b++) {
            size[b] = 16;
            buf[b] = bench_malloc(16);
            memset(buf[b], pattern(b, 0), 16);
        }
        int step = 0;
        for (;;) {
            int grew = 0;
            step++;
            for (int b = 0; b < BUFFERS; b++) {
                size_t limit = (b == 0 && r % 8 == 7) ? HUGE_SIZE : TOP_SIZE;
                if (size[b] >= limit) continue;
                size_t old = size[b], now = old * 2;
                unsigned char *p = realloc(buf[b], now);
                if (p == NULL) {
                    fprintf(stderr, "realloc(%zu) failed\n", now);
                    return 3;
                }
                BENCH_CHECK(p[0] == pattern(b, 0) && p[old - 1] == pattern(b, step - 1) &&
                                p[old / 2] == pattern(b, old <= 16 ? 0 : step - 1),
                            "realloc: buffer %d lost its contents at %zu bytes", b, now);
                memset(p + old, pattern(b, step), now - old);
                sum = mix(sum, (uint64_t)p[old - 1] + now);
                buf[b] = p;
                size[b] = now;
                grew = 1;
                /* Small blocks land between the buffers' steps. */
                if (nsmall < SMALL_MAX && (xs_next(&rng) & 1)) {
                    size_t n = xs_range(&rng, 16, 256);
                    small[nsmall] = bench_malloc(n);
                    memset(small[nsmall], 0x33, n);
                    nsmall++;
                }
            }
            if (!grew) break;
        }
        for (int b = 0; b < BUFFERS; b++) {
            BENCH_CHECK(buf[b][size[b] - 1] != 0, "realloc: last byte lost");
            sum = mix(sum, buf[b][size[b] - 1] + size[b]);
            free(buf[b]);
        }
        for (int i = 0; i < nsmall; i++) {
            sum = mix(sum, small[i][0]);
            free(small[i]);
        }
    }
    printf("realloc reps=%ld checksum=%016llx\n", reps, (unsigned long long)sum);
    return 0;
}
