/* pagemap.c -- the process-wide page map: one byte per 4 MiB unit of the 47-bit address space
 * (32 MiB of zero-fill .bss, touched only where heapforge maps memory: one 4 KiB page of it
 * covers 16 GiB). It answers "is this pointer ours, and where is its header?" in O(1):
 * HF_MAP_HEADER marks the unit a segment or span header starts, HF_MAP_TAIL the further units
 * of a span, so any interior pointer can still find its header (a short walk down). */
#include "internal/internal.h"

_Atomic(uint8_t) hfi_pagemap[HF_PAGEMAP_COUNT];

void hfi_pagemap_register(void *header, void *end, bool tail) {
    uintptr_t first = (uintptr_t)header >> HF_SEGMENT_SHIFT;
    uintptr_t last = ((uintptr_t)end - 1) >> HF_SEGMENT_SHIFT;
    if (last >= HF_PAGEMAP_COUNT) return;
    if (tail)
        for (uintptr_t i = first + 1; i <= last; i++)
            atomic_store_explicit(&hfi_pagemap[i], HF_MAP_TAIL, memory_order_relaxed);
    atomic_store_explicit(&hfi_pagemap[first], HF_MAP_HEADER, memory_order_release);
}

void hfi_pagemap_unregister(void *header, void *end) {
    uintptr_t first = (uintptr_t)header >> HF_SEGMENT_SHIFT;
    uintptr_t last = ((uintptr_t)end - 1) >> HF_SEGMENT_SHIFT;
    if (last >= HF_PAGEMAP_COUNT) return;
    for (uintptr_t i = first; i <= last; i++)
        atomic_store_explicit(&hfi_pagemap[i], HF_MAP_NONE, memory_order_relaxed);
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
        uint8_t v = atomic_load_explicit(&hfi_pagemap[idx], memory_order_acquire);
        if (v == HF_MAP_HEADER) return (hf_header *)(idx << HF_SEGMENT_SHIFT);
        if (v != HF_MAP_TAIL) return NULL;
        idx--;
    }
    return NULL;
}
