/* lab/freelist.c -- the address-ordered doubly-linked free list of the fit policies.
 *
 * Its forward links are level 0 of the address skip list (block.h); fnode.prev holds
 * the backward links. Insertion finds its place through the skip list, O(log N) expected;
 * removal is O(log N) (the upper levels need their predecessors); first, next and prev are O(1).
 * The heights of both towers are set by the caller before insertion.
 */
#include "lab/fit.h"

void hfi_freelist_insert(hfi_fit_state *st, hfi_fnode *n) {
    n->prev = st->spans ? hfi_skiplist_insert_spans(&st->by_addr, n)
                        : hfi_skiplist_insert(&st->by_addr, n);
    hfi_fnode *next = hfi_freelist_next(n);
    if (next) next->prev = n;
}

bool hfi_freelist_remove(hfi_fit_state *st, hfi_fnode *n) {
    hfi_fnode *next = hfi_freelist_next(n);
    if (!(st->spans ? hfi_skiplist_remove_spans(&st->by_addr, n)
                    : hfi_skiplist_remove(&st->by_addr, n)))
        return false;
    if (next) next->prev = n->prev;
    return true;
}

const char *hfi_freelist_check(const hfi_fit_state *st, hfi_node_vet plausible, const void *ctx) {
    const char *why = hfi_skiplist_check(&st->by_addr, plausible, ctx);
    if (!why && st->spans) why = hfi_skiplist_check_spans(&st->by_addr);
    if (why) return why;
    const hfi_fnode *prev = NULL;
    for (const hfi_fnode *n = hfi_freelist_first(st); n; n = hfi_freelist_next(n)) {
        if (n->prev != prev) return "free list: prev link does not match";
        prev = n;
    }
    return NULL;
}
