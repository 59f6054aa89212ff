/* stress_reuse: memory that is freed and needed again within the purge delay is reused warm,
 * with no system call (run with HEAPFORGE_PURGE_DELAY=1000, so a slow build does not purge).
 *
 * 1. A working set of 24 MiB of 256-byte blocks (6 or 7 segments, more than the 4 the cache
 *    used to keep) is allocated, written and freed whole, 10 times: after the first round no
 *    mmap, munmap or madvise call is made and the segment count stays the same.
 * 2. Thread churn: 40 rounds of 2 threads, each allocating 4,000 blocks of 16 B to 8 KiB,
 *    freeing 3/4 of them and handing the rest to a thread of the next round, which frees them.
 *    After 4 rounds of warm-up, thread exit purges nothing and the exited threads' segments are
 *    adopted by the new ones: over the 36 rounds (72 thread exits) at most 72 madvise and 18
 *    mmap calls (measured: 3-14 and 6-11 in a release build, 21-24 madvise in a debug build,
 *    where the run outlasts the delay; when exit purged every free slot, about 800 madvise). RSS is
 * printed, not checked: with the 1 s delay it grows from 15-21 MiB after the warm-up to 32-38 MiB
 * (release build), the free slots of abandoned segments that no new thread reuses before they are
 * due. The pointer arrays come from mmap, not the allocator. Argument "churn": part 2, else part 1.
 * hf_* API. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "heapforge-stats.h"
#include "heapforge.h"
#include "test_util.h"

enum { WS_BLOCKS = 24 * 4096, WS_SIZE = 256, WS_ROUNDS = 10 };
enum { CH_THREADS = 2, CH_BLOCKS = 4000, CH_HAND = CH_BLOCKS / 4, CH_ROUNDS = 40, CH_WARM = 4 };

static hf_stats stats_now(void) {
    hf_stats s;
    memset(&s, 0, sizeof s);
    s.version = HF_STATS_VERSION;
    CHECK_EQ(hf_stats_get(&s), 0);
    return s;
}

static void *map(size_t n) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    return p;
}

static void working_set(void) {
    void **blk = map(WS_BLOCKS * sizeof *blk);
    hf_stats first = {0};
    for (int r = 0; r < WS_ROUNDS; r++) {
        for (size_t i = 0; i < WS_BLOCKS; i++) {
            blk[i] = hf_malloc(WS_SIZE);
            CHECK(blk[i] != NULL);
            test_fill(blk[i], WS_SIZE, (uint64_t)r * WS_BLOCKS + i);
        }
        hf_stats s = stats_now();
        if (r == 0) {
            first = s;
            CHECK_GE(s.segments, 6);
        } else {
            CHECK_EQ(s.segments, first.segments);
            CHECK_EQ(s.mmap_calls, first.mmap_calls);
            CHECK_EQ(s.munmap_calls, first.munmap_calls);
            CHECK_EQ(s.madvise_calls, first.madvise_calls);
        }
        for (size_t i = 0; i < WS_BLOCKS; i++) {
            CHECK_PATTERN(blk[i], WS_SIZE, (uint64_t)r * WS_BLOCKS + i);
            hf_free(blk[i]);
        }
    }
    printf("stress_reuse: working set of %d x %d B, %d rounds: %zu segments, %zu mmap, %zu "
           "munmap, %zu madvise calls after the first round\n",
           WS_BLOCKS, WS_SIZE, WS_ROUNDS, (size_t)first.segments, (size_t)first.mmap_calls,
           (size_t)first.munmap_calls, (size_t)first.madvise_calls);
    CHECK(munmap(blk, WS_BLOCKS * sizeof *blk) == 0);
}

/* A handed block is filled again with the seed of the thread that made it, so the next round's
 * thread can check it. */
#define HAND_SEED(seed, k) ((seed) + 500000 + (k))

struct job {
    uint64_t seed, in_seed;
    void **in;  /* CH_HAND blocks of the previous round, or NULL */
    void **out; /* CH_HAND blocks for the next round */
    size_t *in_n, *out_n;
};

