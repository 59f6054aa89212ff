/* heap.c -- per-thread heaps: the direct table and page queues, the malloc slow path, page
 * retirement, thread start and exit.
 *
 * Every thread starts on hfi_heap_empty, whose direct table points only at hfi_page_empty, so
 * its first malloc takes the slow path and gets a real heap. The first heap is a static one (no
 * allocation needed during early start-up); later ones come from an OS chunk and are recycled
 * when threads exit. At thread exit the heap's empty pages are freed and its other segments are
 * abandoned: any thread that needs a segment adopts them. */
#include "internal/internal.h"

#include <pthread.h>
#include <string.h>

HF_TLS hf_heap *hfi_tl_heap = &hfi_heap_empty;
hf_heap hfi_heap_empty = {.direct = {[0 ... HF_DIRECT_COUNT - 1] = &hfi_page_empty}};

static hf_heap main_heap;
static atomic_int main_heap_taken;
static hf_lock heaps_lock; /* guards heaps, pool and the metadata chunk */
static hf_heap *heaps;     /* live heaps */
static hf_heap *pool;      /* heaps of exited threads, for reuse */
static uint8_t *meta_next, *meta_end;
static pthread_key_t heap_key;

/* The counters of exited threads' heaps (instrumented mode), under heaps_lock. */
static hf_heap_stats retired;

/* on_exit runs at each thread's exit with its heap (init.c: the hooks' part, then
 * hfi_heap_thread_done): given by the caller, so the heap calls nothing above it. */
void hfi_heap_process_init(void (*on_exit)(void *heap)) {
    pthread_key_create(&heap_key, on_exit);
}

/* ---- direct table (hfi_heap_direct_to: internal.h) ------------------------------------ */
static void set_direct(hf_heap *heap, unsigned c) {
    hfi_heap_direct_to(heap, c, heap->queues[c].first);
}

/* ---- heap lifetime --------------------------------------------------------------------- */
static hf_heap *heap_meta_alloc_locked(bool *zeroed) {
    hf_assert(hfi_lock_held(&heaps_lock));
    hf_heap *h = pool;
    if (h) {
        pool = h->next_heap;
        *zeroed = false;
        return h;
    }
    *zeroed = true;
    size_t sz = hf_align_up(sizeof(hf_heap), 64);
    if (meta_next == NULL || meta_next + sz > meta_end) {
        void *base;
        size_t msz;
        size_t chunk = 64 * 1024;
        uint8_t *p = hfi_os_map_aligned(chunk, HF_OS_PAGE_SIZE, &base, &msz);
        if (p == NULL) return NULL;
        meta_next = p, meta_end = p + chunk;
    }
    h = (hf_heap *)meta_next;
    meta_next += sz;
    return h;
}

/* A heap never used before (the static main heap, or one carved from a fresh OS chunk) is
 * already zero: clearing it again would only make its untouched pages resident (10 KiB). */
static void heap_init(hf_heap *h, bool zeroed) {
    if (!zeroed) memset(h, 0, sizeof *h);
    for (size_t d = 0; d < HF_DIRECT_COUNT; d++) h->direct[d] = &hfi_page_empty;
}

hf_heap *hfi_heap_get(void) {
    hf_heap *h = hfi_tl_heap;
    if (h != &hfi_heap_empty) return h;
    /* The caller has run hfi_process_init (the entry points' slow paths do): heap_key exists. */
    int expected = 0;
    bool is_main = atomic_compare_exchange_strong(&main_heap_taken, &expected, 1);
    hfi_lock(&heaps_lock);
    static bool main_heap_used;
    bool zeroed = false;
    if (is_main) {
        h = &main_heap;
        zeroed = !main_heap_used;
        main_heap_used = true;
    } else {
        h = heap_meta_alloc_locked(&zeroed);
    }
    if (h == NULL) {
        hfi_unlock(&heaps_lock);
        return NULL;
    }
    heap_init(h, zeroed);
    h->is_main = is_main;
    h->next_heap = heaps;
    if (heaps) heaps->prev_heap = h;
    heaps = h;
    hfi_unlock(&heaps_lock);
    atomic_fetch_add_explicit(&hfi_os_stats.threads, 1, memory_order_relaxed);
    hfi_tl_heap = h;
    pthread_setspecific(heap_key, h);
    return h;
}

/* Thread exit (from the pthread key's destructor, init.c). Other destructors may still
 * allocate after this: they get a new heap, and the key brings them back here. Its counters
 * join the retired sum under the lock, so a sum never counts them twice or not at all. */
