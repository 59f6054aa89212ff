/* lab/tlsf.c -- two-level segregated fit (TLSF).
 *
 * Algorithm: free blocks sit in lists indexed by (fl, sl): fl is floor(log2 size) (one exact
 * linear level for sizes below 256) and sl splits each power-of-two range into 16 equal parts.
 * A first-level bitmap says which fl rows have any free block, and one second-level bitmap per
 * row says which of its lists are non-empty. malloc rounds the request up to the next
 * subdivision boundary ("good fit"), so any block of the list it maps to is large enough, and
 * finds the first non-empty list at or above it with two find-first-set operations. Every
 * block has a 16-byte header (size, free and prev-free bits, and a check word binding it to its
 * address); a free block also stores its address in the last word of its own space, read by
 * its physical successor as the previous-block pointer, so free coalesces with both neighbours
 * at once.
 *
 * Guarantee: malloc, free, and resize run in O(1) (no list is ever scanned); the wasted part
 * of a good fit is below 1/16 of the request. No two free blocks are ever adjacent.
 *
 * Region layout: [region record 48 B] [blocks...] [sentinel header 16 B, size 0, used]. The
 * records are in the lab's shared region index (region.c), so a free finds its region in
 * O(log regions). */
#include "lab/lab.h"
#include "lab/block.h"
#include "lab/tlsf.h"
#include "internal/internal.h"

#define TL_HDR     16
#define TL_MIN     48 /* header, two links, the prev-phys word, rounded to 16 */
#define TL_FREE    ((size_t)1)
#define TL_PFREE   ((size_t)2)
#define TL_FLAGS   ((size_t)15)
#define TL_RREC    48
#define TL_SENT    16
#define TL_MAX_REQ ((size_t)1 << 38)
#define TL_MAX_BLK ((size_t)1 << 39)
#define TL_MAGIC   ((size_t)0x7c3a91e55d0f62b9ULL)
#define TL_FL      HFI_TLSF_FL_COUNT
#define TL_SL      HFI_TLSF_SL_COUNT

typedef struct tl_block {
    size_t word;                  /* size | TL_FREE | TL_PFREE */
    size_t check;                 /* hfi_tag_check(secret, word, address, TL_MAGIC) */
    struct tl_block *next, *prev; /* free blocks only */
} tl_block;

typedef hfi_lab_rrec tl_region; /* size: the whole region, record and sentinel included */

typedef struct tl_state {
    hfi_lab_rset regions;
    uint64_t fl_map;
    uint32_t sl_map[TL_FL];
    tl_block *lists[TL_FL][TL_SL];
    size_t min_split;
    size_t secret;
    size_t used_blocks;
} tl_state;

_Static_assert(sizeof(tl_region) == TL_RREC, "region record");

void hfi_tlsf_mapping(size_t size, unsigned *fl, unsigned *sl) {
    if (size < HFI_TLSF_SMALL) {
        *fl = 0;
        *sl = (unsigned)(size >> 4);
        return;
    }
    unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)size);
    *fl = k - 7;
    *sl = (unsigned)(size >> (k - HFI_TLSF_SL_LOG2)) - TL_SL;
}

static size_t tl_size(const tl_block *b) {
    return b->word & ~TL_FLAGS;
}
static bool tl_free_bit(const tl_block *b) {
    return (b->word & TL_FREE) != 0;
}
static size_t tl_pfree(const tl_block *b) {
    return b->word & TL_PFREE;
}
static bool tl_hdr_ok(const tl_state *st, const tl_block *b) {
    return b->check == hfi_tag_check(st->secret, b->word, b, TL_MAGIC);
}
static tl_block *tl_at(const void *p, size_t off) {
    return (tl_block *)((uint8_t *)p + off);
}
static tl_block **tl_prev_slot(const tl_block *b) {
    return (tl_block **)((uint8_t *)b - sizeof(void *));
}
static void tl_set(const tl_state *st, tl_block *b, size_t size, size_t flags) {
    b->word = size | flags;
    b->check = hfi_tag_check(st->secret, b->word, b, TL_MAGIC);
}
static void tl_set_flags(const tl_state *st, tl_block *b, size_t flags) {
    tl_set(st, b, tl_size(b), flags);
}
/* b is free: tell its physical successor. */
static void tl_link_next(const tl_state *st, tl_block *b) {
    tl_block *n = tl_at(b, tl_size(b));
    tl_set_flags(st, n, (n->word & TL_FREE) | TL_PFREE);
    *tl_prev_slot(n) = b;
}
static uint8_t *tl_first(const tl_region *r) {
    return (uint8_t *)r + TL_RREC;
}
static uint8_t *tl_end(const tl_region *r) {
    return (uint8_t *)r + r->size - TL_SENT;
}

