/* pairs -- single-thread malloc/free pairs of mixed small sizes (8-512 B).
 *
 * Models code that allocates a temporary object, uses it briefly and frees it at once, next to
 * a short-lived working set: a ring of blocks replaced at random (lifetimes of a few hundred
 * operations) and, now and then, a burst of blocks freed in LIFO order (a temporary tree).
 */
#include "bench_common.h"

/* Small sizes, skewed toward the smallest: 50% 8-64, 30% 65-256, 20% 257-512. */
static size_t small_size(uint64_t *rng) {
    uint64_t r = xs_next(rng);
    unsigned pick = (unsigned)(r % 10);
    if (pick < 5) return xs_range(rng, 8, 64);
    if (pick < 8) return xs_range(rng, 65, 256);
    return xs_range(rng, 257, 512);
}

/* The first 8 bytes of every block hold a tag; the last byte (when past the tag) a second copy
 * of its low bits. */
static unsigned char *make_block(size_t n, uint64_t tag) {
    unsigned char *p = bench_malloc(n);
    memcpy(p, &tag, sizeof tag);
    if (n > sizeof tag) p[n - 1] = (unsigned char)(tag ^ 0x5A);
    return p;
}

static uint64_t take_block(unsigned char *p, size_t n, uint64_t tag) {
    uint64_t got;
    memcpy(&got, p, sizeof got);
    BENCH_CHECK(got == tag && (n <= sizeof tag || p[n - 1] == (unsigned char)(tag ^ 0x5A)),
                "pairs: block of %zu bytes damaged", n);
    free(p);
    return got;
}

enum { RING = 256, BURST = 64, BURST_EVERY = 512 };

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    long iters = bench_count(6.0e6, scale);
    uint64_t rng = xs_seed(0x7061697273ull, 0);
    uint64_t sum = 0;

    unsigned char *ring[RING];
    size_t ring_size[RING];
    uint64_t ring_tag[RING];
    memset(ring, 0, sizeof ring);

    for (long i = 0; i < iters; i++) {
        /* 1. An immediate pair. */
        size_t n = small_size(&rng);
        uint64_t tag = ((uint64_t)n << 40) | (uint64_t)i;
        unsigned char *p = make_block(n, tag);
        bench_escape(p);
        sum = mix(sum, take_block(p, n, tag));

        /* 2. Replace a random member of the short-lived working set. */
        size_t k = (size_t)(xs_next(&rng) % RING);
        if (ring[k] != NULL) sum = mix(sum, take_block(ring[k], ring_size[k], ring_tag[k]));
        ring_size[k] = small_size(&rng);
        ring_tag[k] = ((uint64_t)ring_size[k] << 40) | (uint64_t)(i ^ 0xABCDE);
        ring[k] = make_block(ring_size[k], ring_tag[k]);

        /* 3. Now and then a burst: build a few dozen blocks, drop them newest first. */
        if (i % BURST_EVERY == BURST_EVERY - 1) {
            unsigned char *burst[BURST];
            size_t bsize[BURST];
            for (int b = 0; b < BURST; b++) {
                bsize[b] = small_size(&rng);
                burst[b] = make_block(bsize[b], ((uint64_t)bsize[b] << 40) | (uint64_t)b);
            }
            for (int b = BURST - 1; b >= 0; b--)
                sum = mix(sum,
                          take_block(burst[b], bsize[b], ((uint64_t)bsize[b] << 40) | (uint64_t)b));
        }
    }
    for (size_t k = 0; k < RING; k++)
        if (ring[k] != NULL) sum = mix(sum, take_block(ring[k], ring_size[k], ring_tag[k]));

    printf("pairs iterations=%ld checksum=%016llx\n", iters, (unsigned long long)sum);
    return 0;
}
