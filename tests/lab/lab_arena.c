/* lab_arena: the arena API over every lab policy -- creation and bad arguments, growth past the
 * first region, realloc/calloc/memalign, walk and stats agreeing with a shadow model, hf_free
 * and free() reaching the arena through the page map, the per-policy entry points, and two
 * threads sharing one arena. hf_arena_check runs after every operation. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "lab_util.h"

static int passed;

typedef struct walk_sum {
    size_t used, free_blocks, used_blocks;
} walk_sum;

static void visit(const hf_block_info *b, void *arg) {
    walk_sum *w = arg;
    if (b->used)
        w->used += b->size, w->used_blocks++;
    else
        w->free_blocks++;
}

static void test_names(void) {
    for (unsigned i = 0; i < HF_POLICY_COUNT; i++) {
        hf_policy p;
        CHECK(hf_policy_name((hf_policy)i) != NULL);
        CHECK(hf_policy_from_name(hf_policy_name((hf_policy)i), &p) == 0 && p == (hf_policy)i);
    }
    hf_policy p;
    CHECK(hf_policy_from_name("no-such-fit", &p) == -1);
    errno = 0;
    CHECK(hf_arena_create(HF_POLICY_FAST, NULL) == NULL && errno == EINVAL);
    CHECK(hf_arena_create((hf_policy)99, NULL) == NULL && errno == EINVAL);
    passed++;
}

enum { SLOTS = 300 };

/* Random operations with a shadow model; the first region is small so the arena must grow. */
static void test_policy(hf_policy pol) {
    hf_arena_config cfg = {.initial_size = 64 * 1024, .growth_step = 64 * 1024, .seed = 7};
    hf_arena *a = hf_arena_create(pol, &cfg);
    CHECK(a != NULL);
    check_arena(a, "create");
    static void *p[SLOTS];
    static size_t n[SLOTS];
    memset(p, 0, sizeof p);
    uint64_t rng = 0x1234567 + (uint64_t)pol;
    for (int op = 0; op < 6000; op++) {
        unsigned k = (unsigned)(test_rand(&rng) % SLOTS);
        unsigned r = (unsigned)(test_rand(&rng) % 10);
        if (p[k] != NULL) {
            CHECK_PATTERN(p[k], n[k], k);
            if (r < 3) { /* realloc */
                size_t m = test_rand_range(&rng, 1, 6000);
                void *q = hf_arena_realloc(a, p[k], m);
                CHECK(q != NULL);
                CHECK_PATTERN(q, n[k] < m ? n[k] : m, k);
                p[k] = q, n[k] = m;
                test_fill(q, m, k);
            } else if (r < 6) {
                hf_arena_free(a, p[k]);
                p[k] = NULL;
            } else { /* through the process-wide free: the page map finds the arena */
                hf_free(p[k]);
                p[k] = NULL;
            }
        } else {
            size_t m = r < 8 ? test_rand_range(&rng, 1, 512) : test_rand_range(&rng, 513, 20000);
            if (r == 9) {
                size_t align = (size_t)32 << (test_rand(&rng) % 8);
                p[k] = hf_arena_memalign(a, align, m);
                CHECK(p[k] != NULL);
                CHECK_ALIGNED(p[k], align);
            } else if (r == 8) {
                p[k] = hf_arena_calloc(a, 1, m);
                CHECK(p[k] != NULL);
                for (size_t i = 0; i < m; i++) CHECK(((unsigned char *)p[k])[i] == 0);
            } else {
                p[k] = hf_arena_malloc(a, m);
                CHECK(p[k] != NULL);
            }
            CHECK_ALIGNED(p[k], 16);
            CHECK(hf_arena_usable_size(a, p[k]) >= m);
            CHECK(hf_usable_size(p[k]) >= m);
            CHECK(hf_owns(p[k]));
            n[k] = m;
            test_fill(p[k], m, k);
        }
        check_arena(a, "an operation");
    }
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    CHECK(st.version == sizeof st);
    CHECK(st.footprint > cfg.initial_size); /* it grew */
    CHECK(st.peak_live_bytes >= st.live_bytes && st.peak_footprint >= st.footprint);
    walk_sum w = {0, 0, 0};
    hf_arena_walk(a, visit, &w);
    size_t live_count = 0;
    for (unsigned k = 0; k < SLOTS; k++) live_count += p[k] != NULL;
    CHECK_EQ(w.used_blocks, live_count);
    CHECK_EQ(st.used_blocks, live_count);
    CHECK_EQ(w.free_blocks, st.free_blocks);
    CHECK(st.external_fragmentation >= 0.0 && st.external_fragmentation < 1.0);
    for (unsigned k = 0; k < SLOTS; k++)
        if (p[k]) hf_arena_free(a, p[k]);
    hf_arena_stats(a, &st);
    CHECK_EQ(st.live_bytes, 0);
    CHECK_EQ(st.used_blocks, 0);
    check_arena(a, "freeing everything");
    /* a request bigger than any region so far */
    void *big = hf_arena_malloc(a, 3 << 20);
    CHECK(big != NULL);
    memset(big, 0x5A, 3 << 20);
    check_arena(a, "a large block");
    LIBC_FREE(big); /* the libc name reaches the arena too */
    hf_arena_destroy(a);
    passed++;
}

