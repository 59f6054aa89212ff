/* pagemap.c -- the process-wide page map: one byte per 4 MiB unit of the 47-bit address space,
 * in two levels. The root (4 KiB of .data) holds 512 leaf pointers (each biased, see internal.h); a
 * leaf is 64 KiB, one byte per unit of a 256 GiB stretch. Every root entry starts at one shared
 * leaf of zeros that is never written, so a lookup needs no NULL test; a stretch gets a leaf of its
 * own before the first mapping in it is returned (os.c calls hfi_pagemap_cover for every mapping it
 * makes). The first leaves come from a small .bss pool, the rest from the OS; leaves are never
 * freed, so a reader (free, the fault handler) may follow a root entry at any time. Before
 * 2026-12-05 the map was one 32 MiB .bss array, which counted against RLIMIT_AS: under `ulimit -v`
 * the process started 32 MiB behind glibc.
 *
 * It answers "is this pointer ours, and where is its header?" in O(1): HF_MAP_HEADER marks the
 * unit a segment or span header starts, HF_MAP_TAIL the further units of a span, so any
 * interior pointer can still find its header (a short walk down). */
#include "internal/internal.h"

#define LEAF_POOL 4

static _Atomic(uint8_t) zero_leaf[HF_PAGEMAP_LEAF];
static _Atomic(uint8_t) leaf_pool[LEAF_POOL][HF_PAGEMAP_LEAF];
static _Atomic(unsigned) leaf_pool_used;

/* Root entry r when its stretch has no leaf: the shared zero leaf, biased (internal.h). */
/* clang-format off */
#define ZB(r)  ((uintptr_t)zero_leaf - ((uintptr_t)(r) << 16)),
#define Z8(r)  ZB(8*(r)) ZB(8*(r)+1) ZB(8*(r)+2) ZB(8*(r)+3) ZB(8*(r)+4) ZB(8*(r)+5) ZB(8*(r)+6) ZB(8*(r)+7)
#define Z64(r) Z8(8*(r)) Z8(8*(r)+1) Z8(8*(r)+2) Z8(8*(r)+3) Z8(8*(r)+4) Z8(8*(r)+5) Z8(8*(r)+6) Z8(8*(r)+7)
#define Z512   Z64(0) Z64(1) Z64(2) Z64(3) Z64(4) Z64(5) Z64(6) Z64(7)
/* clang-format on */
_Atomic(uintptr_t) hfi_pagemap_root[HF_PAGEMAP_ROOT] = {Z512};
_Static_assert(HF_PAGEMAP_ROOT == 512, "the initialiser above spells out 512 entries");

static uintptr_t bias_of(const void *leaf, size_t r) {
    return (uintptr_t)leaf - ((uintptr_t)r * HF_PAGEMAP_LEAF);
}

/* A leaf of its own for root entry r; false when the OS has no memory for one. Lock-free: the
 * loser of a race gives its leaf back (a pool leaf is simply not reused). */
static bool leaf_make(size_t r) {
    _Atomic(uint8_t) *leaf = NULL;
    bool pooled = false;
    unsigned k = atomic_load_explicit(&leaf_pool_used, memory_order_relaxed);
    while (k < LEAF_POOL &&
           !atomic_compare_exchange_weak_explicit(&leaf_pool_used, &k, k + 1, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
    if (k < LEAF_POOL) {
        leaf = leaf_pool[k];
        pooled = true;
    } else {
        leaf = hfi_prim_mmap(NULL, sizeof zero_leaf, false);
        if (leaf == NULL) return false;
    }
    uintptr_t expect = bias_of(zero_leaf, r);
    if (!atomic_compare_exchange_strong_explicit(&hfi_pagemap_root[r], &expect, bias_of(leaf, r),
                                                 memory_order_acq_rel, memory_order_acquire) &&
        !pooled)
        hfi_prim_munmap(leaf, sizeof zero_leaf);
    return true;
}

bool hfi_pagemap_cover(const void *base, size_t size) {
    if (size == 0) return true;
    uintptr_t first = (uintptr_t)base >> HF_SEGMENT_SHIFT;
    uintptr_t last = ((uintptr_t)base + size - 1) >> HF_SEGMENT_SHIFT;
    if (last >= HF_PAGEMAP_COUNT || last < first) return true; /* beyond the map: never ours */
    for (uintptr_t r = first / HF_PAGEMAP_LEAF; r <= last / HF_PAGEMAP_LEAF; r++)
        if (atomic_load_explicit(&hfi_pagemap_root[r], memory_order_acquire) ==
                bias_of(zero_leaf, r) &&
            !leaf_make(r))
            return false;
    return true;
}

/* The entry of unit idx (< HF_PAGEMAP_COUNT) for writing: NULL if its stretch has no leaf. */
static _Atomic(uint8_t) *entry_of(uintptr_t idx) {
    size_t r = idx / HF_PAGEMAP_LEAF;
    uintptr_t bias = atomic_load_explicit(&hfi_pagemap_root[r], memory_order_acquire);
    return bias == bias_of(zero_leaf, r) ? NULL : (_Atomic(uint8_t) *)(bias + idx);
}

static void entry_store(uintptr_t idx, uint8_t v, memory_order mo) {
    _Atomic(uint8_t) *e = entry_of(idx);
    if (e != NULL) atomic_store_explicit(e, v, mo);
}

void hfi_pagemap_register(void *header, void *end, bool tail) {
    uintptr_t first = (uintptr_t)header >> HF_SEGMENT_SHIFT;
    uintptr_t last = ((uintptr_t)end - 1) >> HF_SEGMENT_SHIFT;
    if (last >= HF_PAGEMAP_COUNT) return;
    /* os.c covered the mapping before returning it; a leaf missing here would be a bug, and
     * the units would stay unmarked (the blocks foreign) rather than the zero leaf written. */
    if (!hfi_pagemap_cover(header, (size_t)((uintptr_t)end - (uintptr_t)header))) return;
    if (tail)
        for (uintptr_t i = first + 1; i <= last; i++)
            entry_store(i, HF_MAP_TAIL, memory_order_relaxed);
    entry_store(first, HF_MAP_HEADER, memory_order_release);
}

void hfi_pagemap_unregister(void *header, void *end) {
    uintptr_t first = (uintptr_t)header >> HF_SEGMENT_SHIFT;
    uintptr_t last = ((uintptr_t)end - 1) >> HF_SEGMENT_SHIFT;
    if (last >= HF_PAGEMAP_COUNT) return;
    for (uintptr_t i = first; i <= last; i++) entry_store(i, HF_MAP_NONE, memory_order_relaxed);
}

/* Stamp a new header (cookie, mapping) and make it findable: segments, spans and later lab
 * regions all come into being through here. */
void hfi_header_publish(hf_header *h, void *base, size_t size, bool tail) {
    h->cookie = (uintptr_t)h ^ hfi_secret;
    h->map_base = base;
    h->map_size = size;
    hfi_pagemap_register(h, (uint8_t *)base + size, tail);
}

hf_header *hfi_header_of_slow(const void *p) {
    uintptr_t idx = (uintptr_t)p >> HF_SEGMENT_SHIFT;
    if (idx >= HF_PAGEMAP_COUNT) return NULL;
    while (idx > 0) {
        uint8_t v = hfi_pagemap_entry(idx, memory_order_acquire);
        if (v == HF_MAP_HEADER) return (hf_header *)(idx << HF_SEGMENT_SHIFT);
        if (v != HF_MAP_TAIL) return NULL;
        idx--;
    }
    return NULL;
}
