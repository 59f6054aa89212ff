/* lab/fit_next.c -- next fit: first fit that resumes from a rover, the free block after the last
 * allocation, and wraps around to the lowest address once: the first fit at or above the rover,
 * else the first fit from the start (which then lies below the rover). Both are O(log N) expected
 * through the address skip list's span maxima (skiplist.c). The engine (fit.c) keeps the rover
 * valid across splits and merges: it is NULL (start at the lowest address) or a block on the free
 * list. */
#include "lab/fit.h"

static hfi_fnode *choose_next(hfi_fit_state *st, size_t need) {
    hfi_fnode *n = NULL;
    if (st->rover) n = hfi_skiplist_first_fit(&st->by_addr, need, (uintptr_t)st->rover);
    return n ? n : hfi_skiplist_first_fit(&st->by_addr, need, 0);
}

static void init_next(void *state, const hf_lab_config *cfg) {
    hfi_fit_init(state, cfg, choose_next, true);
}

const hf_lab_policy hfi_policy_next_fit = HFI_FIT_POLICY("next-fit", init_next);