void hfi_heap_thread_done(hf_heap *h) {
    if (h == NULL || h == &hfi_heap_empty) return;
    hfi_foreign_flush(h);
    hfi_heap_collect(h, false);
    hfi_segment_abandon_all(h);
    hfi_tl_heap = &hfi_heap_empty;
    hfi_lock(&heaps_lock);
    if (hfi_hooks != 0) {
        hfi_heap_stats_add(&retired, &h->stats);
        memset(&h->stats, 0, sizeof h->stats);
    }
    if (h->prev_heap)
        h->prev_heap->next_heap = h->next_heap;
    else
        heaps = h->next_heap;
    if (h->next_heap) h->next_heap->prev_heap = h->prev_heap;
    if (h->is_main) {
        atomic_store(&main_heap_taken, 0);
    } else {
        h->next_heap = pool;
        pool = h;
    }
    hfi_unlock(&heaps_lock);
    atomic_fetch_sub_explicit(&hfi_os_stats.threads, 1, memory_order_relaxed);
}

/* ---- pages ------------------------------------------------------------------------------ */
static void move_to_full(hf_heap *heap, hf_page *pg) {
    hfi_queue_remove(&heap->queues[pg->class_idx], pg);
    atomic_fetch_or_explicit(&pg->flags, HF_PAGE_IN_FULL, memory_order_relaxed);
    pg->free_limit = 0;
    hfi_queue_push_back(&heap->full, pg);
}

void hfi_heap_page_unfull(hf_heap *heap, hf_page *pg) {
    hfi_queue_remove(&heap->full, pg);
    atomic_fetch_and_explicit(&pg->flags, (uint8_t)~HF_PAGE_IN_FULL, memory_order_relaxed);
    hfi_page_update_limit(pg);
    hf_page_queue *q = &heap->queues[pg->class_idx];
    hfi_queue_push_back(q, pg);
    if (q->first == pg) set_direct(heap, pg->class_idx);
}

/* The page's last block came back (used == 0). Keep it if it is the only page of its class
 * (no thrashing when a program allocates and frees one block in a loop); free it otherwise. */
bool hfi_heap_page_retire(hf_heap *heap, hf_page *pg) {
    unsigned c = pg->class_idx;
    hf_page_queue *q = &heap->queues[c];
    if (atomic_load_explicit(&pg->flags, memory_order_relaxed) & HF_PAGE_IN_FULL) {
        q = &heap->full;
    } else if (pg->alone) {
        return false;
    }
    hfi_queue_remove(q, pg);
    set_direct(heap, c);
    hfi_segment_page_free(heap, pg);
    return true;
}

/* A page of an adopted segment joins this heap. True: it was empty and is freed. */
static bool adopt_page(hf_heap *heap, hf_page *pg) {
    atomic_store_explicit(&pg->flags, atomic_load(&pg->flags) & HF_PAGE_HAS_ALIGNED,
                          memory_order_relaxed);
    hfi_page_update_limit(pg);
    hfi_page_link(pg)->next = hfi_page_link(pg)->prev = NULL;
    hfi_page_collect(pg);
    if (pg->used == 0) {
        hfi_segment_page_free(heap, pg);
        return true;
    }
    if (pg->free == NULL && pg->local_free == NULL && pg->capacity == pg->reserved) {
        atomic_fetch_or_explicit(&pg->flags, HF_PAGE_IN_FULL, memory_order_relaxed);
        pg->free_limit = 0;
        hfi_queue_push_back(&heap->full, pg);
        return false;
    }
    hf_page_queue *q = &heap->queues[pg->class_idx];
    hfi_queue_push_back(q, pg);
    if (q->first == pg) set_direct(heap, pg->class_idx);
    return false;
}

/* The pages of a segment the heap just adopted (hfi_segment_reclaim*) join its queues. When
 * the last page goes, so does the segment (maybe unmapped): touch nothing more. */
static void adopt_pages(hf_heap *heap, hf_segment *s) {
    for (unsigned i = 0; i < s->h.page_count; i++) {
        hf_page *pg = &s->pages[i];
        if (!pg->in_use) continue;
        unsigned remaining = s->h.pages_used;
        if (adopt_page(heap, pg) && remaining == 1) break;
    }
}

