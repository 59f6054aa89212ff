/* stress_xthread: 4 threads allocate blocks of mixed sizes (mostly 16 B - 64 KiB, some
 * 200 KiB - 2 MiB, some aligned), fill each with a pattern tied to a seed, and hand most of them
 * to another thread through a mutex-protected queue; the receiver verifies the pattern and frees
 * the block (cross-thread free). Blocks kept locally are resized with hf_realloc, and the local
 * live set is periodically sorted to check that no two live blocks overlap. Uses the hf_* API so
 * that sanitizers check heapforge's own code. Argument / HF_TEST_SCALE scales the iterations. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

enum { NTHREADS = 4, LOCAL = 256 };

struct item {
    struct item *next;
    void *p;
    size_t n;
    uint64_t seed;
};

struct queue {
    pthread_mutex_t lock;
    struct item *head;
    size_t len;
};

static struct queue queues[NTHREADS];
static pthread_barrier_t done_barrier;
static size_t iterations;
static atomic_size_t allocated, freed, sent, received;

static void verify_and_free(struct item *it, int sized) {
    CHECK(hf_owns(it->p));
    CHECK_GE(hf_usable_size(it->p), it->n);
    size_t bad = test_verify(it->p, it->n, it->seed);
    if (bad != (size_t)-1) {
        fprintf(stderr, "block %p (%zu bytes, seed %llu) corrupted at offset %zu\n", it->p, it->n,
                (unsigned long long)it->seed, bad);
        CHECK(0);
    }
    if (sized)
        hf_free_sized(it->p, it->n);
    else
        hf_free(it->p);
    atomic_fetch_add_explicit(&freed, 1, memory_order_relaxed);
}

static size_t pick_size(uint64_t *rng) {
    uint64_t r = test_rand(rng) % 1000;
    if (r < 15) return test_rand_range(rng, 200 << 10, 2 << 20); /* 1.5%: big */
    if (r < 600) return test_rand_range(rng, 16, 256);           /* small */
    if (r < 900) return test_rand_range(rng, 257, 4096);
    return test_rand_range(rng, 4097, 64 << 10);
}

static void *alloc_block(uint64_t *rng, size_t n) {
    void *p;
    uint64_t r = test_rand(rng) % 100;
    if (r < 4) {
        size_t align = (size_t)1 << test_rand_range(rng, 4, 16);
        if (r < 2) {
            p = hf_aligned_alloc(align, n);
        } else {
            CHECK_EQ(hf_posix_memalign(&p, align, n), 0);
        }
        CHECK(p != NULL);
        CHECK_ALIGNED(p, align);
    } else if (r < 8) {
        p = hf_calloc(1, n);
        CHECK(p != NULL);
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i += 97) CHECK_EQ(b[i], 0);
        CHECK_EQ(b[n - 1], 0);
    } else {
        p = hf_malloc(n);
        CHECK(p != NULL);
    }
    CHECK_ALIGNED(p, 16);
    atomic_fetch_add_explicit(&allocated, 1, memory_order_relaxed);
    return p;
}

static void drain(int self) {
    struct queue *q = &queues[self];
    CHECK(pthread_mutex_lock(&q->lock) == 0);
    struct item *list = q->head;
    q->head = NULL;
    q->len = 0;
    CHECK(pthread_mutex_unlock(&q->lock) == 0);
    while (list) {
        struct item *next = list->next;
        verify_and_free(list, (list->seed & 3) == 0);
        atomic_fetch_add_explicit(&received, 1, memory_order_relaxed);
        hf_free(list);
        list = next;
    }
}

static int cmp_item(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)(*(const struct item *const *)a)->p;
    uintptr_t y = (uintptr_t)(*(const struct item *const *)b)->p;
    return x < y ? -1 : x > y;
}

static void check_no_overlap(struct item **local, size_t n) {
    struct item *sorted[LOCAL];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (local[i]) sorted[m++] = local[i];
    qsort(sorted, m, sizeof sorted[0], cmp_item);
    for (size_t i = 0; i + 1 < m; i++) {
        uintptr_t end = (uintptr_t)sorted[i]->p + hf_usable_size(sorted[i]->p);
        CHECK_LE(end, (uintptr_t)sorted[i + 1]->p);
    }
}

