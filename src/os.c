/* os.c -- mappings with accounting, on top of prim/. Every mapping it returns is covered by the
 * page map (hfi_pagemap_cover), so registering it cannot fail. Every byte heapforge gets
 * from the OS passes through here, so the figures in hfi_os_stats are exact for reserved memory
 * and an upper bound for committed memory: owners that know which of their pages are untouched
 * or purged (segments) move the committed figure with hfi_os_commit_delta. */
#include "internal/internal.h"

hf_os_stats hfi_os_stats;

/* Next address to try for an aligned mapping: mmap hands out addresses top-down, so the unit
 * just below the last aligned mapping is usually free, and asking for it saves the trim. */
static _Atomic(uintptr_t) aligned_hint;

/* committed moves by delta; its high-water mark follows. */
void hfi_os_commit_delta(ptrdiff_t delta) {
    size_t now =
        atomic_fetch_add_explicit(&hfi_os_stats.committed, (size_t)delta, memory_order_relaxed) +
        (size_t)delta;
    if (delta <= 0) return;
    size_t peak = atomic_load_explicit(&hfi_os_stats.peak_committed, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&hfi_os_stats.peak_committed, &peak, now,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

static void account_map(size_t size, size_t commit) {
    atomic_fetch_add_explicit(&hfi_os_stats.reserved, size, memory_order_relaxed);
    hfi_os_commit_delta((ptrdiff_t)commit);
    atomic_fetch_add_explicit(&hfi_os_stats.mmaps, 1, memory_order_relaxed);
}

/* Owners of cached address space register how to give it all back (hfi_os_on_refusal): when
 * the OS refuses a mapping (RLIMIT_AS, the overcommit limit), they drop their caches and the
 * mapping is tried once more. Registered by the owners when they first cache something, so the
 * calls go from the owners down to os.c and back only through these pointers. */
static _Atomic(hf_reclaim_fn) reclaimers[HF_RECLAIMERS];

void hfi_os_on_refusal(unsigned slot, hf_reclaim_fn fn) {
    if (atomic_load_explicit(&reclaimers[slot], memory_order_relaxed) != fn)
        atomic_store_explicit(&reclaimers[slot], fn, memory_order_relaxed);
}

/* Drop every cache; true if something was given back. Callers hold none of the caches' locks. */
static bool reclaim(void) {
    size_t n = 0;
    for (unsigned i = 0; i < HF_RECLAIMERS; i++) {
        hf_reclaim_fn fn = atomic_load_explicit(&reclaimers[i], memory_order_relaxed);
        if (fn != NULL) n += fn(true);
    }
    return n != 0;
}

/* A mapping of exactly size bytes at want, or NULL. */
static void *map_at(uintptr_t want, size_t size) {
    if (want == 0) return NULL;
    void *p = hfi_prim_mmap((void *)want, size, false);
    if (p == (void *)want) return p;
    if (p != NULL) hfi_prim_munmap(p, size);
    return NULL;
}

static void *map_aligned_once(size_t size, size_t align) {
    uintptr_t hint = atomic_load_explicit(&aligned_hint, memory_order_relaxed);
    if (hint > size + align) {
        void *p = hfi_prim_mmap((void *)hf_align_down(hint - size, align), size, false);
        if (p != NULL && ((uintptr_t)p & (align - 1)) == 0) return p;
        if (p != NULL) hfi_prim_munmap(p, size);
    }
    /* Over-map by the alignment less a page (mmap's results are page-aligned), trim both ends. */
    size_t over = size + align - HF_OS_PAGE_SIZE;
    if (over < size) return NULL;
    uint8_t *raw = hfi_prim_mmap(NULL, over, false);
    if (raw != NULL) {
        uint8_t *p = (uint8_t *)hf_align_up((uintptr_t)raw, align);
        size_t front = (size_t)(p - raw), back = over - front - size;
        if (front) hfi_prim_munmap(raw, front);
        if (back) hfi_prim_munmap(p + size, back);
        return p;
    }
    /* Refused: the address space limit may leave room for the block but not for the slack.
     * Ask for the exact size and move it to an aligned address next to where the kernel put
     * it: below first (mmap hands out addresses top-down, so the space below is usually free),
     * then above. */
    uint8_t *p = hfi_prim_mmap(NULL, size, false);
    if (p == NULL || ((uintptr_t)p & (align - 1)) == 0) return p;
    hfi_prim_munmap(p, size);
    void *q = map_at(hf_align_down((uintptr_t)p, align), size);
    if (q == NULL) q = map_at(hf_align_up((uintptr_t)p, align), size);
    return q;
}

/* A mapping of size bytes aligned to align, of which the first `commit` bytes count as committed
 * at once (the owner accounts for the rest as it touches them). */
void *hfi_os_map_lazy(size_t size, size_t align, size_t commit, void **map_base, size_t *map_size) {
    if (size == 0 || size > ((size_t)1 << HF_ADDRESS_BITS)) return NULL;
    void *p = map_aligned_once(size, align);
    if (p == NULL && reclaim()) p = map_aligned_once(size, align);
    if (p == NULL) return NULL;
    if (!hfi_pagemap_cover(p, size)) { /* no memory for the page map's leaf: refused too */
        hfi_prim_munmap(p, size);
        return NULL;
    }
    atomic_store_explicit(&aligned_hint, (uintptr_t)p, memory_order_relaxed);
    account_map(size, commit);
    *map_base = p, *map_size = size;
    return p;
}

void hfi_os_unmap(void *base, size_t size) {
    hfi_prim_munmap(base, size);
    atomic_fetch_sub_explicit(&hfi_os_stats.reserved, size, memory_order_relaxed);
    atomic_fetch_sub_explicit(&hfi_os_stats.committed, size, memory_order_relaxed);
    atomic_fetch_add_explicit(&hfi_os_stats.munmaps, 1, memory_order_relaxed);
}

/* Give pages back but keep the range mapped: the next touch gets zeroed pages. The caller
 * adjusts the committed figure (it knows whether the range was counted). */
void hfi_os_purge(void *p, size_t size) {
    uintptr_t lo = hf_align_up((uintptr_t)p, HF_OS_PAGE_SIZE);
    uintptr_t hi = hf_align_down((uintptr_t)p + size, HF_OS_PAGE_SIZE);
    if (hi <= lo) return;
    hfi_prim_purge((void *)lo, hi - lo);
    atomic_fetch_add_explicit(&hfi_os_stats.purges, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&hfi_os_stats.purged, hi - lo, memory_order_relaxed);
}

void *hfi_os_map_aligned(size_t size, size_t align, void **map_base, size_t *map_size) {
    return hfi_os_map_lazy(size, align, size, map_base, map_size);
}

/* Resize the mapping at p (page multiples). In place if the address space after it is free;
 * otherwise, when may_move, the pages move (no copy) to a fresh range aligned to `align`. */
void *hfi_os_remap(void *p, size_t old_size, size_t new_size, size_t align, bool may_move) {
    /* Growing in place needs the page map to cover the new end first. */
    void *r = new_size <= old_size || hfi_pagemap_cover(p, new_size)
                  ? hfi_prim_mremap(p, old_size, new_size, NULL)
                  : NULL;
    if (r == NULL && may_move) {
        void *base;
        size_t sz;
        /* Reserve an aligned target, then move the pages over it. */
        void *target = hfi_os_map_aligned(new_size, align, &base, &sz);
        if (target == NULL) return NULL;
        atomic_fetch_sub_explicit(&hfi_os_stats.reserved, new_size, memory_order_relaxed);
        atomic_fetch_sub_explicit(&hfi_os_stats.committed, new_size, memory_order_relaxed);
        r = hfi_prim_mremap(p, old_size, new_size, target);
        if (r == NULL) {
            hfi_prim_munmap(target, new_size);
            return NULL;
        }
    }
    if (r == NULL) return NULL;
    atomic_fetch_add_explicit(&hfi_os_stats.mmaps, 1, memory_order_relaxed);
    if (new_size > old_size) {
        atomic_fetch_add_explicit(&hfi_os_stats.reserved, new_size - old_size,
                                  memory_order_relaxed);
        hfi_os_commit_delta((ptrdiff_t)(new_size - old_size));
    } else {
        atomic_fetch_sub_explicit(&hfi_os_stats.reserved, old_size - new_size,
                                  memory_order_relaxed);
        atomic_fetch_sub_explicit(&hfi_os_stats.committed, old_size - new_size,
                                  memory_order_relaxed);
    }
    return r;
}
