/* lab/fit.c -- the fit engine: every hf_lab_policy callback of first-, next-, best- and worst-fit,
 * written once over the block layer (block.h) and two indexes of the free blocks (the address
 * list of freelist.c and the size skip list), parameterised by the policy's choose().
 *
 * Guarantees: free blocks are coalesced immediately with both neighbours (O(1) tag work plus
 * O(log N) index updates), so no two free blocks are ever adjacent; a split leaves a free tail
 * only if it is at least split_min bytes; the next-fit rover is always NULL or a listed free
 * block (removing the rover moves it to its successor, a merge keeps it on the merged block).
 * Every free is validated before anything is written: a pointer outside the regions or into a
 * live block's middle is an "invalid free", one into free memory or a tower chunk (a block
 * already freed, whether its tag survived or not) a "double free", a broken tag of the block or
 * of a neighbour it would merge with (header and footer) "heap corruption"; each is reported
 * and the call returns.
 *
 * Small free blocks (under HFI_BLOCK_ROOMY bytes) cannot hold every tower height they draw; they
 * borrow tower records (fit.h) so the skip lists keep their shape and best fit, worst fit and
 * free-list insertion stay O(log N) expected for any mix of sizes. Cost: with at least
 * HFI_TOWER_MIN_FREE free blocks, each chunk takes 2,080 bytes from the tail of a free block
 * (about 32 bytes per lent record, roughly 44% of 64-byte free blocks, fewer of the larger
 * ones, plus partly used chunks), one pointer test per tower access, and an O(1) upkeep after
 * each operation; chunks go back to the free space as they empty (one spare kept per class). The
 * trace benchmark's utilization is unchanged (best fit 0.885). */
#include "lab/fit.h"
#include "internal/internal.h"

static void tower_upkeep(hfi_fit_state *st);

/* Block size (tags included) for a payload of n bytes; 0 when n is absurd. */
static size_t need_for(size_t n) {
    if (n > SIZE_MAX / 4) return 0;
    size_t s = (size_t)hf_align_up(n, 16) + HFI_BLOCK_OVERHEAD;
    return s < HFI_BLOCK_MIN ? HFI_BLOCK_MIN : s;
}

/* Index the free block b (its tags already written): fresh tower heights, both lists. Heights
 * the block has no room for are kept through a tower record when one is available. */
static void link_free(hfi_fit_state *st, uint8_t *b) {
    hfi_fnode *n = hfi_block_node(b);
    size_t size = hfi_block_size(b);
    unsigned cap = hfi_node_capacity(size);
    unsigned ra = hfi_skiplist_height(&st->rng), rs = hfi_skiplist_height(&st->rng);
    unsigned words = hfi_sl_words(st->spans, ra, rs);
    hfi_fnode **rec = NULL;
    if (words > cap && st->free_blocks >= HFI_TOWER_MIN_FREE) rec = hfi_tower_get(st, words);
    hfi_node_set_ext(n, rec);
    if (rec) cap = hfi_tower_room(rec);
    unsigned ha = ra, hs = rs; /* capped when there is no room: the taller tower gives way */
    while (hfi_sl_words(st->spans, ha, hs) > cap) {
        if (ha >= hs && ha > 1)
            ha--;
        else
            hs--;
    }
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
    hfi_fnode **rec = hfi_node_ext(n);
    if (rec) {
        hfi_tower_put(st, rec);
        hfi_node_set_ext(n, NULL);
    }
}

/* The free block b grows in place to size bytes: only its size key changes. */
static void grow_free(hfi_fit_state *st, uint8_t *b, size_t size) {
    hfi_fnode *n = hfi_block_node(b);
    size_t old = hfi_block_size(b);
    hfi_skiplist_remove(&st->by_size, n);
    st->free_bytes += size - old;
    hfi_block_write(st->key, b, size, false);
    hfi_skiplist_insert(&st->by_size, n);
    if (st->spans) hfi_skiplist_resized(&st->by_addr, n, old);
}

