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

/* The process-wide cache of empty segments (a heap keeps HEAPFORGE_SEGMENT_CACHE empty segments
 * of its own first, hfi_segment_page_free). At most HF_CACHE_WARM of them are warm (resident,
 * purge pending), and only while the cache has not had them to spare for a whole purge delay;
 * the others are purged and kept mapped, cold, while the recent peak of segments in use says
 * they may be needed again; cold ones are unmapped after HF_COLD_MS unused. Both lists are
 * most recently cached first. */
enum { HF_COLD_MS = 1000, HF_PEAK_WINDOW_MS = 1000, HF_RECLAIM_SCAN = 16, HF_CACHE_WARM = 2 };
static hf_lock cache_lock;
static hf_segment_list cache_warm, cache_cold;
static size_t cache_count, warm_count;
/* The fewest warm segments the cache held since warm_since: that many were not needed for that
 * long, and are purged once it is the purge delay ago. */
static size_t warm_low;
static uint64_t warm_since;
static uint64_t cache_due; /* when the oldest cached segment is due to cool or to go (0: none) */
/* Segments in use (owned or abandoned): their high-water marks in this window and the last
 * (peak_used is the greater), so the peak of a recurring working set survives its troughs. */
static size_t peak_used, peak_this, peak_last;
static uint64_t peak_at;

uint64_t hfi_segment_cache_due(void) {
    return __atomic_load_n(&cache_due, __ATOMIC_RELAXED);
}

/* Abandoned segments of exited threads, by kind (small [0], medium [1]), singly linked through
 * next. Their free slots keep their pending purges: abandoned_due says when the first is due. */
static hf_lock abandoned_lock;
static hf_segment *abandoned[2];
static size_t abandoned_n[2];
static uint64_t abandoned_due;

uint64_t hfi_segment_abandoned_due(void) {
    return __atomic_load_n(&abandoned_due, __ATOMIC_RELAXED);
}

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

/* Units of free slots holding no memory (never carved, or purged): a purge may cover them, so
 * the dirty units on either side go in one call. */
static uint64_t clean_free_units(const hf_segment *s) {
    uint64_t u = 0;
    for (uint64_t f = s->free_mask; f; f &= f - 1) u |= slot_bits(s, (unsigned)__builtin_ctzll(f));
    return u & ~s->dirty_mask;
}

/* Return the 64 KiB units in `bits` to the OS (the header page excepted), one call per run of
 * them, runs joined across clean free units (free medium slots purged apart left one call
 * per slot: most of mstress's 6,000 madvise calls). */
