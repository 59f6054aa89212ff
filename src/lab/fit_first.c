/* lab/fit_first.c -- first fit: the lowest-addressed free block that fits, found in the address
 * skip list through its span maxima (skiplist.c) in O(log N) expected: spans whose largest block
 * is too small are skipped whole. Everything else is the shared fit engine (fit.c). */
#include "lab/fit.h"

static hfi_fnode *choose_first(hfi_fit_state *st, size_t need) {
    return hfi_skiplist_first_fit(&st->by_addr, need, 0);
}

static void init_first(void *state, const hf_lab_config *cfg) {
    hfi_fit_init(state, cfg, choose_first, true);
}

const hf_lab_policy hfi_policy_first_fit = HFI_FIT_POLICY("first-fit", init_first);
