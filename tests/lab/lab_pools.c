/* lab_pools.c -- tests of the lab's pool policies: segregated fit, buddy and TLSF.
 *
 * Each test runs in a forked child (a failed CHECK aborts only that test): the buddy
 * system's split and merge arithmetic, the TLSF size mapping and list choice, the segregated
 * classes and coalescing, a randomized conformance run per policy against a shadow model with
 * check() after every operation, and error detection (double free, invalid free). */
#include "lab/lab.h"
#include "lab/tlsf.h"
#include "test_death.h"
#include "test_util.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>

static _Alignas(64) uint8_t g_state[16384];
#define R1_SIZE ((1u << 18) + 4096 + 32 + 16) /* not a power of two: the buddy carves it */
#define R2_SIZE (1u << 19)
static _Alignas(4096) uint8_t g_r1[R1_SIZE + 4096];
static _Alignas(4096) uint8_t g_r2[R2_SIZE];

static const hf_lab_policy *g_pol; /* the policy the current test runs on */

static void *setup(const hf_lab_policy *pol, unsigned max_order) {
    hf_lab_config cfg = {0};
    cfg.buddy_max_order = max_order;
    cfg.seed = 42;
    CHECK_LE(pol->state_size, sizeof g_state);
    CHECK_EQ(pol->state_size % 16, 0);
    memset(g_state, 0xA5, sizeof g_state);
    pol->init(g_state, &cfg);
    return g_state;
}

static void check_ok(const hf_lab_policy *pol, void *st) {
    const char *e = pol->check(st);
    if (e) {
        fprintf(stderr, "%s: check() failed: %s\n", pol->name, e);
        abort();
    }
}

static hf_lab_policy_stats stats_of(const hf_lab_policy *pol, void *st) {
    hf_lab_policy_stats s;
    pol->stats(st, &s);
    return s;
}

/* ---- buddy --------------------------------------------------------------------------- */

static void test_buddy_split_merge(void) {
    const hf_lab_policy *pol = &hfi_policy_buddy;
    void *st = setup(pol, 0);
    uint8_t *base = g_r1;
    pol->add_region(st, base, 4096);
    hf_lab_policy_stats s = stats_of(pol, st);
    CHECK_EQ(s.bins, 23); /* default maximum order 22 */
    CHECK_EQ(s.per_bin[12], 1);
    CHECK_EQ(s.free_blocks, 1);

    uint8_t *p = pol->malloc(st, 1); /* a 32-byte block: 12 -> 11 -> ... -> 5 */
    CHECK(p == base + 16);
    check_ok(pol, st);
    s = stats_of(pol, st);
    for (unsigned k = 5; k <= 11; k++) CHECK_EQ(s.per_bin[k], 1);
    CHECK_EQ(s.per_bin[12], 0);
    CHECK_EQ(s.free_blocks, 7);
    CHECK_EQ(s.free_bytes, 4096 - 32);
    CHECK_EQ(s.largest_free, 2048);
    CHECK_EQ(s.used_blocks, 1);
    CHECK_EQ(pol->usable_size(st, p), 16);

    uint8_t *q = pol->malloc(st, 16); /* the buddy of p: offset 0 ^ 32 */
    CHECK(q - 16 == base + ((size_t)(p - 16 - base) ^ 32));
    uint8_t *r = pol->malloc(st, 100); /* order 7: the free 128-byte block at offset 128 */
    CHECK(r == base + 128 + 16);
    s = stats_of(pol, st);
    CHECK_EQ(s.per_bin[5], 0);
    CHECK_EQ(s.per_bin[6], 1);
    CHECK_EQ(s.per_bin[7], 0);
    check_ok(pol, st);

    pol->free(st, p); /* its buddy q is used: no merge */
    s = stats_of(pol, st);
    CHECK_EQ(s.per_bin[5], 1);
    pol->free(st, q); /* 5+5 -> 6, 6+6 -> 7; stops at r's order-7 buddy */
    s = stats_of(pol, st);
    CHECK_EQ(s.per_bin[5], 0);
    CHECK_EQ(s.per_bin[6], 0);
    CHECK_EQ(s.per_bin[7], 1);
    check_ok(pol, st);
    pol->free(st, r);
    s = stats_of(pol, st);
    CHECK_EQ(s.per_bin[12], 1);
    CHECK_EQ(s.free_blocks, 1);
    CHECK_EQ(s.used_blocks, 0);
    check_ok(pol, st);

    /* XOR with the region base, not the absolute address: a base at 16 mod 4096 */
    st = setup(pol, 0);
    base = g_r1 + 16;
    pol->add_region(st, base, 4096);
    uint8_t *a = pol->malloc(st, 48), *b = pol->malloc(st, 48); /* order 6 each */
    CHECK(a == base + 16);
    CHECK(b - 16 == base + ((size_t)(a - 16 - base) ^ 64));
    pol->free(st, a);
    pol->free(st, b);
    CHECK_EQ(stats_of(pol, st).per_bin[12], 1);
    check_ok(pol, st);
}

