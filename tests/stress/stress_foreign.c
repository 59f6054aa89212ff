/* stress_foreign: blocks of another thread's heap, freed by a thread that allocates the same
 * classes itself, are kept by that thread and handed out again by its mallocs (src/foreign.c).
 * Usage: stress_foreign SCALE PART, PART one of
 *   blocked      the main thread allocates a few MiB of small blocks and waits in pthread_join
 *                while one worker, for several rounds, frees each of them and allocates a
 *                replacement of the same size; the footprint must stay well below the 2x of an
 *                allocator that leaves the main heap's given-back blocks idle;
 *   exit         a worker frees (and keeps) blocks of the main heap, then exits: after
 *                malloc_trim the footprint is back where it was before the blocks were allocated,
 *                so the kept blocks went back to their pages;
 *   double_free  a block kept by a thread and freed again (by the keeper, also as the first kept
 *                block, or by its owner) is still reported as a double free (in a child);
 *   ring         4 threads pass blocks around a ring through locked queues, each freeing what
 *                it receives and allocating more; every block checked and freed at the end.
 * Every block carries a pattern that is checked before it is freed. libc names, except in
 * sanitizer builds: TSan and ASan take over malloc and free, so the test calls hf_* there. */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapforge.h"
#include "heapforge-stats.h"
#include "test_death.h"
#include "test_util.h"

#ifdef HF_TEST_SANITIZE
#define t_malloc hf_malloc
#define t_calloc hf_calloc
#define t_free   hf_free
#define t_trim   hf_trim
#else
#define t_malloc malloc
#define t_calloc calloc
#define t_free   free
#define t_trim   malloc_trim
#endif

/* The keep limits of src/internal/types.h (HF_FOREIGN_BYTES, _MIN, _MAX): blocks kept per class. */
static size_t kept_limit(size_t block_size) {
    size_t n = 16384 / block_size;
    return n < 4 ? 4 : n > 64 ? 64 : n;
}

static uint64_t committed_now(void) {
    hf_stats st;
    hf_stats_get(&st);
    return st.committed;
}
static uint64_t peak_committed_now(void) {
    hf_stats st;
    hf_stats_get(&st);
    return st.peak_committed;
}

static double mib(uint64_t b) {
    return (double)b / (1024.0 * 1024.0);
}

static void *xmalloc(size_t n) {
    void *p = t_malloc(n);
    CHECK(p != NULL);
    CHECK_GE(hf_usable_size(p), n);
    return p;
}

/* calloc: the block must come zeroed, also when it is a kept block of another heap. */
static void *xcalloc(size_t n) {
    unsigned char *p = t_calloc(1, n);
    CHECK(p != NULL);
    CHECK_GE(hf_usable_size(p), n);
    for (size_t i = 0; i < n; i++) CHECK_EQ(p[i], 0);
    return p;
}

static void check_free(void *p, size_t n, uint64_t seed) {
    size_t bad = test_verify(p, n, seed);
    if (bad != (size_t)-1) {
        fprintf(stderr, "block %p (%zu bytes, seed %llu) corrupted at offset %zu\n", p, n,
                (unsigned long long)seed, bad);
        CHECK(0);
    }
    t_free(p);
}

/* Start a thread that allocates and frees, and wait for it: the first heap of a thread and
 * pthread's own allocations are made before any footprint is measured. */
static void *warm_body(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) t_free(xmalloc(16 + (size_t)(i % 4) * 16));
    return NULL;
}
static void warm_up(void) {
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, warm_body, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
}

/* ---- blocked: the owner waits in pthread_join --------------------------------------------- */
struct blocked {
    size_t n, rounds;
    void **p;
    size_t *len;
    uint64_t *seed;
    uint64_t live_peak; /* committed while the worker still has every block live, at its end */
};

static void *blocked_worker(void *arg) {
    struct blocked *b = arg;
    uint64_t rng = 0x5DEECE66Dull;
    for (size_t r = 1; r <= b->rounds; r++) {
        for (size_t i = 0; i < b->n; i++) {
            check_free(b->p[i], b->len[i], b->seed[i]);
            /* One in four by calloc: kept blocks must come zeroed too. */
            b->p[i] = test_rand(&rng) % 4 == 0 ? xcalloc(b->len[i]) : xmalloc(b->len[i]);
            b->seed[i] = r * b->n + i;
            test_fill(b->p[i], b->len[i], b->seed[i]);
        }
    }
    b->live_peak = committed_now();
    for (size_t i = 0; i < b->n; i++) check_free(b->p[i], b->len[i], b->seed[i]);
    return NULL;
}