/* Adopt one segment of an exited thread, if there is one (malloc_trim). */
bool hfi_heap_reclaim(hf_heap *heap) {
    hf_segment *s = hfi_segment_reclaim(heap);
    if (s != NULL) adopt_pages(heap, s);
    return s != NULL;
}

/* Blocks other threads freed into this heap's pages come back before fresh memory is
 * carved: every page of a segment whose remote_pending flag is set is collected, full pages
 * go back to their queues, and pages that are empty now are retired, so their slots serve any
 * class (in a ring of 200 threads each freeing its neighbour's blocks, every page of every
 * class ends each round empty but uncollected, and the classes the next round needs more of
 * carved fresh memory beside them). Retiring a segment's last page releases the segment:
 * the walk stops there. */
static bool revive_remote(hf_heap *heap) {
    if (atomic_load_explicit(&heap->remote_pending, memory_order_relaxed) == 0) return false;
    atomic_exchange_explicit(&heap->remote_pending, 0, memory_order_acquire);
    bool revived = false;
    for (int k = 0; k < 2; k++) {
        for (hf_segment *s = heap->segs[k].first, *next; s != NULL; s = next) {
            next = s->next;
            if (atomic_load_explicit(&s->h.remote_pending, memory_order_relaxed) == 0) continue;
            atomic_exchange_explicit(&s->h.remote_pending, 0, memory_order_acquire);
            for (unsigned i = 0; i < s->h.page_count; i++) {
                hf_page *pg = &s->pages[i];
                if (!pg->in_use ||
                    atomic_load_explicit(&pg->thread_free, memory_order_relaxed) == NULL)
                    continue;
                hfi_page_collect(pg);
                revived = true;
                if (pg->used == 0) {
                    unsigned pages = s->h.pages_used;
                    if (hfi_heap_page_retire(heap, pg) && pages == 1) break; /* segment gone */
                } else if (atomic_load_explicit(&pg->flags, memory_order_relaxed) &
                           HF_PAGE_IN_FULL) {
                    hfi_heap_page_unfull(heap, pg);
                }
            }
        }
    }
    return revived;
}

/* Due purges: this heap's free slots, and the process-wide caches of empty segments and large
 * blocks (which would otherwise wait for the next segment or large-block operation). */
static void maybe_purge(hf_heap *heap) {
    uint64_t seg_due = hfi_segment_cache_due(), span_due = hfi_span_cache_due();
    uint64_t abandoned_due = hfi_segment_abandoned_due();
    if (heap->next_purge == 0 && seg_due == 0 && span_due == 0 && abandoned_due == 0 &&
        heap->foreign_held == 0)
        return;
    uint64_t now = hfi_now_ms();
    if (heap->foreign_held != 0 && hfi_options.purge_delay >= 0) hfi_foreign_gc(heap, now);
    if (heap->next_purge != 0 && now >= heap->next_purge) hfi_segment_purge_due(heap, now, false);
    if (seg_due != 0 && now >= seg_due) hfi_segment_cache_trim(false);
    if (span_due != 0 && now >= span_due) hfi_span_cache_trim(false);
    if (abandoned_due != 0 && now >= abandoned_due) hfi_segment_abandoned_purge(now);
}

static hf_page *to_front(hf_heap *heap, hf_page_queue *q, hf_page *pg) {
    if (pg != q->first) {
        hfi_queue_remove(q, pg);
        hfi_queue_push_front(q, pg);
    }
    set_direct(heap, pg->class_idx);
    return pg;
}

/* A page of class c with a free block at the head of its queue, or NULL when out of memory.
 * Freed memory is reused before fresh memory is carved: the queue's pages are collected in
 * order, and before the first carving of a page with room (4 KiB at a time) the blocks other
 * threads freed into any page of this heap come back (revive_remote); then the pages and free
 * slots of exited threads' segments of c's kind, then a new page.
 * Carving before reviving let a class with a full page full of remote frees carve a second
 * page: 200 threads freeing each other's blocks peaked at 2x glibc's RSS. */