/* Allocate need bytes from the listed free node n, splitting off a tail if it is big enough. */
static void *take(hfi_fit_state *st, hfi_fnode *n, size_t need) {
    uint8_t *b = hfi_node_block(n);
    size_t size = hfi_block_size(b);
    hfi_fnode *succ = hfi_freelist_next(n);
    unlink_free(st, n);
    hfi_fnode *rover = succ;
    if (size - need >= st->split_min) {
        hfi_block_write(st->key, b, need, true);
        hfi_block_write(st->key, b + need, size - need, false);
        link_free(st, b + need);
        rover = hfi_block_node(b + need);
    } else {
        hfi_block_write(st->key, b, size, true);
    }
    st->used_blocks++;
    st->rover = rover;
    return b + HFI_BLOCK_TAG;
}

/* New memory arrived (add_region, extend): the starved classes may carve again, but only at the
 * next operation's upkeep, after its own block was taken. The arena grows for a request of n bytes
 * by region_need(n) and then retries it; a chunk carved here, from the tail of the very block
 * just fed, could leave that block a few KiB short of n (up to HFI_TOWER_CLASSES chunks against a
 * page rounding's slack), and the retry returned NULL. */
static void new_room(hfi_fit_state *st) {
    st->tw_want |= st->tw_starved;
    st->tw_starved = 0;
}

void hfi_fit_init(void *state, const hf_lab_config *cfg, hfi_fit_choose_fn choose, bool spans) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    *st = (hfi_fit_state){0};
    hfi_skiplist_init(&st->by_addr, HFI_SL_ADDR);
    hfi_skiplist_init(&st->by_size, HFI_SL_SIZE);
    st->choose = choose;
    st->spans = spans;
    st->key = cfg->secret;
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
    uint8_t *b = hfi_block_region_init(st->key, &st->regions, start, size);
    st->nregions++;
    if (b) link_free(st, b);
    new_room(st);
}

/* The region ending at end grows by size bytes: the epilogue moves, and the piece joins the last
 * block when that is free (one block, so a block before it can grow across). */
bool hfi_fit_extend(void *state, void *end, size_t size) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    hfi_region *r = st->regions;
    while (r && r->end != (uint8_t *)end) r = r->next;
    if (!r || size < HFI_BLOCK_MIN || size % 16 != 0) return false;
    uint8_t *epi = hfi_block_epilogue(r), *lt = hfi_block_left(st->key, epi);
    r->end += size;
    if (lt && hfi_block_hdr_ok(st->key, lt) && !hfi_block_used(lt)) {
        grow_free(st, lt, hfi_block_size(lt) + size);
    } else {
        hfi_block_write(st->key, epi, size, false);
        link_free(st, epi);
    }
    hfi_block_write_hdr(st->key, hfi_block_epilogue(r), 0, true);
    new_room(st);
    return true;
}

/* A chunk and a roomy rest, when a class found no free block to carve from (fit.h). */
size_t hfi_fit_wants_room(const void *state) {
    const hfi_fit_state *st = (const hfi_fit_state *)state;
    return st->tw_starved && st->free_blocks >= HFI_TOWER_MIN_FREE
               ? HFI_TCHUNK_BLOCK + HFI_BLOCK_ROOMY + HFI_BLOCK_MIN
               : 0;
}

void *hfi_fit_malloc(void *state, size_t n) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    size_t need = need_for(n);
    if (!need) return NULL;
    hfi_fnode *f = st->choose(st, need);
    void *p = f ? take(st, f, need) : NULL;
    tower_upkeep(st);
    return p;
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
        hfi_block_write(st->key, b, gap, false);
        link_free(st, b);
        hfi_block_write(st->key, b + gap, size - gap, false);
        link_free(st, b + gap);
        f = hfi_block_node(b + gap);
    }
    void *q = take(st, f, need);
    tower_upkeep(st);
    return q;
}