static void test_buddy_carve_and_max_order(void) {
    const hf_lab_policy *pol = &hfi_policy_buddy;
    void *st = setup(pol, 0);
    pol->add_region(st, g_r1, 4096 + 1024 + 32 + 16); /* 4096 | 1024 | 32 | 16 unused */
    hf_lab_policy_stats s = stats_of(pol, st);
    CHECK_EQ(s.per_bin[12], 1);
    CHECK_EQ(s.per_bin[10], 1);
    CHECK_EQ(s.per_bin[5], 1);
    CHECK_EQ(s.free_blocks, 3);
    check_ok(pol, st);

    st = setup(pol, 10);
    pol->add_region(st, g_r1, 4096);
    s = stats_of(pol, st);
    CHECK_EQ(s.bins, 11);
    CHECK_EQ(s.per_bin[10], 4);
    CHECK(pol->malloc(st, 1009) == NULL);
    CHECK_EQ(pol->region_need(st, 1008), 1024);
    CHECK_EQ(pol->region_need(st, 1009), SIZE_MAX);
    void *p[4];
    for (int i = 0; i < 4; i++) CHECK((p[i] = pol->malloc(st, 1008)) != NULL);
    CHECK(pol->malloc(st, 1) == NULL);
    for (int i = 0; i < 4; i++) pol->free(st, p[i]);
    s = stats_of(pol, st);
    CHECK_EQ(s.per_bin[10], 4); /* never merged above the maximum order */
    CHECK_EQ(s.free_blocks, 4);
    check_ok(pol, st);

    st = setup(pol, 0);
    CHECK_EQ(pol->region_need(st, 0), 32);
    CHECK_EQ(pol->region_need(st, 16), 32);
    CHECK_EQ(pol->region_need(st, 17), 64);
    CHECK_EQ(pol->region_need(st, 1008), 1024);
    CHECK_EQ(pol->region_need(st, 1009), 2048);

    /* memalign: the aligned payload, then resize within the block */
    pol->add_region(st, g_r1 + 16, 65536);
    uint8_t *a = pol->memalign(st, 256, 300);
    CHECK(a != NULL);
    CHECK_ALIGNED(a, 256);
    CHECK_GE(pol->usable_size(st, a), 300);
    memset(a, 0x5a, 300);
    check_ok(pol, st);
    CHECK(pol->resize(st, a, pol->usable_size(st, a)));
    pol->free(st, a);
    CHECK_EQ(stats_of(pol, st).used_blocks, 0);
    check_ok(pol, st);
}

/* ---- TLSF ---------------------------------------------------------------------------- */

static void expect_map(size_t size, unsigned fl, unsigned sl) {
    unsigned f, l;
    hfi_tlsf_mapping(size, &f, &l);
    if (f != fl || l != sl) {
        fprintf(stderr, "tlsf mapping of %zu: (%u, %u), expected (%u, %u)\n", size, f, l, fl, sl);
        abort();
    }
}

static void test_tlsf_mapping(void) {
    expect_map(0, 0, 0);
    expect_map(16, 0, 1);
    expect_map(48, 0, 3);
    expect_map(240, 0, 15);
    expect_map(255, 0, 15);
    expect_map(256, 1, 0);
    expect_map(271, 1, 0);
    expect_map(272, 1, 1);
    expect_map(511, 1, 15);
    expect_map(512, 2, 0);
    expect_map(543, 2, 0);
    expect_map(544, 2, 1);
    expect_map(1023, 2, 15);
    expect_map(1024, 3, 0);
    expect_map(1088, 3, 1);
    expect_map((size_t)1 << 20, 13, 0);
    expect_map(((size_t)1 << 20) + ((size_t)1 << 16), 13, 1);
    expect_map(((size_t)1 << 21) - 1, 13, 15);
    expect_map((size_t)1 << 38, 31, 0);
    expect_map(((size_t)1 << 40) - 1, HFI_TLSF_FL_COUNT - 1, HFI_TLSF_SL_COUNT - 1);
    /* monotonic, and each list's sizes are one contiguous range */
    unsigned pf = 0, ps = 0;
    for (size_t s = 16; s < ((size_t)1 << 22); s += 16) {
        unsigned f, l;
        hfi_tlsf_mapping(s, &f, &l);
        CHECK(f > pf || (f == pf && l >= ps));
        CHECK_LE(l, HFI_TLSF_SL_COUNT - 1);
        pf = f;
        ps = l;
    }
}