static void *churn_thread(void *arg) {
    struct job *j = arg;
    uint64_t rng = j->seed;
    void **p = map(CH_BLOCKS * sizeof *p);
    size_t *n = map(CH_BLOCKS * sizeof *n);
    for (size_t i = 0; i < CH_BLOCKS; i++) {
        n[i] = test_rand(&rng) % 8 == 0 ? test_rand_range(&rng, 1025, 8192)
                                        : test_rand_range(&rng, 16, 1024);
        p[i] = hf_malloc(n[i]);
        CHECK(p[i] != NULL);
        test_fill(p[i], n[i], j->seed + i);
        if (j->in != NULL && i % 4 == 0 && i / 4 < CH_HAND) { /* the last round's, on the way */
            CHECK_PATTERN(j->in[i / 4], j->in_n[i / 4], HAND_SEED(j->in_seed, i / 4));
            hf_free(j->in[i / 4]);
        }
    }
    for (size_t i = 0; i < CH_BLOCKS; i++) {
        CHECK_PATTERN(p[i], n[i], j->seed + i);
        if (i < CH_HAND) { /* handed on */
            test_fill(p[i], n[i], HAND_SEED(j->seed, i));
            j->out[i] = p[i];
            j->out_n[i] = n[i];
        } else {
            hf_free(p[i]);
        }
    }
    CHECK(munmap(p, CH_BLOCKS * sizeof *p) == 0);
    CHECK(munmap(n, CH_BLOCKS * sizeof *n) == 0);
    return NULL;
}

static void thread_churn(void) {
    void **box[2];
    size_t *box_n[2];
    for (int b = 0; b < 2; b++) {
        box[b] = map(CH_THREADS * CH_HAND * sizeof **box);
        box_n[b] = map(CH_THREADS * CH_HAND * sizeof **box_n);
    }
    hf_stats warm = {0};
    size_t rss_warm = 0, rss_max = 0;
    for (int r = 0; r < CH_ROUNDS; r++) {
        pthread_t th[CH_THREADS];
        struct job jobs[CH_THREADS];
        int out = r % 2, in = 1 - out;
        for (int t = 0; t < CH_THREADS; t++) {
            int from = (t + 1) % CH_THREADS;
            jobs[t].seed = (uint64_t)(r + 1) * 1000000 + (uint64_t)t * 100000;
            jobs[t].in_seed = (uint64_t)r * 1000000 + (uint64_t)from * 100000;
            jobs[t].in = r == 0 ? NULL : &box[in][from * CH_HAND];
            jobs[t].in_n = &box_n[in][from * CH_HAND];
            jobs[t].out = &box[out][t * CH_HAND];
            jobs[t].out_n = &box_n[out][t * CH_HAND];
        }
        for (int t = 0; t < CH_THREADS; t++)
            CHECK_EQ(pthread_create(&th[t], NULL, churn_thread, &jobs[t]), 0);
        for (int t = 0; t < CH_THREADS; t++) CHECK_EQ(pthread_join(th[t], NULL), 0);
        size_t rss = test_rss_bytes();
        if (r == CH_WARM - 1) {
            warm = stats_now();
            rss_warm = rss;
        } else if (r >= CH_WARM) {
            if (rss > rss_max) rss_max = rss;
        }
    }
    hf_stats end = stats_now();
    printf("stress_reuse: thread churn, %d rounds of %d threads: after warm-up %zu segments, "
           "%zu more mmap, %zu munmap, %zu madvise calls; RSS %zu -> at most %zu KiB\n",
           CH_ROUNDS, CH_THREADS, (size_t)warm.segments, (size_t)(end.mmap_calls - warm.mmap_calls),
           (size_t)(end.munmap_calls - warm.munmap_calls),
           (size_t)(end.madvise_calls - warm.madvise_calls), rss_warm >> 10, rss_max >> 10);
    /* at most one madvise per thread exit, one mmap per two rounds */
    CHECK_LE(end.madvise_calls - warm.madvise_calls, (CH_ROUNDS - CH_WARM) * CH_THREADS);
    CHECK_LE(end.mmap_calls - warm.mmap_calls, (CH_ROUNDS - CH_WARM) / 2);
    int last = (CH_ROUNDS - 1) % 2;
    for (size_t k = 0; k < CH_THREADS * CH_HAND; k++) hf_free(box[last][k]);
}

int main(int argc, char **argv) {
    /* one part per process: the working set's kept segments would count in the churn's RSS */
    bool churn = argc > 1 && strcmp(argv[1], "churn") == 0;
    if (churn)
        thread_churn();
    else
        working_set();
    puts("stress_reuse: ok");
    return 0;
}