static void part_blocked(double scale) {
    warm_up();
    /* 8 MiB live whatever the scale: the worker's own first page of each class, some 2 MiB, is
     * the part of the footprint that does not shrink with the block count. */
    struct blocked b = {.n = test_scaled(16384, scale < 1 ? 1 : scale),
                        .rounds = scale < 1 ? 2 : 4};
    b.p = calloc(b.n, sizeof *b.p);
    b.len = calloc(b.n, sizeof *b.len);
    b.seed = calloc(b.n, sizeof *b.seed);
    CHECK(b.p && b.len && b.seed);
    uint64_t rng = 88172645463325252ull, live = 0;
    t_trim(0);
    uint64_t before = committed_now();
    for (size_t i = 0; i < b.n; i++) {
        b.len[i] = test_rand_range(&rng, 16, 1000);
        b.p[i] = xmalloc(b.len[i]);
        CHECK(hf_owns(b.p[i])); /* the libc names reach heapforge */
        b.seed[i] = i;
        test_fill(b.p[i], b.len[i], b.seed[i]);
        live += hf_usable_size(b.p[i]);
    }
    uint64_t allocated = committed_now();
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, blocked_worker, &b), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    uint64_t peak = peak_committed_now();
    CHECK_GE(peak, allocated);
    double ratio = (double)(peak - before) / (double)live;
    double extra = (double)(peak - allocated) / (double)live;
    printf("blocked: %zu blocks, %.2f MiB live (usable); committed before %.2f MiB, after the "
           "allocations %.2f MiB, at the worker's end %.2f MiB, peak %.2f MiB; "
           "(peak - before) / live = %.2f, (peak - allocated) / live = %.2f\n",
           b.n, mib(live), mib(before), mib(allocated), mib(b.live_peak), mib(peak), ratio, extra);
    /* Without keeping, the worker's replacements take fresh pages while the main heap's
     * given-back blocks stay idle: measured 2.27 and 1.14 (8 MiB live, release). With it the
     * worker adds little more than its own first page of each class: 1.38 and 0.24. */
    CHECK(ratio < 1.6);
    CHECK(extra < 0.5);
    /* Everything was freed: after a trim the footprint is back near where it started. */
    t_trim(0);
    uint64_t end = committed_now();
    printf("blocked: committed after malloc_trim %.2f MiB\n", mib(end));
    CHECK_LE(end, before + (256u << 10));
    free(b.p);
    free(b.len);
    free(b.seed);
}

/* ---- exit: kept blocks go back to their owners at thread exit ---------------------------- */
/* Block sizes that are class sizes, so that kept_limit matches the library's. */
static const size_t exit_sizes[] = {16, 48, 128, 256, 512, 1024, 2048, 4096, 8192};
enum { EXIT_CLASSES = sizeof exit_sizes / sizeof exit_sizes[0], EXIT_PER_CLASS = 64 };

struct exit_set {
    void *p[EXIT_CLASSES][EXIT_PER_CLASS];
    size_t count[EXIT_CLASSES];
};

static void *exit_worker(void *arg) {
    struct exit_set *e = arg;
    /* The classes allocated here first (the slow path opens them for keeping). */
    void *own[EXIT_CLASSES];
    for (size_t c = 0; c < EXIT_CLASSES; c++) {
        own[c] = xmalloc(exit_sizes[c]);
        CHECK_EQ(hf_usable_size(own[c]), exit_sizes[c]);
        test_fill(own[c], exit_sizes[c], 1000 + c);
    }
    for (size_t c = 0; c < EXIT_CLASSES; c++)
        for (size_t k = 0; k < e->count[c]; k++)
            check_free(e->p[c][k], exit_sizes[c], c * EXIT_PER_CLASS + k);
    for (size_t c = 0; c < EXIT_CLASSES; c++) check_free(own[c], exit_sizes[c], 1000 + c);
    return NULL; /* the kept blocks go back at exit */
}