static void test_tlsf_list_choice(void) {
    const hf_lab_policy *pol = &hfi_policy_tlsf;
    void *st = setup(pol, 0);
    pol->add_region(st, g_r1, 65536);
    /* free blocks of 1120 bytes (list (3,1)) and 1152 bytes (list (3,2)), kept apart */
    uint8_t *p1 = pol->malloc(st, 1120 - 16), *g1 = pol->malloc(st, 16);
    uint8_t *p2 = pol->malloc(st, 1152 - 16), *g2 = pol->malloc(st, 16);
    uint8_t *s1 = pol->malloc(st, 48 - 16), *g3 = pol->malloc(st, 16);
    uint8_t *s2 = pol->malloc(st, 64 - 16), *g4 = pol->malloc(st, 16);
    CHECK(p1 && g1 && p2 && g2 && s1 && g3 && s2 && g4);
    CHECK_EQ(pol->usable_size(st, p1), 1120 - 16);
    pol->free(st, p1);
    pol->free(st, p2);
    pol->free(st, s1);
    pol->free(st, s2);
    check_ok(pol, st);
    hf_lab_policy_stats s = stats_of(pol, st);
    CHECK_EQ(s.bins, HFI_TLSF_FL_COUNT);
    CHECK_EQ(s.per_bin[0], 2); /* 48 and 64 */
    CHECK_EQ(s.per_bin[3], 2); /* 1120 and 1152 */
    CHECK_EQ(s.free_blocks, 5);

    /* 1120 bytes: good fit rounds up to list (3,2), skipping the 1120-byte block that would
     * fit exactly, so no list is ever searched */
    uint8_t *q = pol->malloc(st, 1120 - 16);
    CHECK(q == p2);
    /* 1088 bytes maps to (3,1): every block of that list fits */
    uint8_t *q2 = pol->malloc(st, 1088 - 16);
    CHECK(q2 == p1);
    /* small lists are exact: 48 bytes takes the 48-byte block, 64 the 64-byte one */
    CHECK(pol->malloc(st, 1) == s1);
    CHECK(pol->malloc(st, 33) == s2);
    check_ok(pol, st);
}

/* ---- segregated ---------------------------------------------------------------------- */

typedef struct walk_acc {
    size_t n, used, free_n, free_bytes, largest;
    uint8_t *last;
    bool ordered;
    hf_lab_block_info first_free;
} walk_acc;

static void walk_fn(const hf_lab_block_info *b, void *arg) {
    walk_acc *w = arg;
    if (w->last && (uint8_t *)b->addr <= w->last) w->ordered = false;
    w->last = b->addr;
    w->n++;
    if (b->used) {
        w->used++;
    } else {
        if (!w->free_n) w->first_free = *b;
        w->free_n++;
        w->free_bytes += b->size;
        if (b->size > w->largest) w->largest = b->size;
    }
}

static walk_acc walk_of(const hf_lab_policy *pol, void *st) {
    walk_acc w;
    memset(&w, 0, sizeof w);
    w.ordered = true;
    pol->walk(st, walk_fn, &w);
    CHECK(w.ordered);
    return w;
}

static void test_segregated_classes(void) {
    const hf_lab_policy *pol = &hfi_policy_segregated;
    void *st = setup(pol, 0);
    pol->add_region(st, g_r1, 65536);
    uint8_t *a = pol->malloc(st, 64 - 24), *g1 = pol->malloc(st, 1);
    uint8_t *b = pol->malloc(st, 96 - 24), *g2 = pol->malloc(st, 1);
    CHECK(a && g1 && b && g2);
    CHECK_EQ(pol->usable_size(st, a), 40);
    CHECK_EQ(pol->usable_size(st, g1), 48 - 24);
    pol->free(st, a);
    pol->free(st, b);
    hf_lab_policy_stats s = stats_of(pol, st);
    CHECK_EQ(s.bins, 64);
    CHECK_EQ(s.per_bin[4], 1); /* classes are block size / 16 below 512 */
    CHECK_EQ(s.per_bin[6], 1);
    CHECK_EQ(s.free_blocks, 3);
    CHECK(pol->malloc(st, 40) == a);            /* 64 bytes: class 4 */
    CHECK(pol->malloc(st, 41) == b);            /* 80 bytes: class 5 empty, class 6 is next */
    CHECK_EQ(pol->usable_size(st, b), 96 - 24); /* the 16-byte rest is not split off */
    check_ok(pol, st);
}

