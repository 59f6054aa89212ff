/* lab/segfit.c -- segregated free lists with boundary-tag coalescing.
 *
 * Algorithm: every block carries a 16-byte header (size | used bit, and a check word that
 * binds the header to its own address) and an 8-byte footer repeating the size word, so both
 * physical neighbours are found in O(1). Free blocks are kept in 64 size classes: exact
 * 16-byte classes below 512 bytes, then two classes per power of two. A 64-bit map of the
 * non-empty classes finds the smallest adequate class with one count-trailing-zeros.
 *
 * Guarantee: a request below 512 bytes (block size) is served in O(1): every block of an exact
 * class fits, so the first block of the first non-empty class at or above the request's class
 * is taken. Larger requests scan only their own class (first fit), then take the first block
 * of the next non-empty class, which always fits. Frees coalesce immediately with both
 * neighbours, so no two free blocks are ever adjacent.
 *
 * Region layout: [region record 48 B (its last word is a "used" fence footer)] [blocks...]
 * [sentinel header 16 B, size 0, used]. The records are in the lab's shared region index
 * (region.c): an address-ordered list for walks and a tree that finds a pointer's region in
 * O(log regions). */
#include "lab/lab.h"
#include "lab/block.h"
#include "internal/internal.h"

#define SF_HDR      16
#define SF_OVERHEAD 24 /* header + footer */
#define SF_MIN      48 /* header, two links, footer, rounded to 16 */
#define SF_USED     ((size_t)1)
#define SF_CLASSES  64
#define SF_EXACT    32 /* classes 0..31 hold exactly 16 * class bytes */
#define SF_RREC     48
#define SF_SENT     16
#define SF_MAX_REQ  ((size_t)1 << 46)
#define SF_MAGIC    ((size_t)0x5e9f17a3c0de4b1dULL)

typedef struct sf_block {
    size_t word;                  /* size | SF_USED */
    size_t check;                 /* hfi_tag_check(secret, word, address, SF_MAGIC) */
    struct sf_block *next, *prev; /* free blocks only */
} sf_block;

/* size: the whole region, record and sentinel included; last: the footer of the (nonexistent)
 * block left of the first block, SF_USED. */
typedef hfi_lab_rrec sf_region;

typedef struct sf_state {
    hfi_lab_rset regions;
    sf_block *lists[SF_CLASSES];
    uint64_t nonempty;
    size_t min_split;
    size_t secret;
    size_t used_blocks;
} sf_state;

_Static_assert(sizeof(sf_region) == SF_RREC, "region record");

static size_t sf_size(const sf_block *b) {
    return b->word & ~(size_t)15;
}
static bool sf_used(const sf_block *b) {
    return (b->word & SF_USED) != 0;
}
static bool sf_hdr_ok(const sf_state *st, const sf_block *b) {
    return b->check == hfi_tag_check(st->secret, b->word, b, SF_MAGIC);
}
static sf_block *sf_at(const void *p, size_t off) {
    return (sf_block *)((uint8_t *)p + off);
}
static size_t *sf_footer(const sf_block *b, size_t size) {
    return (size_t *)((uint8_t *)b + size - sizeof(size_t));
}
static void sf_set(const sf_state *st, sf_block *b, size_t size, bool used) {
    b->word = size | (used ? SF_USED : 0);
    b->check = hfi_tag_check(st->secret, b->word, b, SF_MAGIC);
    if (size != 0) *sf_footer(b, size) = b->word;
}
static uint8_t *sf_first(const sf_region *r) {
    return (uint8_t *)r + SF_RREC;
}
static uint8_t *sf_end(const sf_region *r) {
    return (uint8_t *)r + r->size - SF_SENT;
}

static unsigned sf_class(size_t size) {
    if (size < 16 * SF_EXACT) return (unsigned)(size >> 4);
    unsigned k = 63u - (unsigned)__builtin_clzll((unsigned long long)size); /* >= 9 */
    unsigned c = SF_EXACT + (k - 9) * 2 + (unsigned)((size >> (k - 1)) & 1);
    return c < SF_CLASSES ? c : SF_CLASSES - 1;
}

/* Block size for an n-byte request, 0 if n is too large. */
static size_t sf_request(size_t n) {
    if (n > SF_MAX_REQ) return 0;
    size_t s = (n + SF_OVERHEAD + 15) & ~(size_t)15;
    return s < SF_MIN ? SF_MIN : s;
}

/* The region whose block area contains address a, or NULL: O(log regions). */
static const sf_region *sf_region_of(const sf_state *st, const void *a) {
    const sf_region *r = hfi_lab_rset_find(&st->regions, a);
    return r && (const uint8_t *)a >= sf_first(r) && (const uint8_t *)a < sf_end(r) ? r : NULL;
}