static size_t tl_request(size_t n) {
    if (n > TL_MAX_REQ) return 0;
    size_t s = (n + TL_HDR + 15) & ~(size_t)15;
    return s < TL_MIN ? TL_MIN : s;
}

/* The region whose block area holds a, or NULL: O(log regions). */
static const tl_region *tl_region_of(const tl_state *st, const void *a) {
    const tl_region *r = hfi_lab_rset_find(&st->regions, a);
    return r && (const uint8_t *)a >= tl_first(r) && (const uint8_t *)a < tl_end(r) ? r : NULL;
}

static void tl_insert(tl_state *st, tl_block *b) {
    unsigned fl, sl;
    hfi_tlsf_mapping(tl_size(b), &fl, &sl);
    b->prev = NULL;
    b->next = st->lists[fl][sl];
    if (b->next) b->next->prev = b;
    st->lists[fl][sl] = b;
    st->sl_map[fl] |= 1u << sl;
    st->fl_map |= (uint64_t)1 << fl;
}
static void tl_remove(tl_state *st, tl_block *b) {
    unsigned fl, sl;
    hfi_tlsf_mapping(tl_size(b), &fl, &sl);
    if (b->prev)
        b->prev->next = b->next;
    else
        st->lists[fl][sl] = b->next;
    if (b->next) b->next->prev = b->prev;
    if (!st->lists[fl][sl]) {
        st->sl_map[fl] &= ~(1u << sl);
        if (!st->sl_map[fl]) st->fl_map &= ~((uint64_t)1 << fl);
    }
}

/* Good fit: takes off its list a free block of at least need bytes, or returns NULL. */
static tl_block *tl_find(tl_state *st, size_t need) {
    if (need >= HFI_TLSF_SMALL) {
        unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)need);
        need += ((size_t)1 << (k - HFI_TLSF_SL_LOG2)) - 1;
    }
    if (need >= TL_MAX_BLK) return NULL;
    unsigned fl, sl;
    hfi_tlsf_mapping(need, &fl, &sl);
    uint32_t sm = st->sl_map[fl] & (~(uint32_t)0 << sl);
    if (!sm) {
        uint64_t fm = fl + 1 < 64 ? st->fl_map & (~(uint64_t)0 << (fl + 1)) : 0;
        if (!fm) return NULL;
        fl = (unsigned)__builtin_ctzll(fm);
        sm = st->sl_map[fl];
    }
    tl_block *b = st->lists[fl][__builtin_ctz(sm)];
    tl_remove(st, b);
    return b;
}

/* b (off the lists, size s, prev-free flag pf) becomes used with at least need bytes. */
static void *tl_place(tl_state *st, tl_block *b, size_t s, size_t need, size_t pf) {
    if (s - need >= st->min_split) {
        tl_set(st, b, need, pf);
        tl_block *t = tl_at(b, need);
        tl_set(st, t, s - need, TL_FREE);
        tl_link_next(st, t);
        tl_insert(st, t);
    } else {
        tl_set(st, b, s, pf);
        tl_block *n = tl_at(b, s);
        tl_set_flags(st, n, n->word & TL_FREE);
    }
    st->used_blocks++;
    return (uint8_t *)b + TL_HDR;
}

static size_t tl_tag(const void *ctx, const uint8_t *a, bool *used) {
    const tl_block *b = (const tl_block *)a;
    if (!tl_hdr_ok(ctx, b) || tl_size(b) < TL_MIN) return 0;
    *used = !tl_free_bit(b);
    return tl_size(b);
}

/* The live block whose payload is p, or NULL with *err set. Its physical neighbours are vetted
 * too, as free() merges with them: the successor's header, and the predecessor (when free)
 * through the pointer in its last word, which must lead to a valid free header ending at b. */
