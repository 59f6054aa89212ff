/* lab_regions.c -- the lab's region lookup: the shared index (region.c) against a brute-force
 * model, and every policy given thousands of regions in ascending, descending and random
 * address order (the break grows up, mmap goes down, other mappings land anywhere) with each
 * region's blocks freed through the lookup and check() passing after every phase. Buddy's
 * table outgrows the 256 descriptors its state holds on the way. */
#include "lab/lab.h"
#include "test_util.h"

#include <sys/mman.h>

enum { NREG = 3000, RSIZE = 4096 };

static uint64_t g_rng = 0x243F6A8885A308D3ULL;

static void shuffle(size_t *v, size_t n) {
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(test_rand(&g_rng) % (i + 1)), t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* Order 0: ascending, 1: descending, 2: random; the indices of NREG slots. */
static void order_of(size_t *v, int order) {
    for (size_t i = 0; i < NREG; i++) v[i] = order == 1 ? NREG - 1 - i : i;
    if (order == 2) shuffle(v, NREG);
}

/* The tree: floor() agrees with a scan over the inserted nodes, for hits and misses. */
static void test_tree(uint8_t *mem) {
    for (int order = 0; order < 3; order++) {
        static size_t idx[NREG];
        static bool in[NREG];
        order_of(idx, order);
        memset(in, 0, sizeof in);
        hfi_lab_rnode *root = NULL;
        for (size_t k = 0; k < NREG; k++) {
            hfi_lab_rnode *n = (hfi_lab_rnode *)(mem + idx[k] * 64);
            hfi_lab_rnode *pred = hfi_lab_rtree_insert(&root, n);
            size_t below = idx[k];
            while (below > 0 && !in[below - 1]) below--;
            CHECK(pred == (below ? (hfi_lab_rnode *)(mem + (below - 1) * 64) : NULL));
            in[idx[k]] = true;
            if (k % 500 == 0 || k == NREG - 1) CHECK(hfi_lab_rtree_check(root, k + 1) == NULL);
        }
        CHECK(hfi_lab_rtree_check(root, NREG - 1) != NULL); /* a wrong count is caught */
        for (size_t i = 0; i < NREG; i++) {
            CHECK(hfi_lab_rtree_floor(root, mem + i * 64) == (hfi_lab_rnode *)(mem + i * 64));
            CHECK(hfi_lab_rtree_floor(root, mem + i * 64 + 63) == (hfi_lab_rnode *)(mem + i * 64));
        }
        CHECK(hfi_lab_rtree_floor(root, mem - 1) == NULL);
    }
}

static const hf_lab_policy *const policies[] = {
    &hfi_policy_first_fit,  &hfi_policy_next_fit, &hfi_policy_best_fit, &hfi_policy_worst_fit,
    &hfi_policy_segregated, &hfi_policy_buddy,    &hfi_policy_tlsf};

static void check_ok(const hf_lab_policy *pol, void *st, const char *when) {
    const char *why = pol->check(st);
    if (why) fprintf(stderr, "%s: check() after %s: %s\n", pol->name, when, why);
    CHECK(why == NULL);
}

/* NREG regions of RSIZE bytes, a gap of one page between neighbours (no policy merges them),
 * added in the given order; two blocks from each; all freed in random order. */
static void test_policy(const hf_lab_policy *pol, uint8_t *mem, int order) {
    static _Alignas(64) uint8_t state[16384];
    static size_t idx[NREG];
    static void *blocks[2 * NREG];
    CHECK_LE(pol->state_size, sizeof state);
    hf_lab_config cfg = {.seed = 9, .secret = 0x5ec2e7};
    pol->init(state, &cfg);
    order_of(idx, order);
    for (size_t k = 0; k < NREG; k++) pol->add_region(state, mem + idx[k] * 2 * RSIZE, RSIZE);
    check_ok(pol, state, "adding the regions");
    size_t nb = 0;
    for (size_t k = 0; k < 2 * NREG; k++) {
        void *p = pol->malloc(state, 1000);
        CHECK(p != NULL);
        CHECK_GE(pol->usable_size(state, p), 1000);
        memset(p, 0x3c, 1000);
        blocks[nb++] = p;
    }
    check_ok(pol, state, "filling them");
    size_t order_idx[2 * NREG];
    for (size_t i = 0; i < nb; i++) order_idx[i] = i;
    shuffle(order_idx, nb);
    for (size_t i = 0; i < nb; i++) {
        void *p = blocks[order_idx[i]];
        CHECK(pol->diagnose(state, p) == NULL);
        pol->free(state, p);
    }
    check_ok(pol, state, "freeing everything");
    hf_lab_policy_stats s;
    pol->stats(state, &s);
    CHECK_EQ(s.used_blocks, 0);
    if (pol->destroy) pol->destroy(state);
}

int main(void) {
    size_t bytes = (size_t)NREG * 2 * RSIZE;
    uint8_t *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED);
    test_tree(mem);
    for (unsigned i = 0; i < sizeof policies / sizeof *policies; i++)
        for (int order = 0; order < 3; order++) {
            memset(mem, 0, bytes);
            test_policy(policies[i], mem, order);
        }
    munmap(mem, bytes);
    printf("lab_regions: passed\n");
    return 0;
}
