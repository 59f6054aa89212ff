/* page.c -- one size class's blocks on one page, and the heap's page queues.
 *
 * A fresh page is carved lazily, HF_EXTEND_BYTES at a time, so a 512 KiB page that serves two
 * blocks touches two blocks' worth of memory. The owner pops from `free`, pushes its own frees
 * on `local_free` and takes other threads' frees from `thread_free` in one atomic exchange. */
#include "internal/internal.h"
#include "harden/encode.h"

#include <string.h>

/* The page every empty direct-table slot points to: its free list is always NULL, so the
 * malloc fast path falls through to the slow path without a separate "initialised?" test. */
hf_page hfi_page_empty;

void hfi_page_init(hf_page *pg, uint8_t *start, size_t area, unsigned class_idx, bool zero) {
    uint32_t bs = hfi_class_size[class_idx];
    pg->free = NULL;
    pg->local_free = NULL;
    atomic_store_explicit(&pg->thread_free, NULL, memory_order_relaxed);
    pg->used = 0;
    __atomic_store_n(&pg->capacity, 0, __ATOMIC_RELAXED); /* others read it (free.c) */
    pg->reserved = (uint16_t)(area / bs);
    pg->block_size = bs;
    pg->div_magic = 1u + UINT64_MAX / bs;
    pg->free_limit = 0;
    pg->class_idx = (uint8_t)class_idx;
    pg->flags = 0;
    pg->in_use = 1;
    pg->fresh_zero = zero;
    pg->free_is_zero = zero;
    pg->start = start;
    pg->alone = 0;
}

/* Carve the next run of never-used blocks onto the (empty) free list. */
bool hfi_page_extend(hf_page *pg) {
    hf_assert(pg->free == NULL);
    if (pg->capacity >= pg->reserved) return false;
    uint32_t bs = pg->block_size;
    uint32_t n = HF_EXTEND_BYTES / bs;
    if (n == 0) n = 1;
    if (n > pg->reserved - pg->capacity) n = pg->reserved - pg->capacity;
    uint8_t *first = pg->start + (size_t)pg->capacity * bs;
    hfi_segment_touch(hfi_segment_of_page(pg), first, first + (size_t)n * bs);
    if (HF_UNLIKELY(hfi_secure >= HF_SECURE_SHUFFLE)) {
        pg->free = hfi_shuffle_carve(pg, first, n); /* random order, encoded links */
    } else {
        uint8_t *b = first;
        for (uint32_t i = 0; i + 1 < n; i++, b += bs)
            hfi_link_set(pg, (hf_block *)b, (hf_block *)(b + bs));
        hfi_link_set(pg, (hf_block *)b, NULL);
        pg->free = (hf_block *)first;
    }
    hfi_shadow_close(first, (size_t)n * bs); /* never handed out yet: no access */
    __atomic_store_n(&pg->capacity, pg->capacity + n, __ATOMIC_RELAXED);
    pg->free_is_zero = pg->fresh_zero;
    hfi_page_update_limit(pg);
    return true;
}

/* Recompute the fast-free bound after capacity or flags changed (owner only). */
void hfi_page_update_limit(hf_page *pg) {
    bool plain = atomic_load_explicit(&pg->flags, memory_order_relaxed) == 0 && hfi_hooks == 0;
    pg->free_limit = plain ? pg->capacity * pg->block_size : 0;
}

/* Move other threads' frees and our own onto the free list (when it is empty). A thread that
 * keeps one of the page's blocks may take the thread_free list between the load and the
 * exchange (foreign.c, take_returned). */
void hfi_page_collect(hf_page *pg) {
    hf_block *tf = NULL;
    if (atomic_load_explicit(&pg->thread_free, memory_order_relaxed) != NULL)
        tf = atomic_exchange_explicit(&pg->thread_free, NULL, memory_order_acquire);
    if (tf != NULL) {
        uint32_t count = 1;
        hf_block *tail = tf, *next;
        while ((next = hfi_link_next(pg, tail)) != NULL) tail = next, count++;
        hfi_link_set(pg, tail, pg->local_free);
        pg->local_free = tf;
        hf_assert(pg->used >= count);
        pg->used -= count;
    }
    if (pg->free == NULL && pg->local_free != NULL) {
        pg->free = pg->local_free;
        pg->local_free = NULL;
        pg->free_is_zero = 0;
    }
}

static bool list_contains(const hf_page *pg, const hf_block *list, const hf_block *b) {
    for (uint32_t limit = pg->reserved; list != NULL && limit > 0; limit--) {
        if (list == b) return true;
        list = hfi_link_raw(pg, list);
        if (!hfi_link_is_block(pg, list, pg->capacity)) return false; /* forged: stop */
    }
    return false;
}

/* Is b on one of the owner's lists? (Validators and tests; O(blocks).) */
bool hfi_page_contains_free(hf_page *pg, const hf_block *b) {
    return list_contains(pg, pg->free, b) || list_contains(pg, pg->local_free, b);
}