static void test_segregated_coalesce(void) {
    const hf_lab_policy *pol = &hfi_policy_segregated;
    void *st = setup(pol, 0);
    pol->add_region(st, g_r1, 65536);
    uint8_t *a = pol->malloc(st, 100), *b = pol->malloc(st, 200), *c = pol->malloc(st, 300);
    uint8_t *g = pol->malloc(st, 1);
    size_t sa = pol->usable_size(st, a) + 24, sb = pol->usable_size(st, b) + 24;
    size_t sc = pol->usable_size(st, c) + 24;
    CHECK(b == a + sa && c == b + sb && g == c + sc);
    pol->free(st, a);
    pol->free(st, c);
    CHECK_EQ(stats_of(pol, st).free_blocks, 3);
    pol->free(st, b); /* joins both neighbours */
    check_ok(pol, st);
    hf_lab_policy_stats s = stats_of(pol, st);
    CHECK_EQ(s.free_blocks, 2);
    walk_acc w = walk_of(pol, st);
    CHECK(w.first_free.addr == a - 16);
    CHECK_EQ(w.first_free.size, sa + sb + sc);
    pol->free(st, g); /* everything is one block again */
    s = stats_of(pol, st);
    CHECK_EQ(s.free_blocks, 1);
    CHECK_EQ(s.free_bytes, 65536 - 48 - 16); /* the region record and the sentinel */
    check_ok(pol, st);
}

/* ---- region_need ----------------------------------------------------------------------- */

/* A region of exactly region_need(n) serves malloc(n), and one of region_need(n + align)
 * serves memalign(align, n) (what the arena asks for when it grows). */