static void *worker(void *arg) {
    int self = (int)(intptr_t)arg;
    uint64_t rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(self + 1);
    struct item *local[LOCAL] = {0};
    for (size_t it = 0; it < iterations; it++) {
        struct item *item = hf_malloc(sizeof *item);
        CHECK(item != NULL);
        item->n = pick_size(&rng);
        item->p = alloc_block(&rng, item->n);
        item->seed = test_rand(&rng);
        test_fill(item->p, item->n, item->seed);

        uint64_t r = test_rand(&rng) % 100;
        if (r < 75) { /* hand over to another thread */
            int to = (self + 1 + (int)(test_rand(&rng) % (NTHREADS - 1))) % NTHREADS;
            struct queue *q = &queues[to];
            CHECK(pthread_mutex_lock(&q->lock) == 0);
            item->next = q->head;
            q->head = item;
            q->len++;
            CHECK(pthread_mutex_unlock(&q->lock) == 0);
            atomic_fetch_add_explicit(&sent, 1, memory_order_relaxed);
        } else { /* keep locally, replacing (and freeing) an old block */
            size_t slot = test_rand(&rng) % LOCAL;
            struct item *old = local[slot];
            local[slot] = item;
            if (old) {
                if (test_rand(&rng) % 3 == 0) { /* resize the old block and keep it instead */
                    size_t n = pick_size(&rng);
                    void *p = hf_realloc(old->p, n);
                    CHECK(p != NULL);
                    CHECK_ALIGNED(p, 16);
                    CHECK_PATTERN(p, old->n < n ? old->n : n, old->seed);
                    old->p = p;
                    old->n = n;
                    old->seed = test_rand(&rng);
                    test_fill(p, n, old->seed);
                    local[slot] = old;
                    old = item;
                }
                verify_and_free(old, 0);
                hf_free(old);
            }
        }
        if (it % 16 == 0) drain(self);
        if (it % 4096 == 0) check_no_overlap(local, LOCAL);
    }
    check_no_overlap(local, LOCAL);
    pthread_barrier_wait(&done_barrier); /* nobody sends after this point */
    drain(self);
    for (size_t i = 0; i < LOCAL; i++)
        if (local[i]) {
            verify_and_free(local[i], 1);
            hf_free(local[i]);
        }
    return NULL;
}

int main(int argc, char **argv) {
    iterations = test_scaled(120000, test_scale(argc, argv));
    /* stdout's buffer is taken now, beside the blocks the C runtime keeps from the start: taken
     * by the first printf at the end instead, at HEAPFORGE_SECURE=3 it would land in a fresh
     * segment (the quarantine still holds the main heap's freed blocks then) and pin it. */
    printf("stress_xthread: %d threads, %zu iterations each\n", NTHREADS, iterations);
    CHECK(pthread_barrier_init(&done_barrier, NULL, NTHREADS) == 0);
    for (int i = 0; i < NTHREADS; i++) CHECK(pthread_mutex_init(&queues[i].lock, NULL) == 0);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < NTHREADS; i++) CHECK(pthread_join(th[i], NULL) == 0);
    for (int i = 0; i < NTHREADS; i++) CHECK(queues[i].head == NULL);
    CHECK_EQ(atomic_load(&sent), atomic_load(&received));
    CHECK_EQ(atomic_load(&allocated), atomic_load(&freed));
    CHECK_EQ(atomic_load(&allocated), (size_t)NTHREADS * iterations);
    hf_process_info info;
    memset(&info, 0, sizeof info);
    info.version = sizeof info;
    hf_process_info_get(&info);
    printf("stress_xthread: ok: %zu blocks, %zu cross-thread; %zu segments, %zu spans, %zu MiB "
           "committed\n",
           atomic_load(&allocated), atomic_load(&sent), info.segments, info.spans,
           info.committed_bytes >> 20);
    /* Every block is freed and the workers are gone: a trim adopts their segments and hands all
     * of them back, leaving no abandoned segment and no cached large block. What stays is the
     * segments of the blocks the runtime keeps while the process lives (the test runs without
     * LD_PRELOAD, but the library's malloc serves libc too): stdout's buffer and the joined
     * threads' TLS vectors (glibc keeps their stacks for reuse) in one, and under UBSan
     * libstdc++'s 71 KiB exception pool, a medium block, in another. */
    hf_trim(0);
    hf_process_info_get(&info);
    printf("stress_xthread: after hf_trim: %zu segments (%zu abandoned), %zu spans, %zu MiB "
           "committed\n",
           info.segments, info.abandoned_segments, info.spans, info.committed_bytes >> 20);
    CHECK_EQ(info.abandoned_segments, 0);
    CHECK_LE(info.segments, 2);
    CHECK_EQ(info.spans, 0);
    return 0;
}