/* The live block whose payload is p, or NULL (no report). */
static uint8_t *live_block(const hfi_fit_state *st, const void *p, const hfi_region **rp) {
    const hfi_region *r = hfi_block_region_of(st->regions, p);
    if (rp) *rp = r;
    if (!r || (uintptr_t)p % HF_LAB_ALIGN != 0) return NULL;
    uint8_t *b = (uint8_t *)(uintptr_t)p - HFI_BLOCK_TAG;
    if (b < hfi_block_first(r) || !hfi_block_hdr_ok(st->key, b) || !hfi_block_used(b)) return NULL;
    if (hfi_block_meta(b)) return NULL;
    size_t size = hfi_block_size(b);
    if (size < HFI_BLOCK_MIN || size > (size_t)(hfi_block_epilogue(r) - b)) return NULL;
    return hfi_block_ftr_ok(st->key, b) ? b : NULL;
}

/* The right neighbour of the live block b, vetted; NULL (after a report) when its tags are
 * broken. */
static uint8_t *right_of(const hfi_fit_state *st, const hfi_region *r, uint8_t *b, const void *p) {
    uint8_t *rt = b + hfi_block_size(b);
    if (!hfi_block_hdr_ok(st->key, rt)) goto bad;
    if (rt == hfi_block_epilogue(r)) {
        if (hfi_block_hdr(rt)->sf != 1u) goto bad;
        return rt;
    }
    size_t rs = hfi_block_size(rt);
    if (rs < HFI_BLOCK_MIN || rs > (size_t)(hfi_block_epilogue(r) - rt) ||
        !hfi_block_ftr_ok(st->key, rt))
        goto bad;
    return rt;
bad:
    hfi_report_error("heap corruption", p, hfi_block_size(b));
    return NULL;
}

/* Why p is not a live block (lab.h's names); called only once live_block() said no. */
static const char *bad_pointer(const hfi_fit_state *st, const void *p) {
    const hfi_region *r = hfi_block_region_of(st->regions, p);
    uint8_t *h = (uint8_t *)(uintptr_t)p - HFI_BLOCK_TAG;
    if (!r || (uintptr_t)p % HF_LAB_ALIGN != 0 || h < hfi_block_first(r)) return "invalid free";
    if (!hfi_block_hdr_ok(st->key, h)) return hfi_block_classify(st->key, r, h);
    if (!hfi_block_used(h) || hfi_block_meta(h)) return "double free"; /* free, or a chunk's */
    return "heap corruption"; /* a valid used header with a bad size or footer */
}

const char *hfi_fit_diagnose(const void *state, const void *p) {
    const hfi_fit_state *st = (const hfi_fit_state *)state;
    return live_block(st, p, NULL) ? NULL : bad_pointer(st, p);
}

static void free_block(hfi_fit_state *st, void *p) {
    const hfi_region *r;
    uint8_t *b = live_block(st, p, &r);
    if (!b) {
        const uint8_t *h = (const uint8_t *)p - HFI_BLOCK_TAG;
        size_t hs = r && (uintptr_t)p % HF_LAB_ALIGN == 0 && h >= hfi_block_first(r) &&
                            hfi_block_hdr_ok(st->key, h)
                        ? hfi_block_size(h)
                        : 0;
        hfi_report_error(bad_pointer(st, p), p, hs);
        return;
    }
    size_t size = hfi_block_size(b);
    uint8_t *rt = right_of(st, r, b, p);
    if (!rt) return;
    uint8_t *lt = hfi_block_left(st->key, b);
    if (!lt || !hfi_block_hdr_ok(st->key, lt) || lt + hfi_block_size(lt) != b) {
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
        hfi_block_write_hdr(st->key, b, size,
                            false); /* a stale header reads "free": later double free */
        grow_free(st, lt, hfi_block_size(lt) + size + rsize);
    } else {
        m = b;
        hfi_block_write(st->key, b, size + rsize, false);
        link_free(st, b);
    }
    if (rover_right) st->rover = hfi_block_node(m);
}