static tl_block *tl_lookup(const tl_state *st, const void *p, const char **err) {
    *err = "invalid free";
    if (!p || ((uintptr_t)p & 15)) return NULL;
    const tl_region *r = tl_region_of(st, (const uint8_t *)p - TL_HDR);
    if (!r) return NULL;
    tl_block *b = (tl_block *)((uint8_t *)p - TL_HDR);
    if (!tl_hdr_ok(st, b)) {
        *err = hfi_lab_classify(tl_first(r), tl_end(r), b, tl_tag, st);
        return NULL;
    }
    size_t s = tl_size(b);
    *err = "heap corruption";
    if (s < TL_MIN || s > (size_t)(tl_end(r) - (uint8_t *)b)) return NULL;
    *err = "double free";
    if (tl_free_bit(b)) return NULL;
    *err = "heap corruption";
    const tl_block *n = tl_at(b, s);
    if (!tl_hdr_ok(st, n) || tl_pfree(n)) return NULL;
    if (tl_pfree(b)) {
        const tl_block *pb = *tl_prev_slot(b);
        if ((uint8_t *)pb < tl_first(r) || (uint8_t *)pb >= (uint8_t *)b || ((uintptr_t)pb & 15) ||
            !tl_hdr_ok(st, pb) || !tl_free_bit(pb) || tl_at(pb, tl_size(pb)) != b)
            return NULL;
    }
    *err = NULL;
    return b;
}

static const char *tl_diagnose(const void *state, const void *p) {
    const char *err;
    tl_lookup(state, p, &err);
    return err;
}

static void tl_init(void *state, const hf_lab_config *cfg) {
    tl_state *st = state;
    __builtin_memset(st, 0, sizeof *st);
    size_t ms = (cfg->min_split + 15) & ~(size_t)15;
    st->min_split = ms < TL_MIN ? TL_MIN : ms;
    st->secret = cfg->secret;
}

static size_t tl_region_need(const void *state, size_t n) {
    (void)state;
    size_t s = tl_request(n);
    if (!s) return SIZE_MAX;
    s += 80; /* for memalign(a, m) the arena asks for n = m + a; see tl_memalign's search */
    if (s >= HFI_TLSF_SMALL) { /* the good-fit rounding must still find the block */
        unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)s);
        s = (s + ((size_t)1 << (k - HFI_TLSF_SL_LOG2)) - 1) &
            ~(((size_t)1 << (k - HFI_TLSF_SL_LOG2)) - 1);
        s = (s + 15) & ~(size_t)15;
    }
    return s + TL_RREC + TL_SENT;
}

static void tl_add_region(void *state, void *start, size_t size) {
    tl_state *st = state;
    if (((uintptr_t)start & 15) || size < TL_RREC + TL_SENT + TL_MIN) return;
    size &= ~(size_t)15;
    if (size > TL_MAX_BLK) size = TL_MAX_BLK;
    tl_region *r = start;
    r->size = size;
    r->magic = TL_MAGIC ^ (uintptr_t)r;
    r->last = 0;
    hfi_lab_rset_add(&st->regions, r);
    tl_block *b = (tl_block *)tl_first(r);
    tl_set(st, (tl_block *)tl_end(r), 0, 0);
    tl_set(st, b, size - TL_RREC - TL_SENT, TL_FREE);
    tl_link_next(st, b);
    tl_insert(st, b);
}

/* The region ending at end grows: the sentinel moves up, the piece joins a free last block. */
static bool tl_extend(void *state, void *end, size_t size) {
    tl_state *st = state;
    tl_region *r = hfi_lab_rset_ending_at(&st->regions, end);
    if (!r || size < TL_MIN || (size & 15) || r->size + size > TL_MAX_BLK) return false;
    tl_block *b = (tl_block *)tl_end(r);
    size_t s = size;
    if (tl_pfree(b)) {
        tl_block *left = *tl_prev_slot(b);
        tl_remove(st, left);
        s += tl_size(left);
        b = left;
    }
    r->size += size;
    tl_set(st, (tl_block *)tl_end(r), 0, 0);
    tl_set(st, b, s, TL_FREE);
    tl_link_next(st, b);
    tl_insert(st, b);
    return true;
}

