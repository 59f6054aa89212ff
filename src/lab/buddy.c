/* lab/buddy.c -- binary buddy system.
 *
 * Algorithm: every block is 2^k bytes (k from 5, 32 bytes, up to the configured maximum order)
 * and starts at an offset from its region's base that is a multiple of 2^k; its buddy is the
 * block at offset ^ 2^k. malloc takes the smallest non-empty order that fits (request plus a
 * 16-byte header), splitting it in halves down to the needed order and freeing the upper
 * halves; free merges a block with its buddy for as long as the buddy is free and of the same
 * order. Each order has a free list and a count; a bitmap of non-empty orders finds the order
 * to split with one count-trailing-zeros. A region is carved into maximal aligned power-of-two
 * blocks relative to its start. Its descriptor (base, size) goes into an address-sorted table,
 * binary-searched by every free (O(log regions)): the blocks start at the region's first byte, so
 * a buddy region has no room for a record of its own. The first BD_INLINE descriptors live in
 * the state; beyond that the table moves to a mapping of its own that doubles as it fills (no
 * cap on the number of regions), released by destroy. The table keeps free room at both ends, so
 * regions arriving in address order (the break grows up, mmap hands out addresses downwards)
 * are inserted without moving the others.
 *
 * Guarantee: malloc and free take O(max order) steps; internal fragmentation is below 50% plus
 * the header; no two free buddies of the same order (below the maximum) coexist.
 *
 * Aligned blocks: memalign places the payload at the aligned address inside a large enough
 * block and writes a second ("alias") header just before it that leads back to the block; the
 * block header records the alias's offset, so a stale alias cannot free a block it no longer
 * belongs to. */
#include "lab/lab.h"
#include "lab/block.h"
#include "internal/internal.h"

#define BD_HDR       16
#define BD_MIN_ORDER 5
#define BD_ORDERS    41 /* orders 0..40; the largest maximum order is 40 */
#define BD_DEF_ORDER 22
#define BD_INLINE    256 /* region descriptors kept in the state */
#define BD_ORDER     ((uint64_t)63)
#define BD_FREE      ((uint64_t)64)
#define BD_ALIAS     ((uint64_t)128)
#define BD_MAGIC     ((uint64_t)0x3d1b6a0f9e2c8475ULL)

typedef struct bd_block {
    uint64_t tag;                 /* order | BD_FREE | BD_ALIAS | alias offset << 8 */
    uint64_t check;               /* hfi_tag_check(secret, tag, address, BD_MAGIC) */
    struct bd_block *next, *prev; /* free blocks only */
} bd_block;

typedef struct bd_region {
    uint8_t *base;
    size_t size;
} bd_region;

typedef struct bd_state {
    bd_region inline_table[BD_INLINE];
    bd_region *map;         /* the table when it outgrew the state (a mapping), else NULL */
    size_t map_bytes;       /* the mapping's size */
    size_t cap;             /* entries the table holds */
    size_t first, nregions; /* the descriptors: table[first .. first + nregions), by base */
    unsigned max_order;
    uint64_t nonempty;
    bd_block *lists[BD_ORDERS];
    size_t counts[BD_ORDERS];
    size_t used_blocks;
    uint64_t secret;
} bd_state;

static unsigned bd_order(const bd_block *b) {
    return (unsigned)(b->tag & BD_ORDER);
}
static bool bd_is_free(const bd_block *b) {
    return (b->tag & BD_FREE) != 0;
}
static size_t bd_alias_off(const bd_block *b) {
    return (size_t)(b->tag >> 8);
}
static bool bd_hdr_ok(const bd_state *st, const bd_block *b) {
    return b->check == hfi_tag_check(st->secret, b->tag, b, BD_MAGIC);
}
static void bd_set(const bd_state *st, bd_block *b, uint64_t tag) {
    b->tag = tag;
    b->check = hfi_tag_check(st->secret, tag, b, BD_MAGIC);
}

/* The sorted descriptors: regions(st)[0 .. nregions). */
static bd_region *bd_regions(const bd_state *st) {
    return (st->map ? st->map : (bd_region *)(uintptr_t)st->inline_table) + st->first;
}

/* Index of the first region with base > a. */
static size_t bd_upper(const bd_state *st, const void *a) {
    const bd_region *t = bd_regions(st);
    size_t lo = 0, hi = st->nregions;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)t[mid].base <= (uintptr_t)a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The region holding address a, or NULL: O(log regions). */
