/* lab/fit.c -- the fit engine: every hf_lab_policy callback of first-, next-, best- and worst-fit,
 * written once over the block layer (block.h) and two indexes of the free blocks (the address
 * list of freelist.c and the size skip list), parameterised by the policy's choose().
 *
 * Guarantees: free blocks are coalesced immediately with both neighbours (O(1) tag work plus
 * O(log N) index updates), so no two free blocks are ever adjacent; a split leaves a free tail
 * only if it is at least split_min bytes; the next-fit rover is always NULL or a listed free
 * block (removing the rover moves it to its successor, a merge keeps it on the merged block).
 * Every free is validated before anything is written: a pointer outside the regions or into a
 * block's middle is an "invalid free", a block already free a "double free", a broken tag of the
 * block or a neighbour "heap corruption"; each is reported and the call returns. */
#include "lab/fit.h"
#include "internal/internal.h"

/* Block size (tags included) for a payload of n bytes; 0 when n is absurd. */
static size_t need_for(size_t n) {
    if (n > SIZE_MAX / 4) return 0;
    size_t s = (size_t)hf_align_up(n, 16) + HFI_BLOCK_OVERHEAD;
    return s < HFI_BLOCK_MIN ? HFI_BLOCK_MIN : s;
}

/* Index the free block b (its tags already written): fresh tower heights, both lists. */
static void link_free(hfi_fit_state *st, uint8_t *b) {
    hfi_fnode *n = hfi_block_node(b);
    size_t size = hfi_block_size(b);
    unsigned cap = hfi_node_capacity(size);
    unsigned ra = hfi_skiplist_height(&st->rng), rs = hfi_skiplist_height(&st->rng);
    unsigned ha = ra < cap / 2 ? ra : cap / 2;
    unsigned hs = rs < cap - ha ? rs : cap - ha;
    n->h[0] = (uint8_t)ha;
    n->h[1] = (uint8_t)hs;
    hfi_freelist_insert(st, n);
    hfi_skiplist_insert(&st->by_size, n);
    st->free_blocks++;
    st->free_bytes += size;
}

/* Take n out of both lists (before its size changes). */
static void unlink_free(hfi_fit_state *st, hfi_fnode *n) {
    if (st->rover == n) st->rover = hfi_freelist_next(n);
    hfi_freelist_remove(st, n);
    hfi_skiplist_remove(&st->by_size, n);
    st->free_blocks--;
    st->free_bytes -= hfi_node_size(n);
}

/* The free block b grows in place to size bytes: only its size key changes. */
static void grow_free(hfi_fit_state *st, uint8_t *b, size_t size) {
    hfi_fnode *n = hfi_block_node(b);
    hfi_skiplist_remove(&st->by_size, n);
    st->free_bytes += size - hfi_block_size(b);
    hfi_block_write(b, size, false);
    hfi_skiplist_insert(&st->by_size, n);
}

/* Allocate need bytes from the listed free node n, splitting off a tail if it is big enough. */
static void *take(hfi_fit_state *st, hfi_fnode *n, size_t need) {
    uint8_t *b = hfi_node_block(n);
    size_t size = hfi_block_size(b);
    hfi_fnode *succ = hfi_freelist_next(n);
    unlink_free(st, n);
    hfi_fnode *rover = succ;
    if (size - need >= st->split_min) {
        hfi_block_write(b, need, true);
        hfi_block_write(b + need, size - need, false);
        link_free(st, b + need);
        rover = hfi_block_node(b + need);
    } else {
        hfi_block_write(b, size, true);
    }
    st->used_blocks++;
    st->rover = rover;
    return b + HFI_BLOCK_TAG;
}

void hfi_fit_init(void *state, const hf_lab_config *cfg, hfi_fit_choose_fn choose) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    *st = (hfi_fit_state){0};
    hfi_skiplist_init(&st->by_addr, HFI_SL_ADDR);
    hfi_skiplist_init(&st->by_size, HFI_SL_SIZE);
    st->choose = choose;
    st->rng = (cfg->seed ^ 0x853C49E6748FEA9BULL) * 0x9E3779B97F4A7C15ULL;
    if (st->rng == 0) st->rng = 0x2545F4914F6CDD1DULL;
    size_t ms = (size_t)hf_align_up(cfg->min_split, 16);
    st->split_min = ms < HFI_BLOCK_MIN ? HFI_BLOCK_MIN : ms;
}