static void purge_bits(hf_segment *s, uint64_t bits) {
    size_t before = resident_bytes(s);
    uint64_t span = bits | clean_free_units(s);
    while (bits) {
        unsigned a = (unsigned)__builtin_ctzll(bits);
        unsigned b = a, end = a;
        while (b < 64 && (span >> b) & 1) {
            if ((bits >> b) & 1) end = b + 1;
            b++;
        }
        uint8_t *lo = (uint8_t *)s + ((size_t)a << HF_SMALL_PAGE_SHIFT);
        uint8_t *hi = (uint8_t *)s + ((size_t)end << HF_SMALL_PAGE_SHIFT);
        if (lo < (uint8_t *)s + HF_SEGMENT_HEADER) lo = (uint8_t *)s + HF_SEGMENT_HEADER;
        hfi_os_purge(lo, (size_t)(hi - lo));
        uint64_t run = (end >= 64 ? ~0ull : ((1ull << end) - 1)) & ~((1ull << a) - 1);
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

static size_t segments_used(void) {
    return atomic_load_explicit(&hfi_os_stats.segments, memory_order_relaxed) -
           __atomic_load_n(&cache_count, __ATOMIC_RELAXED);
}

static void cache_unlink_locked(hf_segment_list *l, hf_segment *s) {
    hf_assert(hfi_lock_held(&cache_lock));
    list_remove(l, s);
    if (l == &cache_warm) __atomic_store_n(&warm_count, warm_count - 1, __ATOMIC_RELAXED);
    __atomic_store_n(&cache_count, cache_count - 1, __ATOMIC_RELAXED);
    atomic_fetch_sub_explicit(&hfi_os_stats.cached, HF_SEGMENT_SIZE, memory_order_relaxed);
}

/* Cached segments on their way from warm to cold (still counted in cache_count): purged by
 * cool_outside once the lock is released, so no system call runs under cache_lock. */
static void cool_later(hf_segment *s, hf_segment **cool) {
    s->next = *cool;
    *cool = s;
}

static void cool_outside(hf_segment *s) {
    while (s) {
        hf_segment *next = s->next;
        purge_bits(s, s->dirty_mask);
        s->purge_mask = 0;
        s->purged = 1;
        hfi_lock(&cache_lock);
        s->cached_at = hfi_now_ms();
        list_push_front(&cache_cold, s);
        if (cache_due == 0)
            __atomic_store_n(&cache_due, s->cached_at + HF_COLD_MS + 1, __ATOMIC_RELAXED);
        hfi_unlock(&cache_lock);
        s = next;
    }
}

/* Cool the warm segments the cache did not need for the last purge delay (as many as its low
 * mark) onto *cool, take the cold ones idle for HF_COLD_MS (forced: every warm one too) off the
 * cache onto *drop, and publish when the next check is due. The caller purges *cool and unmaps
 * *drop once it has released cache_lock, which it holds.
 *
 * A warm segment is purged when the cache has had a segment to spare for the whole delay,
 * not when that segment is the delay old: a working set freed and built again every 15 ms
 * empties the cache in every round and keeps its segments warm, while a peak freed once is
 * purged a delay later. */
static size_t cache_expire_locked(uint64_t now, bool force, hf_segment **cool, hf_segment **drop) {
    hf_assert(hfi_lock_held(&cache_lock));
    size_t n = 0;
    long long delay = hfi_options.purge_delay;
    if (now >= peak_at + HF_PEAK_WINDOW_MS) { /* a new window */
        peak_last = now >= peak_at + 2 * HF_PEAK_WINDOW_MS ? 0 : peak_this;
        peak_this = segments_used();
        __atomic_store_n(&peak_used, peak_last > peak_this ? peak_last : peak_this,
                         __ATOMIC_RELAXED);
        peak_at = now;
    }
    if (warm_count < warm_low) warm_low = warm_count;
    if (force) { /* unmapped whole: no need to purge first */
        for (hf_segment *s; (s = cache_warm.last) != NULL;) {
            cache_unlink_locked(&cache_warm, s);
            s->next = *drop;
            *drop = s;
        }
    }
    if (force || (delay >= 0 && now >= warm_since + (uint64_t)delay)) {
        for (size_t k = warm_low; k > 0 && cache_warm.last != NULL; k--, n++) {
            hf_segment *s = cache_warm.last;
            list_remove(&cache_warm, s);
            __atomic_store_n(&warm_count, warm_count - 1, __ATOMIC_RELAXED);
            cool_later(s, cool);
        }
        warm_low = warm_count;
        warm_since = now;
    }
    for (hf_segment *s; (s = cache_cold.last) != NULL && s->cached_at + HF_COLD_MS <= now;) {
        cache_unlink_locked(&cache_cold, s);
        s->next = *drop;
        *drop = s;
    }
    uint64_t due = 0;
    if (warm_count != 0 && delay >= 0) due = warm_since + (uint64_t)delay;
    if (cache_cold.last != NULL) {
        uint64_t at = cache_cold.last->cached_at + HF_COLD_MS;
        if (due == 0 || at < due) due = at;
    }
    __atomic_store_n(&cache_due, due == 0 ? 0 : due + 1, __ATOMIC_RELAXED);
    return n;
}

static void unmap_list(hf_segment *s) {
    while (s) {
        hf_segment *next = s->next;
        segment_unmap(s);
        s = next;
    }
}

/* A segment from the cache, warm first (only a warm one if warm_only). */
static hf_segment *cache_take(bool warm_only) {
    hf_segment *s = NULL;
    if (__atomic_load_n(warm_only ? &warm_count : &cache_count, __ATOMIC_RELAXED) != 0) {
        hfi_lock(&cache_lock);
        hf_segment_list *l = cache_warm.first || warm_only ? &cache_warm : &cache_cold;
        s = l->first;
        if (s) cache_unlink_locked(l, s);
        if (warm_count < warm_low) warm_low = warm_count;
        hfi_unlock(&cache_lock);
    }
    return s;
}

/* One more segment in use: the recent peak follows. */
static void note_used(void) {
    size_t used = segments_used();
    if (used > __atomic_load_n(&peak_used, __ATOMIC_RELAXED)) {
        hfi_lock(&cache_lock);
        if (used > peak_this) peak_this = used;
        if (used > peak_used) __atomic_store_n(&peak_used, used, __ATOMIC_RELAXED);
        hfi_unlock(&cache_lock);
    }
}

/* An empty segment leaves its heap (beyond the ones the heap keeps, or purged, or at thread
 * exit). It stays mapped while the segments in use plus the cache stay within the recent peak
 * (or the cache within HEAPFORGE_SEGMENT_CACHE): warm if fewer than HF_CACHE_WARM are and it
 * has resident memory, otherwise purged at once. Beyond that it is unmapped. A purged segment
 * taken again faults its pages in as a fresh mapping would, without the mmap, the munmap and
 * the page-map updates; a large peak freed at once keeps nothing resident here. */
static void segment_release(hf_heap *heap, hf_segment *s) {
    list_remove(heap_list(heap, s), s);
    s->heap = NULL;
    s->h.kind = HF_SEG_FREE;
    atomic_store_explicit(&s->h.owner, HF_OWNER_NONE, memory_order_release);
    uint64_t now = hfi_now_ms();
    s->cached_at = now;
    s->purged = 0;
    long long delay = hfi_options.purge_delay;
    long long keep_warm = delay == 0 || s->dirty_mask == 0 ? 0 : HF_CACHE_WARM;
    hf_segment *drop = NULL, *cool = NULL;
    hfi_lock(&cache_lock);
    size_t used = segments_used() - 1; /* without s */
    size_t room = peak_used > used ? peak_used - used : 0;
    if (room < (size_t)hfi_options.segment_cache) room = (size_t)hfi_options.segment_cache;
    if (cache_count < room && ((long long)warm_count < keep_warm || delay >= 0)) {
        hfi_os_on_refusal(HF_RECLAIM_SEGMENTS, hfi_segment_cache_trim);
        __atomic_store_n(&cache_count, cache_count + 1, __ATOMIC_RELAXED);
        atomic_fetch_add_explicit(&hfi_os_stats.cached, HF_SEGMENT_SIZE, memory_order_relaxed);
        if ((long long)warm_count < keep_warm) {
            list_push_front(&cache_warm, s);
            __atomic_store_n(&warm_count, warm_count + 1, __ATOMIC_RELAXED);
        } else {
            cool_later(s, &cool);
        }
        s = NULL;
    }
    /* Every release is a chance to expire cached segments whose time has come. */
    cache_expire_locked(now, false, &cool, &drop);
    hfi_unlock(&cache_lock);
    if (s) segment_unmap(s);
    cool_outside(cool);
    unmap_list(drop);
}

size_t hfi_segment_cache_trim(bool force) {
    hf_segment *drop = NULL, *cool = NULL;
    hfi_lock(&cache_lock);
    size_t n = cache_expire_locked(hfi_now_ms(), force, &cool, &drop);
    if (force) { /* hand everything back: unmap the whole cache */
        for (hf_segment *s; (s = cache_cold.first) != NULL;) {
            cache_unlink_locked(&cache_cold, s);
            s->next = drop;
            drop = s;
        }
        __atomic_store_n(&cache_due, 0, __ATOMIC_RELAXED);
    }
    hfi_unlock(&cache_lock);
    cool_outside(cool);
    for (hf_segment *s = drop; s != NULL; s = s->next) n++;
    unmap_list(drop);
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

hf_page *hfi_segment_page_alloc(hf_heap *heap, unsigned class_idx, hf_slot *slot) {
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
    hf_segment *fresh = NULL;
    if (best != NULL) {
        s = best, warm = 1ull << best_i;
    } else {
        /* No warm slot here: a warm cached segment before this heap's untouched slots, which
         * would fault in fresh memory while the cached one waits for its purge (a working set
         * rebuilt each round touched one segment more than it needs). */
        fresh = cache_take(true);
        if (fresh != NULL) s = fresh;
    }
    if (s != NULL && s->free_mask != 0 && fresh == NULL && s->h.pages_used == 0)
        heap->empty_segs--;                                /* one the heap kept */
    if (s == NULL || s->free_mask == 0 || fresh != NULL) { /* abandoned segments came first */
        s = fresh != NULL ? fresh : cache_take(false);
        if (s == NULL) s = segment_fresh();
        if (s == NULL) return NULL;
        note_used();
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
    slot_area(s, i, &slot->start, &slot->area);
    slot->zero = zero;
    __atomic_store_n(&s->page_class[i], (uint8_t)class_idx, __ATOMIC_RELAXED);
    return &s->pages[i];
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
        /* Empty: the heap keeps it, warm, while it keeps fewer than HEAPFORGE_SEGMENT_CACHE
         * (a working set freed whole and built again finds its memory resident); its slots are
         * purged after the delay as any free slot, and then the segment goes to the cache
         * (hfi_segment_purge_due). One with nothing left to purge goes there at once. */
        if ((long long)heap->empty_segs >= hfi_options.segment_cache ||
            hfi_options.purge_delay <= 0 ||
            ((s->purge_mask | (slot_bits(s, i) & s->dirty_mask)) == 0)) {
            segment_release(heap, s);
            return;
        }
        heap->empty_segs++;
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
        for (hf_segment *s = heap->segs[k].first, *after; s != NULL; s = after) {
            after = s->next;
            if (s->purge_mask == 0 && !(force && s->h.pages_used == 0)) continue;
            if (force || s->purge_at <= now) {
                purge_bits(s, s->purge_mask);
                s->purge_mask = 0;
                if (s->h.pages_used == 0) { /* a kept empty segment, purged: to the cache */
                    heap->empty_segs--;
                    segment_release(heap, s);
                }
            } else if (next == 0 || s->purge_at < next) {
                next = s->purge_at;
            }
        }
    }
    heap->next_purge = next;
}

/* ---- abandonment ----------------------------------------------------------------------- */
static void abandoned_due_min_locked(uint64_t at) {
    hf_assert(hfi_lock_held(&abandoned_lock));
    if (abandoned_due == 0 || at < abandoned_due)
        __atomic_store_n(&abandoned_due, at, __ATOMIC_RELAXED);
}

/* The heap is going away: its (non-empty) segments wait on the abandoned list, their free
 * slots still warm: the thread that adopts them next (most often a thread started within
 * milliseconds) reuses that memory without a fault, and slots nobody reuses are purged when
 * due (hfi_segment_abandoned_purge). Other threads may still free into them: those frees land
 * on thread_free and are collected on reclaim. */
void hfi_segment_abandon_all(hf_heap *heap) {
    heap->next_purge = 0;
    heap->empty_segs = 0;
    /* A free medium slot keeps its first 64 KiB warm, where a new page carves first; the rest
     * (512 KiB slots that served blocks of up to 128 KiB) is purged now. Kept whole, those
     * tails held 5-12 MiB per exited thread in bench/mstress.c (peak RSS 1.64x glibc's at 2
     * threads, 1.37x with the tails purged; purging all free slots, as before, cost twice the
     * CPU time in page faults). */
    for (hf_segment *s = heap->segs[1].first; s != NULL; s = s->next) {
        uint64_t tails = 0;
        for (uint64_t f = s->free_mask; f; f &= f - 1) {
            unsigned i = (unsigned)__builtin_ctzll(f);
            tails |= slot_bits(s, i) & ~(1ull << (i << (s->h.page_shift - HF_SMALL_PAGE_SHIFT)));
        }
        tails &= s->dirty_mask;
        if (tails) purge_bits(s, tails);
        s->purge_mask &= s->dirty_mask;
    }
    for (int k = 0; k < 2; k++) {
        hf_segment *s = heap->segs[k].first, *chain = NULL, *tail = NULL;
        size_t n = 0;
        uint64_t due = 0;
        heap->segs[k].first = heap->segs[k].last = NULL;
        while (s) {
            hf_segment *next = s->next;
            if (s->h.pages_used == 0) { /* kept empty: to the cache, for any thread */
                heap->segs[k].first = heap->segs[k].last = s; /* what release unlinks it from */
                s->prev = s->next = NULL;
                segment_release(heap, s);
                s = next;
                continue;
            }
            s->heap = NULL;
            s->prev = NULL;
            atomic_store_explicit(&s->h.owner, 0, memory_order_release);
            if (s->purge_mask && (due == 0 || s->purge_at < due)) due = s->purge_at;
            s->next = chain;
            chain = s;
            if (tail == NULL) tail = s;
            n++;
            s = next;
        }
        if (chain == NULL) continue;
        hfi_lock(&abandoned_lock); /* once per kind */
        tail->next = abandoned[k];
        abandoned[k] = chain;
        __atomic_store_n(&abandoned_n[k], abandoned_n[k] + n, __ATOMIC_RELAXED);
        if (due) abandoned_due_min_locked(due);
        atomic_fetch_add_explicit(&hfi_os_stats.abandoned, n, memory_order_relaxed);
        hfi_unlock(&abandoned_lock);
    }
}

/* Purge the free slots of abandoned segments whose delay has passed. The due segments leave
 * the lists while they are purged, so no system call runs under abandoned_lock. */
void hfi_segment_abandoned_purge(uint64_t now) {
    hf_segment *due[2] = {NULL, NULL};
    size_t taken[2] = {0, 0};
    hfi_lock(&abandoned_lock);
    uint64_t next = 0;
    for (int k = 0; k < 2; k++) {
        for (hf_segment **l = &abandoned[k], *s; (s = *l) != NULL;) {
            if (s->purge_mask != 0 && s->purge_at <= now) {
                *l = s->next;
                s->next = due[k];
                due[k] = s;
                taken[k]++;
                continue;
            }
            if (s->purge_mask != 0 && (next == 0 || s->purge_at < next)) next = s->purge_at;
            l = &s->next;
        }
        __atomic_store_n(&abandoned_n[k], abandoned_n[k] - taken[k], __ATOMIC_RELAXED);
    }
    __atomic_store_n(&abandoned_due, next, __ATOMIC_RELAXED);
    hfi_unlock(&abandoned_lock);
    for (int k = 0; k < 2; k++) {
        if (due[k] == NULL) continue;
        hf_segment *tail = NULL;
        for (hf_segment *s = due[k]; s != NULL; tail = s, s = s->next) {
            purge_bits(s, s->purge_mask);
            s->purge_mask = 0;
        }
        hfi_lock(&abandoned_lock);
        tail->next = abandoned[k];
        abandoned[k] = due[k];
        __atomic_store_n(&abandoned_n[k], abandoned_n[k] + taken[k], __ATOMIC_RELAXED);
        hfi_unlock(&abandoned_lock);
    }
}

static void adopt(hf_heap *heap, hf_segment *s) {
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
    /* Its pages join the heap's queues next (heap.c, adopt_pages). */
}

/* Take an abandoned segment of kind k (0 small, 1 medium) off its list: one with a page of
 * class c if one of the first HF_RECLAIM_SCAN has it (c < 0: any), else the newest. */
static hf_segment *abandoned_take(int k, int c) {
    if (__atomic_load_n(&abandoned_n[k], __ATOMIC_RELAXED) == 0) return NULL;
    hfi_lock(&abandoned_lock);
    hf_segment **link = &abandoned[k];
    if (c >= 0) {
        unsigned scanned = 0;
        for (hf_segment **l = &abandoned[k]; *l != NULL && scanned < HF_RECLAIM_SCAN;
             l = &(*l)->next, scanned++)
            if (memchr((*l)->page_class, c, (*l)->h.page_count) != NULL) {
                link = l;
                break;
            }
    }
    hf_segment *s = *link;
    if (s) {
        *link = s->next;
        __atomic_store_n(&abandoned_n[k], abandoned_n[k] - 1, __ATOMIC_RELAXED);
        atomic_fetch_sub_explicit(&hfi_os_stats.abandoned, 1, memory_order_relaxed);
    }
    hfi_unlock(&abandoned_lock);
    return s;
}

/* Adopt one abandoned segment of either kind: its pages join this heap's queues, empty ones
 * are freed. Returns false when there was none. */
hf_segment *hfi_segment_reclaim(hf_heap *heap) {
    hf_segment *s = abandoned_take(0, -1);
    if (s == NULL) s = abandoned_take(1, -1);
    if (s != NULL) adopt(heap, s);
    return s;
}

/* The allocation slow path of class c found no page: adopt an abandoned segment that can
 * serve it -- of c's kind, one holding a page of c first. Segments of the other kind stay
 * for the threads that need them (adopting them all while looking for one kind gave one new
 * thread every exited thread's segments, and the others fresh memory). Returns the segment
 * (its pages still to join the heap's queues: heap.c), or NULL when there was none. */
hf_segment *hfi_segment_reclaim_class(hf_heap *heap, unsigned c) {
    int k = hfi_class_size[c] <= HF_SMALL_MAX ? 0 : 1;
    hf_segment *s = abandoned_take(k, (int)c);
    if (s != NULL) adopt(heap, s);
    return s;
}

/* Does the heap have a warm free slot (resident memory, purge pending) for a page of class c?
 * Segments with free slots stand first in the list. */
bool hfi_segment_has_warm_slot(const hf_heap *heap, unsigned c) {
    const hf_segment *s = heap->segs[hfi_class_size[c] <= HF_SMALL_MAX ? 0 : 1].first;
    for (; s != NULL && s->free_mask != 0; s = s->next)
        if (warm_slots(s) != 0) return true;
    return false;
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
        else if (pg->in_use)
            used++; /* the pages themselves: hfi_page_is_valid (heap.c checks each) */
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
