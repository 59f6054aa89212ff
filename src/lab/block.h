/* lab/block.h -- the boundary-tagged block layer and the free-node layout shared by the fit
 * policies (first/next/best/worst fit): block tags, region sentinels, and the skip list whose
 * nodes live inside free blocks.
 *
 * Block: [header 16][payload ...][footer 16]. Header and footer are both a tag
 * {size | used bit, check}; check = hash(size/used word, block address, the arena's secret key,
 * magic), with different magics for headers and footers, so an overwritten tag, a footer taken for
 * a header (free of a free block's start) or a pointer into the middle of a block is detected.
 * Block sizes are multiples of 16 and at least HFI_BLOCK_MIN; payloads are 16-aligned because
 * blocks are.
 *
 * Region: [prologue 80: header, region descriptor, footer][blocks ...][epilogue 16: header of
 * size 0, used]. The sentinels are used blocks, so coalescing never looks outside a region. The
 * descriptors form an address-ordered list and the lab's shared region index (lab.h, region.c),
 * whose root the lowest region's descriptor holds, so a pointer's region is found in expected
 * O(log regions) from the list head alone.
 *
 * A free block holds an hfi_fnode at its payload: two skip-list towers (one keyed by address,
 * whose level 0 with the prev links is the address-ordered doubly-linked free list, one keyed by
 * (size, address)). Tower heights come from a seeded xorshift generator (p = 1/4). A block with
 * room for its drawn heights keeps both towers inside (a 64-byte block holds one level of each);
 * a smaller one borrows an out-of-line tower record (fit.h), so heights are never capped while
 * the heap has records to lend. */
#ifndef HF_LAB_BLOCK_H
#define HF_LAB_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lab/lab.h"

#define HFI_BLOCK_TAG      16 /* bytes of a header, and of a footer */
#define HFI_BLOCK_OVERHEAD 32 /* header + footer */
#define HFI_BLOCK_MIN      64 /* tags + fnode with one level per tower */
#define HFI_REGION_PRO     80 /* prologue: header, descriptor, footer */
#define HFI_REGION_EPI     16 /* epilogue: header only */
#define HFI_REGION_MIN     (HFI_REGION_PRO + HFI_BLOCK_MIN + HFI_REGION_EPI)
#define HFI_SL_MAX         16 /* skip-list levels (p = 1/4: ample for 4^16 nodes) */

#define HFI_TAG_HDR_MAGIC 0x6866626c6b686472ULL
#define HFI_TAG_FTR_MAGIC 0x6866626c6b667472ULL

typedef struct hfi_btag {
    uint64_t sf;    /* size | used (bit 0) */
    uint64_t check; /* hfi_tag_check(sf, block, magic) */
} hfi_btag;

/* The descriptor in a region's prologue; regions form a list sorted by address and a tree
 * (node, first: the index keys descriptors by their address). */
typedef struct hfi_region {
    hfi_lab_rnode node;
    struct hfi_region *next;
    uint8_t *end;        /* one past the region */
    hfi_lab_rnode *root; /* the index's root: in the list head (the lowest region) only */
    uint64_t pad;
} hfi_region;
_Static_assert(sizeof(hfi_region) == HFI_REGION_PRO - 2 * HFI_BLOCK_TAG, "region descriptor");

/* A free block's node, at the block's payload. link[] holds the address tower (h[0] entries)
 * then the size tower (h[1] entries), unless the node has an out-of-line tower record (ext, see
 * fit.h): then record word 0 names the record's chunk and words 1.. hold both towers. */
typedef struct hfi_fnode {
    uint8_t h[2];
    uint16_t ext_hi; /* ext: the node's out-of-line tower record >> 4 (0: towers in the block) */
    uint32_t ext_lo;
    struct hfi_fnode *prev; /* address-order predecessor in the free list (NULL: first) */
    struct hfi_fnode *link[];
} hfi_fnode;

enum { HFI_SL_ADDR = 0, HFI_SL_SIZE = 1 };

typedef struct hfi_skiplist {
    hfi_fnode *head[HFI_SL_MAX];
    unsigned level; /* levels in use */
    unsigned which; /* HFI_SL_ADDR or HFI_SL_SIZE */
    size_t count;
} hfi_skiplist;

