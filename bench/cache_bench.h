/* cache_bench.h -- the body shared by bench-cache-scratch and bench-cache-thrash.
 *
 * The shape of Hoard's cache-thrash and cache-scratch tests. T threads (default 4) split 1,000
 * iterations between them; an iteration allocates one small object (8 B), writes every byte of
 * it many times (reading each write back through a volatile pointer, so the stores happen) and
 * frees it. Little allocation, many writes: the time measures whether objects of different
 * threads share cache lines.
 *
 * - cache-thrash (CACHE_PASSIVE 0): each thread only ever touches objects it allocated itself.
 *   An allocator that hands neighbouring small blocks to different threads makes them fight
 *   over one cache line (active false sharing).
 * - cache-scratch (CACHE_PASSIVE 1): the main thread allocates the T first objects back to
 *   back and gives one to each thread, which works on it and frees it before allocating its
 *   own. An allocator that gives a freed block back to the thread that freed it keeps the
 *   threads on the main thread's shared cache lines (passive false sharing).
 *
 * Contents are deterministic; each thread folds its objects' final bytes into its own sum.
 */
#include "bench_common.h"

#include <pthread.h>

enum { DEFAULT_THREADS = 4, OBJ = 8, ITERATIONS = 1000, REPETITIONS = 60000 };

struct cache_worker {
    unsigned char *first; /* cache-scratch: the main thread's object, NULL otherwise */
    long iterations;
    long repetitions;
    uint64_t seed;
    uint64_t sum;
};

static uint64_t cache_work(unsigned char *obj, long repetitions, uint64_t seed) {
    volatile unsigned char *v = obj;
    unsigned acc = 0;
    for (long r = 0; r < repetitions; r++) {
        for (int k = 0; k < OBJ; k++) {
            v[k] = (unsigned char)(seed + (uint64_t)r + (uint64_t)k);
            acc += v[k];
        }
    }
    uint64_t sum = acc;
    for (int k = 0; k < OBJ; k++) {
        BENCH_CHECK(obj[k] == (unsigned char)(seed + (uint64_t)(repetitions - 1) + (uint64_t)k),
                    "cache: object damaged");
        sum = mix(sum, obj[k]);
    }
    return sum;
}

static void *cache_thread(void *arg) {
    struct cache_worker *w = arg;
    uint64_t sum = 0;
    for (long i = 0; i < w->iterations; i++) {
        unsigned char *obj = (i == 0 && w->first != NULL) ? w->first : bench_malloc(OBJ);
        sum = mix(sum, cache_work(obj, w->repetitions, w->seed + (uint64_t)i));
        free(obj);
    }
    w->sum = sum;
    return NULL;
}

static int cache_main(int argc, char **argv, const char *name, int passive) {
    double scale = bench_scale(argc, argv);
    int threads = bench_threads(argc, argv, DEFAULT_THREADS);
    long repetitions = bench_count(REPETITIONS, scale);
    long per_thread = ITERATIONS / threads > 0 ? ITERATIONS / threads : 1;
    struct cache_worker *ws = bench_malloc((size_t)threads * sizeof *ws);
    pthread_t *th = bench_malloc((size_t)threads * sizeof *th);
    for (int t = 0; t < threads; t++) {
        ws[t].first = passive ? bench_malloc(OBJ) : NULL;
        ws[t].iterations = per_thread;
        ws[t].repetitions = repetitions;
        ws[t].seed = (uint64_t)t * 1000003u;
        ws[t].sum = 0;
    }
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&th[t], NULL, cache_thread, &ws[t]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    uint64_t sum = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        sum = mix(sum, ws[t].sum);
    }
    printf("%s threads=%d iterations=%ld repetitions=%ld checksum=%016llx\n", name, threads,
           per_thread * threads, repetitions, (unsigned long long)sum);
    free(th);
    free(ws);
    return 0;
}
