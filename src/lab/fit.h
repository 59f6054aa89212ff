/* lab/fit.h -- the fit engine shared by first-, next-, best- and worst-fit: the policy state, the
 * address-ordered free list (freelist.c), and the engine (fit.c) that implements every
 * hf_lab_policy callback once, parameterised by a `choose` function per policy.
 *
 * A policy file holds only its choice and its policy table, built with HFI_FIT_POLICY. */
#ifndef HF_LAB_FIT_H
#define HF_LAB_FIT_H

#include "lab/lab.h"
#include "lab/block.h"

struct hfi_fit_state;
/* A free node of at least need bytes (block size, tags included), or NULL. */
typedef hfi_fnode *(*hfi_fit_choose_fn)(struct hfi_fit_state *st, size_t need);

typedef struct hfi_fit_state {
    hfi_skiplist by_addr; /* address order; level 0 + fnode.prev = the doubly-linked free list */
    hfi_skiplist by_size; /* (size, address) order */
    hfi_region *regions;  /* sorted by address */
    size_t nregions;
    hfi_fnode *rover; /* next-fit: the free block after the last allocation (NULL: first) */
    hfi_fit_choose_fn choose;
    uint64_t rng;     /* xorshift state for tower heights */
    size_t split_min; /* max(cfg->min_split, HFI_BLOCK_MIN) */
    size_t free_blocks, free_bytes, used_blocks;
} hfi_fit_state;

#define HFI_FIT_STATE_SIZE ((sizeof(hfi_fit_state) + 15) & ~(size_t)15)

/* ---- freelist.c: the address-ordered doubly-linked free list ----------------------------
 * Insertion point found through the address skip list: O(log N) expected; removal O(log N);
 * first/next/prev O(1). */
void hfi_freelist_insert(hfi_fit_state *st, hfi_fnode *n);
bool hfi_freelist_remove(hfi_fit_state *st, hfi_fnode *n);
static inline hfi_fnode *hfi_freelist_first(const hfi_fit_state *st) {
    return st->by_addr.head[0];
}
static inline hfi_fnode *hfi_freelist_next(const hfi_fnode *n) {
    return n->link[0];
}
static inline hfi_fnode *hfi_freelist_prev(const hfi_fnode *n) {
    return n->prev;
}
/* Skip-list validation plus the prev links; NULL when valid. */
const char *hfi_freelist_check(const hfi_fit_state *st, hfi_node_vet plausible, const void *ctx);

/* ---- fit.c: the engine ----------------------------------------------------------------- */
void hfi_fit_init(void *state, const hf_lab_config *cfg, hfi_fit_choose_fn choose);
size_t hfi_fit_region_need(const void *state, size_t n);
void hfi_fit_add_region(void *state, void *start, size_t size);
void *hfi_fit_malloc(void *state, size_t n);
void *hfi_fit_memalign(void *state, size_t align, size_t n);
void hfi_fit_free(void *state, void *p);
size_t hfi_fit_usable_size(const void *state, const void *p);
bool hfi_fit_resize(void *state, void *p, size_t n);
const char *hfi_fit_check(const void *state);
void hfi_fit_walk(const void *state, hf_lab_visit_fn fn, void *arg);
void hfi_fit_stats(const void *state, hf_lab_policy_stats *out);

/* The policy table of a fit policy whose init wrapper is init_fn. */
#define HFI_FIT_POLICY(policy_name, init_fn)                                                       \
    {                                                                                              \
        .name = policy_name, .state_size = HFI_FIT_STATE_SIZE, .init = init_fn,                    \
        .region_need = hfi_fit_region_need, .add_region = hfi_fit_add_region,                      \
        .malloc = hfi_fit_malloc, .memalign = hfi_fit_memalign, .free = hfi_fit_free,              \
        .usable_size = hfi_fit_usable_size, .resize = hfi_fit_resize, .check = hfi_fit_check,      \
        .walk = hfi_fit_walk, .stats = hfi_fit_stats,                                              \
    }

#endif