/* The check word of a tag: size/flags word, block address and the arena's key (cfg.secret)
 * through two multiply-xorshift rounds, so flipping any bit of any input changes about half of
 * the check's bits and a tag copied to another address, or forged without the key, fails.
 * Cost: two multiplies per tag written or checked. */
static inline uint64_t hfi_tag_check(uint64_t key, uint64_t sf, const void *blk, uint64_t magic) {
    uint64_t x = (sf ^ magic ^ key) + (uint64_t)(uintptr_t)blk * 0x9E3779B97F4A7C15ULL;
    x ^= x >> 31;
    x *= 0xD6E8FEB86659FD93ULL;
    return x ^ (x >> 29);
}
static inline hfi_btag *hfi_block_hdr(const void *b) {
    return (hfi_btag *)(uintptr_t)b;
}
static inline size_t hfi_block_size(const void *b) {
    return (size_t)(hfi_block_hdr(b)->sf & ~(uint64_t)15);
}
static inline bool hfi_block_used(const void *b) {
    return (hfi_block_hdr(b)->sf & 1) != 0;
}
static inline bool hfi_block_hdr_ok(uint64_t key, const void *b) {
    const hfi_btag *t = hfi_block_hdr(b);
    return t->check == hfi_tag_check(key, t->sf, b, HFI_TAG_HDR_MAGIC);
}
/* The footer of b agrees with b's (valid) header. */
static inline bool hfi_block_ftr_ok(uint64_t key, const void *b) {
    const hfi_btag *h = hfi_block_hdr(b);
    const hfi_btag *f = (const hfi_btag *)((const uint8_t *)b + hfi_block_size(b) - HFI_BLOCK_TAG);
    return f->sf == h->sf && f->check == hfi_tag_check(key, h->sf, b, HFI_TAG_FTR_MAGIC);
}
/* A used block that holds the policy's own metadata (a tower chunk, fit.h): size | 3. */
static inline bool hfi_block_meta(const void *b) {
    return (hfi_block_hdr(b)->sf & 3) == 3;
}
static inline void hfi_block_write_hdr(uint64_t key, void *b, size_t size, bool used) {
    hfi_btag *t = hfi_block_hdr(b);
    t->sf = (uint64_t)size | (used ? 1u : 0u);
    t->check = hfi_tag_check(key, t->sf, b, HFI_TAG_HDR_MAGIC);
}
/* Header and footer of a block of size bytes (size >= HFI_BLOCK_OVERHEAD); flags: bit 0 used,
 * bit 1 metadata (with bit 0). */
static inline void hfi_block_write_flags(uint64_t key, void *b, size_t size, unsigned flags) {
    hfi_btag *t = hfi_block_hdr(b);
    t->sf = (uint64_t)size | flags;
    t->check = hfi_tag_check(key, t->sf, b, HFI_TAG_HDR_MAGIC);
    hfi_btag *f = (hfi_btag *)((uint8_t *)b + size - HFI_BLOCK_TAG);
    f->sf = (uint64_t)size | flags;
    f->check = hfi_tag_check(key, f->sf, b, HFI_TAG_FTR_MAGIC);
}
static inline void hfi_block_write(uint64_t key, void *b, size_t size, bool used) {
    hfi_block_write_flags(key, b, size, used ? 1u : 0u);
}
/* The block whose footer ends at b (b's left neighbour), if that footer is valid; else NULL. */
static inline uint8_t *hfi_block_left(uint64_t key, const void *b) {
    const hfi_btag *f = (const hfi_btag *)((const uint8_t *)b - HFI_BLOCK_TAG);
    uint8_t *l = (uint8_t *)(uintptr_t)b - (f->sf & ~(uint64_t)15);
    if ((f->sf & ~(uint64_t)15) < HFI_BLOCK_OVERHEAD) return NULL;
    return f->check == hfi_tag_check(key, f->sf, l, HFI_TAG_FTR_MAGIC) ? l : NULL;
}
static inline uint8_t *hfi_block_first(const hfi_region *r) {
    return (uint8_t *)(uintptr_t)r - HFI_BLOCK_TAG + HFI_REGION_PRO;
}
static inline uint8_t *hfi_block_epilogue(const hfi_region *r) {
    return r->end - HFI_REGION_EPI;
}
static inline hfi_fnode *hfi_block_node(const void *b) {
    return (hfi_fnode *)((uint8_t *)(uintptr_t)b + HFI_BLOCK_TAG);
}
static inline uint8_t *hfi_node_block(const hfi_fnode *n) {
    return (uint8_t *)(uintptr_t)n - HFI_BLOCK_TAG;
}
static inline size_t hfi_node_size(const hfi_fnode *n) {
    return hfi_block_size(hfi_node_block(n));
}
/* Tower words a free block of size bytes has room for. */
static inline unsigned hfi_node_capacity(size_t size) {
    size_t c = (size - HFI_BLOCK_OVERHEAD - 16) / sizeof(void *);
    return c > 2 * HFI_SL_MAX ? 2 * HFI_SL_MAX : (unsigned)c;
}
/* The node's tower record (16-aligned, below 2^52), or NULL when its towers are in the block. */
static inline hfi_fnode **hfi_node_ext(const hfi_fnode *n) {
    uint64_t v = ((uint64_t)n->ext_hi << 32 | n->ext_lo) << 4;
    return (hfi_fnode **)(uintptr_t)v;
}
static inline void hfi_node_set_ext(hfi_fnode *n, hfi_fnode **rec) {
    uint64_t v = (uint64_t)(uintptr_t)rec >> 4;
    n->ext_hi = (uint16_t)(v >> 32);
    n->ext_lo = (uint32_t)v;
}
static inline hfi_fnode **hfi_node_tower(const hfi_fnode *n, unsigned which) {
    hfi_fnode **e = hfi_node_ext(n);
    hfi_fnode **l = e ? e + 1 : (hfi_fnode **)(uintptr_t)n->link;
    return which == HFI_SL_ADDR ? l : l + n->h[0];
}