static void part_exit(void) {
    warm_up();
    t_trim(0);
    uint64_t before = committed_now();
    static struct exit_set e;
    size_t bytes = 0;
    for (size_t c = 0; c < EXIT_CLASSES; c++) {
        e.count[c] = kept_limit(exit_sizes[c]); /* as many as the worker can keep */
        for (size_t k = 0; k < e.count[c]; k++) {
            e.p[c][k] = xmalloc(exit_sizes[c]);
            CHECK_EQ(hf_usable_size(e.p[c][k]), exit_sizes[c]);
            test_fill(e.p[c][k], exit_sizes[c], c * EXIT_PER_CLASS + k);
            bytes += exit_sizes[c];
        }
    }
    uint64_t allocated = committed_now();
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, exit_worker, &e), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    uint64_t joined = committed_now();
    t_trim(0);
    uint64_t end = committed_now();
    printf("exit: %.0f KiB in %d classes freed by the worker; committed before %.0f KiB, "
           "allocated %.0f KiB, after the join %.0f KiB, after malloc_trim %.0f KiB\n",
           (double)bytes / 1024, (int)EXIT_CLASSES, (double)before / 1024, (double)allocated / 1024,
           (double)joined / 1024, (double)end / 1024);
    CHECK_GE(allocated, before + bytes / 2);
    /* A kept block that never went back holds its 64 KiB page: 9 classes, 9 pages (without the
     * give-back at thread exit: 704 KiB after the trim, against 128 KiB with it). */
    CHECK_LE(end, before + (64u << 10));
}

/* ---- double_free: a kept block freed again is still reported -------------------------- */
enum { DF_BLOCKS = 8, DF_SIZE = 64 };
static void *df_blocks[DF_BLOCKS];
static int df_mode;
static pthread_barrier_t df_kept;

static void *df_keeper(void *arg) {
    (void)arg;
    t_free(xmalloc(DF_SIZE));                                 /* opens the class for keeping */
    for (int k = 0; k < DF_BLOCKS; k++) t_free(df_blocks[k]); /* [0] the anchor, the rest kept */
    if (df_mode == 0) t_free(df_blocks[3]);                   /* a kept block, again */
    if (df_mode == 1) t_free(df_blocks[0]);                   /* the anchor, again */
    pthread_barrier_wait(&df_kept);
    pthread_barrier_wait(&df_kept); /* mode 2: the owner's free aborts the process first */
    return NULL;
}

/* In the child: thread B keeps the main heap's blocks, then one is freed again. Returning
 * means the double free went unnoticed (the child then exits 0). */
static void df_child(void *arg) {
    df_mode = *(const int *)arg;
    CHECK_EQ(pthread_barrier_init(&df_kept, NULL, 2), 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, df_keeper, NULL), 0);
    pthread_barrier_wait(&df_kept);
    if (df_mode == 2) t_free(df_blocks[5]); /* the owner frees a block B keeps */
    pthread_barrier_wait(&df_kept);
    CHECK_EQ(pthread_join(t, NULL), 0);
}

/* The blocks are allocated before the fork, so the child's main heap owns them and the parent
 * knows the pointer the report must name. */
static void double_free_case(int mode) {
    static const int victim[3] = {3, 0, 5};
    for (int k = 0; k < DF_BLOCKS; k++) df_blocks[k] = xmalloc(DF_SIZE);
    char err[4096], want[96];
    snprintf(want, sizeof want, "double free of %p", (void *)df_blocks[victim[mode]]);
    int status = test_death_run(df_child, &mode, err, sizeof err);
    printf("double_free mode %d: child status 0x%x, stderr: %s", mode, status,
           err[0] ? err : "(empty)\n");
    CHECK(test_died_of_abort(status));
    CHECK(strstr(err, want) != NULL);
    for (int k = 0; k < DF_BLOCKS; k++) t_free(df_blocks[k]); /* the parent's copies */
}

static void part_double_free(void) {
    for (int mode = 0; mode < 3; mode++) double_free_case(mode);
}

/* ---- ring: T threads pass blocks to the next one ---------------------------------------- */
enum { RING = 4, RING_BACKLOG = 512, RING_LOCAL = 64 };

/* A block sent around the ring starts with this header; the pattern covers the rest. */
struct msg {
    struct msg *next;
    size_t n;
    uint64_t seed, check;
};

struct ring_queue {
    pthread_mutex_t lock;
    struct msg *head;
    size_t len;
};

static struct ring_queue ring_q[RING];
static size_t ring_iters;
static atomic_size_t ring_allocated, ring_freed;

static size_t ring_size(uint64_t *rng) {
    uint64_t r = test_rand(rng) % 100;
    if (r < 80) return test_rand_range(rng, sizeof(struct msg), 1000);
    if (r < 97) return test_rand_range(rng, 1001, 8192);
    return test_rand_range(rng, 8193, 40000); /* medium: never kept */
}

static void *ring_alloc(uint64_t *rng, size_t n) {
    atomic_fetch_add_explicit(&ring_allocated, 1, memory_order_relaxed);
    return test_rand(rng) % 8 == 0 ? xcalloc(n) : xmalloc(n);
}
static void ring_free(void *p, size_t n, uint64_t seed) {
    check_free(p, n, seed);
    atomic_fetch_add_explicit(&ring_freed, 1, memory_order_relaxed);
}