static const bd_region *bd_region_of(const bd_state *st, const void *a) {
    size_t i = bd_upper(st, a);
    if (i == 0) return NULL;
    const bd_region *r = &bd_regions(st)[i - 1];
    return (uintptr_t)a - (uintptr_t)r->base < r->size ? r : NULL;
}

/* Room for one more descriptor at sorted position i (0 .. nregions); returns its slot, or NULL
 * when no memory is left for a bigger table. The descriptors on the shorter side of i move one
 * place towards their free end; when that end is full, the table is first centred again (while a
 * quarter of it is free) or moved to a mapping twice its size, so regions that arrive in address
 * order cost O(1) amortised. */
static bd_region *bd_table_slot(bd_state *st, size_t i) {
    size_t n = st->nregions;
    bool down = i < n - i;
    if (down ? st->first == 0 : st->first + n == st->cap) {
        bd_region *base = st->map ? st->map : st->inline_table, *to = base;
        size_t cap = st->cap, bytes = st->map_bytes;
        if (cap - n < cap / 4) {
            void *mb;
            size_t msize;
            bytes = hf_align_up(2 * cap * sizeof(bd_region), HF_OS_PAGE_SIZE);
            to = hfi_os_map_aligned(bytes, HF_OS_PAGE_SIZE, &mb, &msize);
            if (to == NULL) return NULL;
            cap = bytes / sizeof(bd_region);
        }
        size_t first = (cap - n) / 2;
        __builtin_memmove(to + first, base + st->first, n * sizeof *to);
        if (to != base && st->map) hfi_os_unmap(st->map, st->map_bytes);
        if (to != base) st->map = to, st->map_bytes = bytes;
        st->cap = cap, st->first = first;
    }
    bd_region *t = bd_regions(st);
    if (down) { /* [0, i) moves down one place */
        st->first--;
        t--;
        __builtin_memmove(t, t + 1, i * sizeof *t);
    } else { /* [i, n) moves up one place */
        __builtin_memmove(t + i + 1, t + i, (n - i) * sizeof *t);
    }
    return &t[i];
}

/* Smallest order whose block holds bytes, or BD_ORDERS if above the maximum. */
static unsigned bd_order_for(const bd_state *st, size_t bytes) {
    if (bytes > ((size_t)1 << st->max_order)) return BD_ORDERS;
    unsigned k = BD_MIN_ORDER;
    while (((size_t)1 << k) < bytes) k++;
    return k;
}

static void bd_push(bd_state *st, bd_block *b, unsigned k) {
    bd_set(st, b, k | BD_FREE);
    b->prev = NULL;
    b->next = st->lists[k];
    if (b->next) b->next->prev = b;
    st->lists[k] = b;
    st->counts[k]++;
    st->nonempty |= (uint64_t)1 << k;
}
static void bd_unlink(bd_state *st, bd_block *b, unsigned k) {
    if (b->prev)
        b->prev->next = b->next;
    else
        st->lists[k] = b->next;
    if (b->next) b->next->prev = b->prev;
    st->counts[k]--;
    if (!st->lists[k]) st->nonempty &= ~((uint64_t)1 << k);
}

/* A used block of order k (alias offset 0), or NULL. */
static bd_block *bd_take(bd_state *st, unsigned k) {
    if (k > st->max_order) return NULL;
    uint64_t m = st->nonempty & (~(uint64_t)0 << k);
    if (!m) return NULL;
    unsigned j = (unsigned)__builtin_ctzll(m);
    bd_block *b = st->lists[j];
    bd_unlink(st, b, j);
    while (j > k) { /* split: the upper half goes back */
        j--;
        bd_push(st, (bd_block *)((uint8_t *)b + ((size_t)1 << j)), j);
    }
    bd_set(st, b, k);
    st->used_blocks++;
    return b;
}

static size_t bd_tag(const void *ctx, const uint8_t *a, bool *used) {
    const bd_state *st = ctx;
    const bd_block *b = (const bd_block *)a;
    if (!bd_hdr_ok(st, b) || (b->tag & BD_ALIAS)) return 0;
    unsigned k = bd_order(b);
    if (k < BD_MIN_ORDER || k > st->max_order) return 0;
    *used = !bd_is_free(b);
    return (size_t)1 << k;
}

