/* lab/block.c -- regions of the boundary-tagged block layer (see block.h): sentinel set-up, the
 * address-sorted region list and index (lookup O(log regions), region.c), the physical scan that
 * check() builds on, and the slow naming of a bad free that every tiling policy shares
 * (hfi_lab_classify, lab.h). Every walk checks bounds before it reads a tag, so a corrupted size
 * never sends it outside its region. */
#include "lab/block.h"
#include "lab/lab.h"

const char *hfi_lab_classify(const uint8_t *first, const uint8_t *end, const void *hdr,
                             hfi_lab_tag_fn tag, const void *ctx) {
    uintptr_t h = (uintptr_t)hdr;
    for (const uint8_t *b = first; b < end;) {
        bool used;
        size_t sz = tag(ctx, b, &used);
        if (sz == 0 || sz > (size_t)(end - b)) return "heap corruption"; /* at or before hdr */
        if ((uintptr_t)b == h) return "heap corruption"; /* a block start, its tag broken */
        if (h > (uintptr_t)b && h < (uintptr_t)b + sz) return used ? "invalid free" : "double free";
        b += sz;
    }
    return "invalid free";
}

typedef struct classify_ctx {
    uint64_t key;
} classify_ctx;

/* Tower chunks count as free: they are the policy's, and only a freed block's pointer (whose
 * memory a chunk took over) can lead into one. */
static size_t fit_tag(const void *ctx, const uint8_t *b, bool *used) {
    if (!hfi_block_hdr_ok(((const classify_ctx *)ctx)->key, b)) return 0;
    size_t sz = hfi_block_size(b);
    *used = hfi_block_used(b) && !hfi_block_meta(b);
    return sz < HFI_BLOCK_MIN ? 0 : sz;
}

uint8_t *hfi_block_region_init(uint64_t key, hfi_region **list, void *start, size_t size) {
    uint8_t *s = (uint8_t *)start;
    hfi_block_write(key, s, HFI_REGION_PRO, true);
    hfi_region *r = (hfi_region *)(s + HFI_BLOCK_TAG);
    r->end = s + size;
    hfi_block_write_hdr(key, hfi_block_epilogue(r), 0, true);
    hfi_region *head = *list;
    hfi_lab_rnode *root = head ? head->root : NULL;
    hfi_region *pred = (hfi_region *)hfi_lab_rtree_insert(&root, &r->node);
    hfi_region **pp = pred ? &pred->next : list;
    r->next = *pp;
    *pp = r;
    r->root = NULL;
    if (head && head != *list) head->root = NULL; /* r is the new head */
    (*list)->root = root;
    size_t room = size - HFI_REGION_PRO - HFI_REGION_EPI;
    if (size < HFI_REGION_MIN) return NULL;
    uint8_t *b = hfi_block_first(r);
    hfi_block_write(key, b, room, false);
    return b;
}

const hfi_region *hfi_block_region_of(const hfi_region *list, const void *p) {
    if (list == NULL) return NULL;
    const hfi_region *r = (const hfi_region *)hfi_lab_rtree_floor(list->root, p);
    if (r != NULL && (uintptr_t)p >= (uintptr_t)hfi_block_first(r) &&
        (uintptr_t)p < (uintptr_t)hfi_block_epilogue(r))
        return r;
    return NULL;
}

const char *hfi_block_classify(uint64_t key, const hfi_region *r, const void *hdr) {
    classify_ctx c = {key};
    return hfi_lab_classify(hfi_block_first(r), hfi_block_epilogue(r), hdr, fit_tag, &c);
}

const char *hfi_block_region_scan(uint64_t key, const hfi_region *r, hfi_block_visit fn,
                                  void *arg) {
    uint8_t *start = (uint8_t *)(uintptr_t)r - HFI_BLOCK_TAG;
    if (!hfi_block_hdr_ok(key, start) || hfi_block_hdr(start)->sf != (HFI_REGION_PRO | 1u) ||
        !hfi_block_ftr_ok(key, start))
        return "region prologue damaged";
    if ((uintptr_t)r->end % 16 != 0 || r->end < start + HFI_REGION_PRO + HFI_REGION_EPI)
        return "region descriptor damaged";
    uint8_t *b = hfi_block_first(r), *epi = hfi_block_epilogue(r);
    if (!hfi_block_hdr_ok(key, epi) || hfi_block_hdr(epi)->sf != 1u)
        return "region epilogue damaged";
    if (r->root != NULL) { /* the head: the index must hold exactly the listed regions */
        size_t n = 0;
        for (const hfi_region *q = r; q != NULL && n <= ((size_t)1 << 32); q = q->next) n++;
        const char *why = hfi_lab_rtree_check(r->root, n);
        if (why) return why;
    }
    bool prev_free = false;
    while (b < epi) {
        if (!hfi_block_hdr_ok(key, b)) return "block header damaged";
        size_t sz = hfi_block_size(b);
        if (sz < HFI_BLOCK_MIN || sz > (size_t)(epi - b)) return "block size out of range";
        if (!hfi_block_ftr_ok(key, b)) return "block footer does not match header";
        bool used = hfi_block_used(b);
        if (!used && prev_free) return "two adjacent free blocks (missed coalesce)";
        prev_free = !used;
        if (fn) fn(b, sz, used, arg);
        b += sz;
    }
    if (b != epi) return "blocks overrun the epilogue";
    return NULL;
}
