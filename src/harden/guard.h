/* harden/guard.h -- guard pages (HEAPFORGE_SECURE >= 2).
 *
 * Why: a linear overflow that runs past a block's end should fault at once instead of
 * corrupting the neighbour. From level 2 every large block (a span) is mapped one OS page
 * longer and that last page is made inaccessible (PROT_NONE) right after its usable end, and the
 * last OS page of every 4 MiB segment is a guard too (the last page slot loses one OS page of
 * capacity). Guarded spans are never taken from the span cache and realloc by moving, because
 * the cache and mremap resize mappings in place, which would leave the guard inside the block;
 * freed ones still wait in the cache until it expires them, so their double free is seen as at
 * level 0. Costs (level 2
 * only): one mprotect per span and per fresh segment; 4 KiB of address space per span. */
#ifndef HF_HARDEN_GUARD_H
#define HF_HARDEN_GUARD_H

#include "internal/internal.h"

static inline bool hfi_guard_on(void) {
    return HF_UNLIKELY(hfi_secure >= HF_SECURE_SHUFFLE);
}

/* Bytes a guarded mapping of `size` needs: one more OS page when guards are on. */
static inline size_t hfi_guard_extra(void) {
    return hfi_guard_on() ? HF_OS_PAGE_SIZE : 0;
}

/* Make the last OS page of [base, base + size) the guard. */
static inline void hfi_guard_place(void *base, size_t size) {
    hfi_prim_protect((uint8_t *)base + size - HF_OS_PAGE_SIZE, HF_OS_PAGE_SIZE, false);
}

#endif
