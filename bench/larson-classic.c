/* larson-classic -- the Larson server simulation with the classic benchmark's parameters.
 *
 * As in the benchmark of Larson and Krishnan (and its run in mimalloc-bench): T worker threads
 * (default 8), each with its own slice of a shared slot array (10,000 slots per thread,
 * blocks of 8-1000 B, filled by the main thread at the start). A worker replaces random slots of
 * its slice (free the old block, malloc a new one) for a number of steps; then, instead of
 * returning to a barrier, it starts its own successor thread, hands it the slice and exits.
 * Chains of threads run unsynchronised, overlapping one another, and nearly every free is of a
 * block another (often already exited) thread allocated. The existing `larson` workload is the
 * small, epoch-synchronised version of this; this one is the bigger, free-running one.
 *
 * The classic benchmark runs for a fixed time and reports throughput; here every slice does a
 * fixed number of generations, so the work and the result do not depend on scheduling (each
 * slice has its own random state and checksum). Throughput goes to stderr.
 *
 * usage: bench-larson-classic [scale [threads]]
 */
#include "bench_common.h"

#include <pthread.h>
#include <time.h>

enum { DEFAULT_THREADS = 8, SLOTS = 10000, STEPS = 10000, MIN_SIZE = 8, MAX_SIZE = 1000 };

struct slice {
    unsigned char **blk;
    uint32_t *size;
    uint64_t rng;
    uint64_t sum;
    uint64_t serial;
    long generations_left;
};

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int chains_running;
static pthread_attr_t detached;

static void fill(struct slice *s, size_t k) {
    size_t n = xs_range(&s->rng, MIN_SIZE, MAX_SIZE);
    unsigned char *p = bench_malloc(n);
    /* 8 bytes: serial << 10 | size; the last byte repeats the tag's low byte */
    uint64_t tag = (s->serial++ << 10) | n;
    memcpy(p, &tag, 8);
    if (n > 8) p[n - 1] = (unsigned char)tag;
    s->blk[k] = p;
    s->size[k] = (uint32_t)n;
}

static void drop(struct slice *s, size_t k) {
    unsigned char *p = s->blk[k];
    uint64_t tag;
    memcpy(&tag, p, 8);
    size_t n = s->size[k];
    BENCH_CHECK((tag & 0x3FF) == n && (n == 8 || p[n - 1] == (unsigned char)tag),
                "larson-classic: slot %zu damaged", k);
    s->sum = mix(s->sum, tag);
    free(p);
}

static void *worker(void *arg) {
    struct slice *s = arg;
    for (long i = 0; i < STEPS; i++) {
        size_t k = (size_t)(xs_next(&s->rng) % SLOTS);
        drop(s, k);
        fill(s, k);
    }
    if (--s->generations_left > 0) {
        pthread_t next;
        if (pthread_create(&next, &detached, worker, s) == 0) return NULL;
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
    pthread_mutex_lock(&done_lock);
    if (--chains_running == 0) pthread_cond_signal(&done_cond);
    pthread_mutex_unlock(&done_lock);
    return NULL;
}

int main(int argc, char **argv) {
    double scale = bench_scale(argc, argv);
    int threads = bench_threads(argc, argv, DEFAULT_THREADS);
    /* the same total work at every thread count: 400 generations of STEPS steps in all */
    long generations = bench_count(400.0 / threads, scale);

    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    struct slice *slices = bench_malloc((size_t)threads * sizeof *slices);
    unsigned char **blk = bench_malloc((size_t)threads * SLOTS * sizeof *blk);
    uint32_t *size = bench_malloc((size_t)threads * SLOTS * sizeof *size);
    for (int t = 0; t < threads; t++) {
        struct slice *s = &slices[t];
        s->blk = blk + (size_t)t * SLOTS;
        s->size = size + (size_t)t * SLOTS;
        s->rng = xs_seed(0x4c617273656eull, (uint64_t)t);
        s->sum = 0;
        s->serial = 0;
        s->generations_left = generations;
        for (size_t k = 0; k < SLOTS; k++) fill(s, k);
    }
    double t0 = bench_now();
    chains_running = threads;
    for (int t = 0; t < threads; t++) {
        pthread_t th;
        if (pthread_create(&th, &detached, worker, &slices[t]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    pthread_mutex_lock(&done_lock);
    while (chains_running > 0) pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);
    double dt = bench_now() - t0;
    long ops = (long)threads * generations * STEPS;
    fprintf(stderr, "larson-classic: %.2f M ops/s\n", (double)ops / dt * 1e-6);
    uint64_t sum = 0;
    for (int t = 0; t < threads; t++) {
        for (size_t k = 0; k < SLOTS; k++) drop(&slices[t], k);
        sum = mix(sum, slices[t].sum);
    }
    printf("larson-classic threads=%d generations=%ld ops=%ld checksum=%016llx\n", threads,
           generations, ops, (unsigned long long)sum);
    free(size);
    free(blk);
    free(slices);
    return 0;
}
