/* lab/fit_best.c -- best fit: the smallest free block that fits, the lowest-addressed among equal
 * sizes, found in the (size, address) skip list in O(log N) expected. Everything else is the
 * shared fit engine (fit.c). */
#include "lab/fit.h"

static hfi_fnode *choose_best(hfi_fit_state *st, size_t need) {
    return hfi_skiplist_find_ge(&st->by_size, need);
}

static void init_best(void *state, const hf_lab_config *cfg) {
    hfi_fit_init(state, cfg, choose_best, false);
}

const hf_lab_policy hfi_policy_best_fit = HFI_FIT_POLICY("best-fit", init_best);
