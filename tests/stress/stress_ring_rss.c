/* stress_ring_rss: 200 threads in a ring, each freeing its neighbour's blocks.
 *
 * Every round each thread allocates 2000 blocks of 16-1015 bytes (random sizes, so the classes
 * each thread needs change from round to round), all threads meet, and then each frees the
 * blocks of the next thread. Every page of every class thus ends a round empty, but emptied by
 * other threads: the owner must take those blocks back (and retire pages that are empty) before
 * it carves fresh memory, or its footprint grows with each round. heapforge once peaked at
 * 2.19x the live bytes here (glibc: 1.07x, jemalloc 1.30x, mimalloc 1.53x): a full page whose
 * blocks came back from other threads stayed in the full queue while a second page of the
 * class carved on, and the freeing threads took over whole lists of blocks their owners still
 * needed.
 *
 * Checks: the contents of every block when it is freed, and peak RSS growth (getrusage's
 * maxrss less the RSS at start) at most LIMIT x the peak live bytes. Usage: stress_ring_rss
 * [SCALE] (rounds scale; threads and blocks do not, the footprint is the point). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "test_util.h"

enum { THREADS = 200, BLOCKS = 2000 };
#define LIMIT 1.8

static unsigned char *slot[THREADS][BLOCKS];
static uint32_t len[THREADS][BLOCKS];
static pthread_barrier_t meet;
static int rounds;
static atomic_size_t live_peak_round0;

static void *worker(void *arg) {
    long i = (long)arg;
    uint64_t rng = (uint64_t)i * 7919 + 1;
    for (int r = 0; r < rounds; r++) {
        size_t bytes = 0;
        for (int k = 0; k < BLOCKS; k++) {
            size_t n = test_rand_range(&rng, 16, 1015);
            slot[i][k] = malloc(n);
            CHECK(slot[i][k] != NULL);
            memset(slot[i][k], (int)(i + k + r) & 0xff, n);
            len[i][k] = (uint32_t)n;
            bytes += n;
        }
        if (r == 0) atomic_fetch_add(&live_peak_round0, bytes);
        pthread_barrier_wait(&meet);
        long j = (i + 1) % THREADS;
        for (int k = 0; k < BLOCKS; k++) {
            unsigned char *p = slot[j][k], want = (unsigned char)((j + k + r) & 0xff);
            CHECK(p[0] == want && p[len[j][k] - 1] == want);
            free(p);
        }
        pthread_barrier_wait(&meet);
    }
    return NULL;
}

int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    rounds = (int)(20 * scale);
    if (rounds < 4) rounds = 4;
    size_t rss0 = test_rss_bytes();
    pthread_t t[THREADS];
    CHECK(pthread_barrier_init(&meet, NULL, THREADS) == 0);
    for (long i = 0; i < THREADS; i++) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 64 << 10);
        CHECK(pthread_create(&t[i], &a, worker, (void *)i) == 0);
        pthread_attr_destroy(&a);
    }
    for (long i = 0; i < THREADS; i++) CHECK(pthread_join(t[i], NULL) == 0);
    struct rusage ru;
    CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
    size_t peak = (size_t)ru.ru_maxrss * 1024, live = atomic_load(&live_peak_round0);
    double ratio = (double)(peak - rss0) / (double)live;
    printf("stress_ring_rss: %d rounds, live %.1f MiB, peak RSS growth %.1f MiB (%.2fx, limit "
           "%.2fx)\n",
           rounds, (double)live / 1048576, (double)(peak - rss0) / 1048576, ratio, LIMIT);
    fflush(stdout);
    CHECK(ratio <= LIMIT);
    return 0;
}