/* The live block that p was handed out for, or NULL with *err set. A header that does not
 * check out is named by where it falls among the region's blocks (a free block's links can
 * overwrite the alias header of a block freed before, so a double free of an aligned block may
 * find no header at all). */
static bd_block *bd_lookup(const bd_state *st, const void *p, const bd_region **rp,
                           const char **err) {
    *err = "invalid free";
    if (!p || ((uintptr_t)p & 15)) return NULL;
    const uint8_t *h = (const uint8_t *)p - BD_HDR;
    const bd_region *r = bd_region_of(st, h);
    if (!r) return NULL;
    bd_block *b = (bd_block *)h;
    if (!bd_hdr_ok(st, b)) {
        *err = hfi_lab_classify(r->base, r->base + (r->size & ~(size_t)31), h, bd_tag, st);
        return NULL;
    }
    size_t alias = 0;
    if (b->tag & BD_ALIAS) {
        alias = bd_alias_off(b);
        if (alias < BD_HDR || (alias & 15) || alias > (size_t)(h - r->base)) return NULL;
        b = (bd_block *)(h - alias);
        if (!bd_hdr_ok(st, b) || (b->tag & BD_ALIAS)) return NULL;
    }
    *err = "double free";
    if (bd_is_free(b)) return NULL;
    *err = "invalid free";
    if (bd_alias_off(b) != alias) return NULL;
    *err = "heap corruption";
    unsigned k = bd_order(b);
    size_t off = (size_t)((uint8_t *)b - r->base);
    if (k < BD_MIN_ORDER || k > st->max_order || (off & (((size_t)1 << k) - 1)) ||
        ((size_t)1 << k) > r->size - off)
        return NULL;
    *rp = r;
    *err = NULL;
    return b;
}

static void bd_init(void *state, const hf_lab_config *cfg) {
    bd_state *st = state;
    __builtin_memset(st, 0, sizeof *st);
    unsigned m = cfg->buddy_max_order ? cfg->buddy_max_order : BD_DEF_ORDER;
    st->max_order = m < BD_MIN_ORDER ? BD_MIN_ORDER : m > BD_ORDERS - 1 ? BD_ORDERS - 1 : m;
    st->secret = cfg->secret;
    st->cap = BD_INLINE;
    st->first = BD_INLINE / 2;
}

static void bd_destroy(void *state) {
    bd_state *st = state;
    if (st->map) hfi_os_unmap(st->map, st->map_bytes);
    st->map = NULL;
}

static size_t bd_region_need(const void *state, size_t n) {
    const bd_state *st = state;
    if (n > ((size_t)1 << st->max_order)) return SIZE_MAX;
    unsigned k = bd_order_for(st, n + BD_HDR);
    return k < BD_ORDERS ? (size_t)1 << k : SIZE_MAX;
}

static void bd_add_region(void *state, void *start, size_t size) {
    bd_state *st = state;
    if (((uintptr_t)start & 15) || size < ((size_t)1 << BD_MIN_ORDER)) return;
    bd_region *slot = bd_table_slot(st, bd_upper(st, start));
    if (slot == NULL) return; /* no memory for the table: the region stays unused */
    st->nregions++;
    slot->base = start;
    slot->size = size;
    for (size_t off = 0; size - off >= ((size_t)1 << BD_MIN_ORDER);) {
        unsigned k = off ? (unsigned)__builtin_ctzll(off) : 63;
        if (k > st->max_order) k = st->max_order;
        while (((size_t)1 << k) > size - off) k--;
        bd_push(st, (bd_block *)((uint8_t *)start + off), k);
        off += (size_t)1 << k;
    }
}

static void *bd_malloc(void *state, size_t n) {
    bd_state *st = state;
    if (n > ((size_t)1 << st->max_order)) return NULL;
    bd_block *b = bd_take(st, bd_order_for(st, n + BD_HDR));
    return b ? (uint8_t *)b + BD_HDR : NULL;
}

static void *bd_memalign(void *state, size_t align, size_t n) {
    bd_state *st = state;
    if (align <= HF_LAB_ALIGN) return bd_malloc(state, n);
    size_t lim = (size_t)1 << st->max_order;
    if (!hf_is_pow2(align) || n > lim || align > lim) return NULL;
    bd_block *b = bd_take(st, bd_order_for(st, n + align + BD_HDR));
    if (!b) return NULL;
    uintptr_t a = (uintptr_t)b + BD_HDR;
    if (a & (align - 1)) { /* the payload moves up; an alias header leads back */
        a = hf_align_up((uintptr_t)b + 2 * BD_HDR, align);
        size_t alias = a - BD_HDR - (uintptr_t)b;
        bd_set(st, b, bd_order(b) | (uint64_t)alias << 8);
        bd_set(st, (bd_block *)(a - BD_HDR), BD_ALIAS | (uint64_t)alias << 8);
    }
    return (void *)a;
}

