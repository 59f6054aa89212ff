/* tests/lab/lab_fitsearch.c -- the fits' searches against brute force.
 *
 * 1. The address skip list's span maxima (skiplist.c): random inserts, removes and in-place size
 *    changes of free nodes; after each, the validator (which recomputes every maximum) and
 *    hfi_skiplist_first_fit(need, from) against a scan of the model for random needs and
 *    starting addresses.
 * 2. Each fit policy on a heap of thousands of free blocks: before every malloc the expected
 *    block is computed from a walk of the heap by the policy's definition (first fit: lowest
 *    address that fits; next fit: the same from the rover, wrapping once; best fit: smallest
 *    that fits, lowest address on ties; worst fit: the largest, highest address on ties, if it
 *    fits), and the block malloc returns must be exactly that one; check() runs throughout. */
#include "lab/fit.h"
#include "test_util.h"

#include <heapforge.h>

#define BUF (8u << 20)
static _Alignas(4096) uint8_t buf[BUF];
static _Alignas(16) uint8_t state_buf[1024];
static int passed;

static bool vet_buf(const void *ctx, const hfi_fnode *n) {
    (void)ctx;
    return (const uint8_t *)n > buf && (const uint8_t *)n < buf + BUF;
}

/* ---- 1. span maxima ------------------------------------------------------------------ */
static const char *check_spans(const hfi_skiplist *sl) {
    const char *why = hfi_skiplist_check(sl, vet_buf, NULL);
    return why ? why : hfi_skiplist_check_spans(sl);
}

static void test_first_fit_model(void) {
    enum { K = 3000 };
    static uint8_t *blk[K];
    static size_t room[K];
    static bool in[K];
    uint64_t rng = 17, hr = 23;
    uint8_t *b = buf;
    for (int i = 0; i < K; i++) { /* block sizes 64 .. 1024: room for every tower drawn */
        room[i] = 64 + 16 * test_rand_range(&rng, 0, 60);
        hfi_block_write(0, b, room[i], false);
        hfi_fnode *n = hfi_block_node(b);
        unsigned cap = hfi_node_capacity(room[i]);
        unsigned ha = hfi_skiplist_height(&hr), hs = hfi_skiplist_height(&hr);
        while (hfi_sl_words(true, ha, hs) > cap) {
            if (ha > 1)
                ha--;
            else
                hs--;
        }
        n->h[0] = (uint8_t)ha;
        n->h[1] = (uint8_t)hs;
        hfi_node_set_ext(n, NULL);
        blk[i] = b;
        b += room[i];
    }
    hfi_skiplist sa;
    hfi_skiplist_init(&sa, HFI_SL_ADDR);
    size_t tall = 0;
    for (int op = 0; op < 20000; op++) {
        int i = (int)test_rand_range(&rng, 0, K - 1);
        hfi_fnode *n = hfi_block_node(blk[i]);
        unsigned kind = (unsigned)test_rand_range(&rng, 0, 9);
        if (in[i] && kind < 3) { /* a size change in place: shrink, or grow back */
            size_t old = hfi_block_size(blk[i]);
            size_t size = 64 + 16 * test_rand_range(&rng, 0, (room[i] - 64) / 16);
            while (hfi_node_capacity(size) < hfi_sl_words(true, n->h[0], n->h[1])) size += 16;
            hfi_block_write(0, blk[i], size, false); /* the footer stays past the node */
            hfi_skiplist_resized(&sa, n, old);
        } else if (in[i]) {
            CHECK(hfi_skiplist_remove_spans(&sa, n));
            in[i] = false;
        } else {
            hfi_block_write(0, blk[i], room[i], false);
            hfi_skiplist_insert_spans(&sa, n);
            in[i] = true;
            tall += n->h[0] > 2;
        }
        if (op % 7 == 0 || op < 500) {
            const char *why = check_spans(&sa);
            if (why) fprintf(stderr, "op %d: %s\n", op, why);
            CHECK(why == NULL);
        }
        for (int q = 0; q < 4; q++) {
            size_t need = 64 + 16 * test_rand_range(&rng, 0, 64);
            int fromi = q == 0 ? -1 : (int)test_rand_range(&rng, 0, K - 1);
            uintptr_t from = fromi < 0 ? 0 : (uintptr_t)hfi_block_node(blk[fromi]) + (q == 3);
            const hfi_fnode *want = NULL;
            for (int j = 0; j < K && !want; j++)
                if (in[j] && (uintptr_t)hfi_block_node(blk[j]) >= from &&
                    hfi_block_size(blk[j]) >= need)
                    want = hfi_block_node(blk[j]);
            CHECK_EQ(hfi_skiplist_first_fit(&sa, need, from), want);
        }
    }
    CHECK(check_spans(&sa) == NULL);
    CHECK_GE(tall, 100); /* upper levels were really in use */
    /* The validator notices a wrong maximum. */
    hfi_fnode *t = NULL;
    for (hfi_fnode *n = hfi_skiplist_first(&sa); n && !t; n = hfi_skiplist_next(&sa, n))
        if (n->h[0] >= 2) t = n;
    CHECK(t != NULL);
    size_t *w = (size_t *)(void *)(hfi_node_tower(t, HFI_SL_ADDR) + t->h[0] + t->h[1]);
    size_t save = *w;
    *w ^= 16;
    CHECK(check_spans(&sa) != NULL);
    *w = save;
    CHECK(check_spans(&sa) == NULL);
    printf("  span maxima: 20000 operations on %d nodes, first_fit matches the model\n", K);
    passed++;
}

