/* blockmap.c -- the instrumented mode's table of live blocks: address -> size requested.
 *
 * Why a side table: the size a program asked for is not kept anywhere in a block (classes round
 * it up), yet live bytes requested, leak reports and exact sized-free checks need it. A trailer
 * in every block would change the very layout the statistics describe, so the sizes live here,
 * in memory mapped for the purpose and counted apart from the heap's footprint.
 *
 * Layout: HF_BLOCKMAP_STRIPES independent open-addressing tables (linear probing, deletion by
 * backward shift), each behind its own spin lock and picked by the address's hash, so threads
 * rarely meet on a lock. A table doubles at half load. Only used while instrumented: the fast
 * paths never come here. */
#include "internal/internal.h"

#define HF_BLOCKMAP_STRIPES 64
#define HF_BLOCKMAP_INITIAL 1024 /* entries of a stripe's first table */

typedef struct bm_entry {
    uintptr_t addr; /* 0: empty slot */
    uint64_t size;
} bm_entry;

typedef struct bm_stripe {
    hf_lock lock;
    bm_entry *slots;
    size_t cap; /* a power of two, or 0 before the first insert */
    size_t count;
} bm_stripe;

static bm_stripe stripes[HF_BLOCKMAP_STRIPES];
static atomic_size_t map_bytes; /* memory the tables use (reported apart from the heap) */

/* In a Valgrind build the table must not hold the blocks' addresses as they are: memcheck's
 * leak check would find every block through them and call none lost. Keys are stored inverted
 * there (never 0 for a real address); elsewhere as they are. */
static inline uintptr_t bm_key(const void *p) {
    return HF_VALGRIND ? ~(uintptr_t)p : (uintptr_t)p;
}
static inline const void *bm_ptr(uintptr_t key) {
    return (const void *)(HF_VALGRIND ? ~key : key);
}

static inline uint64_t bm_hash(uintptr_t a) {
    return (uint64_t)(a >> 4) * 0x9E3779B97F4A7C15ull;
}
static inline bm_stripe *stripe_of(uint64_t h) {
    return &stripes[h >> 58]; /* top 6 bits: 64 stripes */
}

static bm_entry *table_new(size_t cap) {
    size_t bytes = hf_align_up(cap * sizeof(bm_entry), HF_OS_PAGE_SIZE);
    bm_entry *t = hfi_prim_mmap(NULL, bytes, false);
    if (t != NULL) atomic_fetch_add_explicit(&map_bytes, bytes, memory_order_relaxed);
    return t;
}

static void table_free(bm_entry *t, size_t cap) {
    size_t bytes = hf_align_up(cap * sizeof(bm_entry), HF_OS_PAGE_SIZE);
    hfi_prim_munmap(t, bytes);
    atomic_fetch_sub_explicit(&map_bytes, bytes, memory_order_relaxed);
}

static void put_locked(bm_stripe *s, uintptr_t addr, uint64_t size, uint64_t h) {
    size_t mask = s->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        if (s->slots[i].addr == 0 || s->slots[i].addr == addr) {
            if (s->slots[i].addr == 0) s->count++;
            s->slots[i].addr = addr;
            s->slots[i].size = size;
            return;
        }
    }
}

static bool grow_locked(bm_stripe *s) {
    size_t ncap = s->cap ? s->cap * 2 : HF_BLOCKMAP_INITIAL;
    bm_entry *t = table_new(ncap);
    if (t == NULL) return false;
    bm_entry *old = s->slots;
    size_t ocap = s->cap;
    s->slots = t, s->cap = ncap, s->count = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].addr != 0) put_locked(s, old[i].addr, old[i].size, bm_hash(old[i].addr));
    if (old != NULL) table_free(old, ocap);
    return true;
}

/* Record a live block. false when no memory was left for the table (the block then goes
 * uncounted, which the statistics survive). */
bool hfi_blockmap_insert(const void *p, size_t size) {
    uintptr_t a = bm_key(p);
    uint64_t h = bm_hash(a);
    bm_stripe *s = stripe_of(h);
    hfi_lock(&s->lock);
    bool ok = true;
    if ((s->count + 1) * 2 > s->cap) ok = grow_locked(s);
    if (ok) put_locked(s, a, size, h);
    hfi_unlock(&s->lock);
    return ok;
}