static void test_entry_points(void) {
    void *(*const entry[])(size_t) = {hf_malloc_first_fit, hf_malloc_next_fit,   hf_malloc_best_fit,
                                      hf_malloc_worst_fit, hf_malloc_segregated, hf_malloc_buddy,
                                      hf_malloc_tlsf};
    for (unsigned i = 0; i < NPOL; i++) {
        char *s = entry[i](100);
        CHECK(s != NULL);
        strcpy(s, hf_policy_name(lab_policies[i]));
        CHECK(hf_arena_usable_size(hf_arena_default(lab_policies[i]), s) >= 100);
        char *t = LIBC_REALLOC(s, 5000); /* libc realloc of a lab block stays in its arena */
        CHECK(t != NULL && strcmp(t, hf_policy_name(lab_policies[i])) == 0);
        CHECK(hf_arena_usable_size(hf_arena_default(lab_policies[i]), t) >= 5000);
        hf_free(t);
        hf_arena_statistics st;
        hf_arena_stats(hf_arena_default(lab_policies[i]), &st);
        CHECK_EQ(st.live_bytes, 0);
    }
    CHECK(hf_arena_default(HF_POLICY_FAST) == NULL);
    passed++;
}

typedef struct shared {
    hf_arena *a;
    int id;
} shared;

static void *hammer(void *arg) {
    shared *s = arg;
    void *mine[64] = {0};
    uint64_t rng = 99 + (uint64_t)s->id;
    for (int i = 0; i < 20000; i++) {
        unsigned k = (unsigned)(test_rand(&rng) % 64);
        if (mine[k]) {
            CHECK_PATTERN(mine[k], 24, (uint64_t)s->id * 64 + k);
            hf_free(mine[k]);
            mine[k] = NULL;
        } else {
            mine[k] = hf_arena_malloc(s->a, 24 + test_rand(&rng) % 200);
            CHECK(mine[k] != NULL);
            test_fill(mine[k], 24, (uint64_t)s->id * 64 + k);
        }
    }
    for (unsigned k = 0; k < 64; k++) hf_free(mine[k]);
    return NULL;
}

static void test_threads(hf_policy pol) {
    hf_arena *a = hf_arena_create(pol, NULL);
    CHECK(a != NULL);
    shared s[2] = {{a, 0}, {a, 1}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, hammer, &s[i]) == 0);
    for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
    check_arena(a, "two threads");
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    CHECK_EQ(st.live_bytes, 0);
    hf_arena_destroy(a);
    passed++;
}

int main(void) {
    test_names();
    for (unsigned i = 0; i < NPOL; i++) test_policy(lab_policies[i]);
    test_entry_points();
    for (unsigned i = 0; i < NPOL; i++) test_threads(lab_policies[i]);
    printf("lab_arena: %d passed, 0 failed\n", passed);
    return 0;
}
