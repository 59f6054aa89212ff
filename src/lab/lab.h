/* lab/lab.h -- the allocator lab's contract between arenas (arena.c) and placement policies
 * (fit_*.c, segfit.c, buddy.c, tlsf.c).
 *
 * An arena owns a lock, a set of regions it got from the OS, and one policy. A policy places
 * blocks inside the regions the arena hands it and keeps its metadata inside those regions or in
 * its state struct, which the arena stores inside its own first region (buddy's region table,
 * once it outgrows the state, takes a mapping of its own: destroy below): the lab never calls
 * libc's allocator. The arena serialises every call (policies need no
 * locking) and grows by adding regions when a policy's malloc returns NULL.
 *
 * Every block a policy returns is 16-byte aligned. Freeing a pointer the policy did not hand
 * out, or one it already took back, must never corrupt the policy: it reports through
 * hfi_report_error and returns, having written nothing. Every block tag carries a check word
 * that mixes its size, flags and address with the arena's secret (cfg.secret), so a forged or
 * overwritten tag is noticed before it is trusted. The names of the errors are fixed:
 *   "double free"     the pointer lies in memory the policy owns again: a free block (the block
 *                     was freed, perhaps merged since), or the policy's own metadata;
 *   "invalid free"    outside the regions, misaligned, or inside a live block but not its start;
 *   "heap corruption" a tag at a block boundary is broken (an overflow wrote over it). */
#ifndef HF_LAB_H
#define HF_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HF_LAB_ALIGN 16

/* Fresh memory (never given to a policy before) is zero. When a policy hands out a block carved
 * from fresh memory, the only bytes of its payload it may have written are the free-list node it
 * kept at the block's start (at most HF_LAB_FRESH_HEAD bytes: fits' node with two full skip-list
 * towers is 16 + 32 * 8) and its last HF_LAB_FRESH_TAIL bytes (TLSF's pointer back from the
 * next block); calloc clears just those (arena.c). Every policy must keep to this. */
#define HF_LAB_FRESH_HEAD 288
#define HF_LAB_FRESH_TAIL 16

/* Arena configuration (the public hf_arena_config in heapforge.h has the same fields). */
typedef struct hf_lab_config {
    size_t initial_size;      /* bytes of the first region (0: policy default) */
    size_t growth_step;       /* minimum bytes added when the arena grows */
    size_t min_split;         /* a split leaves a free tail only if it is at least this big */
    unsigned buddy_max_order; /* buddy: largest block is 2^order bytes */
    uint64_t seed;            /* seeds the policy's pseudo-random choices (skip-list heights) */
    uint64_t secret;          /* keys the tags' check words: random per arena, never reused */
} hf_lab_config;

/* One block, as walk() reports it. */
typedef struct hf_lab_block_info {
    void *addr;  /* payload address for used blocks, block start for free ones */
    size_t size; /* bytes the block occupies, header and footer included */
    bool used;
} hf_lab_block_info;
typedef void (*hf_lab_visit_fn)(const hf_lab_block_info *b, void *arg);

/* Figures a policy reports; the arena adds footprint and live bytes of its own. */
typedef struct hf_lab_policy_stats {
    size_t free_bytes;   /* bytes in free blocks */
    size_t free_blocks;  /* number of free blocks */
    size_t largest_free; /* largest free block */
    size_t used_blocks;  /* blocks handed out */
    size_t per_bin[64];  /* per order (buddy), per class (segregated, TLSF first level) */
    unsigned bins;       /* how many of per_bin are meaningful (0: none) */
} hf_lab_policy_stats;

typedef struct hf_lab_policy {
    const char *name;  /* "first-fit", "next-fit", "best-fit", "worst-fit", "segregated",
                          "buddy", "tlsf" */
    size_t state_size; /* bytes of state the arena reserves for the policy (16-aligned) */
    /* Empty state; no memory yet. */
    void (*init)(void *state, const hf_lab_config *cfg);
    /* Releases what the policy holds outside its regions and state (buddy: a region table that
     * outgrew the state); the arena calls it before it unmaps the regions. NULL: nothing. */
    void (*destroy)(void *state);
    /* Smallest region (bytes) from which malloc(n) is sure to succeed once added. */
    size_t (*region_need)(const void *state, size_t n);
    /* New memory: [start, start + size), 16-aligned, size a multiple of 16. Regions never
     * overlap; a region may directly follow the previous one (sbrk backing), which a policy
     * may use to merge, or ignore. */
    void (*add_region)(void *state, void *start, size_t size);
    /* More memory right after a region: [end, end + size) where end is the end of memory given
     * earlier (add_region or extend); size a multiple of 16. The policy grows that region in
     * place (its last block, if free, absorbs the piece) and returns true, or returns false
     * and the arena passes the piece to add_region. NULL: never (regions are given whole). */
    bool (*extend)(void *state, void *end, size_t size);
    /* Bytes of unfed memory the policy asks for after an operation, for its own metadata (fits:
     * tower chunks no free block was big enough to give), 0 when none; the arena then feeds at
     * least that much of the newest region's unfed rest through extend (never maps more for it:
     * a heap with no rest left keeps the policy's fallback). NULL: never asks. */
    size_t (*wants_room)(const void *state);
    /* The live block at p has nothing but free space between it and the end of its region, so
     * extend() followed by resize() can grow it in place. NULL: never. */
    bool (*at_end)(const void *state, const void *p);
    /* A block of at least n bytes, or NULL when no region has room (the arena then grows). */
    void *(*malloc)(void *state, size_t n);
    /* A block of at least n bytes aligned to align (a power of two > 16), or NULL. */
    void *(*memalign)(void *state, size_t align, size_t n);
    void (*free)(void *state, void *p);
    /* NULL when p is a live block; else the error free(p) reports (the names above). Reads
     * only, never trusts an unchecked tag. */
    const char *(*diagnose)(const void *state, const void *p);
    /* Bytes writable at p (p from malloc/memalign and live), 0 if p is not a live block. */
    size_t (*usable_size)(const void *state, const void *p);
    /* Resize the live block at p in place (grow into a free neighbour, or shrink and free the
     * tail); false when it cannot, the block unchanged. */
    bool (*resize)(void *state, void *p, size_t n);
    /* Full invariant validation: NULL when valid, else a static description of the first
     * violation. Must not crash on a corrupted structure it can detect. */
    const char *(*check)(const void *state);
    /* Every block, used and free, in address order within each region. */
    void (*walk)(const void *state, hf_lab_visit_fn fn, void *arg);
    void (*stats)(const void *state, hf_lab_policy_stats *out);
} hf_lab_policy;