/* ---- tower chunks (fit.h) ------------------------------------------------------------ */

/* A chunk of class cls from the tail of the smallest free block that keeps a roomy rest (the
 * rest's towers stay in place); when there is none the class is starved (wants_room). */
static void carve_chunk(hfi_fit_state *st, unsigned cls) {
    hfi_fnode *f = hfi_skiplist_find_ge(&st->by_size, HFI_TCHUNK_BLOCK + HFI_BLOCK_ROOMY);
    if (!f) {
        st->tw_starved |= 1u << cls;
        return;
    }
    uint8_t *b = hfi_node_block(f);
    size_t size = hfi_block_size(b);
    uint8_t *c = b + size - HFI_TCHUNK_BLOCK;
    if ((uint64_t)(uintptr_t)(c + HFI_TCHUNK_BLOCK) >> 52) return; /* records must fit ext */
    hfi_skiplist_remove(&st->by_size, f);
    hfi_block_write(st->key, b, size - HFI_TCHUNK_BLOCK, false);
    hfi_skiplist_insert(&st->by_size, f);
    if (st->spans) hfi_skiplist_resized(&st->by_addr, f, size);
    st->free_bytes -= HFI_TCHUNK_BLOCK;
    hfi_block_write_flags(st->key, c, HFI_TCHUNK_BLOCK, 3);
    hfi_tower_add_chunk(st, c, cls);
    st->tw_starved &= ~(1u << cls);
}

/* Few free blocks: towers that now fit their (grown) blocks move home, so chunks can empty. This
 * may overwrite a stale header inside a merged block; a later free of that block still reads
 * "double free", because the classifier finds its header inside a free block. */
static void bring_towers_home(hfi_fit_state *st) {
    for (hfi_fnode *n = hfi_freelist_first(st); n; n = hfi_freelist_next(n)) {
        hfi_fnode **rec = hfi_node_ext(n);
        unsigned w = hfi_sl_words(st->spans, n->h[0], n->h[1]);
        if (!rec || w > hfi_node_capacity(hfi_node_size(n))) continue;
        for (unsigned i = 0; i < w; i++) n->link[i] = rec[1 + i];
        hfi_node_set_ext(n, NULL);
        hfi_tower_put(st, rec);
    }
}

/* After every operation: return surplus empty chunks (all of them when free blocks are few),
 * then carve chunks for the classes a node found empty. O(1) unless a chunk moves. */
static void tower_upkeep(hfi_fit_state *st) {
    if (st->tw_chunks == 0 && st->tw_want == 0) return;
    if (st->free_blocks < HFI_TOWER_MIN_FREE && st->tw_chunks) bring_towers_home(st);
    for (bool again = true; again;) {
        again = false;
        for (unsigned k = 0; k < HFI_TOWER_CLASSES; k++) {
            hfi_tchunk *c = st->tw_empty[k];
            if (!c || (!c->next && st->free_blocks >= HFI_TOWER_MIN_FREE)) continue;
            uint8_t *b = hfi_tower_drop_chunk(st, c);
            hfi_block_write(st->key, b, HFI_TCHUNK_BLOCK, true);
            st->used_blocks++;
            free_block(st, b + HFI_BLOCK_TAG);
            again = true;
        }
    }
    unsigned want = st->tw_want;
    st->tw_want = 0;
    if (st->free_blocks < HFI_TOWER_MIN_FREE) return;
    for (unsigned k = 0; k < HFI_TOWER_CLASSES; k++)
        if (want & (1u << k)) carve_chunk(st, k);
}

void hfi_fit_free(void *state, void *p) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    if (!p) return;
    free_block(st, p);
    tower_upkeep(st);
}

size_t hfi_fit_usable_size(const void *state, const void *p) {
    uint8_t *b = live_block((const hfi_fit_state *)state, p, NULL);
    return b ? hfi_block_size(b) - HFI_BLOCK_OVERHEAD : 0;
}