size_t hfi_fit_region_need(const void *state, size_t n) {
    (void)state;
    size_t need = need_for(n);
    return need ? need + HFI_REGION_PRO + HFI_REGION_EPI : SIZE_MAX;
}

void hfi_fit_add_region(void *state, void *start, size_t size) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    if (size < HFI_REGION_PRO + HFI_REGION_EPI) return; /* no room even for the sentinels */
    uint8_t *b = hfi_block_region_init(&st->regions, start, size);
    st->nregions++;
    if (b) link_free(st, b);
}

void *hfi_fit_malloc(void *state, size_t n) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    size_t need = need_for(n);
    if (!need) return NULL;
    hfi_fnode *f = st->choose(st, need);
    return f ? take(st, f, need) : NULL;
}

void *hfi_fit_memalign(void *state, size_t align, size_t n) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    if (!hf_is_pow2(align)) return NULL;
    if (align <= HF_LAB_ALIGN) return hfi_fit_malloc(state, n);
    size_t need = need_for(n);
    if (!need || align > SIZE_MAX / 4) return NULL;
    /* The leading gap is 0 or at least a minimum block: below need + align + HFI_BLOCK_MIN. */
    hfi_fnode *f = st->choose(st, need + align + HFI_BLOCK_MIN);
    if (!f) return NULL;
    uint8_t *b = hfi_node_block(f);
    size_t size = hfi_block_size(b);
    uintptr_t p = hf_align_up((uintptr_t)b + HFI_BLOCK_TAG, align);
    size_t gap = p - HFI_BLOCK_TAG - (uintptr_t)b;
    while (gap != 0 && gap < HFI_BLOCK_MIN) gap += align;
    if (gap != 0) {
        unlink_free(st, f);
        hfi_block_write(b, gap, false);
        link_free(st, b);
        hfi_block_write(b + gap, size - gap, false);
        link_free(st, b + gap);
        f = hfi_block_node(b + gap);
    }
    return take(st, f, need);
}

/* The live block whose payload is p, or NULL (no report). */
static uint8_t *live_block(const hfi_fit_state *st, const void *p, const hfi_region **rp) {
    const hfi_region *r = hfi_block_region_of(st->regions, p);
    if (rp) *rp = r;
    if (!r || (uintptr_t)p % HF_LAB_ALIGN != 0) return NULL;
    uint8_t *b = (uint8_t *)(uintptr_t)p - HFI_BLOCK_TAG;
    if (b < hfi_block_first(r) || !hfi_block_hdr_ok(b) || !hfi_block_used(b)) return NULL;
    size_t size = hfi_block_size(b);
    if (size < HFI_BLOCK_MIN || size > (size_t)(hfi_block_epilogue(r) - b)) return NULL;
    return hfi_block_ftr_ok(b) ? b : NULL;
}

/* The right neighbour of the live block b, vetted; NULL (after a report) when its tags are
 * broken. */
static uint8_t *right_of(const hfi_region *r, uint8_t *b, const void *p) {
    uint8_t *rt = b + hfi_block_size(b);
    if (!hfi_block_hdr_ok(rt)) goto bad;
    if (rt == hfi_block_epilogue(r)) {
        if (hfi_block_hdr(rt)->sf != 1u) goto bad;
        return rt;
    }
    size_t rs = hfi_block_size(rt);
    if (rs < HFI_BLOCK_MIN || rs > (size_t)(hfi_block_epilogue(r) - rt) || !hfi_block_ftr_ok(rt))
        goto bad;
    return rt;
bad:
    hfi_report_error("heap corruption", p, hfi_block_size(b));
    return NULL;
}

