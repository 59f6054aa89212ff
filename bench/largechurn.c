/* largechurn -- large blocks (5-25 MiB): a few live at a time; free one, allocate another and
 * touch every page of it.
 *
 * Models image or buffer pools and big temporary arrays: stresses the large-block path, the
 * reuse of freed address space and the return of memory to the OS (peak RSS matters here).
 */
#include "bench_common.h"

enum { LIVE = 4, PAGE = 4096 };

struct big {
    unsigned char *p;
    size_t n;
    unsigned char seed;
};

static void make(struct big *b, uint64_t *rng, long serial) {
    b->n = xs_range(rng, (size_t)5 << 20, (size_t)25 << 20);
    b->p = bench_malloc(b->n);
    b->seed = (unsigned char)(serial * 37 + 11);
    for (size_t off = 0; off < b->n; off += PAGE)
        b->p[off] = (unsigned char)(b->seed + (off >> 12));
    b->p[b->n - 1] = b->seed;
}

static uint64_t release(struct big *b, uint64_t *rng) {
    uint64_t s = b->n;
    for (int i = 0; i < 16; i++) {
        size_t off = (size_t)(xs_next(rng) % (b->n / PAGE)) * PAGE;
        BENCH_CHECK(b->p[off] == (unsigned char)(b->seed + (off >> 12)),
                    "largechurn: page at %zu damaged", off);
        s = mix(s, b->p[off]);
    }
    BENCH_CHECK(b->p[b->n - 1] == b->seed, "largechurn: last byte damaged");
    free(b->p);
    b->p = NULL;
    return s;
}

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    long iters = bench_count(200, scale);
    uint64_t rng = xs_seed(0x6c61726765ull, 0);
    uint64_t sum = 0;
    struct big live[LIVE];

    for (int i = 0; i < LIVE; i++) make(&live[i], &rng, i);
    for (long it = 0; it < iters; it++) {
        int k = (int)(xs_next(&rng) % LIVE);
        sum = mix(sum, release(&live[k], &rng));
        make(&live[k], &rng, it + LIVE);
    }
    for (int i = 0; i < LIVE; i++) sum = mix(sum, release(&live[i], &rng));
    printf("largechurn iterations=%ld checksum=%016llx\n", iters, (unsigned long long)sum);
    return 0;
}