static void test_region_need(void) {
    const hf_lab_policy *pol = g_pol;
    size_t sizes[] = {0, 1, 16, 17, 100, 232, 240, 241, 488, 489, 1000, 1100, 4096, 5000, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (size_t align = 16; align <= 4096; align *= 4) {
            void *st = setup(pol, 0);
            size_t n = sizes[i], need = pol->region_need(st, n + (align > 16 ? align : 0));
            CHECK_LE(need, sizeof g_r1 - 16);
            CHECK_EQ(need % 16, 0);
            pol->add_region(st, g_r1 + 16, need);
            uint8_t *p = align > 16 ? pol->memalign(st, align, n) : pol->malloc(st, n);
            if (!p) fprintf(stderr, "%s: region_need(%zu + %zu) too small\n", pol->name, n, align);
            CHECK(p != NULL);
            CHECK_ALIGNED(p, align);
            CHECK_GE(pol->usable_size(st, p), n);
            check_ok(pol, st);
        }
    void *st = setup(pol, 0);
    CHECK(pol->region_need(st, SIZE_MAX / 2) > ((size_t)1 << 50)); /* never satisfiable */
}

/* ---- randomized conformance ------------------------------------------------------------ */

typedef struct live_block {
    uint8_t *p;
    size_t n;
    uint64_t seed;
} live_block;
static live_block g_live[512];
static size_t g_nlive;

static void expect_fresh(uint8_t *p, size_t n, size_t align, uint8_t *const *rb, const size_t *rs,
                         unsigned nreg) {
    CHECK(p != NULL);
    CHECK_ALIGNED(p, align < 16 ? 16 : align);
    bool inside = false;
    for (unsigned i = 0; i < nreg; i++) inside |= p >= rb[i] && p + n <= rb[i] + rs[i];
    CHECK(inside);
    for (size_t i = 0; i < g_nlive; i++)
        CHECK(p + n <= g_live[i].p || g_live[i].p + g_live[i].n <= p);
}

static void test_conformance(void) {
    const hf_lab_policy *pol = g_pol;
    void *st = setup(pol, 0);
    uint8_t *rb[2] = {g_r1 + 16, g_r2};
    size_t rs[2] = {R1_SIZE, R2_SIZE};
    unsigned nreg = 1;
    pol->add_region(st, rb[0], rs[0]);
    check_ok(pol, st);
    uint64_t rng = 0x1234567 ^ (uint64_t)pol->name[0], seed = 1;
    g_nlive = 0;
    size_t n_malloc = 0, n_align = 0, n_null = 0, n_free = 0, n_grow = 0, n_resize_no = 0;
    const size_t ops = 20000;
    for (size_t op = 0; op < ops; op++) {
        if (op == ops / 2 && nreg == 1) pol->add_region(st, rb[nreg], rs[nreg]), nreg++;
        unsigned r = (unsigned)test_rand_range(&rng, 0, 99);
        if (g_nlive >= 400 || (g_nlive && r < 35)) { /* free */
            size_t i = test_rand_range(&rng, 0, g_nlive - 1);
            CHECK_PATTERN(g_live[i].p, g_live[i].n, g_live[i].seed);
            pol->free(st, g_live[i].p);
            g_live[i] = g_live[--g_nlive];
            n_free++;
        } else if (g_nlive && r < 55) { /* resize */
            size_t i = test_rand_range(&rng, 0, g_nlive - 1);
            live_block *l = &g_live[i];
            size_t m = test_rand_range(&rng, 1, r & 1 ? 4096 : 256);
            if (pol->resize(st, l->p, m)) {
                n_grow += m > l->n;
                CHECK_GE(pol->usable_size(st, l->p), m);
                CHECK_PATTERN(l->p, l->n < m ? l->n : m, l->seed);
                l->n = m;
                for (size_t j = 0; j < g_nlive; j++)
                    if (j != i) CHECK(l->p + m <= g_live[j].p || g_live[j].p + g_live[j].n <= l->p);
                l->seed = seed++;
                test_fill(l->p, m, l->seed);
            } else {
                n_resize_no++;
                CHECK_PATTERN(l->p, l->n, l->seed);
                CHECK_GE(pol->usable_size(st, l->p), l->n);
            }
        } else { /* malloc or memalign */
            size_t n = test_rand_range(&rng, 1, r & 1 ? 4096 : 256), align = 16;
            uint8_t *p;
            if (r >= 88) {
                align = (size_t)1 << test_rand_range(&rng, 5, 12);
                n = test_rand_range(&rng, 1, 2048);
                p = pol->memalign(st, align, n);
            } else {
                p = pol->malloc(st, n);
            }
            if (!p && nreg == 1) {
                pol->add_region(st, rb[nreg], rs[nreg]), nreg++;
                p = align > 16 ? pol->memalign(st, align, n) : pol->malloc(st, n);
            }
            n_null += !p;
            if (p) {
                n_malloc += align == 16;
                n_align += align > 16;
                expect_fresh(p, n, align, rb, rs, nreg);
                CHECK_GE(pol->usable_size(st, p), n);
                g_live[g_nlive++] = (live_block){p, n, seed};
                test_fill(p, n, seed++);
            }
        }
        check_ok(pol, st);
        if (op % 500 == 0) {
            walk_acc w = walk_of(pol, st);
            hf_lab_policy_stats s = stats_of(pol, st);
            CHECK_EQ(w.used, g_nlive);
            CHECK_EQ(s.used_blocks, g_nlive);
            CHECK_EQ(s.free_blocks, w.free_n);
            CHECK_EQ(s.free_bytes, w.free_bytes);
            CHECK_EQ(s.largest_free, w.largest);
            size_t sum = 0;
            for (unsigned k = 0; k < s.bins; k++) sum += s.per_bin[k];
            CHECK_EQ(sum, s.free_blocks);
            for (size_t i = 0; i < g_nlive; i++)
                CHECK_PATTERN(g_live[i].p, g_live[i].n, g_live[i].seed);
        }
    }
    CHECK_EQ(nreg, 2);
    printf("     %s: %zu malloc, %zu memalign, %zu NULL, %zu free, %zu grown in place, "
           "%zu resize refused\n",
           pol->name, n_malloc, n_align, n_null, n_free, n_grow, n_resize_no);
    while (g_nlive) {
        CHECK_PATTERN(g_live[g_nlive - 1].p, g_live[g_nlive - 1].n, g_live[g_nlive - 1].seed);
        pol->free(st, g_live[--g_nlive].p);
        check_ok(pol, st);
    }
    hf_lab_policy_stats s = stats_of(pol, st);
    CHECK_EQ(s.used_blocks, 0);
    if (pol != &hfi_policy_buddy) CHECK_EQ(s.free_blocks, 2); /* one per region */
    walk_acc w = walk_of(pol, st);
    CHECK_EQ(w.used, 0);
    CHECK_EQ(w.free_n, s.free_blocks);
}

/* ---- error detection ------------------------------------------------------------------- */

/* A child case: fn runs in a child that must die of SIGABRT with the expected first line. */
typedef struct child_case {
    void (*fn)(void);
} child_case;
static void run_case(void *arg) {
    ((child_case *)arg)->fn();
}
static void expect_abort(void (*fn)(void), const char *prefix) {
    child_case c = {fn};
    test_expect_abort_prefix(run_case, &c, prefix, g_pol->name);
}

static void *fresh_heap(void) {
    void *st = setup(g_pol, 0);
    memset(g_r1, 0, 65536);
    g_pol->add_region(st, g_r1, 65536);
    return st;
}
static void child_double_free(void) {
    void *st = fresh_heap();
    void *keep = g_pol->malloc(st, 10);
    void *p = g_pol->malloc(st, 100);
    g_pol->free(st, p);
    g_pol->free(st, p);
    (void)keep;
}
static void child_double_free_merged(void) {
    void *st = fresh_heap();
    void *p = g_pol->malloc(st, 100), *q = g_pol->malloc(st, 100);
    g_pol->free(st, q);
    g_pol->free(st, p); /* p merges with q and the rest */
    g_pol->free(st, q);
}
static void child_interior_free(void) {
    void *st = fresh_heap();
    uint8_t *p = g_pol->malloc(st, 100);
    g_pol->free(st, p + 32);
}
static void child_misaligned_free(void) {
    void *st = fresh_heap();
    uint8_t *p = g_pol->malloc(st, 100);
    g_pol->free(st, p + 8);
}
static void child_foreign_free(void) {
    void *st = fresh_heap();
    static _Alignas(16) uint8_t other[64];
    g_pol->free(st, other + 16);
}
static void child_aligned_interior_free(void) {
    void *st = fresh_heap();
    uint8_t *p = g_pol->memalign(st, 256, 100);
    CHECK(p != NULL);
    g_pol->free(st, p - 16); /* not what memalign returned */
}

static void test_errors(void) {
    expect_abort(child_double_free, "heapforge: double free of");
    expect_abort(child_double_free_merged, "heapforge: double free of");
    expect_abort(child_interior_free, "heapforge: invalid free of");
    expect_abort(child_misaligned_free, "heapforge: invalid free of");
    expect_abort(child_foreign_free, "heapforge: invalid free of");
    expect_abort(child_aligned_interior_free, "heapforge: ");

    /* an overwritten header is seen by check(), and the heap is usable once it is restored */
    void *st = fresh_heap();
    uint8_t *p = g_pol->malloc(st, 100), *q = g_pol->malloc(st, 100);
    CHECK(p && q);
    uint64_t saved;
    memcpy(&saved, q - 16, 8);
    uint64_t bad = saved ^ 0x40;
    memcpy(q - 16, &bad, 8);
    CHECK(g_pol->check(st) != NULL);
    CHECK_EQ(g_pol->usable_size(st, q), 0);
    memcpy(q - 16, &saved, 8);
    check_ok(g_pol, st);
    g_pol->free(st, p);
    g_pol->free(st, q);
    check_ok(g_pol, st);
}

/* ---- driver ---------------------------------------------------------------------------- */

static unsigned g_passed, g_failed;

static void run(const char *name, const hf_lab_policy *pol, void (*fn)(void)) {
    g_pol = pol;
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        fn();
        fflush(NULL);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", name, pol ? " / " : "", pol ? pol->name : "");
    if (ok)
        g_passed++;
    else
        g_failed++;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const hf_lab_policy *pols[] = {&hfi_policy_segregated, &hfi_policy_buddy, &hfi_policy_tlsf};
    run("buddy split and merge", NULL, test_buddy_split_merge);
    run("buddy carving and maximum order", NULL, test_buddy_carve_and_max_order);
    run("tlsf mapping", NULL, test_tlsf_mapping);
    run("tlsf list choice", NULL, test_tlsf_list_choice);
    run("segregated classes", NULL, test_segregated_classes);
    run("segregated coalescing", NULL, test_segregated_coalesce);
    for (int i = 0; i < 3; i++) {
        run("region_need", pols[i], test_region_need);
        run("conformance", pols[i], test_conformance);
        run("error detection", pols[i], test_errors);
    }
    printf("lab_pools: %u passed, %u failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