static void sf_insert(sf_state *st, sf_block *b) {
    unsigned c = sf_class(sf_size(b));
    b->prev = NULL;
    b->next = st->lists[c];
    if (b->next) b->next->prev = b;
    st->lists[c] = b;
    st->nonempty |= (uint64_t)1 << c;
}
static void sf_remove(sf_state *st, sf_block *b) {
    unsigned c = sf_class(sf_size(b));
    if (b->prev)
        b->prev->next = b->next;
    else
        st->lists[c] = b->next;
    if (b->next) b->next->prev = b->prev;
    if (!st->lists[c]) st->nonempty &= ~((uint64_t)1 << c);
}

/* Takes a free block of at least need bytes off its list, or returns NULL. */
static sf_block *sf_find(sf_state *st, size_t need) {
    unsigned c = sf_class(need);
    if (c >= SF_EXACT) { /* a range class: first fit within it */
        for (sf_block *b = st->lists[c]; b; b = b->next)
            if (sf_size(b) >= need) {
                sf_remove(st, b);
                return b;
            }
        c++;
        if (c >= SF_CLASSES) return NULL;
    }
    uint64_t m = st->nonempty & (~(uint64_t)0 << c);
    if (!m) return NULL;
    sf_block *b = st->lists[__builtin_ctzll(m)];
    sf_remove(st, b);
    return b;
}

/* b (off the lists, size s) becomes a used block of at least need bytes; the tail is freed. */
static void *sf_place(sf_state *st, sf_block *b, size_t s, size_t need) {
    if (s - need >= st->min_split) {
        sf_set(st, b, need, true);
        sf_block *t = sf_at(b, need);
        sf_set(st, t, s - need, false);
        sf_insert(st, t);
    } else {
        sf_set(st, b, s, true);
    }
    st->used_blocks++;
    return (uint8_t *)b + SF_HDR;
}

static size_t sf_tag(const void *ctx, const uint8_t *a, bool *used) {
    const sf_block *b = (const sf_block *)a;
    if (!sf_hdr_ok(ctx, b) || sf_size(b) < SF_MIN) return 0;
    *used = sf_used(b);
    return sf_size(b);
}

/* The live block whose payload is p, or NULL with *err set to what is wrong. */
static sf_block *sf_lookup(const sf_state *st, const void *p, const char **err) {
    *err = "invalid free";
    if (!p || ((uintptr_t)p & 15)) return NULL;
    const sf_region *r = sf_region_of(st, (const uint8_t *)p - SF_HDR);
    if (!r) return NULL;
    sf_block *b = (sf_block *)((uint8_t *)p - SF_HDR);
    if (!sf_hdr_ok(st, b)) {
        *err = hfi_lab_classify(sf_first(r), sf_end(r), b, sf_tag, st);
        return NULL;
    }
    size_t s = sf_size(b);
    *err = "heap corruption";
    if (s < SF_MIN || s > (size_t)(sf_end(r) - (uint8_t *)b)) return NULL;
    *err = "double free";
    if (!sf_used(b)) return NULL;
    *err = "heap corruption";
    if (*sf_footer(b, s) != b->word) return NULL;
    *err = NULL;
    return b;
}

static const char *sf_diagnose(const void *state, const void *p) {
    const char *err;
    sf_lookup(state, p, &err);
    return err;
}

static void sf_init(void *state, const hf_lab_config *cfg) {
    sf_state *st = state;
    __builtin_memset(st, 0, sizeof *st);
    size_t ms = (cfg->min_split + 15) & ~(size_t)15;
    st->min_split = ms < SF_MIN ? SF_MIN : ms;
    st->secret = cfg->secret;
}

static size_t sf_region_need(const void *state, size_t n) {
    (void)state;
    size_t s = sf_request(n);
    /* + 64: when the arena grows for memalign(a, m) it asks for n = m + a; the aligned block
     * may need a leading free part of 48 bytes or more */
    return s ? s + 64 + SF_RREC + SF_SENT : SIZE_MAX;
}

static void sf_add_region(void *state, void *start, size_t size) {
    sf_state *st = state;
    if (((uintptr_t)start & 15) || size < SF_RREC + SF_SENT + SF_MIN) return;
    size &= ~(size_t)15;
    sf_region *r = start;
    r->size = size;
    r->magic = SF_MAGIC ^ (uintptr_t)r;
    r->last = SF_USED;
    hfi_lab_rset_add(&st->regions, r);
    sf_set(st, (sf_block *)sf_end(r), 0, true);
    sf_block *b = (sf_block *)sf_first(r);
    sf_set(st, b, size - SF_RREC - SF_SENT, false);
    sf_insert(st, b);
}

