/* segment.c -- 4 MiB segments: page slots for small (64 KiB) and medium (512 KiB) pages, the
 * delayed purge of free slots, the process-wide cache of empty segments, and the abandoned list
 * through which segments of exited threads pass to live ones.
 *
 * A heap keeps its segments of each kind in a list with the segments that have a free slot in
 * front, so finding a slot is O(1). Dirty and purge masks are kept at 64 KiB granularity for
 * both kinds, so a segment can change kind when it is reused from the cache. */
#include "internal/internal.h"
#include "harden/guard.h"

#include <string.h>

_Static_assert(sizeof(hf_segment) <= HF_SEGMENT_HEADER, "segment header overflows page 0");
_Static_assert(sizeof(hf_span) <= HF_SPAN_HEADER, "span header overflows its page");
_Static_assert(sizeof(hf_page) == 64, "the free path indexes pages with a shift");

static hf_lock cache_lock;
static hf_segment_list cache; /* most recently cached first */
static size_t cache_count;
static uint64_t cache_due; /* when the oldest unpurged cached segment is due (0: none) */

uint64_t hfi_segment_cache_due(void) {
    return __atomic_load_n(&cache_due, __ATOMIC_RELAXED);
}

static hf_lock abandoned_lock;
static hf_segment *abandoned; /* singly linked through next */

/* ---- lists ----------------------------------------------------------------------------- */
static void list_push_front(hf_segment_list *l, hf_segment *s) {
    s->prev = NULL;
    s->next = l->first;
    if (l->first)
        l->first->prev = s;
    else
        l->last = s;
    l->first = s;
}

static void list_push_back(hf_segment_list *l, hf_segment *s) {
    s->next = NULL;
    s->prev = l->last;
    if (l->last)
        l->last->next = s;
    else
        l->first = s;
    l->last = s;
}

static void list_remove(hf_segment_list *l, hf_segment *s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        l->first = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        l->last = s->prev;
    s->next = s->prev = NULL;
}

static hf_segment_list *heap_list(hf_heap *heap, const hf_segment *s) {
    return &heap->segs[s->h.kind == HF_SEG_SMALL ? 0 : 1];
}

/* ---- geometry -------------------------------------------------------------------------- */
/* The 64 KiB units page slot i covers. */
static uint64_t slot_bits(const hf_segment *s, unsigned i) {
    unsigned per = 1u << (s->h.page_shift - HF_SMALL_PAGE_SHIFT);
    uint64_t m = per >= 64 ? ~0ull : ((1ull << per) - 1);
    return m << (i * per);
}

static void slot_area(hf_segment *s, unsigned i, uint8_t **start, size_t *size) {
    size_t psize = (size_t)1 << s->h.page_shift;
    uint8_t *p = (uint8_t *)s + (size_t)i * psize;
    if (i == 0) p += HF_SEGMENT_HEADER, psize -= HF_SEGMENT_HEADER;
    if (i + 1 == s->h.page_count) psize -= hfi_guard_extra(); /* the segment's guard page */
    *start = p;
    *size = psize;
}

/* Bytes of the segment that may be resident: its header and the part of each slot carved since
 * the slot's last purge (resident[], in 4 KiB units). The committed figure follows it, so it
 * is as fine as the carving: a fresh segment is mapped but untouched, and a 512 KiB page that
 * serves two blocks counts two blocks' worth of 4 KiB pages. */
static size_t resident_bytes(const hf_segment *s) {
    size_t units = 0;
    for (unsigned i = 0; i < s->h.page_count; i++) units += s->resident[i];
    return HF_SEGMENT_HEADER + units * HF_OS_PAGE_SIZE;
}

/* A page carved [lo, hi): the slot's resident extent grows to cover it (committed grows by
 * the 4 KiB pages newly touched), and the 64 KiB units it touched are dirty: the purge works on
 * those units. */
