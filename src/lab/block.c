/* lab/block.c -- regions of the boundary-tagged block layer (see block.h): sentinel set-up, the
 * address-sorted region list (lookup O(regions)), the slow classification of a bad free, and the
 * physical scan that check() builds on. Every walk checks bounds before it reads a tag, so a
 * corrupted size never sends it outside its region. */
#include "lab/block.h"

uint8_t *hfi_block_region_init(hfi_region **list, void *start, size_t size) {
    uint8_t *s = (uint8_t *)start;
    hfi_block_write(s, HFI_REGION_PRO, true);
    hfi_region *r = (hfi_region *)(s + HFI_BLOCK_TAG);
    r->end = s + size;
    hfi_block_write_hdr(hfi_block_epilogue(r), 0, true);
    hfi_region **pp = list;
    while (*pp && (uintptr_t)*pp < (uintptr_t)r) pp = &(*pp)->next;
    r->next = *pp;
    *pp = r;
    size_t room = size - HFI_REGION_PRO - HFI_REGION_EPI;
    if (size < HFI_REGION_MIN) return NULL;
    uint8_t *b = hfi_block_first(r);
    hfi_block_write(b, room, false);
    return b;
}

const hfi_region *hfi_block_region_of(const hfi_region *list, const void *p) {
    for (const hfi_region *r = list; r; r = r->next) {
        if ((uintptr_t)p >= (uintptr_t)hfi_block_first(r) &&
            (uintptr_t)p < (uintptr_t)hfi_block_epilogue(r))
            return r;
        if ((uintptr_t)r > (uintptr_t)p) break;
    }
    return NULL;
}

const char *hfi_block_classify(const hfi_region *r, const void *hdr) {
    uint8_t *b = hfi_block_first(r), *epi = hfi_block_epilogue(r);
    uintptr_t h = (uintptr_t)hdr;
    while (b < epi) {
        if (!hfi_block_hdr_ok(b)) return "heap corruption";
        size_t sz = hfi_block_size(b);
        if (sz < HFI_BLOCK_MIN || sz > (size_t)(epi - b)) return "heap corruption";
        if ((uintptr_t)b == h) return "heap corruption";
        if (h > (uintptr_t)b && h < (uintptr_t)b + sz) return "invalid free";
        b += sz;
    }
    return "invalid free";
}

const char *hfi_block_region_scan(const hfi_region *r, hfi_block_visit fn, void *arg) {
    uint8_t *start = (uint8_t *)(uintptr_t)r - HFI_BLOCK_TAG;
    if (!hfi_block_hdr_ok(start) || hfi_block_hdr(start)->sf != (HFI_REGION_PRO | 1u) ||
        !hfi_block_ftr_ok(start))
        return "region prologue damaged";
    if ((uintptr_t)r->end % 16 != 0 || r->end < start + HFI_REGION_PRO + HFI_REGION_EPI)
        return "region descriptor damaged";
    uint8_t *b = hfi_block_first(r), *epi = hfi_block_epilogue(r);
    if (!hfi_block_hdr_ok(epi) || hfi_block_hdr(epi)->sf != 1u) return "region epilogue damaged";
    bool prev_free = false;
    while (b < epi) {
        if (!hfi_block_hdr_ok(b)) return "block header damaged";
        size_t sz = hfi_block_size(b);
        if (sz < HFI_BLOCK_MIN || sz > (size_t)(epi - b)) return "block size out of range";
        if (!hfi_block_ftr_ok(b)) return "block footer does not match header";
        bool used = hfi_block_used(b);
        if (!used && prev_free) return "two adjacent free blocks (missed coalesce)";
        prev_free = !used;
        if (fn) fn(b, sz, used, arg);
        b += sz;
    }
    if (b != epi) return "blocks overrun the epilogue";
    return NULL;
}