static const char *bd_diagnose(const void *state, const void *p) {
    const bd_region *r;
    const char *err;
    bd_lookup(state, p, &r, &err);
    return err;
}

static void bd_free(void *state, void *p) {
    bd_state *st = state;
    const bd_region *r;
    const char *err;
    bd_block *b = bd_lookup(st, p, &r, &err);
    if (!b) {
        hfi_report_error(err, p, 0);
        return;
    }
    unsigned k = bd_order(b);
    size_t off = (size_t)((uint8_t *)b - r->base);
    bd_set(st, b, k | BD_FREE); /* a stale header inside a merged block reads free */
    st->used_blocks--;
    const char *bad = NULL;
    while (k < st->max_order) {
        size_t bo = off ^ ((size_t)1 << k);
        if (bo > r->size || ((size_t)1 << k) > r->size - bo) break; /* no buddy */
        bd_block *bud = (bd_block *)(r->base + bo);
        if (!bd_hdr_ok(st, bud)) {
            bad = "heap corruption";
            break;
        }
        if (!bd_is_free(bud) || bd_order(bud) != k) break;
        bd_unlink(st, bud, k);
        off &= ~((size_t)1 << k);
        k++;
    }
    bd_push(st, (bd_block *)(r->base + off), k);
    if (bad) hfi_report_error(bad, p, 0);
}

static size_t bd_usable_size(const void *state, const void *p) {
    const bd_region *r;
    const char *err;
    const bd_block *b = bd_lookup(state, p, &r, &err);
    if (!b) return 0;
    return (size_t)((const uint8_t *)b + ((size_t)1 << bd_order(b)) - (const uint8_t *)p);
}

static bool bd_resize(void *state, void *p, size_t n) {
    bd_state *st = state;
    const bd_region *r;
    const char *err;
    bd_block *b = bd_lookup(st, p, &r, &err);
    if (!b) return false;
    unsigned k = bd_order(b);
    uint8_t *end = (uint8_t *)b + ((size_t)1 << k);
    if (bd_alias_off(b)) return n <= (size_t)(end - (uint8_t *)p);
    if (n > ((size_t)1 << st->max_order)) return false;
    unsigned want = bd_order_for(st, n + BD_HDR);
    if (want <= k) { /* shrink: give back upper halves (their buddies are this block) */
        while (k > want) {
            k--;
            bd_push(st, (bd_block *)((uint8_t *)b + ((size_t)1 << k)), k);
        }
        bd_set(st, b, k);
        return true;
    }
    if (want > st->max_order) return false;
    size_t off = (size_t)((uint8_t *)b - r->base);
    for (unsigned j = k; j < want; j++) { /* every upper buddy on the way must be free */
        size_t bo = off + ((size_t)1 << j);
        if ((off & ((size_t)1 << j)) || bo > r->size || ((size_t)1 << j) > r->size - bo)
            return false;
        const bd_block *bud = (const bd_block *)(r->base + bo);
        if (!bd_hdr_ok(st, bud) || !bd_is_free(bud) || bd_order(bud) != j) return false;
    }
    for (unsigned j = k; j < want; j++)
        bd_unlink(st, (bd_block *)(r->base + off + ((size_t)1 << j)), j);
    bd_set(st, b, want);
    return true;
}