void hfi_segment_touch(hf_segment *s, const void *lo, const void *hi) {
    unsigned i = (unsigned)(((uintptr_t)lo - (uintptr_t)s) >> s->h.page_shift);
    uint8_t *start;
    size_t size;
    slot_area(s, i, &start, &size);
    size_t units = ((size_t)((const uint8_t *)hi - start) + HF_OS_PAGE_SIZE - 1) / HF_OS_PAGE_SIZE;
    if (units > s->resident[i]) {
        hfi_os_commit_delta((ptrdiff_t)((units - s->resident[i]) * HF_OS_PAGE_SIZE));
        s->resident[i] = (uint8_t)units;
    }
    uintptr_t a = ((uintptr_t)lo - (uintptr_t)s) >> HF_SMALL_PAGE_SHIFT;
    uintptr_t b = ((uintptr_t)hi - 1 - (uintptr_t)s) >> HF_SMALL_PAGE_SHIFT;
    s->dirty_mask |= (b >= 63 ? ~0ull : ((1ull << (b + 1)) - 1)) & ~((1ull << a) - 1);
}

/* Return the 64 KiB units in `bits` to the OS (the header page excepted). */
static void purge_bits(hf_segment *s, uint64_t bits) {
    size_t before = resident_bytes(s);
    while (bits) {
        unsigned a = (unsigned)__builtin_ctzll(bits);
        unsigned b = a;
        while (b < 64 && (bits >> b) & 1) b++;
        uint8_t *lo = (uint8_t *)s + ((size_t)a << HF_SMALL_PAGE_SHIFT);
        uint8_t *hi = (uint8_t *)s + ((size_t)b << HF_SMALL_PAGE_SHIFT);
        if (lo < (uint8_t *)s + HF_SEGMENT_HEADER) lo = (uint8_t *)s + HF_SEGMENT_HEADER;
        hfi_os_purge(lo, (size_t)(hi - lo));
        uint64_t run = (b >= 64 ? ~0ull : ((1ull << b) - 1)) & ~((1ull << a) - 1);
        bits &= ~run;
        s->dirty_mask &= ~run;
    }
    for (unsigned i = 0; i < s->h.page_count; i++)
        if ((s->dirty_mask & slot_bits(s, i)) == 0) s->resident[i] = 0;
    hfi_os_commit_delta(-(ptrdiff_t)(before - resident_bytes(s)));
}

/* ---- the cache of empty segments ------------------------------------------------------- */
static void segment_unmap(hf_segment *s) {
    hfi_pagemap_unregister(s, (uint8_t *)s + HF_SEGMENT_SIZE);
    atomic_fetch_sub_explicit(&hfi_os_stats.segments, 1, memory_order_relaxed);
    hfi_os_commit_delta((ptrdiff_t)(HF_SEGMENT_SIZE - resident_bytes(s))); /* unmap takes all */
    hfi_os_unmap(s, HF_SEGMENT_SIZE);
}

/* Purge cached segments that waited long enough (all of them when forced). Caller holds
 * cache_lock. */
static size_t cache_purge_locked(uint64_t now, bool force) {
    size_t n = 0;
    long long delay = hfi_options.purge_delay;
    uint64_t due = 0;
    for (hf_segment *s = cache.first; s != NULL; s = s->next) {
        if (s->purged) continue;
        if (!force && (delay < 0 || s->cached_at + (uint64_t)delay > now)) {
            uint64_t at = s->cached_at + (uint64_t)delay + 1;
            if (delay >= 0 && (due == 0 || at < due)) due = at;
            continue;
        }
        purge_bits(s, s->dirty_mask);
        s->purge_mask = 0;
        s->purged = 1;
        n++;
    }
    __atomic_store_n(&cache_due, due, __ATOMIC_RELAXED);
    return n;
}