/* The region ending at end grows: the sentinel moves up, the piece joins a free last block. */
static bool sf_extend(void *state, void *end, size_t size) {
    sf_state *st = state;
    sf_region *r = hfi_lab_rset_ending_at(&st->regions, end);
    if (!r || size < SF_MIN || (size & 15)) return false;
    sf_block *b = (sf_block *)sf_end(r);
    size_t s = size, lw = *(size_t *)((uint8_t *)b - sizeof(size_t));
    if (!(lw & SF_USED)) {
        sf_block *left = (sf_block *)((uint8_t *)b - (lw & ~(size_t)15));
        sf_remove(st, left);
        s += sf_size(left);
        b = left;
    }
    r->size += size;
    sf_set(st, (sf_block *)sf_end(r), 0, true);
    sf_set(st, b, s, false);
    sf_insert(st, b);
    return true;
}

static bool sf_at_end(const void *state, const void *p) {
    const sf_state *st = state;
    const char *err;
    const sf_block *b = sf_lookup(st, p, &err);
    if (!b) return false;
    const sf_region *r = sf_region_of(st, b);
    const sf_block *rt = sf_at(b, sf_size(b));
    if ((const uint8_t *)rt == sf_end(r)) return true;
    return sf_hdr_ok(st, rt) && !sf_used(rt) && (const uint8_t *)rt + sf_size(rt) == sf_end(r);
}

static void *sf_malloc(void *state, size_t n) {
    sf_state *st = state;
    size_t need = sf_request(n);
    if (!need) return NULL;
    sf_block *b = sf_find(st, need);
    return b ? sf_place(st, b, sf_size(b), need) : NULL;
}

static void *sf_memalign(void *state, size_t align, size_t n) {
    sf_state *st = state;
    if (align <= HF_LAB_ALIGN) return sf_malloc(state, n);
    size_t need = sf_request(n);
    if (!need || !hf_is_pow2(align) || align > SF_MAX_REQ) return NULL;
    sf_block *b = sf_find(st, need + align + SF_MIN);
    if (!b) return NULL;
    size_t s = sf_size(b);
    uintptr_t pay = hf_align_up((uintptr_t)b + SF_HDR, align);
    while (pay - SF_HDR - (uintptr_t)b != 0 && pay - SF_HDR - (uintptr_t)b < SF_MIN) pay += align;
    size_t lead = pay - SF_HDR - (uintptr_t)b;
    if (lead) { /* the leading part stays free; its left neighbour is used */
        sf_set(st, b, lead, false);
        sf_insert(st, b);
        b = sf_at(b, lead);
        s -= lead;
    }
    return sf_place(st, b, s, need);
}

static void sf_free(void *state, void *p) {
    sf_state *st = state;
    const char *err;
    sf_block *b = sf_lookup(st, p, &err);
    if (!b) {
        hfi_report_error(err, p, 0);
        return;
    }
    size_t s = sf_size(b);
    sf_block *right = sf_at(b, s);
    size_t lw = *(size_t *)((uint8_t *)b - sizeof(size_t));
    sf_block *left = NULL;
    /* Both neighbours' tags are checked before anything is written: the right one's header
     * (and its footer when it is free, as it is about to merge), the left one's footer against
     * its header. */
    if (!sf_hdr_ok(st, right) ||
        (!sf_used(right) &&
         (sf_size(right) < SF_MIN ||
          sf_size(right) > (size_t)(sf_end(sf_region_of(st, b)) - (uint8_t *)right) ||
          *sf_footer(right, sf_size(right)) != right->word))) {
        hfi_report_error("heap corruption", p, s);
        return;
    }
    if (!(lw & SF_USED)) {
        size_t ls = lw & ~(size_t)15;
        const sf_region *r = sf_region_of(st, b);
        if (ls < SF_MIN || ls > (size_t)((uint8_t *)b - sf_first(r))) {
            hfi_report_error("heap corruption", p, s);
            return;
        }
        left = (sf_block *)((uint8_t *)b - ls);
        if (!sf_hdr_ok(st, left) || left->word != lw) {
            hfi_report_error("heap corruption", p, s);
            return;
        }
    }
    sf_set(st, b, s, false); /* a stale header left inside a merged block reads "free" */
    st->used_blocks--;
    if (!sf_used(right)) {
        sf_remove(st, right);
        s += sf_size(right);
    }
    if (left) {
        sf_remove(st, left);
        s += sf_size(left);
        b = left;
    }
    sf_set(st, b, s, false);
    sf_insert(st, b);
}

static size_t sf_usable_size(const void *state, const void *p) {
    const char *err;
    const sf_block *b = sf_lookup(state, p, &err);
    return b ? sf_size(b) - SF_OVERHEAD : 0;
}