/* ---- 2. the policies' choices ------------------------------------------------------------ */
typedef struct model {
    int policy; /* 0 first, 1 next, 2 best, 3 worst */
    size_t need;
    uintptr_t rover;
    uint8_t *pick, *first_any;
    size_t pick_size;
} model;

static void consider(const hf_lab_block_info *bi, void *arg) {
    model *m = (model *)arg;
    if (bi->used || bi->size < m->need) return;
    uint8_t *b = (uint8_t *)bi->addr;
    switch (m->policy) {
    case 0:
        if (!m->pick) m->pick = b;
        break;
    case 1:
        if (!m->first_any) m->first_any = b;
        if (!m->pick && (uintptr_t)hfi_block_node(b) >= m->rover) m->pick = b;
        break;
    case 2:
        if (!m->pick || bi->size < m->pick_size) m->pick = b, m->pick_size = bi->size;
        break;
    default:
        if (!m->pick || bi->size >= m->pick_size) m->pick = b, m->pick_size = bi->size;
        break;
    }
}

static size_t block_for(size_t n) {
    size_t s = ((n + 15) & ~(size_t)15) + HFI_BLOCK_OVERHEAD;
    return s < HFI_BLOCK_MIN ? HFI_BLOCK_MIN : s;
}

static void run_policy(const hf_lab_policy *pol, int which) {
    enum { SLOTS = 6000, OPS = 30000 };
    static uint8_t *slot[SLOTS];
    memset(slot, 0, sizeof slot);
    void *st = state_buf;
    CHECK_LE(pol->state_size, sizeof state_buf);
    hf_lab_config cfg = {.seed = 7 + (uint64_t)which};
    pol->init(st, &cfg);
    pol->add_region(st, buf, BUF);
    uint64_t rng = 99 + (uint64_t)which;
    size_t max_free = 0;
    for (int op = 0; op < OPS; op++) {
        int k = (int)test_rand_range(&rng, 0, SLOTS - 1);
        if (slot[k]) {
            pol->free(st, slot[k]);
            slot[k] = NULL;
        } else {
            unsigned r = (unsigned)test_rand_range(&rng, 0, 99);
            size_t n = r < 70   ? test_rand_range(&rng, 1, 256)
                       : r < 95 ? test_rand_range(&rng, 256, 2048)
                                : test_rand_range(&rng, 2048, 8192);
            hfi_fit_state *fs = (hfi_fit_state *)st;
            model m = {which, block_for(n), fs->rover ? (uintptr_t)fs->rover : 0, NULL, NULL, 0};
            pol->walk(st, consider, &m);
            uint8_t *want = which == 1 && !m.pick ? m.first_any : m.pick;
            uint8_t *p = pol->malloc(st, n);
            CHECK(want != NULL); /* the buffer is far bigger than the live set */
            if (p != want + HFI_BLOCK_TAG)
                fprintf(stderr, "%s op %d: malloc(%zu) = %p, the policy's choice is %p\n",
                        pol->name, op, n, (void *)p, (void *)(want + HFI_BLOCK_TAG));
            CHECK_EQ(p, want + HFI_BLOCK_TAG);
            slot[k] = p;
        }
        hf_lab_policy_stats s;
        pol->stats(st, &s);
        if (s.free_blocks > max_free) max_free = s.free_blocks;
        if (op < 300 || op % 101 == 0) {
            const char *why = pol->check(st);
            if (why) fprintf(stderr, "%s op %d: %s\n", pol->name, op, why);
            CHECK(why == NULL);
        }
    }
    for (int k = 0; k < SLOTS; k++)
        if (slot[k]) pol->free(st, slot[k]);
    CHECK(pol->check(st) == NULL);
    hf_lab_policy_stats s;
    pol->stats(st, &s);
    CHECK_EQ(s.free_blocks, 1);
    CHECK_GE(max_free, 200); /* the searches ran over hundreds of free blocks */
    printf("  %s: %d operations, up to %zu free blocks, every choice as defined\n", pol->name, OPS,
           max_free);
    passed++;
}

int main(void) {
    test_first_fit_model();
    run_policy(&hfi_policy_first_fit, 0);
    run_policy(&hfi_policy_next_fit, 1);
    run_policy(&hfi_policy_best_fit, 2);
    run_policy(&hfi_policy_worst_fit, 3);
    printf("lab_fitsearch: %d passed\n", passed);
    return 0;
}