static hf_segment *cache_take(void) {
    if (__atomic_load_n(&cache_count, __ATOMIC_RELAXED) == 0) return NULL;
    hfi_lock(&cache_lock);
    hf_segment *s = cache.first;
    if (s) {
        list_remove(&cache, s);
        __atomic_store_n(&cache_count, cache_count - 1, __ATOMIC_RELAXED);
        atomic_fetch_sub_explicit(&hfi_os_stats.cached, HF_SEGMENT_SIZE, memory_order_relaxed);
    }
    hfi_unlock(&cache_lock);
    return s;
}

static void segment_release(hf_heap *heap, hf_segment *s) {
    list_remove(heap_list(heap, s), s);
    s->heap = NULL;
    s->h.kind = HF_SEG_FREE;
    atomic_store_explicit(&s->h.owner, HF_OWNER_NONE, memory_order_release);
    uint64_t now = hfi_now_ms();
    s->cached_at = now;
    s->purged = 0;
    hfi_lock(&cache_lock);
    if ((long long)cache_count < hfi_options.segment_cache) {
        hfi_os_on_refusal(HF_RECLAIM_SEGMENTS, hfi_segment_cache_trim);
        list_push_front(&cache, s);
        __atomic_store_n(&cache_count, cache_count + 1, __ATOMIC_RELAXED);
        atomic_fetch_add_explicit(&hfi_os_stats.cached, HF_SEGMENT_SIZE, memory_order_relaxed);
        s = NULL;
    }
    /* Every release is a chance to purge cached segments whose delay has passed. */
    cache_purge_locked(now, hfi_options.purge_delay == 0);
    hfi_unlock(&cache_lock);
    if (s) segment_unmap(s);
}

size_t hfi_segment_cache_trim(bool force) {
    hfi_lock(&cache_lock);
    size_t n = cache_purge_locked(hfi_now_ms(), force);
    hf_segment *drop = NULL;
    if (force) { /* hand everything back: unmap the whole cache */
        drop = cache.first;
        cache.first = cache.last = NULL;
        atomic_fetch_sub_explicit(&hfi_os_stats.cached, cache_count * HF_SEGMENT_SIZE,
                                  memory_order_relaxed);
        __atomic_store_n(&cache_count, 0, __ATOMIC_RELAXED);
    }
    hfi_unlock(&cache_lock);
    while (drop) {
        hf_segment *next = drop->next;
        segment_unmap(drop);
        drop = next, n++;
    }
    return n;
}

/* ---- segments of a heap ----------------------------------------------------------------- */
static hf_segment *segment_fresh(void) {
    void *base;
    size_t size;
    hf_segment *s =
        hfi_os_map_lazy(HF_SEGMENT_SIZE, HF_SEGMENT_SIZE, HF_SEGMENT_HEADER, &base, &size);
    if (s == NULL) return NULL;
    s->dirty_mask = 0; /* committed: the header alone (resident_bytes) */
    hfi_header_publish(&s->h, base, size, false);
    if (hfi_guard_on()) hfi_guard_place(s, HF_SEGMENT_SIZE);
    atomic_fetch_add_explicit(&hfi_os_stats.segments, 1, memory_order_relaxed);
    return s;
}