static HF_NOINLINE hf_page *find_page(hf_heap *heap, unsigned c) {
    maybe_purge(heap);
    hf_page_queue *q = &heap->queues[c];
    bool revived = false;
    for (;;) {
        hf_page *pg = q->first;
        while (pg != NULL) {
            hf_page *next = hfi_page_next(pg);
            hfi_page_collect(pg);
            if (pg->free != NULL) return to_front(heap, q, pg);
            if (pg->capacity < pg->reserved) {
                if (!revived) { /* before carving: what other threads gave back */
                    revived = true;
                    if (revive_remote(heap)) break;
                }
                if (hfi_segment_extend_ok(heap, pg) && hfi_page_extend(pg))
                    return to_front(heap, q, pg);
            } else { /* (a page with room carves on once the warm slots are used) */
                move_to_full(heap, pg);
            }
            pg = next;
        }
        if (pg != NULL) continue; /* revived: look again */
        if (!revived) {
            revived = true;
            if (revive_remote(heap)) continue;
        }
        /* The pages of exited threads' segments that can serve c, one segment at a time,
         * until one has a page of c or this heap has a warm free slot for one (an exited
         * thread's free slots keep their memory until the purge delay). */
        hf_segment *s = hfi_segment_reclaim_class(heap, c);
        if (s == NULL) break;
        adopt_pages(heap, s);
        if (q->first == NULL && hfi_segment_has_warm_slot(heap, c)) break;
    }
    hf_slot slot;
    hf_page *pg = hfi_segment_page_alloc(heap, c, &slot);
    if (pg == NULL) { /* the OS refused a segment: free this heap's empty pages, try again */
        hfi_heap_collect(heap, true);
        pg = hfi_segment_page_alloc(heap, c, &slot);
    }
    if (pg == NULL) {
        set_direct(heap, c);
        return NULL;
    }
    hfi_page_init(pg, slot.start, slot.area, c, slot.zero);
    hfi_queue_push_front(q, pg);
    hfi_page_extend(pg);
    set_direct(heap, c);
    return pg;
}

/* A span (large.c). When the OS refuses the mapping (hfi_os_map_aligned has already dropped
 * the caches), this heap's empty pages go too -- their segments reach the segment cache,
 * which the second attempt drops -- and the span is tried once more. */
void *hfi_heap_span_alloc(hf_heap *heap, size_t n, size_t align, bool zero) {
    int saved = errno;
    void *p = hfi_span_alloc(n, align, zero);
    if (p == NULL && heap != &hfi_heap_empty && n <= PTRDIFF_MAX) {
        hfi_heap_collect(heap, true);
        errno = saved; /* a success leaves errno as it was */
        p = hfi_span_alloc(n, align, zero);
    }
    return p;
}

/* The malloc slow path: a page of n's class with a free block, or a span. The entry points
 * (alloc.c) have routed the call: the heap is the thread's own, and no hook or lab policy
 * wants it. */
void *hfi_heap_malloc_slow(hf_heap *heap, size_t n, bool zero) {
    if (n > HF_MEDIUM_MAX) return hfi_heap_span_alloc(heap, n, 0, zero);
    unsigned c = hfi_class_of(n);
    hf_page *pg = heap->queues[c].first;
    if (pg == NULL || pg->free == NULL) {
        /* Kept blocks of other heaps first (foreign.c). */
        if (c < HF_FOREIGN_CLASSES) {
            hf_page *fp = &heap->foreign[c];
            if (fp->local_free != NULL) return hfi_foreign_take(heap, fp, n, zero);
            if (fp->reserved == 0) hfi_foreign_open(fp, c);
        }
        if (pg != NULL && pg->local_free != NULL) {
            /* The page's own frees since it ran dry, taken over in place: a malloc/free loop of
             * 4 KiB blocks (a carve step is one block) comes here on every call, and the full
             * search cost 118 instructions of the pair's 214. Other threads' frees and the
             * periodic work wait for the next time the page is really dry. */
            pg->free = pg->local_free;
            pg->local_free = NULL;
            pg->free_is_zero = 0;
            set_direct(heap, c);
        } else {
            pg = find_page(heap, c);
            if (pg == NULL) {
                hfi_set_enomem();
                return NULL;
            }
        }
    } else {
        set_direct(heap, c); /* it pointed at the emptied foreign stand-in */
    }
    if (HF_UNLIKELY(hfi_secure != 0)) return hfi_page_pop_checked(pg, n, zero);
    return hfi_page_pop(pg, n, zero);
}

/* Sum the counters of every live heap and of exited threads' heaps into *out (instrumented
 * mode). Other threads keep counting meanwhile: the sum is consistent per heap. */
void hfi_heap_stats_sum(hf_heap_stats *out) {
    hfi_lock(&heaps_lock);
    hfi_heap_stats_add(out, &retired);
    for (hf_heap *h = heaps; h != NULL; h = h->next_heap) hfi_heap_stats_add(out, &h->stats);
    hfi_unlock(&heaps_lock);
}

