/* lab/fit_first.c -- first fit: the lowest-addressed free block that fits, found by walking the
 * address-ordered free list from its start (O(free blocks) worst case). Everything else is the
 * shared fit engine (fit.c). */
#include "lab/fit.h"

static hfi_fnode *choose_first(hfi_fit_state *st, size_t need) {
    for (hfi_fnode *n = hfi_freelist_first(st); n; n = hfi_freelist_next(n))
        if (hfi_node_size(n) >= need) return n;
    return NULL;
}

static void init_first(void *state, const hf_lab_config *cfg) {
    hfi_fit_init(state, cfg, choose_first);
}

const hf_lab_policy hfi_policy_first_fit = HFI_FIT_POLICY("first-fit", init_first);