void hfi_fit_free(void *state, void *p) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    if (!p) return;
    const hfi_region *r;
    uint8_t *b = live_block(st, p, &r);
    if (!b) {
        uint8_t *h = (uint8_t *)p - HFI_BLOCK_TAG;
        if (!r || (uintptr_t)p % HF_LAB_ALIGN != 0 || h < hfi_block_first(r))
            hfi_report_error("invalid free", p, 0);
        else if (!hfi_block_hdr_ok(h))
            hfi_report_error(hfi_block_classify(r, h), p, 0);
        else if (!hfi_block_used(h))
            hfi_report_error("double free", p, hfi_block_size(h));
        else
            hfi_report_error("heap corruption", p, hfi_block_size(h));
        return;
    }
    size_t size = hfi_block_size(b);
    uint8_t *rt = right_of(r, b, p);
    if (!rt) return;
    uint8_t *lt = hfi_block_left(b);
    if (!lt || !hfi_block_hdr_ok(lt) || lt + hfi_block_size(lt) != b) {
        hfi_report_error("heap corruption", p, size);
        return;
    }
    bool lfree = !hfi_block_used(lt), rfree = !hfi_block_used(rt);
    size_t rsize = rfree ? hfi_block_size(rt) : 0;
    st->used_blocks--;
    bool rover_right = rfree && st->rover == hfi_block_node(rt);
    if (rfree) unlink_free(st, hfi_block_node(rt));
    uint8_t *m;
    if (lfree) {
        m = lt;
        hfi_block_write_hdr(b, size, false); /* a stale header reads "free": later double free */
        grow_free(st, lt, hfi_block_size(lt) + size + rsize);
    } else {
        m = b;
        hfi_block_write(b, size + rsize, false);
        link_free(st, b);
    }
    if (rover_right) st->rover = hfi_block_node(m);
}

size_t hfi_fit_usable_size(const void *state, const void *p) {
    uint8_t *b = live_block((const hfi_fit_state *)state, p, NULL);
    return b ? hfi_block_size(b) - HFI_BLOCK_OVERHEAD : 0;
}

bool hfi_fit_resize(void *state, void *p, size_t n) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    const hfi_region *r;
    uint8_t *b = live_block(st, p, &r);
    size_t need = need_for(n);
    if (!b || !need) return false;
    size_t size = hfi_block_size(b);
    uint8_t *rt = right_of(r, b, p);
    if (!rt) return false;
    bool rfree = !hfi_block_used(rt);
    size_t rsize = rfree ? hfi_block_size(rt) : 0;
    if (need <= size) {
        size_t extra = size - need;
        if (extra < st->split_min && !(rfree && extra > 0)) return true; /* fits as it is */
        bool rover_right = rfree && st->rover == hfi_block_node(rt);
        if (rfree) unlink_free(st, hfi_block_node(rt));
        hfi_block_write(b, need, true);
        hfi_block_write(b + need, extra + rsize, false);
        link_free(st, b + need);
        if (rover_right) st->rover = hfi_block_node(b + need);
        return true;
    }
    if (!rfree || size + rsize < need) return false;
    bool rover_right = st->rover == hfi_block_node(rt);
    unlink_free(st, hfi_block_node(rt));
    size_t total = size + rsize;
    if (total - need >= st->split_min) {
        hfi_block_write(b, need, true);
        hfi_block_write(b + need, total - need, false);
        link_free(st, b + need);
        if (rover_right) st->rover = hfi_block_node(b + need);
    } else {
        hfi_block_write(b, total, true);
    }
    return true;
}

/* ---- validation, walk, stats --------------------------------------------------------- */

/* Is n a free block's node, inside a region, with heights that fit the block? */
static bool vet_node(const void *ctx, const hfi_fnode *n) {
    const hfi_fit_state *st = (const hfi_fit_state *)ctx;
    const hfi_region *r = hfi_block_region_of(st->regions, n);
    if (!r || (uintptr_t)n % HF_LAB_ALIGN != 0) return false;
    uint8_t *b = hfi_node_block(n);
    if (b < hfi_block_first(r) || !hfi_block_hdr_ok(b) || hfi_block_used(b)) return false;
    size_t size = hfi_block_size(b);
    if (size < HFI_BLOCK_MIN || size > (size_t)(hfi_block_epilogue(r) - b)) return false;
    return n->h[0] >= 1 && n->h[1] >= 1 && n->h[0] + n->h[1] <= (int)hfi_node_capacity(size);
}

