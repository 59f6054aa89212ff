/* harden/shuffle.c -- randomised allocation order (HEAPFORGE_SECURE >= 2).
 *
 * Why: with blocks handed out in address order, an overflow's victim is predictable (the next
 * malloc of the same size sits right after the block). From level 2 each run of fresh blocks
 * that hfi_page_extend carves goes onto the free list in a random order (a Fisher-Yates shuffle
 * driven by a per-heap xorshift generator, seeded from the process secret and the heap's
 * address), so neighbours are unknown. Costs one shuffle of at most HF_EXTEND_BYTES / 16
 * indices per extend, in the slow path. */
#include "internal/internal.h"
#include "harden/encode.h"

#define HF_SHUFFLE_MAX (HF_EXTEND_BYTES / HF_ALIGNMENT) /* blocks in one carved run, at most */

static uint64_t next_random(hf_heap *heap) {
    uint64_t x = heap->rng;
    if (x == 0) { /* first use: seed from the secret and the heap's address */
        x = ((uint64_t)(uintptr_t)heap ^ (uint64_t)hfi_secret) * 0x9E3779B97F4A7C15ull;
        x |= 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    heap->rng = x;
    return x;
}

/* Link n blocks of pg starting at first into a list in random order; returns its head. */
hf_block *hfi_shuffle_carve(hf_page *pg, uint8_t *first, uint32_t n) {
    uint32_t bs = pg->block_size;
    hf_heap *heap = hfi_segment_of_page(pg)->heap;
    if (n <= 1 || n > HF_SHUFFLE_MAX || heap == NULL) {
        for (uint32_t i = 0; i + 1 < n; i++)
            hfi_link_set(pg, (hf_block *)(first + (size_t)i * bs),
                         (hf_block *)(first + (size_t)(i + 1) * bs));
        hfi_link_set(pg, (hf_block *)(first + (size_t)(n - 1) * bs), NULL);
        return (hf_block *)first;
    }
    uint16_t order[HF_SHUFFLE_MAX];
    for (uint32_t i = 0; i < n; i++) order[i] = (uint16_t)i;
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)(next_random(heap) % (i + 1));
        uint16_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (uint32_t i = 0; i + 1 < n; i++)
        hfi_link_set(pg, (hf_block *)(first + (size_t)order[i] * bs),
                     (hf_block *)(first + (size_t)order[i + 1] * bs));
    hfi_link_set(pg, (hf_block *)(first + (size_t)order[n - 1] * bs), NULL);
    return (hf_block *)(first + (size_t)order[0] * bs);
}