static bool tl_at_end(const void *state, const void *p) {
    const tl_state *st = state;
    const char *err;
    const tl_block *b = tl_lookup(st, p, &err);
    if (!b) return false;
    const tl_region *r = tl_region_of(st, b);
    const tl_block *rt = tl_at(b, tl_size(b));
    if ((const uint8_t *)rt == tl_end(r)) return true;
    return tl_free_bit(rt) && (const uint8_t *)rt + tl_size(rt) == tl_end(r);
}

static void *tl_malloc(void *state, size_t n) {
    tl_state *st = state;
    size_t need = tl_request(n);
    if (!need) return NULL;
    tl_block *b = tl_find(st, need);
    return b ? tl_place(st, b, tl_size(b), need, tl_pfree(b)) : NULL;
}

static void *tl_memalign(void *state, size_t align, size_t n) {
    tl_state *st = state;
    if (align <= HF_LAB_ALIGN) return tl_malloc(state, n);
    size_t need = tl_request(n);
    if (!need || !hf_is_pow2(align) || align > TL_MAX_REQ) return NULL;
    tl_block *b = tl_find(st, need + align + TL_MIN);
    if (!b) return NULL;
    size_t s = tl_size(b), pf = tl_pfree(b);
    uintptr_t pay = hf_align_up((uintptr_t)b + TL_HDR, align);
    while (pay - TL_HDR - (uintptr_t)b != 0 && pay - TL_HDR - (uintptr_t)b < TL_MIN) pay += align;
    size_t lead = pay - TL_HDR - (uintptr_t)b;
    if (lead) { /* the leading part stays free */
        tl_set(st, b, lead, TL_FREE | pf);
        *tl_prev_slot(tl_at(b, lead)) = b;
        tl_insert(st, b);
        b = tl_at(b, lead);
        s -= lead;
        pf = TL_PFREE;
    }
    return tl_place(st, b, s, need, pf);
}

static void tl_free(void *state, void *p) {
    tl_state *st = state;
    const char *err;
    tl_block *b = tl_lookup(st, p, &err);
    if (!b) {
        hfi_report_error(err, p, 0);
        return;
    }
    size_t s = tl_size(b);
    tl_block *right = tl_at(b, s), *left = tl_pfree(b) ? *tl_prev_slot(b) : NULL;
    tl_set(st, b, s, TL_FREE | tl_pfree(b)); /* a stale header inside a merged block reads free */
    st->used_blocks--;
    if (tl_free_bit(right)) {
        tl_remove(st, right);
        s += tl_size(right);
    }
    if (left) {
        tl_remove(st, left);
        s += tl_size(left);
        b = left;
    }
    tl_set(st, b, s, TL_FREE);
    tl_link_next(st, b);
    tl_insert(st, b);
}

static size_t tl_usable_size(const void *state, const void *p) {
    const char *err;
    const tl_block *b = tl_lookup(state, p, &err);
    return b ? tl_size(b) - TL_HDR : 0;
}

static bool tl_resize(void *state, void *p, size_t n) {
    tl_state *st = state;
    const char *err;
    tl_block *b = tl_lookup(st, p, &err);
    size_t need = tl_request(n);
    if (!b || !need) return false;
    size_t s = tl_size(b), pf = tl_pfree(b);
    tl_block *right = tl_at(b, s);
    bool rfree = tl_free_bit(right);
    if (need <= s) {
        if (s - need < st->min_split && !(rfree && s - need >= 16)) return true;
        size_t tail = s - need;
        if (rfree) {
            tl_remove(st, right);
            tail += tl_size(right);
        }
        tl_set(st, b, need, pf);
        tl_block *t = tl_at(b, need);
        tl_set(st, t, tail, TL_FREE);
        tl_link_next(st, t);
        tl_insert(st, t);
        return true;
    }
    if (!rfree || s + tl_size(right) < need) return false;
    tl_remove(st, right);
    st->used_blocks--; /* tl_place counts it again */
    tl_place(st, b, s + tl_size(right), need, pf);
    return true;
}