bool hfi_fit_at_end(const void *state, const void *p) {
    const hfi_fit_state *st = (const hfi_fit_state *)state;
    const hfi_region *r;
    uint8_t *b = live_block(st, p, &r);
    if (!b) return false;
    uint8_t *rt = b + hfi_block_size(b), *epi = hfi_block_epilogue(r);
    if (rt == epi) return true;
    return hfi_block_hdr_ok(st->key, rt) && !hfi_block_used(rt) && rt + hfi_block_size(rt) == epi;
}

static bool resize_block(hfi_fit_state *st, void *p, size_t n) {
    const hfi_region *r;
    uint8_t *b = live_block(st, p, &r);
    size_t need = need_for(n);
    if (!b || !need) return false;
    size_t size = hfi_block_size(b);
    uint8_t *rt = right_of(st, r, b, p);
    if (!rt) return false;
    bool rfree = !hfi_block_used(rt);
    size_t rsize = rfree ? hfi_block_size(rt) : 0;
    if (need <= size) {
        size_t extra = size - need;
        if (extra < st->split_min && !(rfree && extra > 0)) return true; /* fits as it is */
        bool rover_right = rfree && st->rover == hfi_block_node(rt);
        if (rfree) unlink_free(st, hfi_block_node(rt));
        hfi_block_write(st->key, b, need, true);
        hfi_block_write(st->key, b + need, extra + rsize, false);
        link_free(st, b + need);
        if (rover_right) st->rover = hfi_block_node(b + need);
        return true;
    }
    if (!rfree || size + rsize < need) return false;
    bool rover_right = st->rover == hfi_block_node(rt);
    unlink_free(st, hfi_block_node(rt));
    size_t total = size + rsize;
    if (total - need >= st->split_min) {
        hfi_block_write(st->key, b, need, true);
        hfi_block_write(st->key, b + need, total - need, false);
        link_free(st, b + need);
        if (rover_right) st->rover = hfi_block_node(b + need);
    } else {
        hfi_block_write(st->key, b, total, true);
    }
    return true;
}

bool hfi_fit_resize(void *state, void *p, size_t n) {
    hfi_fit_state *st = (hfi_fit_state *)state;
    bool ok = resize_block(st, p, n);
    tower_upkeep(st);
    return ok;
}

/* ---- validation, walk, stats --------------------------------------------------------- */

/* Is n a free block's node, inside a region, with heights that fit the block? */
static bool vet_node(const void *ctx, const hfi_fnode *n) {
    const hfi_fit_state *st = (const hfi_fit_state *)ctx;
    const hfi_region *r = hfi_block_region_of(st->regions, n);
    if (!r || (uintptr_t)n % HF_LAB_ALIGN != 0) return false;
    uint8_t *b = hfi_node_block(n);
    if (b < hfi_block_first(r) || !hfi_block_hdr_ok(st->key, b) || hfi_block_used(b)) return false;
    size_t size = hfi_block_size(b);
    if (size < HFI_BLOCK_MIN || size > (size_t)(hfi_block_epilogue(r) - b)) return false;
    if (n->h[0] < 1 || n->h[1] < 1) return false;
    if (hfi_node_ext(n)) return hfi_tower_vet(st, n);
    return hfi_sl_words(st->spans, n->h[0], n->h[1]) <= hfi_node_capacity(size);
}

typedef struct scan_ctx {
    const hfi_fnode *cursor; /* the address list node the next free block must be */
    const char *why;
    size_t free_blocks, free_bytes, used_blocks, chunks;
} scan_ctx;

static void scan_visit(uint8_t *blk, size_t size, bool used, void *arg) {
    scan_ctx *c = (scan_ctx *)arg;
    if (used) {
        if (hfi_block_meta(blk))
            c->chunks++;
        else
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
        why = hfi_block_region_scan(st->key, r, scan_visit, &c);
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
    why = hfi_tower_check(st, c.chunks);
    if (why) return why;
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
            if (!hfi_block_meta(b)) fn(&info, arg); /* tower chunks are not blocks of the heap */
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
