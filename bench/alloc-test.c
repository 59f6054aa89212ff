/* alloc-test -- random small sizes over a random working set (one thread).
 *
 * The shape of the alloc-test benchmark: a table of slots holds the working set; each step
 * picks a random slot below the current working-set size, frees its block if it has one and
 * allocates a new block there. Sizes are log-uniform over 9 B-4 KiB (each octave as likely as
 * the next: mostly small blocks, a tail of larger ones). Every 100,000 steps the
 * working-set size changes to a random value between 1,000 and 8,000 blocks; slots above the
 * new size are freed, so the set shrinks and grows. Blocks are written at both ends and checked
 * when freed.
 *
 * usage: bench-alloc-test [scale]
 */
#include "bench_common.h"

enum { MAX_SET = 8000, MIN_SET = 1000, PHASE = 100000 };

struct slot {
    unsigned char *p;
    uint32_t n;
};

static struct slot slots[MAX_SET];

static size_t pick_size(uint64_t *rng) {
    /* an octave (8-16 B, 16-32 B, ... 2-4 KiB) at random, then a size inside it */
    uint64_t r = xs_next(rng);
    size_t lo = (size_t)8 << (r % 9);
    return lo + 1 + (size_t)((r >> 8) % lo);
}

static void put(struct slot *s, size_t n, uint64_t serial) {
    unsigned char *p = bench_malloc(n);
    uint64_t tag = (serial << 13) | n;
    memcpy(p, &tag, 8);
    p[n - 1] = (unsigned char)(tag >> 13);
    s->p = p;
    s->n = (uint32_t)n;
}

static uint64_t drop(struct slot *s) {
    uint64_t tag;
    memcpy(&tag, s->p, 8);
    BENCH_CHECK((tag & 0x1FFF) == s->n &&
                    (s->n == 8 || s->p[s->n - 1] == (unsigned char)(tag >> 13)),
                "alloc-test: block of %u bytes damaged", (unsigned)s->n);
    free(s->p);
    s->p = NULL;
    return tag;
}

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    long steps = bench_count(8.0e6, scale);
    uint64_t rng = xs_seed(0x616c6c6f63ull, 0);
    uint64_t serial = 0, sum = 0;
    size_t set = 4000;
    for (long s = 0; s < steps; s++) {
        if (s % PHASE == 0 && s > 0) {
            size_t next = xs_range(&rng, MIN_SET, MAX_SET);
            for (size_t k = next; k < set; k++)
                if (slots[k].p != NULL) sum = mix(sum, drop(&slots[k]));
            set = next;
        }
        struct slot *sl = &slots[xs_next(&rng) % set];
        if (sl->p != NULL) sum = mix(sum, drop(sl));
        put(sl, pick_size(&rng), serial++);
    }
    for (size_t k = 0; k < MAX_SET; k++)
        if (slots[k].p != NULL) sum = mix(sum, drop(&slots[k]));
    printf("alloc-test steps=%ld checksum=%016llx\n", steps, (unsigned long long)sum);
    return 0;
}