static inline int64_t rd(const int64_t *x) {
    return __atomic_load_n(x, __ATOMIC_RELAXED);
}

/* to += from, counter by counter (from's owner may be counting: relaxed loads). */
void hfi_heap_stats_add(hf_heap_stats *to, const hf_heap_stats *from) {
#define HF_ADD_COUNTER(name) to->name += rd(&from->name);
    HF_HEAP_COUNTERS(HF_ADD_COUNTER)
#undef HF_ADD_COUNTER
    for (unsigned i = 0; i < HF_STAT_BUCKETS; i++) {
        to->class_mallocs[i] += rd(&from->class_mallocs[i]);
        to->class_live[i] += rd(&from->class_live[i]);
    }
}

/* Free every empty page now (malloc_trim, thread exit). */
void hfi_heap_collect(hf_heap *heap, bool force) {
    if (heap == &hfi_heap_empty) return;
    for (unsigned c = 0; c < HF_CLASS_COUNT; c++) {
        hf_page_queue *q = &heap->queues[c];
        for (hf_page *pg = q->first; pg != NULL;) {
            hf_page *next = hfi_page_next(pg);
            hfi_page_collect(pg);
            if (pg->used == 0) {
                hfi_queue_remove(q, pg);
                hfi_segment_page_free(heap, pg);
            }
            pg = next;
        }
        set_direct(heap, c);
    }
    for (hf_page *pg = heap->full.first; pg != NULL;) {
        hf_page *next = hfi_page_next(pg);
        hfi_page_collect(pg);
        if (pg->used == 0) {
            hfi_queue_remove(&heap->full, pg);
            atomic_store_explicit(&pg->flags, 0, memory_order_relaxed);
            hfi_segment_page_free(heap, pg);
        } else if (pg->free != NULL) {
            hfi_heap_page_unfull(heap, pg);
        }
        pg = next;
    }
    if (force) {
        hfi_foreign_flush(heap);
        hfi_segment_purge_due(heap, 0, true);
    }
}

bool hfi_heap_is_valid(const hf_heap *heap, const char **why) {
    const char *w = NULL;
    for (unsigned c = 0; c < HF_CLASS_COUNT && w == NULL; c++) {
        const hf_page_queue *q = &heap->queues[c];
        const hf_page *prev = NULL;
        for (const hf_page *pg = q->first; pg != NULL && w == NULL;
             prev = pg, pg = hfi_page_next(pg)) {
            if (pg->alone != (q->first == pg && q->last == pg))
                w = "alone flag";
            else if (hfi_page_prev(pg) != prev)
                w = "queue links";
            else if (pg->class_idx != c)
                w = "page in the wrong queue";
            else if (atomic_load(&pg->flags) & HF_PAGE_IN_FULL)
                w = "full page in a class queue";
            else if (hfi_segment_of_page(pg)->heap != heap)
                w = "page of another heap";
            else
                hfi_page_is_valid(pg, &w);
        }
        if (w == NULL && q->last != prev) w = "queue tail";
        if (w == NULL && hfi_class_size[c] <= HF_DIRECT_MAX) {
            /* Instrumented: set_direct keeps every entry on the empty page. */
            const hf_page *want = q->first && hfi_hooks == 0 ? q->first : &hfi_page_empty;
            const hf_page *d = heap->direct[hfi_class_size[c] / 16];
            if (d != want && !(c < HF_FOREIGN_CLASSES && d == &heap->foreign[c]))
                w = "direct table";
        }
    }
    for (unsigned c = 0; c < HF_FOREIGN_CLASSES && w == NULL; c++)
        hfi_foreign_is_valid(heap, c, &w);
    for (int k = 0; k < 2 && w == NULL; k++)
        for (const hf_segment *s = heap->segs[k].first; s != NULL && w == NULL; s = s->next)
            if (s->heap != heap)
                w = "segment of another heap";
            else if (hfi_segment_is_valid(s, &w))
                for (unsigned i = 0; i < s->h.page_count && w == NULL; i++)
                    if (s->pages[i].in_use) hfi_page_is_valid(&s->pages[i], &w);
    if (w && why) *why = w;
    return w == NULL;
}

void hfi_heap_fork_prepare(void) {
    hfi_lock(&heaps_lock);
}
void hfi_heap_fork_parent(void) {
    hfi_unlock(&heaps_lock);
}
void hfi_heap_fork_child(void) {
    hfi_lock_init(&heaps_lock);
}
