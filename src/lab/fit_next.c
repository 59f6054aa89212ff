/* lab/fit_next.c -- next fit: first fit that resumes from a rover, the free block after the last
 * allocation, and wraps around to the lowest address once (O(free blocks) worst case). The engine
 * (fit.c) keeps the rover valid across splits and merges: it is NULL (start at the lowest
 * address) or a block on the free list. */
#include "lab/fit.h"

static hfi_fnode *choose_next(hfi_fit_state *st, size_t need) {
    hfi_fnode *start = st->rover ? st->rover : hfi_freelist_first(st);
    for (hfi_fnode *n = start; n; n = hfi_freelist_next(n))
        if (hfi_node_size(n) >= need) return n;
    for (hfi_fnode *n = hfi_freelist_first(st); n && n != start; n = hfi_freelist_next(n))
        if (hfi_node_size(n) >= need) return n;
    return NULL;
}

static void init_next(void *state, const hf_lab_config *cfg) {
    hfi_fit_init(state, cfg, choose_next);
}

const hf_lab_policy hfi_policy_next_fit = HFI_FIT_POLICY("next-fit", init_next);
