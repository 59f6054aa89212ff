/* lab/fit.h -- the fit engine shared by first-, next-, best- and worst-fit: the policy state, the
 * address-ordered free list (freelist.c), and the engine (fit.c) that implements every
 * hf_lab_policy callback once, parameterised by a `choose` function per policy.
 *
 * A policy file holds only its choice and its policy table, built with HFI_FIT_POLICY. */
#ifndef HF_LAB_FIT_H
#define HF_LAB_FIT_H

#include "lab/lab.h"
#include "lab/block.h"

struct hfi_fit_state;

/* ---- out-of-line tower records ----------------------------------------------------------
 * A free block too small for the tower heights it drew (block.h) borrows a tower record: one
 * word naming the record's chunk, then up to 3, 7, 15 or 31 tower words (4 classes of 32, 64,
 * 128 and 256 bytes). Records are carved from chunks: used blocks of HFI_TCHUNK_BLOCK bytes
 * tagged as metadata (block.h: size | 3) taken from the tail of a free block, with a 32-byte
 * header and records of one class. walk(), stats() and the used-block count skip chunks; free()
 * calls a pointer into one a double free (only a freed block's memory can have become one). Records
 * are lent only while the heap holds at least HFI_TOWER_MIN_FREE free blocks (below that every
 * operation is O(1) anyway); a node that finds no record keeps capped in-block heights and asks for
 * a chunk, which the engine carves after the operation. When no free block is big enough to give
 * one (an arena feeds its region 64 KiB at a time, so the free space may be nothing but small
 * holes), wants_room asks the arena for more of the region's unfed rest, and the next operation
 * carves there (never add_region or extend themselves: see new_room in fit.c).
 * An empty chunk goes back to the free space when another empty chunk of its class exists, or
 * when free blocks drop below the threshold. */
#define HFI_TOWER_CLASSES  4
#define HFI_TOWER_MIN_FREE 64
#define HFI_TCHUNK_PAYLOAD 2048
#define HFI_TCHUNK_BLOCK   (HFI_TCHUNK_PAYLOAD + HFI_BLOCK_OVERHEAD)
/* A free block this big holds any pair of heights in place. */
#define HFI_BLOCK_ROOMY (HFI_BLOCK_OVERHEAD + 16 + 2 * HFI_SL_MAX * 8)

typedef struct hfi_tchunk {
    struct hfi_tchunk *next, *prev; /* its class's busy or empty list */
    uint32_t cls, used, nrec, pad;
} hfi_tchunk;
/* A free node of at least need bytes (block size, tags included), or NULL. */
typedef hfi_fnode *(*hfi_fit_choose_fn)(struct hfi_fit_state *st, size_t need);

typedef struct hfi_fit_state {
    hfi_skiplist by_addr; /* address order; level 0 + fnode.prev = the doubly-linked free list */
    hfi_skiplist by_size; /* (size, address) order */
    hfi_region *regions;  /* sorted by address */
    size_t nregions;
    hfi_fnode *rover; /* next-fit: the free block after the last allocation (NULL: first) */
    hfi_fit_choose_fn choose;
    bool spans;       /* the address list keeps span maxima (first and next fit's searches) */
    uint64_t rng;     /* xorshift state for tower heights */
    uint64_t key;     /* the arena's secret: keys every tag's check word (block.h) */
    size_t split_min; /* max(cfg->min_split, HFI_BLOCK_MIN) */
    size_t free_blocks, free_bytes, used_blocks;
    hfi_fnode **tw_free[HFI_TOWER_CLASSES]; /* free records: [chunk, next, prev] */
    hfi_tchunk *tw_busy[HFI_TOWER_CLASSES], *tw_empty[HFI_TOWER_CLASSES];
    size_t tw_chunks;    /* chunks in all lists */
    unsigned tw_want;    /* classes a node found empty since the last upkeep (bit mask) */
    unsigned tw_starved; /* classes no free block could give a chunk: wants_room asks for more */
} hfi_fit_state;

#define HFI_FIT_STATE_SIZE ((sizeof(hfi_fit_state) + 15) & ~(size_t)15)

/* ---- skiplist.c: the address list's span maxima (block.h has the rest of skiplist.c) ------
 * With spans (first and next fit), a free node's words are its address tower (ha links), its size
 * tower (hs links), then ha - 1 span maxima of the address list (skiplist.c); else the towers. */
static inline unsigned hfi_sl_words(bool spans, unsigned ha, unsigned hs) {
    return spans ? 2 * ha - 1 + hs : ha + hs;
}
/* insert and remove that keep the address list's span maxima. */
hfi_fnode *hfi_skiplist_insert_spans(hfi_skiplist *sl, hfi_fnode *n);
bool hfi_skiplist_remove_spans(hfi_skiplist *sl, hfi_fnode *n);
/* The lowest-addressed node at or above address from with size >= need, or NULL: O(log N)
 * expected (an address list kept with the _spans calls). */