/* The slow path's pop while secure: the head's link is decoded and checked first (a forged
 * one is reported and ends the list), then the ordinary pop runs on the decoded link. */
void *hfi_page_pop_checked(hf_page *pg, size_t n, bool zero) {
    hf_block *b = pg->free;
    hf_block *next = hfi_link_next_checked(pg, b);
    hfi_link_store(b, next);
    return hfi_page_pop(pg, n, zero);
}

/* The start of the block that contains p, or NULL if p is outside the carved blocks. */
void *hfi_page_block_start(const hf_page *pg, const void *p) {
    if ((const uint8_t *)p < pg->start || pg->block_size == 0) return NULL;
    size_t off = (size_t)((const uint8_t *)p - pg->start);
    size_t idx = off / pg->block_size;
    if (idx >= __atomic_load_n(&pg->capacity, __ATOMIC_RELAXED)) return NULL; /* others read */
    return pg->start + idx * pg->block_size;
}

static bool list_is_valid(const hf_page *pg, const hf_block *list, uint32_t *count) {
    for (const hf_block *b = list; b != NULL; b = hfi_link_raw(pg, b)) {
        const uint8_t *q = (const uint8_t *)b;
        if (q < pg->start || q >= pg->start + (size_t)pg->capacity * pg->block_size) return false;
        if ((size_t)(q - pg->start) % pg->block_size != 0) return false;
        if (++*count > pg->capacity) return false; /* a cycle */
    }
    return true;
}

/* Owner-side validator: lists inside the carved area, no cycles, counts add up. */
bool hfi_page_is_valid(const hf_page *pg, const char **why) {
    const char *w = NULL;
    uint32_t nfree = 0;
    if (!pg->in_use)
        w = "page not in use";
    else if (pg->block_size != hfi_class_size[pg->class_idx])
        w = "block size does not match class";
    else if (pg->capacity > pg->reserved)
        w = "capacity beyond reserved";
    else if (!list_is_valid(pg, pg->free, &nfree))
        w = "free list corrupt";
    else if (!list_is_valid(pg, pg->local_free, &nfree))
        w = "local free list corrupt";
    else if (pg->used + nfree > pg->capacity)
        w = "used + free exceeds capacity";
    if (w && why) *why = w;
    return w == NULL;
}

/* Only the first or last page of a queue can be alone in it: refresh both after a change. */
static void queue_mark_alone(hf_page_queue *q) {
    if (q->first) q->first->alone = q->first == q->last;
    if (q->last) q->last->alone = q->first == q->last;
}

void hfi_queue_push_front(hf_page_queue *q, hf_page *pg) {
    hf_page_link *l = hfi_page_link(pg);
    l->prev = NULL;
    l->next = q->first;
    if (q->first)
        hfi_page_link(q->first)->prev = pg;
    else
        q->last = pg;
    q->first = pg;
    queue_mark_alone(q);
}

void hfi_queue_push_back(hf_page_queue *q, hf_page *pg) {
    hf_page_link *l = hfi_page_link(pg);
    l->next = NULL;
    l->prev = q->last;
    if (q->last)
        hfi_page_link(q->last)->next = pg;
    else
        q->first = pg;
    q->last = pg;
    queue_mark_alone(q);
}

void hfi_queue_remove(hf_page_queue *q, hf_page *pg) {
    hf_page_link *l = hfi_page_link(pg);
    if (l->prev)
        hfi_page_link(l->prev)->next = l->next;
    else
        q->first = l->next;
    if (l->next)
        hfi_page_link(l->next)->prev = l->prev;
    else
        q->last = l->prev;
    l->next = l->prev = NULL;
    pg->alone = 0;
    queue_mark_alone(q);
}

/* ---- blocks freed by other threads ---------------------------------------------------- */
/* Give b back to its page's owner: a lock-free push on the page's thread_free. */
void hfi_page_push_remote(hf_header *h, hf_page *pg, hf_block *b) {
    hf_block *old = atomic_load_explicit(&pg->thread_free, memory_order_relaxed);
    do {
        hfi_link_set(pg, b, old);
    } while (!atomic_compare_exchange_weak_explicit(&pg->thread_free, &old, b, memory_order_release,
                                                    memory_order_relaxed));
    hfi_page_remote_mark(h);
}

/* A remote free reached h's segment: flag the segment, and on the flag's change its owner heap,
 * so the owner's slow path scans only when something came back (heap.c, revive_remote). The
 * owner read here may be going away: a stale heap (heaps are pooled, never unmapped) gets one
 * useless scan; an adopter clears the flag before it collects (segment.c). Writes fields
 * only: calls nothing above the page. */
void hfi_page_remote_mark(hf_header *h) {
    if (atomic_load_explicit(&h->remote_pending, memory_order_relaxed) != 0) return;
    atomic_store_explicit(&h->remote_pending, 1, memory_order_release);
    uintptr_t o = atomic_load_explicit(&h->owner, memory_order_acquire);
    if (o != 0 && o != HF_OWNER_NONE)
        atomic_store_explicit(&((hf_heap *)o)->remote_pending, 1, memory_order_release);
}
