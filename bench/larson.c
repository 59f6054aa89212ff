/* larson -- a server-like simulation in the spirit of the Larson benchmark.
 *
 * There are T worker threads (2), each owning an array of slots holding live blocks. A worker
 * repeatedly picks a random slot, frees its block and allocates a new one of random size
 * (16-1000 B). Workers are short-lived: after each epoch every worker exits and its array is
 * handed to a new thread, so most blocks are freed by a different thread than the one that
 * allocated them, and heaps of exited threads hold live blocks. Each array carries its own
 * random state and checksum, so the result does not depend on scheduling.
 */
#include "bench_common.h"

#include <pthread.h>

enum { THREADS = 2, SLOTS = 4000 };

struct array {
    unsigned char *blk[SLOTS];
    uint32_t size[SLOTS];
    uint64_t rng;
    uint64_t sum;
    uint64_t serial;
};

static struct array arrays[THREADS];
static long ops_per_epoch;

static void fill(struct array *a, size_t k) {
    size_t n = xs_range(&a->rng, 16, 1000);
    unsigned char *p = bench_malloc(n);
    uint64_t tag = (a->serial++ << 12) | n;
    memcpy(p, &tag, 8);
    p[n - 1] = (unsigned char)tag;
    a->blk[k] = p;
    a->size[k] = (uint32_t)n;
}

static void drop(struct array *a, size_t k) {
    unsigned char *p = a->blk[k];
    uint64_t tag;
    memcpy(&tag, p, 8);
    BENCH_CHECK((tag & 0xFFF) == a->size[k] && p[a->size[k] - 1] == (unsigned char)tag,
                "larson: slot %zu damaged", k);
    a->sum = mix(a->sum, tag);
    free(p);
    a->blk[k] = NULL;
}

static void *worker(void *arg) {
    struct array *a = arg;
    for (long i = 0; i < ops_per_epoch; i++) {
        size_t k = (size_t)(xs_next(&a->rng) % SLOTS);
        drop(a, k);
        fill(a, k);
    }
    return NULL;
}

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    long epochs = bench_count(100, scale);
    ops_per_epoch = 40000;

    /* The main thread fills every array, so the first epoch already frees foreign blocks. */
    for (int t = 0; t < THREADS; t++) {
        arrays[t].rng = xs_seed(0x6c6172736f6eull, (uint64_t)t);
        for (size_t k = 0; k < SLOTS; k++) fill(&arrays[t], k);
    }
    for (long e = 0; e < epochs; e++) {
        pthread_t th[THREADS];
        for (int t = 0; t < THREADS; t++) {
            /* Rotate: the new thread t takes the array an old thread (t + e) worked on. */
            struct array *a = &arrays[(t + e) % THREADS];
            if (pthread_create(&th[t], NULL, worker, a) != 0) {
                fprintf(stderr, "pthread_create failed\n");
                return 1;
            }
        }
        for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    }
    uint64_t sum = 0;
    for (int t = 0; t < THREADS; t++) {
        for (size_t k = 0; k < SLOTS; k++) drop(&arrays[t], k);
        sum = mix(sum, arrays[t].sum);
    }
    printf("larson threads=%d epochs=%ld ops=%ld checksum=%016llx\n", THREADS, epochs,
           epochs * THREADS * ops_per_epoch, (unsigned long long)sum);
    return 0;
}
