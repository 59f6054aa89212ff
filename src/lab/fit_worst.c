/* lab/fit_worst.c -- worst fit: the largest free block (the highest-addressed among equal sizes,
 * the last key of the (size, address) skip list), found in O(log N) expected, if it fits.
 * Everything else is the shared fit engine (fit.c). */
#include "lab/fit.h"

static hfi_fnode *choose_worst(hfi_fit_state *st, size_t need) {
    hfi_fnode *n = hfi_skiplist_last(&st->by_size);
    return n && hfi_node_size(n) >= need ? n : NULL;
}

static void init_worst(void *state, const hf_lab_config *cfg) {
    hfi_fit_init(state, cfg, choose_worst, false);
}

const hf_lab_policy hfi_policy_worst_fit = HFI_FIT_POLICY("worst-fit", init_worst);