/* ---- block.c: regions ------------------------------------------------------------------- */
/* Writes the sentinels of [start, start + size) and links the region into *list (by address).
 * Returns the one free block spanning the rest, or NULL when there is no room for one. */
uint8_t *hfi_block_region_init(uint64_t key, hfi_region **list, void *start, size_t size);
/* The region whose block area holds p, or NULL; list is the head (lowest region). Expected
 * O(log regions). */
const hfi_region *hfi_block_region_of(const hfi_region *list, const void *p);
/* A free found a bad header at hdr: hfi_lab_classify (lab.h) over the region's blocks. */
const char *hfi_block_classify(uint64_t key, const hfi_region *r, const void *hdr);
typedef void (*hfi_block_visit)(uint8_t *blk, size_t size, bool used, void *arg);
/* Validates one region's sentinels and every block tag, calling fn for each block; returns NULL
 * or the first violation. Never reads outside the region. The head's scan also checks the
 * region index against the list. */
const char *hfi_block_region_scan(uint64_t key, const hfi_region *r, hfi_block_visit fn, void *arg);

/* ---- skiplist.c: skip lists of free nodes (expected O(log N) per operation) ------------- */
void hfi_skiplist_init(hfi_skiplist *sl, unsigned which);
unsigned hfi_skiplist_height(uint64_t *rng); /* geometric, p = 1/4, in [1, HFI_SL_MAX] */
/* Links n (its height n->h[which] already set); returns its level-0 predecessor or NULL. */
hfi_fnode *hfi_skiplist_insert(hfi_skiplist *sl, hfi_fnode *n);
bool hfi_skiplist_remove(hfi_skiplist *sl, hfi_fnode *n); /* false: n not in the list */
bool hfi_skiplist_contains(const hfi_skiplist *sl, const hfi_fnode *n);
/* Size list: the smallest node with size >= n (ties: lowest address), or NULL. */
hfi_fnode *hfi_skiplist_find_ge(const hfi_skiplist *sl, size_t n);
hfi_fnode *hfi_skiplist_last(const hfi_skiplist *sl);
static inline hfi_fnode *hfi_skiplist_first(const hfi_skiplist *sl) {
    return sl->head[0];
}
static inline hfi_fnode *hfi_skiplist_next(const hfi_skiplist *sl, const hfi_fnode *n) {
    return hfi_node_tower(n, sl->which)[0];
}
/* Checks ordering, heights and level links (each level a subsequence of the one below) and the
 * count; plausible() vets every node before it is read. NULL when valid. */
typedef bool (*hfi_node_vet)(const void *ctx, const hfi_fnode *n);
const char *hfi_skiplist_check(const hfi_skiplist *sl, hfi_node_vet plausible, const void *ctx);

#endif