static bool sf_resize(void *state, void *p, size_t n) {
    sf_state *st = state;
    const char *err;
    sf_block *b = sf_lookup(st, p, &err);
    size_t need = sf_request(n);
    if (!b || !need) return false;
    size_t s = sf_size(b);
    sf_block *right = sf_at(b, s);
    if (!sf_hdr_ok(st, right)) return false;
    bool rfree = !sf_used(right);
    if (need <= s) {
        size_t tail = s - need;
        if (rfree) tail += sf_size(right);
        if (s - need < st->min_split && !(rfree && s - need >= 16)) return true;
        if (rfree) sf_remove(st, right);
        sf_set(st, b, need, true);
        sf_block *t = sf_at(b, need);
        sf_set(st, t, tail, false);
        sf_insert(st, t);
        return true;
    }
    if (!rfree || s + sf_size(right) < need) return false;
    sf_remove(st, right);
    s += sf_size(right);
    st->used_blocks--; /* sf_place counts it again */
    sf_place(st, b, s, need);
    return true;
}

static const char *sf_check(const void *state) {
    const sf_state *st = state;
    size_t free_walk = 0, used_walk = 0;
    const char *why = hfi_lab_rset_check(&st->regions, SF_MAGIC);
    if (why) return why;
    for (const sf_region *r = st->regions.head; r; r = r->next) {
        if (r->last != SF_USED) return "segregated: region record overwritten";
        const uint8_t *a = sf_first(r), *end = sf_end(r);
        bool prev_free = false;
        while (a < end) {
            const sf_block *b = (const sf_block *)a;
            if (!sf_hdr_ok(st, b)) return "segregated: block header overwritten";
            size_t s = sf_size(b);
            if (s < SF_MIN || s > (size_t)(end - a)) return "segregated: block size out of range";
            if (*sf_footer(b, s) != b->word) return "segregated: footer does not match header";
            if (sf_used(b)) {
                used_walk++;
                prev_free = false;
            } else {
                if (prev_free) return "segregated: two adjacent free blocks";
                free_walk++;
                prev_free = true;
            }
            a += s;
        }
        const sf_block *sent = (const sf_block *)end;
        if (a != end || !sf_hdr_ok(st, sent) || sent->word != SF_USED)
            return "segregated: region sentinel overwritten";
    }
    if (used_walk != st->used_blocks) return "segregated: used block count wrong";
    size_t listed = 0;
    for (unsigned c = 0; c < SF_CLASSES; c++) {
        bool bit = (st->nonempty >> c) & 1;
        if (bit != (st->lists[c] != NULL)) return "segregated: class bitmap out of date";
        const sf_block *prev = NULL;
        for (const sf_block *b = st->lists[c]; b; prev = b, b = b->next) {
            if (++listed > free_walk) return "segregated: more listed blocks than free blocks";
            if (((uintptr_t)b & 15) || !sf_region_of(st, b))
                return "segregated: free list points outside the regions";
            if (!sf_hdr_ok(st, b) || sf_used(b)) return "segregated: listed block not free";
            if (sf_class(sf_size(b)) != c) return "segregated: block in the wrong class";
            if (b->prev != prev) return "segregated: free list back link broken";
        }
    }
    if (listed != free_walk) return "segregated: free block missing from the lists";
    return NULL;
}

static void sf_walk(const void *state, hf_lab_visit_fn fn, void *arg) {
    const sf_state *st = state;
    for (const sf_region *r = st->regions.head; r; r = r->next)
        for (uint8_t *a = sf_first(r); a < sf_end(r);) {
            const sf_block *b = (const sf_block *)a;
            hf_lab_block_info info = {sf_used(b) ? a + SF_HDR : a, sf_size(b), sf_used(b)};
            if (info.size == 0) break;
            fn(&info, arg);
            a += info.size;
        }
}

static void sf_stats(const void *state, hf_lab_policy_stats *out) {
    const sf_state *st = state;
    __builtin_memset(out, 0, sizeof *out);
    out->bins = SF_CLASSES;
    out->used_blocks = st->used_blocks;
    for (unsigned c = 0; c < SF_CLASSES; c++)
        for (const sf_block *b = st->lists[c]; b; b = b->next) {
            size_t s = sf_size(b);
            out->per_bin[c]++;
            out->free_blocks++;
            out->free_bytes += s;
            if (s > out->largest_free) out->largest_free = s;
        }
}

const hf_lab_policy hfi_policy_segregated = {
    .name = "segregated",
    .state_size = (sizeof(sf_state) + 15) & ~(size_t)15,
    .init = sf_init,
    .region_need = sf_region_need,
    .add_region = sf_add_region,
    .extend = sf_extend,
    .at_end = sf_at_end,
    .malloc = sf_malloc,
    .memalign = sf_memalign,
    .free = sf_free,
    .diagnose = sf_diagnose,
    .usable_size = sf_usable_size,
    .resize = sf_resize,
    .check = sf_check,
    .walk = sf_walk,
    .stats = sf_stats,
};