/* ---- block.c: naming a bad pointer ------------------------------------------------------
 * A policy whose blocks tile a region calls this when the tag before p does not check out: it
 * walks the blocks of [first, end) (tag() gives a block's size, 0 for a broken tag, and whether
 * it is in use) and names the error by where hdr (p's would-be header) falls: at a block start
 * with a broken tag or past a broken tag "heap corruption", inside a free block or the policy's
 * metadata "double free" (only a freed block's pointer leads there: its tag was merged away or
 * overwritten by list links), inside a live block "invalid free". Cold; O(blocks). */
typedef size_t (*hfi_lab_tag_fn)(const void *ctx, const uint8_t *b, bool *used);
const char *hfi_lab_classify(const uint8_t *first, const uint8_t *end, const void *hdr,
                             hfi_lab_tag_fn tag, const void *ctx);

/* ---- region.c: the shared region index ----------------------------------------------------
 * A treap of region records keyed by the record's own address (a record sits at or near its
 * region's start, so records and regions are in the same order): the region holding p is the
 * greatest record at or below p, found in expected O(log regions). Nodes live in the records;
 * records are never removed. */
typedef struct hfi_lab_rnode {
    struct hfi_lab_rnode *kid[2];
} hfi_lab_rnode;
/* Links n (not yet in the tree at *root); returns the greatest node below n, or NULL. */
hfi_lab_rnode *hfi_lab_rtree_insert(hfi_lab_rnode **root, hfi_lab_rnode *n);
/* The greatest node at or below p, or NULL. */
hfi_lab_rnode *hfi_lab_rtree_floor(const hfi_lab_rnode *root, const void *p);
/* Search order, heap order and exactly n nodes; NULL when valid. */
const char *hfi_lab_rtree_check(const hfi_lab_rnode *root, size_t n);

/* A region record at the start of its region, [record, record + size): the index's node, the
 * address-ordered list, the policy's magic (magic ^ address) and a last word the policy may use
 * (segregated fit: a used footer fencing the first block). 48 bytes. */
typedef struct hfi_lab_rrec {
    hfi_lab_rnode node;
    struct hfi_lab_rrec *next;
    size_t size;
    size_t magic;
    size_t last;
} hfi_lab_rrec;
typedef struct hfi_lab_rset {
    hfi_lab_rnode *root;
    hfi_lab_rrec *head; /* lowest address first */
    size_t count;
} hfi_lab_rset;
void hfi_lab_rset_add(hfi_lab_rset *s, hfi_lab_rrec *r); /* r->size and r->magic already set */
/* The record whose region [r, r + size) holds p, or NULL. */
hfi_lab_rrec *hfi_lab_rset_find(const hfi_lab_rset *s, const void *p);
/* The record whose region ends exactly at end, or NULL. */
hfi_lab_rrec *hfi_lab_rset_ending_at(const hfi_lab_rset *s, const void *end);
/* List order, no overlap, magics, count and the index; NULL when valid. */
const char *hfi_lab_rset_check(const hfi_lab_rset *s, size_t magic);

/* arena.c: the policy state of arena a (tests that look inside a policy run by an arena). */
struct hf_arena;
void *hfi_lab_arena_state(struct hf_arena *a);

/* The policies, one file each. */
extern const hf_lab_policy hfi_policy_first_fit;
extern const hf_lab_policy hfi_policy_next_fit;
extern const hf_lab_policy hfi_policy_best_fit;
extern const hf_lab_policy hfi_policy_worst_fit;
extern const hf_lab_policy hfi_policy_segregated;
extern const hf_lab_policy hfi_policy_buddy;
extern const hf_lab_policy hfi_policy_tlsf;

#endif