static const char *tl_check(const void *state) {
    const tl_state *st = state;
    size_t free_walk = 0, used_walk = 0;
    const char *why = hfi_lab_rset_check(&st->regions, TL_MAGIC);
    if (why) return why;
    for (const tl_region *r = st->regions.head; r; r = r->next) {
        const uint8_t *a = tl_first(r), *end = tl_end(r);
        const tl_block *prev = NULL;
        for (;;) {
            const tl_block *b = (const tl_block *)a;
            if (!tl_hdr_ok(st, b)) return "tlsf: block header overwritten";
            bool pfree = prev && tl_free_bit(prev);
            if ((tl_pfree(b) != 0) != pfree) return "tlsf: prev-free bit wrong";
            if (pfree && *tl_prev_slot(b) != prev) return "tlsf: previous-block pointer wrong";
            if (a == end) break;
            size_t s = tl_size(b);
            if (s < TL_MIN || s > (size_t)(end - a)) return "tlsf: block size out of range";
            if (tl_free_bit(b)) {
                if (pfree) return "tlsf: two adjacent free blocks";
                free_walk++;
            } else {
                used_walk++;
            }
            prev = b;
            a += s;
        }
        if (tl_size((const tl_block *)end) != 0 || tl_free_bit((const tl_block *)end))
            return "tlsf: region sentinel overwritten";
    }
    if (used_walk != st->used_blocks) return "tlsf: used block count wrong";
    size_t listed = 0;
    for (unsigned fl = 0; fl < TL_FL; fl++) {
        if (((st->fl_map >> fl) & 1) != (st->sl_map[fl] != 0))
            return "tlsf: first-level bitmap out of date";
        for (unsigned sl = 0; sl < TL_SL; sl++) {
            if (((st->sl_map[fl] >> sl) & 1) != (st->lists[fl][sl] != NULL))
                return "tlsf: second-level bitmap out of date";
            const tl_block *prev = NULL;
            for (const tl_block *b = st->lists[fl][sl]; b; prev = b, b = b->next) {
                if (++listed > free_walk) return "tlsf: more listed blocks than free blocks";
                if (((uintptr_t)b & 15) || !tl_region_of(st, b))
                    return "tlsf: free list points outside the regions";
                if (!tl_hdr_ok(st, b) || !tl_free_bit(b)) return "tlsf: listed block not free";
                unsigned f, l;
                hfi_tlsf_mapping(tl_size(b), &f, &l);
                if (f != fl || l != sl) return "tlsf: block in the wrong list";
                if (b->prev != prev) return "tlsf: free list back link broken";
            }
        }
    }
    if (st->fl_map >> TL_FL) return "tlsf: first-level bitmap out of date";
    if (listed != free_walk) return "tlsf: free block missing from the lists";
    return NULL;
}

static void tl_walk(const void *state, hf_lab_visit_fn fn, void *arg) {
    const tl_state *st = state;
    for (const tl_region *r = st->regions.head; r; r = r->next)
        for (uint8_t *a = tl_first(r); a < tl_end(r);) {
            const tl_block *b = (const tl_block *)a;
            bool used = !tl_free_bit(b);
            hf_lab_block_info info = {used ? a + TL_HDR : a, tl_size(b), used};
            if (info.size == 0) break;
            fn(&info, arg);
            a += info.size;
        }
}

static void tl_stats(const void *state, hf_lab_policy_stats *out) {
    const tl_state *st = state;
    __builtin_memset(out, 0, sizeof *out);
    out->bins = TL_FL;
    out->used_blocks = st->used_blocks;
    for (unsigned fl = 0; fl < TL_FL; fl++)
        for (unsigned sl = 0; sl < TL_SL; sl++)
            for (const tl_block *b = st->lists[fl][sl]; b; b = b->next) {
                size_t s = tl_size(b);
                out->per_bin[fl]++;
                out->free_blocks++;
                out->free_bytes += s;
                if (s > out->largest_free) out->largest_free = s;
            }
}

const hf_lab_policy hfi_policy_tlsf = {
    .name = "tlsf",
    .state_size = (sizeof(tl_state) + 15) & ~(size_t)15,
    .init = tl_init,
    .region_need = tl_region_need,
    .add_region = tl_add_region,
    .extend = tl_extend,
    .at_end = tl_at_end,
    .malloc = tl_malloc,
    .memalign = tl_memalign,
    .free = tl_free,
    .diagnose = tl_diagnose,
    .usable_size = tl_usable_size,
    .resize = tl_resize,
    .check = tl_check,
    .walk = tl_walk,
    .stats = tl_stats,
};