static const char *bd_check(const void *state) {
    const bd_state *st = state;
    size_t walk_counts[BD_ORDERS] = {0}, used = 0;
    if (st->cap < BD_INLINE || st->first > st->cap || st->nregions > st->cap - st->first ||
        (st->map == NULL && st->cap != BD_INLINE) || st->max_order >= BD_ORDERS)
        return "buddy: state overwritten";
    for (size_t i = 0; i < st->nregions; i++) {
        const bd_region *r = &bd_regions(st)[i];
        if (((uintptr_t)r->base & 15) ||
            (i && (uintptr_t)r[-1].base + r[-1].size > (uintptr_t)r->base))
            return "buddy: regions out of order or overlapping";
        size_t prev_off = 0;
        unsigned prev_k = 0;
        bool prev_free = false;
        for (size_t off = 0; r->size - off >= ((size_t)1 << BD_MIN_ORDER);) {
            const bd_block *b = (const bd_block *)(r->base + off);
            if (!bd_hdr_ok(st, b) || (b->tag & BD_ALIAS)) return "buddy: block header overwritten";
            unsigned k = bd_order(b);
            size_t bs = (size_t)1 << k;
            if (k < BD_MIN_ORDER || k > st->max_order) return "buddy: order out of range";
            if ((off & (bs - 1)) || bs > r->size - off) return "buddy: block misaligned";
            if (bd_is_free(b)) {
                if (bd_alias_off(b)) return "buddy: free block with an alias";
                if (prev_free && prev_k == k && k < st->max_order && !(prev_off & bs) &&
                    prev_off + bs == off)
                    return "buddy: two free buddies not merged";
                walk_counts[k]++;
            } else {
                size_t a = bd_alias_off(b);
                if (a) {
                    const bd_block *al = (const bd_block *)((const uint8_t *)b + a);
                    if (a < BD_HDR || (a & 15) || a + 2 * BD_HDR > bs || !bd_hdr_ok(st, al) ||
                        al->tag != (BD_ALIAS | (uint64_t)a << 8))
                        return "buddy: alias header overwritten";
                }
                used++;
            }
            prev_off = off;
            prev_k = k;
            prev_free = bd_is_free(b);
            off += bs;
        }
    }
    if (used != st->used_blocks) return "buddy: used block count wrong";
    for (unsigned k = 0; k < BD_ORDERS; k++) {
        if (((st->nonempty >> k) & 1) != (st->lists[k] != NULL))
            return "buddy: order bitmap out of date";
        if (st->counts[k] != walk_counts[k]) return "buddy: free count of an order wrong";
        size_t n = 0;
        const bd_block *prev = NULL;
        for (const bd_block *b = st->lists[k]; b; prev = b, b = b->next) {
            if (++n > walk_counts[k]) return "buddy: more listed blocks than free blocks";
            if (((uintptr_t)b & 15) || !bd_region_of(st, b))
                return "buddy: free list points outside the regions";
            if (!bd_hdr_ok(st, b) || !bd_is_free(b) || bd_order(b) != k)
                return "buddy: listed block not free or of another order";
            if (b->prev != prev) return "buddy: free list back link broken";
        }
        if (n != walk_counts[k]) return "buddy: free block missing from its list";
    }
    return NULL;
}

static void bd_walk(const void *state, hf_lab_visit_fn fn, void *arg) {
    const bd_state *st = state;
    for (size_t i = 0; i < st->nregions; i++) {
        const bd_region *r = &bd_regions(st)[i];
        for (size_t off = 0; r->size - off >= ((size_t)1 << BD_MIN_ORDER);) {
            uint8_t *a = r->base + off;
            const bd_block *b = (const bd_block *)a;
            hf_lab_block_info info = {a, (size_t)1 << bd_order(b), !bd_is_free(b)};
            if (info.used) info.addr = a + (bd_alias_off(b) ? bd_alias_off(b) : 0) + BD_HDR;
            if (bd_order(b) < BD_MIN_ORDER) break;
            fn(&info, arg);
            off += info.size;
        }
    }
}

static void bd_stats(const void *state, hf_lab_policy_stats *out) {
    const bd_state *st = state;
    __builtin_memset(out, 0, sizeof *out);
    out->bins = st->max_order + 1;
    out->used_blocks = st->used_blocks;
    for (unsigned k = 0; k <= st->max_order; k++) {
        out->per_bin[k] = st->counts[k];
        out->free_blocks += st->counts[k];
        out->free_bytes += st->counts[k] << k;
        if (st->counts[k]) out->largest_free = (size_t)1 << k;
    }
}

const hf_lab_policy hfi_policy_buddy = {
    .name = "buddy",
    .state_size = (sizeof(bd_state) + 15) & ~(size_t)15,
    .init = bd_init,
    .destroy = bd_destroy,
    .region_need = bd_region_need,
    .add_region = bd_add_region,
    .malloc = bd_malloc,
    .memalign = bd_memalign,
    .free = bd_free,
    .diagnose = bd_diagnose,
    .usable_size = bd_usable_size,
    .resize = bd_resize,
    .check = bd_check,
    .walk = bd_walk,
    .stats = bd_stats,
};
