/* harden/encode.h -- encoded free-list links (HEAPFORGE_SECURE >= 1).
 *
 * Why: a free block's first word is its free-list link. An overflow out of the block before it,
 * or a write after free, can forge that word and make a later malloc hand out any address. From
 * level 1 the link is stored XOR-ed with a key derived from the process secret and the page's
 * address (the 64-byte hf_page has no room for a stored key), and every decoded link must be
 * NULL or the start of a carved block of the same page; anything else is reported as
 * `heap corruption of <the block holding the link>` instead of being followed.
 *
 * Who uses it: every slow path that writes or walks a list (page.c: extend, collect, the
 * checked pop, the validators; free.c: the generic local and remote pushes). The fast paths
 * (malloc_any's pop, hf_free's fast push) stay raw: they never run while secure, because the
 * secure levels turn the instrumented hooks on (direct tables empty, free_limit 0). Cost when
 * off: one predictable branch on hfi_secure in those slow paths. */
#ifndef HF_HARDEN_ENCODE_H
#define HF_HARDEN_ENCODE_H

#include "internal/internal.h"

/* The page's key: the secret mixed with the page descriptor's address (never 0 in practice;
 * a 0 key would only mean unencoded links, not a wrong decode). */
static inline uintptr_t hfi_link_key(const hf_page *pg) {
    uint64_t x = ((uint64_t)(uintptr_t)pg ^ (uint64_t)hfi_secret) * 0x9E3779B97F4A7C15ull;
    return (uintptr_t)(x ^ (x >> 29));
}

/* The link word of a free block, as stored. A memory checker (internal/shadow.h) sees these
 * accesses as the allocator's own: the word is opened for the access and closed after it. */
static inline hf_block *hfi_link_load(const hf_block *b) {
    hfi_shadow_open(&b->next, sizeof b->next);
    hf_block *v = b->next;
    hfi_shadow_close(&b->next, sizeof b->next);
    return v;
}
static inline void hfi_link_store(hf_block *b, hf_block *v) {
    hfi_shadow_open(&b->next, sizeof b->next);
    b->next = v;
    hfi_shadow_close(&b->next, sizeof b->next);
}

/* Store b's link to next (encoded when secure). */
static inline void hfi_link_set(const hf_page *pg, hf_block *b, hf_block *next) {
    hfi_link_store(
        b, HF_UNLIKELY(hfi_secure != 0) ? (hf_block *)((uintptr_t)next ^ hfi_link_key(pg)) : next);
}

/* b's link, decoded, unchecked (validators check the result themselves). */
static inline hf_block *hfi_link_raw(const hf_page *pg, const hf_block *b) {
    hf_block *v = hfi_link_load(b);
    return HF_UNLIKELY(hfi_secure != 0) ? (hf_block *)((uintptr_t)v ^ hfi_link_key(pg)) : v;
}

/* Is next NULL or the start of one of the first `blocks` blocks of pg? */
static inline bool hfi_link_is_block(const hf_page *pg, const hf_block *next, uint32_t blocks) {
    if (next == NULL) return true;
    uintptr_t off = (uintptr_t)next - (uintptr_t)pg->start;
    return off < (uintptr_t)blocks * pg->block_size && off % pg->block_size == 0;
}

/* b's link, decoded and checked against the page's carved blocks; a forged link is reported
 * (heap corruption of b) and read as the end of the list. */
hf_block *hfi_link_next_checked(const hf_page *pg, const hf_block *b);

/* b's link as the slow paths follow it: raw, or decoded and checked when secure. */
static inline hf_block *hfi_link_next(const hf_page *pg, const hf_block *b) {
    return HF_UNLIKELY(hfi_secure != 0) ? hfi_link_next_checked(pg, b) : hfi_link_load(b);
}

#endif
