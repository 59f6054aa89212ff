/* mstress -- thread churn: threads that come and go in rounds, with mixed sizes and lifetimes.
 *
 * The shape of the stress test in mimalloc-bench: every round starts T fresh threads (default
 * 4) and joins them. Each thread keeps a table of live blocks and, step by step, replaces a
 * random entry (a block of medium lifetime), sometimes allocating and freeing a block at once
 * (a short one). Sizes are mostly small (16-256 B), some medium (256 B-4 KiB, 4-64 KiB) and a
 * few large (64 KiB-1 MiB). When a thread ends it frees most of its table but hands a quarter
 * of it on to a thread of the next round, which frees those blocks while it works: blocks
 * outlive the thread that made them and die in another one, and every round's heaps are new.
 *
 * Hand-overs are fixed in advance (thread t of round r takes what thread t + 1 of round r - 1
 * left), and every thread has its own random state and checksum, so the printed result does
 * not depend on scheduling. Block layout: an 8-byte tag (serial << 24 | size), then bytes equal
 * to the tag's low byte: all of a block up to 4 KiB, one byte per 4 KiB page beyond.
 *
 * usage: bench-mstress [scale [threads]]
 */
#include "bench_common.h"

#include <pthread.h>

enum {
    DEFAULT_THREADS = 4,
    LIVE = 1000,   /* table of live blocks per thread */
    STEPS = 12000, /* steps per thread per round */
    HANDOFF = LIVE / 4,
    PAGE = 4096,
};

struct block {
    unsigned char *p;
    size_t n;
};

struct worker {
    int index;
    long round;
    struct block *inbox;  /* HANDOFF blocks from the previous round, or NULL */
    struct block *outbox; /* HANDOFF blocks for the next round */
    uint64_t sum;
};

static size_t pick_size(uint64_t *rng) {
    uint64_t r = xs_next(rng) % 1000;
    if (r < 900) return xs_range(rng, 16, 256);
    if (r < 980) return xs_range(rng, 257, 4096);
    if (r < 998) return xs_range(rng, 4097, 65536);
    return xs_range(rng, 65537, 1 << 20);
}

static void put(struct block *b, size_t n, uint64_t serial) {
    unsigned char *p = bench_malloc(n);
    uint64_t tag = (serial << 24) | n;
    memcpy(p, &tag, 8);
    unsigned char c = (unsigned char)tag;
    if (n <= PAGE) {
        memset(p + 8, c, n - 8);
    } else {
        memset(p + 8, c, PAGE - 8);
        for (size_t i = PAGE; i < n; i += PAGE) p[i] = c;
        p[n - 1] = c;
    }
    b->p = p;
    b->n = n;
}

static uint64_t take(struct block *b) {
    unsigned char *p = b->p;
    size_t n = b->n;
    uint64_t tag;
    memcpy(&tag, p, 8);
    unsigned char c = (unsigned char)tag;
    BENCH_CHECK((tag & 0xFFFFFF) == n && p[n - 1] == c &&
                    p[8 + ((n < PAGE ? n : PAGE) - 8) / 2] == c && (n <= PAGE || p[PAGE] == c),
                "mstress: block of %zu bytes damaged", n);
    free(p);
    b->p = NULL;
    return tag;
}

static void *run_worker(void *arg) {
    struct worker *w = arg;
    uint64_t rng = xs_seed(0x6d737472657373ull, ((uint64_t)w->round << 16) | (uint64_t)w->index);
    uint64_t serial = 0, sum = 0;
    struct block *live = bench_malloc(LIVE * sizeof *live);
    for (size_t k = 0; k < LIVE; k++) put(&live[k], pick_size(&rng), serial++);
    size_t in_next = 0;
    for (long s = 0; s < STEPS; s++) {
        uint64_t r = xs_next(&rng);
        if (r % 8 == 0) {
            /* a short-lived block: made and dropped at once */
            struct block tmp;
            put(&tmp, pick_size(&rng), serial++);
            sum = mix(sum, take(&tmp));
        } else {
            size_t k = (size_t)((r >> 8) % LIVE);
            sum = mix(sum, take(&live[k]));
            put(&live[k], pick_size(&rng), serial++);
        }
        /* free the previous round's blocks along the way, spread over the first half */
        if (w->inbox != NULL && in_next < HANDOFF && s % 24 == 0)
            sum = mix(sum, take(&w->inbox[in_next++]));
    }
    while (w->inbox != NULL && in_next < HANDOFF) sum = mix(sum, take(&w->inbox[in_next++]));
    /* hand a quarter of the table on, chosen at random; free the rest */
    for (size_t k = 0; k < HANDOFF; k++) {
        size_t j = k + (size_t)(xs_next(&rng) % (LIVE - k));
        struct block t = live[k];
        live[k] = live[j];
        live[j] = t;
        w->outbox[k] = live[k];
    }
    for (size_t k = HANDOFF; k < LIVE; k++) sum = mix(sum, take(&live[k]));
    free(live);
    w->sum = sum;
    return NULL;
}

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    int threads = bench_threads(argc, argv, DEFAULT_THREADS);
    long rounds = bench_count(40, scale);

    struct worker *ws = bench_malloc((size_t)threads * sizeof *ws);
    pthread_t *th = bench_malloc((size_t)threads * sizeof *th);
    /* two sets of hand-over boxes: one filled this round, one emptied */
    struct block *boxes[2];
    for (int i = 0; i < 2; i++) boxes[i] = bench_malloc((size_t)threads * HANDOFF * sizeof **boxes);
    uint64_t sum = 0;
    for (long r = 0; r < rounds; r++) {
        struct block *in = boxes[(r + 1) % 2], *out = boxes[r % 2];
        for (int t = 0; t < threads; t++) {
            ws[t].index = t;
            ws[t].round = r;
            ws[t].inbox = r == 0 ? NULL : &in[(size_t)((t + 1) % threads) * HANDOFF];
            ws[t].outbox = &out[(size_t)t * HANDOFF];
            if (pthread_create(&th[t], NULL, run_worker, &ws[t]) != 0) {
                fprintf(stderr, "pthread_create failed\n");
                return 1;
            }
        }
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            sum = mix(sum, ws[t].sum);
        }
    }
    /* the last round's hand-overs die in the main thread */
    struct block *last = boxes[(rounds - 1) % 2];
    for (size_t k = 0; k < (size_t)threads * HANDOFF; k++) sum = mix(sum, take(&last[k]));
    printf("mstress threads=%d rounds=%ld checksum=%016llx\n", threads, rounds,
           (unsigned long long)sum);
    free(boxes[0]);
    free(boxes[1]);
    free(th);
    free(ws);
    return 0;
}