/* The slot holding addr, or SIZE_MAX. Caller holds s->lock. */
static size_t find_locked(const bm_stripe *s, uintptr_t addr, uint64_t h) {
    if (s->cap == 0) return SIZE_MAX;
    size_t mask = s->cap - 1;
    for (size_t i = (size_t)h & mask; s->slots[i].addr != 0; i = (i + 1) & mask)
        if (s->slots[i].addr == addr) return i;
    return SIZE_MAX;
}

/* Forget a block; its requested size in *size. false when p was not recorded. */
bool hfi_blockmap_remove(const void *p, size_t *size) {
    uintptr_t a = bm_key(p);
    uint64_t h = bm_hash(a);
    bm_stripe *s = stripe_of(h);
    hfi_lock(&s->lock);
    size_t i = find_locked(s, a, h);
    if (i != SIZE_MAX) {
        *size = (size_t)s->slots[i].size;
        /* Backward shift: pull later entries of the probe run into the hole. */
        size_t mask = s->cap - 1, hole = i;
        for (size_t j = (i + 1) & mask; s->slots[j].addr != 0; j = (j + 1) & mask) {
            size_t home = (size_t)bm_hash(s->slots[j].addr) & mask;
            /* j's entry may move to the hole if its home is not in (hole, j]. */
            bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!stays) {
                s->slots[hole] = s->slots[j];
                hole = j;
            }
        }
        s->slots[hole].addr = 0;
        s->count--;
    }
    hfi_unlock(&s->lock);
    return i != SIZE_MAX;
}

/* The recorded size of a live block, without removing it. */
bool hfi_blockmap_lookup(const void *p, size_t *size) {
    uintptr_t a = bm_key(p);
    uint64_t h = bm_hash(a);
    bm_stripe *s = stripe_of(h);
    hfi_lock(&s->lock);
    size_t i = find_locked(s, a, h);
    if (i != SIZE_MAX) *size = (size_t)s->slots[i].size;
    hfi_unlock(&s->lock);
    return i != SIZE_MAX;
}

/* Visit every recorded block (leak report at exit). Stripes are locked one at a time. */
void hfi_blockmap_each(void (*fn)(void *ctx, const void *p, size_t size), void *ctx) {
    for (unsigned k = 0; k < HF_BLOCKMAP_STRIPES; k++) {
        bm_stripe *s = &stripes[k];
        hfi_lock(&s->lock);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i].addr != 0) fn(ctx, bm_ptr(s->slots[i].addr), s->slots[i].size);
        hfi_unlock(&s->lock);
    }
}

size_t hfi_blockmap_bytes(void) {
    return atomic_load_explicit(&map_bytes, memory_order_relaxed);
}

/* Valid when every entry can be found from its home slot and the counts agree. */
bool hfi_blockmap_is_valid(const char **why) {
    for (unsigned k = 0; k < HF_BLOCKMAP_STRIPES; k++) {
        bm_stripe *s = &stripes[k];
        hfi_lock(&s->lock);
        size_t n = 0;
        const char *w = NULL;
        for (size_t i = 0; i < s->cap && w == NULL; i++) {
            if (s->slots[i].addr == 0) continue;
            n++;
            uint64_t h = bm_hash(s->slots[i].addr);
            if (stripe_of(h) != s) w = "block in the wrong stripe";
            size_t mask = s->cap - 1;
            for (size_t j = (size_t)h & mask; w == NULL && j != i; j = (j + 1) & mask)
                if (s->slots[j].addr == 0) w = "entry unreachable from its home slot";
        }
        if (w == NULL && n != s->count) w = "entry count";
        hfi_unlock(&s->lock);
        if (w != NULL) {
            if (why) *why = w;
            return false;
        }
    }
    return true;
}

void hfi_blockmap_fork_prepare(void) {
    for (unsigned k = 0; k < HF_BLOCKMAP_STRIPES; k++) hfi_lock(&stripes[k].lock);
}
void hfi_blockmap_fork_parent(void) {
    for (unsigned k = 0; k < HF_BLOCKMAP_STRIPES; k++) hfi_unlock(&stripes[k].lock);
}
void hfi_blockmap_fork_child(void) {
    for (unsigned k = 0; k < HF_BLOCKMAP_STRIPES; k++) hfi_lock_init(&stripes[k].lock);
}