static void segment_setup(hf_heap *heap, hf_segment *s, int kind) {
    unsigned shift = kind == HF_SEG_SMALL ? HF_SMALL_PAGE_SHIFT : HF_MEDIUM_PAGE_SHIFT;
    unsigned count = (unsigned)(HF_SEGMENT_SIZE >> shift);
    size_t before = resident_bytes(s); /* in the old geometry (none for a fresh segment) */
    s->h.kind = (uint8_t)kind;
    s->h.page_shift = (uint8_t)shift;
    s->h.page_count = (uint8_t)count;
    s->h.pages_used = 0;
    atomic_store_explicit(&s->h.remote_pending, 0, memory_order_relaxed);
    memset(s->page_class, HF_NO_CLASS, sizeof s->page_class);
    memset(s->resident, 0, sizeof s->resident);
    for (unsigned i = 0; i < count; i++) { /* cached memory: resident as far as we know */
        uint8_t *start;
        size_t size;
        slot_area(s, i, &start, &size);
        s->resident[i] = (s->dirty_mask & slot_bits(s, i)) ? (uint8_t)(size / HF_OS_PAGE_SIZE) : 0;
    }
    hfi_os_commit_delta((ptrdiff_t)resident_bytes(s) - (ptrdiff_t)before);
    memset(s->pages, 0, sizeof s->pages);
    memset(s->links, 0, sizeof s->links);
    s->free_mask = count >= 64 ? ~0ull : ((1ull << count) - 1);
    s->purge_mask = 0;
    s->purge_at = 0;
    s->purged = 0;
    s->heap = heap;
    atomic_store_explicit(&s->h.owner, (uintptr_t)heap, memory_order_release);
    list_push_front(heap_list(heap, s), s);
}

/* Free slots whose memory is still resident (freed, purge pending). */
static uint64_t warm_slots(const hf_segment *s) {
    if (s->h.page_shift == HF_SMALL_PAGE_SHIFT) return s->free_mask & s->dirty_mask;
    uint64_t warm = 0;
    for (unsigned i = 0; i < s->h.page_count; i++)
        if ((s->free_mask >> i & 1) && (s->dirty_mask & slot_bits(s, i))) warm |= 1ull << i;
    return warm;
}

/* Should pg carve its next blocks? Not when that would fault in memory beyond what its slot
 * has resident while a warm free slot that served the same class is waiting: a new page there
 * reuses resident memory instead. Otherwise the page a class fills first (the one it kept when
 * it last emptied) grows into fresh memory while the class's warm slots end up partly used
 * (bench/batch.c: 0.6 MiB). Only a carve that would grow the slot's resident memory scans. */
bool hfi_segment_extend_ok(hf_heap *heap, const hf_page *pg) {
    hf_segment *s = hfi_segment_of_page(pg);
    unsigned i = (unsigned)(pg - s->pages);
    size_t end = (size_t)pg->capacity * pg->block_size + HF_EXTEND_BYTES;
    if ((end + HF_OS_PAGE_SIZE - 1) / HF_OS_PAGE_SIZE <= s->resident[i]) return true;
    hf_segment_list *l = &heap->segs[s->h.kind == HF_SEG_SMALL ? 0 : 1];
    for (hf_segment *t = l->first; t != NULL && t->free_mask != 0; t = t->next)
        for (uint64_t w = warm_slots(t); w; w &= w - 1)
            if (t->pages[__builtin_ctzll(w)].class_idx == pg->class_idx) return false;
    return true;
}

