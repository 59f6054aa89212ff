/* stress_thread_churn: 10,000 short-lived threads, created and joined one after another; each
 * allocates and frees blocks of mixed sizes and leaves a few blocks behind, which the main
 * thread checks and frees after the join (frees of blocks whose owning thread is gone). Memory of
 * exited threads must be reused: RSS after the last thread may exceed RSS after the first 200
 * threads by at most 32 MiB, and no heap stays attached to an exited thread. hf_* API. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

enum { LEFT = 8, WORK = 64 };

struct job {
    uint64_t seed;
    void *left[LEFT]; /* blocks handed back to the main thread */
    size_t left_n[LEFT];
};

static void *thread_main(void *arg) {
    struct job *job = arg;
    uint64_t rng = job->seed;
    void *p[WORK];
    size_t n[WORK];
    for (int i = 0; i < WORK; i++) {
        n[i] = (i == 0) ? test_rand_range(&rng, 100000, 400000) : test_rand_range(&rng, 1, 4000);
        p[i] = hf_malloc(n[i]);
        CHECK(p[i] != NULL);
        test_fill(p[i], n[i], job->seed + (uint64_t)i);
    }
    for (int i = 0; i < WORK; i++) {
        CHECK_PATTERN(p[i], n[i], job->seed + (uint64_t)i);
        if (i % 8 == 1) { /* leave this one for the main thread */
            job->left[i / 8] = p[i];
            job->left_n[i / 8] = n[i];
        } else {
            hf_free(p[i]);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    double scale = test_scale(argc, argv);
    size_t nthreads = test_scaled(10000, scale);
    size_t warm = nthreads / 50 > 200 ? 200 : nthreads / 50;
#ifdef HF_TEST_SANITIZE
    const size_t bound = 256u << 20; /* sanitizer shadow memory grows with the work done */
#else
    const size_t bound = 32u << 20;
#endif
    size_t rss_warm = 0;
    for (size_t t = 0; t < nthreads; t++) {
        struct job job;
        memset(&job, 0, sizeof job);
        job.seed = (uint64_t)t * 0x9E3779B97F4A7C15ULL + 1;
        pthread_t th;
        CHECK(pthread_create(&th, NULL, thread_main, &job) == 0);
        CHECK(pthread_join(th, NULL) == 0);
        for (int i = 0; i < LEFT; i++) {
            CHECK(job.left[i] != NULL);
            CHECK(hf_owns(job.left[i]));
            CHECK_PATTERN(job.left[i], job.left_n[i], job.seed + (uint64_t)(i * 8 + 1));
            hf_free(job.left[i]);
        }
        if (t + 1 == warm) rss_warm = test_rss_bytes();
    }
    size_t rss_end = test_rss_bytes();
    hf_process_info info;
    memset(&info, 0, sizeof info);
    info.version = sizeof info;
    hf_process_info_get(&info);
    printf("stress_thread_churn: %zu threads; RSS after %zu: %zu KiB, at end: %zu KiB; heaps "
           "attached: %zu, "
           "abandoned segments: %zu, segments: %zu\n",
           nthreads, warm, rss_warm >> 10, rss_end >> 10, info.threads, info.abandoned_segments,
           info.segments);
    CHECK_LE(rss_end, rss_warm + bound);
    CHECK_LE(info.threads, 4);    /* only the main thread (and maybe a helper) still holds a heap */
    CHECK_LE(info.segments, 256); /* exited threads' segments are reclaimed, not piled up */
    puts("stress_thread_churn: ok");
    return 0;
}