typedef struct scan_ctx {
    const hfi_fnode *cursor; /* the address list node the next free block must be */
    const char *why;
    size_t free_blocks, free_bytes, used_blocks;
} scan_ctx;

static void scan_visit(uint8_t *blk, size_t size, bool used, void *arg) {
    scan_ctx *c = (scan_ctx *)arg;
    if (used) {
        c->used_blocks++;
        return;
    }
    c->free_blocks++;
    c->free_bytes += size;
    if (c->why) return;
    if (c->cursor != hfi_block_node(blk)) {
        c->why = "a free block is missing from the address-ordered free list";
        return;
    }
    c->cursor = hfi_freelist_next(c->cursor);
}

const char *hfi_fit_check(const void *state) {
    const hfi_fit_state *st = (const hfi_fit_state *)state;
    size_t nr = 0;
    for (const hfi_region *r = st->regions; r; r = r->next) {
        if (++nr > st->nregions) return "region list longer than its count (or a cycle)";
        if ((uintptr_t)r % HF_LAB_ALIGN != 0) return "region descriptor misaligned";
        if (r->next && (uintptr_t)r->next < (uintptr_t)r->end)
            return "regions overlap or are out of order";
    }
    if (nr != st->nregions) return "region list shorter than its count";
    /* The address list is validated before the physical scan follows it. */
    const char *why = hfi_freelist_check(st, vet_node, st);
    if (why) return why;
    why = hfi_skiplist_check(&st->by_size, vet_node, st);
    if (why) return why;
    scan_ctx c = {.cursor = hfi_freelist_first(st)};
    for (const hfi_region *r = st->regions; r; r = r->next) {
        why = hfi_block_region_scan(r, scan_visit, &c);
        if (why) return why;
        if (c.why) return c.why;
    }
    if (c.cursor) return "the free list holds a block that is not free in any region";
    if (c.free_blocks != st->free_blocks || c.free_bytes != st->free_bytes)
        return "free block count or bytes disagree with the blocks";
    if (c.used_blocks != st->used_blocks) return "used block count disagrees with the blocks";
    if (st->by_addr.count != c.free_blocks || st->by_size.count != c.free_blocks)
        return "list counts disagree with the free blocks";
    for (const hfi_fnode *n = hfi_skiplist_first(&st->by_size); n;
         n = hfi_skiplist_next(&st->by_size, n))
        if (!hfi_skiplist_contains(&st->by_addr, n))
            return "size skip list holds a node the address list does not";
    if (st->rover && !hfi_skiplist_contains(&st->by_addr, st->rover))
        return "next-fit rover is not a free block";
    size_t ms = st->split_min;
    if (ms < HFI_BLOCK_MIN || ms % 16 != 0) return "split threshold damaged";
    return NULL;
}

void hfi_fit_walk(const void *state, hf_lab_visit_fn fn, void *arg) {
    const hfi_fit_state *st = (const hfi_fit_state *)state;
    for (const hfi_region *r = st->regions; r; r = r->next) {
        uint8_t *b = hfi_block_first(r), *epi = hfi_block_epilogue(r);
        while (b < epi) {
            size_t size = hfi_block_size(b);
            if (size < HFI_BLOCK_MIN || size > (size_t)(epi - b)) break; /* damaged: stop */
            bool used = hfi_block_used(b);
            hf_lab_block_info info = {used ? b + HFI_BLOCK_TAG : b, size, used};
            fn(&info, arg);
            b += size;
        }
    }
}

void hfi_fit_stats(const void *state, hf_lab_policy_stats *out) {
    const hfi_fit_state *st = (const hfi_fit_state *)state;
    *out = (hf_lab_policy_stats){0};
    out->free_bytes = st->free_bytes;
    out->free_blocks = st->free_blocks;
    out->used_blocks = st->used_blocks;
    hfi_fnode *big = hfi_skiplist_last(&st->by_size);
    out->largest_free = big ? hfi_node_size(big) : 0;
}