hfi_fnode *hfi_skiplist_first_fit(const hfi_skiplist *sl, size_t need, uintptr_t from);
/* The listed node n's block size changed in place from old: the span maxima follow (O(log N)
 * expected; the size list needs a remove and an insert instead). */
void hfi_skiplist_resized(hfi_skiplist *sl, hfi_fnode *n, size_t old);
/* Every span maximum recomputed from the sizes (links already validated); NULL when right. */
const char *hfi_skiplist_check_spans(const hfi_skiplist *sl);

/* ---- freelist.c: the address-ordered doubly-linked free list ----------------------------
 * Insertion point found through the address skip list: O(log N) expected; removal O(log N);
 * first/next/prev O(1). */
void hfi_freelist_insert(hfi_fit_state *st, hfi_fnode *n);
bool hfi_freelist_remove(hfi_fit_state *st, hfi_fnode *n);
static inline hfi_fnode *hfi_freelist_first(const hfi_fit_state *st) {
    return st->by_addr.head[0];
}
static inline hfi_fnode *hfi_freelist_next(const hfi_fnode *n) {
    return hfi_node_tower(n, HFI_SL_ADDR)[0];
}
static inline hfi_fnode *hfi_freelist_prev(const hfi_fnode *n) {
    return n->prev;
}
/* Skip-list validation plus the prev links; NULL when valid. */
const char *hfi_freelist_check(const hfi_fit_state *st, hfi_node_vet plausible, const void *ctx);

/* Tower records (freelist.c). get: a record with room for words tower words (<= 31), or NULL
 * (the class is noted in tw_want); put: give a record back. */
hfi_fnode **hfi_tower_get(hfi_fit_state *st, unsigned words);
void hfi_tower_put(hfi_fit_state *st, hfi_fnode **rec);
/* Tower words a record holds. */
unsigned hfi_tower_room(hfi_fnode *const *rec);
/* A new chunk of class cls in the HFI_TCHUNK_BLOCK bytes at blk (tags not yet written). */
void hfi_tower_add_chunk(hfi_fit_state *st, uint8_t *blk, unsigned cls);
/* Unlinks the empty chunk c and its records; returns its block (still tagged as metadata). */
uint8_t *hfi_tower_drop_chunk(hfi_fit_state *st, hfi_tchunk *c);
/* Is n's record plausible (inside a chunk, on a record boundary, tall enough)? */
bool hfi_tower_vet(const hfi_fit_state *st, const hfi_fnode *n);
/* Chunk lists, free records and lent records agree; chunks is the count the region scan saw. */
const char *hfi_tower_check(const hfi_fit_state *st, size_t chunks);

/* ---- fit.c: the engine ----------------------------------------------------------------- */
/* spans: the policy's choose() searches the address list by span maxima. */
void hfi_fit_init(void *state, const hf_lab_config *cfg, hfi_fit_choose_fn choose, bool spans);
size_t hfi_fit_region_need(const void *state, size_t n);
void hfi_fit_add_region(void *state, void *start, size_t size);
bool hfi_fit_extend(void *state, void *end, size_t size);
bool hfi_fit_at_end(const void *state, const void *p);
size_t hfi_fit_wants_room(const void *state);
void *hfi_fit_malloc(void *state, size_t n);
void *hfi_fit_memalign(void *state, size_t align, size_t n);
void hfi_fit_free(void *state, void *p);
const char *hfi_fit_diagnose(const void *state, const void *p);
size_t hfi_fit_usable_size(const void *state, const void *p);
bool hfi_fit_resize(void *state, void *p, size_t n);
const char *hfi_fit_check(const void *state);
void hfi_fit_walk(const void *state, hf_lab_visit_fn fn, void *arg);
void hfi_fit_stats(const void *state, hf_lab_policy_stats *out);

/* The policy table of a fit policy whose init wrapper is init_fn. */
#define HFI_FIT_POLICY(policy_name, init_fn)                                                       \
    {                                                                                              \
        .name = policy_name, .state_size = HFI_FIT_STATE_SIZE, .init = init_fn,                    \
        .region_need = hfi_fit_region_need, .add_region = hfi_fit_add_region,                      \
        .extend = hfi_fit_extend, .wants_room = hfi_fit_wants_room, .at_end = hfi_fit_at_end,      \
        .malloc = hfi_fit_malloc, .memalign = hfi_fit_memalign, .free = hfi_fit_free,              \
        .diagnose = hfi_fit_diagnose, .usable_size = hfi_fit_usable_size,                          \
        .resize = hfi_fit_resize, .check = hfi_fit_check, .walk = hfi_fit_walk,                    \
        .stats = hfi_fit_stats,                                                                    \
    }

#endif