hf_page *hfi_segment_page_alloc(hf_heap *heap, unsigned class_idx) {
    int kind = hfi_class_size[class_idx] <= HF_SMALL_MAX ? HF_SEG_SMALL : HF_SEG_MEDIUM;
    hf_segment_list *l = &heap->segs[kind - 1];
    /* Prefer a warm slot (resident memory, purge pending) in any segment with free slots (they
     * stand first in the list): reusing it costs no page faults and keeps the footprint from
     * growing while purges wait. A slot that served this class comes first, and among those
     * (or, failing them, among all) the one with the most resident memory: a page carves from
     * its slot's start, so it reuses that memory before touching more, and the slots left idle
     * are those with little resident, which the purge then returns. A same-class slot resident
     * whole ends the search. */
    hf_segment *s = l->first;
    int best_score = -1;
    unsigned best_i = 0;
    hf_segment *best = NULL;
    for (hf_segment *t = s; t != NULL && t->free_mask != 0; t = t->next) {
        for (uint64_t w = warm_slots(t); w; w &= w - 1) {
            unsigned i = (unsigned)__builtin_ctzll(w);
            int score = (t->pages[i].class_idx == class_idx ? 256 : 0) + t->resident[i];
            if (score > best_score) best_score = score, best = t, best_i = i;
        }
        if (best_score >= 256 + (1 << (t->h.page_shift - 12)) - 2) break; /* whole enough */
    }
    uint64_t warm = 0;
    if (best != NULL) s = best, warm = 1ull << best_i;
    if (s == NULL || s->free_mask == 0) { /* the heap reclaimed abandoned segments first */
        s = cache_take();
        if (s == NULL) s = segment_fresh();
        if (s == NULL) return NULL;
        segment_setup(heap, s, kind);
    }
    unsigned i = (unsigned)__builtin_ctzll(warm ? warm : s->free_mask);
    s->free_mask &= ~(1ull << i);
    s->h.pages_used++;
    if (s->free_mask == 0 && l->last != s) {
        list_remove(l, s);
        list_push_back(l, s);
    }
    uint64_t bits = slot_bits(s, i);
    /* The slot's units become dirty as the page carves them (hfi_segment_touch). */
    bool zero = (s->dirty_mask & bits) == 0;
    s->purge_mask &= ~bits;
    uint8_t *start;
    size_t area;
    slot_area(s, i, &start, &area);
    hf_page *pg = &s->pages[i];
    hfi_page_init(pg, start, area, class_idx, zero);
    __atomic_store_n(&s->page_class[i], (uint8_t)class_idx, __ATOMIC_RELAXED);
    return pg;
}

void hfi_segment_page_free(hf_heap *heap, hf_page *pg) {
    hf_segment *s = hfi_segment_of_page(pg);
    unsigned i = (unsigned)(pg - s->pages);
    __atomic_store_n(&s->page_class[i], HF_NO_CLASS, __ATOMIC_RELAXED);
    pg->in_use = 0;
    __atomic_store_n(&pg->capacity, 0, __ATOMIC_RELAXED);
    pg->free = pg->local_free = NULL;
    atomic_store_explicit(&pg->flags, 0, memory_order_relaxed);
    pg->free_limit = 0;
    bool was_full = s->free_mask == 0;
    s->free_mask |= 1ull << i;
    s->h.pages_used--;
    if (s->h.pages_used == 0) {
        segment_release(heap, s);
        return;
    }
    hf_segment_list *l = heap_list(heap, s);
    if (was_full && l->first != s) {
        list_remove(l, s);
        list_push_front(l, s);
    }
    uint64_t bits = slot_bits(s, i) & s->dirty_mask;
    long long delay = hfi_options.purge_delay;
    if (bits == 0 || delay < 0) return;
    if (delay == 0) {
        purge_bits(s, bits);
        return;
    }
    if (s->purge_mask == 0) s->purge_at = hfi_now_ms() + (uint64_t)delay;
    s->purge_mask |= bits;
    if (heap->next_purge == 0 || s->purge_at < heap->next_purge) heap->next_purge = s->purge_at;
}

/* Purge the free slots whose delay has passed (all of them when forced). */
void hfi_segment_purge_due(hf_heap *heap, uint64_t now, bool force) {
    uint64_t next = 0;
    for (int k = 0; k < 2; k++) {
        for (hf_segment *s = heap->segs[k].first; s != NULL; s = s->next) {
            if (s->purge_mask == 0) continue;
            if (force || s->purge_at <= now) {
                purge_bits(s, s->purge_mask);
                s->purge_mask = 0;
            } else if (next == 0 || s->purge_at < next) {
                next = s->purge_at;
            }
        }
    }
    heap->next_purge = next;
}

/* ---- abandonment ----------------------------------------------------------------------- */
/* The heap is going away: its (non-empty) segments wait on the abandoned list. Other threads
 * may still free into them: those frees land on thread_free and are collected on reclaim. */