static uint64_t msg_check(const struct msg *m) {
    return m->seed * 0x2545F4914F6CDD1Dull ^ m->n;
}

/* Check and free every block in the thread's own queue. */
static size_t ring_drain(unsigned me) {
    struct ring_queue *q = &ring_q[me];
    pthread_mutex_lock(&q->lock);
    struct msg *m = q->head;
    q->head = NULL;
    q->len = 0;
    pthread_mutex_unlock(&q->lock);
    size_t got = 0;
    while (m) {
        struct msg *next = m->next;
        CHECK_EQ(m->check, msg_check(m));
        CHECK_PATTERN(m + 1, m->n - sizeof *m, m->seed);
        t_free(m);
        atomic_fetch_add_explicit(&ring_freed, 1, memory_order_relaxed);
        got++;
        m = next;
    }
    return got;
}

static void *ring_body(void *arg) {
    unsigned me = (unsigned)(uintptr_t)arg;
    struct ring_queue *to = &ring_q[(me + 1) % RING];
    uint64_t rng = 0x9E3779B97F4A7C15ull * (me + 1);
    void *local[RING_LOCAL] = {0};
    size_t local_n[RING_LOCAL] = {0};
    uint64_t local_seed[RING_LOCAL] = {0};
    size_t sent = 0, received = 0;
    while (sent < ring_iters || received < ring_iters) {
        pthread_mutex_lock(&to->lock);
        bool room = to->len < RING_BACKLOG;
        pthread_mutex_unlock(&to->lock);
        if (sent < ring_iters && room) {
            size_t n = ring_size(&rng);
            struct msg *m = ring_alloc(&rng, n);
            m->n = n;
            m->seed = ((uint64_t)me << 40) | sent;
            m->check = msg_check(m);
            test_fill(m + 1, n - sizeof *m, m->seed);
            pthread_mutex_lock(&to->lock);
            m->next = to->head;
            to->head = m;
            to->len++;
            pthread_mutex_unlock(&to->lock);
            sent++;
            /* Own blocks too, freed here later: the thread's own pages stay in use. */
            unsigned k = (unsigned)(test_rand(&rng) % RING_LOCAL);
            if (local[k]) ring_free(local[k], local_n[k], local_seed[k]);
            local_n[k] = ring_size(&rng);
            local_seed[k] = ((uint64_t)(me + RING) << 40) | sent;
            local[k] = ring_alloc(&rng, local_n[k]);
            test_fill(local[k], local_n[k], local_seed[k]);
        }
        received += ring_drain(me);
    }
    for (unsigned k = 0; k < RING_LOCAL; k++)
        if (local[k]) ring_free(local[k], local_n[k], local_seed[k]);
    CHECK_EQ(received, ring_iters);
    return NULL;
}

static void part_ring(double scale) {
    warm_up();
    t_trim(0);
    uint64_t before = committed_now();
    ring_iters = test_scaled(200000, scale);
    for (unsigned i = 0; i < RING; i++) CHECK_EQ(pthread_mutex_init(&ring_q[i].lock, NULL), 0);
    pthread_t t[RING];
    for (unsigned i = 0; i < RING; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, ring_body, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < RING; i++) CHECK_EQ(pthread_join(t[i], NULL), 0);
    size_t a = atomic_load(&ring_allocated), f = atomic_load(&ring_freed);
    uint64_t peak = peak_committed_now();
    t_trim(0);
    uint64_t end = committed_now();
    printf("ring: %d threads, %zu blocks sent each, %zu allocated, %zu freed; committed before "
           "%.2f MiB, peak %.2f MiB, after malloc_trim %.2f MiB\n",
           RING, ring_iters, a, f, mib(before), mib(peak), mib(end));
    CHECK_EQ(a, f);
    CHECK_EQ(a, (size_t)RING * ring_iters * 2);
    for (unsigned i = 0; i < RING; i++) CHECK(ring_q[i].head == NULL);
    /* Every block freed, every kept block given back at its keeper's exit. */
    CHECK_LE(end, before + (256u << 10));
}

int main(int argc, char **argv) {
    double scale = test_scale(argc, argv);
    const char *part = argc > 2 ? argv[2] : "all";
    bool all = strcmp(part, "all") == 0, known = false;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (all || strcmp(part, "blocked") == 0) part_blocked(scale), known = true;
    if (all || strcmp(part, "exit") == 0) part_exit(), known = true;
    if (all || strcmp(part, "ring") == 0) part_ring(scale), known = true;
    if (strcmp(part, "double_free") == 0) part_double_free(), known = true;
    CHECK(known);
    printf("stress_foreign %s: passed\n", part);
    return 0;
}
