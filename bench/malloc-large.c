/* malloc-large -- large blocks of random sizes allocated and freed in a loop, barely touched.
 *
 * The shape of mimalloc-bench's malloc-large: a ring of 20 live buffers of 5-25 MiB (random
 * sizes); each iteration frees the oldest and allocates a new one. Unlike `largechurn`, which
 * writes every page of its blocks, a buffer here is touched only a little: its first 4 KiB, one
 * word every MiB and its last byte. What is measured is the cost of getting large blocks and
 * giving them back (mmap, munmap, a cache of mappings, the page faults of the few touched pages)
 * and how much memory the allocator keeps resident for blocks that are mostly never written.
 *
 * usage: bench-malloc-large [scale]
 */
#include "bench_common.h"

enum { LIVE = 20, HEAD = 4096 };

#define MIB ((size_t)1 << 20)

struct buffer {
    unsigned char *p;
    size_t n;
    uint64_t tag;
};

static void make(struct buffer *b, uint64_t *rng, uint64_t serial) {
    size_t n = xs_range(rng, 5 * MIB, 25 * MIB);
    unsigned char *p = bench_malloc(n);
    uint64_t tag = xs_seed(serial, n);
    memset(p, (int)(tag & 0xFF), HEAD);
    memcpy(p, &tag, 8);
    for (size_t off = MIB; off + 16 <= n; off += MIB) {
        uint64_t v = tag ^ off;
        memcpy(p + off, &v, 8);
    }
    p[n - 1] = (unsigned char)(tag >> 8);
    b->p = p;
    b->n = n;
    b->tag = tag;
}

static uint64_t drop(struct buffer *b) {
    unsigned char *p = b->p;
    uint64_t tag, sum;
    memcpy(&tag, p, 8);
    BENCH_CHECK(tag == b->tag && p[HEAD - 1] == (unsigned char)tag &&
                    p[b->n - 1] == (unsigned char)(tag >> 8),
                "malloc-large: buffer of %zu bytes damaged", b->n);
    sum = tag;
    for (size_t off = MIB; off + 16 <= b->n; off += MIB) {
        uint64_t v;
        memcpy(&v, p + off, 8);
        BENCH_CHECK(v == (tag ^ off), "malloc-large: buffer of %zu bytes damaged at %zu", b->n,
                    off);
        sum = mix(sum, v);
    }
    free(p);
    b->p = NULL;
    return sum;
}

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    long iterations = bench_count(5000, scale);
    uint64_t rng = xs_seed(0x6c61726765ull, 0);
    struct buffer ring[LIVE];
    uint64_t serial = 0, sum = 0;
    for (int i = 0; i < LIVE; i++) make(&ring[i], &rng, serial++);
    for (long i = 0; i < iterations; i++) {
        struct buffer *b = &ring[i % LIVE];
        sum = mix(sum, drop(b));
        make(b, &rng, serial++);
    }
    for (int i = 0; i < LIVE; i++) sum = mix(sum, drop(&ring[i]));
    printf("malloc-large iterations=%ld checksum=%016llx\n", iterations, (unsigned long long)sum);
    return 0;
}