void hfi_segment_abandon_all(hf_heap *heap) {
    hfi_segment_purge_due(heap, 0, true);
    for (int k = 0; k < 2; k++) {
        hf_segment *s = heap->segs[k].first;
        heap->segs[k].first = heap->segs[k].last = NULL;
        while (s) {
            hf_segment *next = s->next;
            s->heap = NULL;
            s->prev = NULL;
            atomic_store_explicit(&s->h.owner, 0, memory_order_release);
            hfi_lock(&abandoned_lock);
            s->next = abandoned;
            abandoned = s;
            atomic_fetch_add_explicit(&hfi_os_stats.abandoned, 1, memory_order_relaxed);
            hfi_unlock(&abandoned_lock);
            s = next;
        }
    }
}

/* Adopt one abandoned segment: its pages join this heap's queues, empty ones are freed.
 * Returns false when there was none. */
bool hfi_segment_reclaim(hf_heap *heap) {
    if (atomic_load_explicit(&hfi_os_stats.abandoned, memory_order_relaxed) == 0) return false;
    hfi_lock(&abandoned_lock);
    hf_segment *s = abandoned;
    if (s) {
        abandoned = s->next;
        atomic_fetch_sub_explicit(&hfi_os_stats.abandoned, 1, memory_order_relaxed);
    }
    hfi_unlock(&abandoned_lock);
    if (s == NULL) return false;
    s->heap = heap;
    atomic_store_explicit(&s->h.owner, (uintptr_t)heap, memory_order_release);
    /* Frees from now on flag this heap (free.c); the ones before are collected below. */
    atomic_store_explicit(&s->h.remote_pending, 0, memory_order_seq_cst);
    hf_segment_list *l = heap_list(heap, s);
    if (s->free_mask)
        list_push_front(l, s);
    else
        list_push_back(l, s);
    if (s->purge_mask) {
        if (heap->next_purge == 0 || s->purge_at < heap->next_purge) heap->next_purge = s->purge_at;
    }
    for (unsigned i = 0; i < s->h.page_count; i++) {
        hf_page *pg = &s->pages[i];
        if (!pg->in_use) continue;
        unsigned remaining = s->h.pages_used;
        /* When the last page goes, so does the segment (maybe unmapped): touch nothing more. */
        if (hfi_heap_adopt_page(heap, pg) && remaining == 1) break;
    }
    return true;
}

bool hfi_segment_is_valid(const hf_segment *s, const char **why) {
    const char *w = NULL;
    unsigned used = 0;
    if (s->h.cookie != ((uintptr_t)s ^ hfi_secret))
        w = "segment cookie";
    else if (s->h.kind != HF_SEG_SMALL && s->h.kind != HF_SEG_MEDIUM)
        w = "segment kind";
    else if (((uintptr_t)s & HF_SEGMENT_MASK) != 0)
        w = "segment alignment";
    else if (hfi_header_of(s) != &s->h)
        w = "segment not in the page map";
    for (unsigned i = 0; w == NULL && i < s->h.page_count; i++) {
        const hf_page *pg = &s->pages[i];
        bool slot_free = (s->free_mask >> i) & 1;
        if (slot_free == (bool)pg->in_use)
            w = "free mask disagrees with page";
        else if (s->page_class[i] != (pg->in_use ? pg->class_idx : HF_NO_CLASS))
            w = "page class map disagrees with page";
        else if (pg->in_use) {
            used++;
            if (!hfi_page_is_valid(pg, &w)) break;
        }
    }
    if (w == NULL && used != s->h.pages_used) w = "pages_used count";
    if (w && why) *why = w;
    return w == NULL;
}

void hfi_segment_fork_prepare(void) {
    hfi_lock(&cache_lock);
    hfi_lock(&abandoned_lock);
}
void hfi_segment_fork_parent(void) {
    hfi_unlock(&abandoned_lock);
    hfi_unlock(&cache_lock);
}
void hfi_segment_fork_child(void) {
    hfi_lock_init(&abandoned_lock);
    hfi_lock_init(&cache_lock);
}
