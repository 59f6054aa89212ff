/* large.c -- spans: blocks above HF_MEDIUM_MAX, each in a mapping of its own whose header sits
 * at the segment-aligned start (one OS page; the payload follows).
 *
 * Freed spans below the huge threshold wait in a process-wide cache so that a program churning
 * multi-MiB blocks reuses warm pages instead of faulting fresh ones in every time (a fault costs
 * about 2 us a page here; moving a page's table entry with mremap about 25 ns). Three rules:
 *  - a cached span bigger than the request by a segment or more is split at the first segment
 *    boundary past the request: the tail becomes a cached span of its own (no system call);
 *  - a span that must grow (a cached one too small, or realloc) grows with mremap, and the new
 *    part is filled with the pages of cached spans, moved over with mremap (MREMAP_FIXED):
 *    page tables move, neither bytes nor faults;
 *  - what is cached stays while live plus cached span bytes stay within the recent peak of
 *    live span bytes (a budget that costs no peak RSS); beyond it, spans expire after the
 *    purge delay, oldest first, and the peak itself is forgotten after HF_SPAN_HOLD delays.
 * Huge spans are unmapped on free. realloc of a span resizes the mapping in place, or moves it
 * with mremap; a growing realloc never gives pages back. */
#include "internal/internal.h"
#include "harden/guard.h"

#include <string.h>

static hf_lock span_lock;
static hf_span *cache_first, *cache_last; /* most recently freed first */
static size_t cache_bytes;
static uint64_t cache_due; /* when the oldest cached span expires (0: empty cache) */
static size_t live_bytes;  /* mapping bytes of live spans */
static size_t peak_bytes;  /* recent high-water mark of live_bytes */
static uint64_t peak_at;   /* when peak_bytes was last raised or reset (ms) */

/* The recent peak is forgotten after this many purge delays without a new one. */
#define HF_SPAN_HOLD 100
/* A split leaves a tail of at least this much, and a realloc shrink gives back as much. */
#define HF_SPAN_SPLIT_MIN ((size_t)1 << 20)

static void live_add(size_t add) {
    size_t live = __atomic_add_fetch(&live_bytes, add, __ATOMIC_RELAXED);
    if (live > __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED)) {
        __atomic_store_n(&peak_bytes, live, __ATOMIC_RELAXED);
        __atomic_store_n(&peak_at, hfi_now_ms(), __ATOMIC_RELAXED);
    }
}

static void live_sub(size_t sub) {
    __atomic_sub_fetch(&live_bytes, sub, __ATOMIC_RELAXED);
}

/* Is the cache within the budget the recent peak leaves (live + cached <= peak)? Forgets a
 * peak older than the hold first. */
static bool within_peak_locked(uint64_t now) {
    hf_assert(hfi_lock_held(&span_lock));
    long long delay = hfi_options.purge_delay;
    size_t live = __atomic_load_n(&live_bytes, __ATOMIC_RELAXED);
    uint64_t at = __atomic_load_n(&peak_at, __ATOMIC_RELAXED);
    if (delay >= 0 && now >= at + (uint64_t)delay * HF_SPAN_HOLD) {
        __atomic_store_n(&peak_bytes, live, __ATOMIC_RELAXED);
        __atomic_store_n(&peak_at, now, __ATOMIC_RELAXED);
    }
    return live + cache_bytes <= __atomic_load_n(&peak_bytes, __ATOMIC_RELAXED);
}

/* Recompute cache_due after the cache changed; other threads read it without the lock. */
static void update_due_locked(void) {
    hf_assert(hfi_lock_held(&span_lock));
    long long delay = hfi_options.purge_delay;
    uint64_t due = cache_last && delay >= 0 ? cache_last->cached_at + (uint64_t)delay + 1 : 0;
    if (due != 0 && within_peak_locked(hfi_now_ms())) { /* kept until the peak is forgotten */
        uint64_t end =
            __atomic_load_n(&peak_at, __ATOMIC_RELAXED) + (uint64_t)delay * HF_SPAN_HOLD + 1;
        if (end > due) due = end;
    }
    __atomic_store_n(&cache_due, due, __ATOMIC_RELAXED);
}

uint64_t hfi_span_cache_due(void) {
    return __atomic_load_n(&cache_due, __ATOMIC_RELAXED);
}

/* Offset of the payload from the header for an alignment. Alignments of a segment or more put
 * the payload in a later unit: the page map's tail entries lead free() back to the header. */
static size_t payload_offset(size_t align) {
    if (align <= HF_SPAN_HEADER) return HF_SPAN_HEADER;
    return align;
}

static size_t span_align(size_t off) {
    return off >= HF_SEGMENT_SIZE ? off : HF_SEGMENT_SIZE;
}

static void cache_remove_locked(hf_span *sp) {
    hf_assert(hfi_lock_held(&span_lock));
    if (sp->prev)
        sp->prev->next = sp->next;
    else
        cache_first = sp->next;
    if (sp->next)
        sp->next->prev = sp->prev;
    else
        cache_last = sp->prev;
    sp->next = sp->prev = NULL;
    __atomic_store_n(&cache_bytes, cache_bytes - sp->h.map_size, __ATOMIC_RELAXED);
    atomic_fetch_sub_explicit(&hfi_os_stats.cached, sp->h.map_size, memory_order_relaxed);
}

static void span_unmap(hf_span *sp) {
    hfi_pagemap_unregister(sp, (uint8_t *)sp + sp->h.map_size);
    atomic_fetch_sub_explicit(&hfi_os_stats.spans, 1, memory_order_relaxed);
    hfi_os_unmap(sp, sp->h.map_size);
}

/* The page map forgets sp's units from the one at `from` (rounded up to a unit) to its end.
 * Called before a remap that may give them back to the OS, never after: once the OS has them,
 * another thread may map the same range and register its own header there, and a late
 * unregister would wipe it (its blocks would become foreign: hf_owns false, frees ignored).
 * span_republish undoes it when the remap fails. */
static void span_unpublish_from(hf_span *sp, uintptr_t from) {
    uintptr_t end = (uintptr_t)sp + sp->h.map_size;
    uintptr_t start = from <= (uintptr_t)sp ? (uintptr_t)sp : hf_align_up(from, HF_SEGMENT_SIZE);
    if (start < end) hfi_pagemap_unregister((void *)start, (void *)end);
}
static void span_republish(hf_span *sp) {
    hfi_pagemap_register(sp, (uint8_t *)sp + sp->h.map_size, true);
}

/* A span's header and page-map entries after its mapping moved or changed size (the old units
 * were unpublished before the remap). */
static void span_rebind(hf_span *sp, size_t new_size) {
    hfi_header_publish(&sp->h, sp, new_size, true);
}

/* Unlink spans that waited past the purge delay while the cache is over the peak's budget; the
 * caller unmaps them after unlocking. */
static hf_span *cache_expire_locked(uint64_t now, bool all) {
    hf_assert(hfi_lock_held(&span_lock));
    hf_span *out = NULL;
    long long delay = hfi_options.purge_delay;
    while (cache_last && (all || (delay >= 0 && cache_last->cached_at + (uint64_t)delay <= now &&
                                  !within_peak_locked(now)))) {
        hf_span *sp = cache_last;
        cache_remove_locked(sp);
        sp->next = out;
        out = sp;
    }
    return out;
}

static void unmap_list(hf_span *sp) {
    while (sp) {
        hf_span *next = sp->next;
        span_unmap(sp);
        sp = next;
    }
}

static void cache_push_locked(hf_span *sp, bool newest) {
    hf_assert(hfi_lock_held(&span_lock));
    sp->state = HF_SPAN_CACHED;
    if (newest) {
        sp->prev = NULL;
        sp->next = cache_first;
        if (cache_first)
            cache_first->prev = sp;
        else
            cache_last = sp;
        cache_first = sp;
    } else {
        sp->next = NULL;
        sp->prev = cache_last;
        if (cache_last)
            cache_last->next = sp;
        else
            cache_first = sp;
        cache_last = sp;
    }
    __atomic_store_n(&cache_bytes, cache_bytes + sp->h.map_size, __ATOMIC_RELAXED);
    atomic_fetch_add_explicit(&hfi_os_stats.cached, sp->h.map_size, memory_order_relaxed);
}

/* Put a span that is no longer live in the cache, or unmap it when it is too big for it (or
 * the purge delay is 0); the cache then sheds what expired and what exceeds its byte limit. */
static void cache_admit(hf_span *sp) {
    long long limit = hfi_options.span_cache;
    if ((long long)sp->h.map_size > limit / 2 || hfi_options.purge_delay == 0) {
        span_unmap(sp);
        return;
    }
    hfi_os_on_refusal(HF_RECLAIM_SPANS, hfi_span_cache_trim); /* a refused mapping drops it */
    uint64_t now = hfi_now_ms();
    sp->cached_at = now;
    hfi_lock(&span_lock);
    cache_push_locked(sp, true);
    hf_span *drop = cache_expire_locked(now, false);
    while (cache_bytes > (size_t)limit && cache_last) { /* over budget: the oldest go */
        hf_span *old = cache_last;
        cache_remove_locked(old);
        old->next = drop;
        drop = old;
    }
    update_due_locked();
    hfi_unlock(&span_lock);
    unmap_list(drop);
}

/* Cut sp (not in the cache) at `keep` bytes, a segment multiple: the rest becomes a cached span
 * with its header at the cut, its pages untouched. */
static void span_split(hf_span *sp, size_t keep) {
    size_t size = sp->h.map_size;
    hf_span *t = (hf_span *)((uint8_t *)sp + keep);
    hfi_shadow_open(t, sizeof *t);
    hfi_header_publish(&sp->h, sp, keep, true);
    hfi_header_publish(&t->h, t, size - keep, true);
    t->h.kind = HF_SEG_SPAN;
    atomic_store_explicit(&t->h.owner, HF_OWNER_NONE, memory_order_relaxed);
    t->is_huge = false;
    t->guarded = false;
    t->user = (uint8_t *)t + HF_SPAN_HEADER;
    t->dirty = sp->dirty > keep ? sp->dirty - keep : 0;
    if (sp->dirty > keep) sp->dirty = keep;
    t->asked = 0;
    atomic_fetch_add_explicit(&hfi_os_stats.spans, 1, memory_order_relaxed);
    cache_admit(t);
}

/* Fill [at, at + len) -- the fresh end of a live span's mapping -- with the pages of cached
 * spans, oldest first: whole spans, then the tail of the last one; spans less than half
 * resident (mincore) are passed over. What cannot be filled stays fresh (zero pages, faulted in
 * on first touch). Returns the bytes filled. */
static size_t fill_warm(uint8_t *at, size_t len) {
    /* guarded spans keep a PROT_NONE page at their end: never moved into a live block */
    if (__atomic_load_n(&cache_bytes, __ATOMIC_RELAXED) == 0 || hfi_guard_on()) return 0;
    hf_span *taken = NULL;
    size_t got = 0;
    hfi_lock(&span_lock);
    while (cache_last && got < len) {
        hf_span *sp = cache_last;
        cache_remove_locked(sp);
        sp->next = taken;
        taken = sp;
        got += sp->h.map_size;
    }
    hfi_unlock(&span_lock);
    /* taken is newest first; move the oldest first so the one left over is the newest */
    hf_span *order = NULL;
    while (taken) {
        hf_span *next = taken->next;
        taken->next = order;
        order = taken;
        taken = next;
    }
    size_t done = 0;
    while (order) {
        hf_span *d = order;
        order = d->next;
        size_t size = d->h.map_size, m = len - done < size ? len - done : size;
        uint8_t *src = (uint8_t *)d + size - m;
        /* Only pages mostly resident are worth it: moving a sparse span's pages would make a
         * block that is barely written resident where fresh pages would stay untouched. */
        if (m > 0 && hfi_prim_resident(src, m) < m / 2) m = 0;
        if (m > 0) span_unpublish_from(d, (uintptr_t)src); /* before the move, as everywhere */
        if (m == 0 || hfi_prim_mremap(src, m, m, at + done) == NULL) {
            if (m > 0) span_republish(d);
            m = 0;
        }
        if (m > 0) {
            done += m;
            atomic_fetch_sub_explicit(&hfi_os_stats.reserved, m, memory_order_relaxed);
            atomic_fetch_sub_explicit(&hfi_os_stats.committed, m, memory_order_relaxed);
        }
        if (m == size) {
            atomic_fetch_sub_explicit(&hfi_os_stats.spans, 1, memory_order_relaxed);
            continue;
        }
        if (m > 0) { /* a tail went (its units were unpublished before the move) */
            d->h.map_size = size - m;
            if (d->dirty > size - m) d->dirty = size - m;
        }
        hfi_lock(&span_lock);
        cache_push_locked(d, false);
        update_due_locked();
        hfi_unlock(&span_lock);
    }
    return done;
}

/* Grow sp (not in the cache) to `need` bytes: in place, or moved (no copy) to a range aligned to
 * `align`; the new part is filled from the cache. A mapping made of several (its pages came
 * from other spans) cannot be resized by mremap; it is moved whole into a fresh mapping of the
 * new size instead (Linux 6.17 and later move several mappings at once). NULL when refused. */
static hf_span *span_grow(hf_span *sp, size_t need, size_t align) {
    size_t size = sp->h.map_size;
    span_unpublish_from(sp, (uintptr_t)sp); /* the remap may move it */
    hf_span *r = hfi_os_remap(sp, size, need, align, true);
    if (r == NULL) {
        void *base;
        size_t got;
        void *target = hfi_os_map_aligned(need, align, &base, &got);
        if (target == NULL) {
            span_republish(sp);
            return NULL;
        }
        if (hfi_prim_mremap(sp, size, size, target) == NULL) {
            hfi_os_unmap(target, need);
            span_republish(sp);
            return NULL;
        }
        atomic_fetch_sub_explicit(&hfi_os_stats.reserved, size, memory_order_relaxed);
        atomic_fetch_sub_explicit(&hfi_os_stats.committed, size, memory_order_relaxed);
        r = target;
    }
    span_rebind(r, need);
    r->dirty = size + fill_warm((uint8_t *)r + size, need - size); /* the rest is fresh */
    return r;
}

/* A cached span resized to `need` bytes, or NULL. */
static hf_span *cache_take(size_t need) {
    if (__atomic_load_n(&cache_bytes, __ATOMIC_RELAXED) == 0) return NULL;
    hf_span *best = NULL, *below = NULL;
    hfi_lock(&span_lock);
    hf_span *expired = cache_expire_locked(hfi_now_ms(), false);
    for (hf_span *sp = cache_first; sp; sp = sp->next) {
        if (sp->h.map_size >= need) {
            if (best == NULL || sp->h.map_size < best->h.map_size) best = sp;
        } else if (below == NULL || sp->h.map_size > below->h.map_size) {
            below = sp;
        }
    }
    hf_span *sp = best ? best : below;
    if (sp) cache_remove_locked(sp);
    update_due_locked();
    hfi_unlock(&span_lock);
    unmap_list(expired);
    if (sp == NULL) return NULL;
    size_t size = sp->h.map_size;
    if (size < need) {
        hf_span *r = span_grow(sp, need, HF_SEGMENT_SIZE);
        if (r == NULL) span_unmap(sp);
        return r;
    }
    /* A bigger span is split at the first segment boundary past the request when that leaves a
     * tail worth caching; up to a segment of excess stays with the block (its pages are warm,
     * and a buffer that grows by realloc then grows in place). */
    size_t keep = hf_align_up(need, HF_SEGMENT_SIZE);
    if (keep < size && size - keep >= HF_SPAN_SPLIT_MIN) span_split(sp, keep);
    return sp;
}

/* A fresh mapping for a span. When the OS refuses it, hfi_os_map_aligned has already dropped
 * the caches; the caller may free its heap's empty pages and try again (heap.c,
 * hfi_heap_span_alloc). */
static void *map_span(size_t need, size_t align, void **base, size_t *size) {
    return hfi_os_map_aligned(need, align, base, size);
}

void *hfi_span_alloc(size_t n, size_t align, bool zero) {
    if (align < HF_ALIGNMENT) align = HF_ALIGNMENT;
    /* A zero-byte request still gets a byte: with n = 0 the payload would start at the very end
     * of the mapping (usable size 0), and with align = 4 MiB in a unit the page map lacks. */
    if (n == 0) n = 1;
    size_t off = payload_offset(align);
    if (n > ((size_t)1 << HF_ADDRESS_BITS) - off - HF_SEGMENT_SIZE) {
        hfi_set_enomem();
        return NULL;
    }
    size_t need = hf_align_up(off + n, HF_OS_PAGE_SIZE) + hfi_guard_extra();
    bool huge = (long long)n >= hfi_options.huge_threshold;
    hf_span *sp = NULL;
    if (!huge && off < HF_SEGMENT_SIZE && !hfi_guard_on()) sp = cache_take(need);
    bool cached = sp != NULL;
    if (sp == NULL) {
        void *base;
        size_t size;
        sp = map_span(need, span_align(off), &base, &size);
        if (sp == NULL) {
            hfi_set_enomem();
            return NULL;
        }
        sp->dirty = 0;
        hfi_header_publish(&sp->h, base, size, true);
        atomic_fetch_add_explicit(&hfi_os_stats.spans, 1, memory_order_relaxed);
        if (hfi_guard_on()) hfi_guard_place(sp, size);
    }
    sp->guarded = hfi_guard_on();
    sp->h.kind = HF_SEG_SPAN;
    atomic_store_explicit(&sp->h.owner, HF_OWNER_NONE, memory_order_relaxed);
    sp->state = HF_SPAN_LIVE;
    sp->is_huge = huge;
    sp->user = (uint8_t *)sp + off;
    sp->next = sp->prev = NULL;
    /* Checker builds: a cached span's payload was closed when it was freed. */
    if (cached) hfi_shadow_open(sp->user, sp->h.map_size - off);
    if (zero && sp->dirty > off) {
        size_t dirty = sp->dirty - off;
        memset(sp->user, 0, dirty < n ? dirty : n);
    }
    sp->dirty = sp->h.map_size;
    sp->asked = n;
    live_add(sp->h.map_size);
    return sp->user;
}

/* The payload's bytes: from the user pointer to the end of the mapping or to its guard. */
static size_t payload_size(const hf_span *sp) {
    size_t guard = sp->guarded ? HF_OS_PAGE_SIZE : 0;
    return sp->h.map_size - guard - (size_t)(sp->user - (const uint8_t *)sp);
}

size_t hfi_span_usable(const hf_span *sp, const void *p) {
    if (sp->state != HF_SPAN_LIVE || (const uint8_t *)p != sp->user) return 0;
    if ((const uint8_t *)p >= (const uint8_t *)sp + sp->h.map_size) return 0;
    return payload_size(sp);
}

/* Is p this span's live block? Pointers past the mapping (a foreign mapping may share the
 * span's last unit) are not ours and are ignored; other mistakes are reported. */
static bool span_check(hf_span *sp, void *p, const char *what) {
    if (sp->state == HF_SPAN_LIVE && (uint8_t *)p == sp->user) return true;
    if ((uint8_t *)p >= (uint8_t *)sp + sp->h.map_size) return false;
    hfi_report_error(sp->state != HF_SPAN_LIVE && (uint8_t *)p == sp->user ? what : "invalid free",
                     p, payload_size(sp));
    return false;
}

void hfi_span_free(hf_span *sp, void *p) {
    if (!span_check(sp, p, "double free")) return;
    live_sub(sp->h.map_size);
    /* Guarded spans are cached too, though never taken again (hfi_span_alloc): the header they
     * keep is how a double free of one is caught. */
    if (sp->is_huge) {
        span_unmap(sp);
        return;
    }
    cache_admit(sp);
}

void *hfi_span_realloc(hf_span *sp, void *p, size_t n) {
    if (!span_check(sp, p, "realloc of a freed block")) return NULL;
    size_t off = (size_t)(sp->user - (uint8_t *)sp);
    size_t usable = payload_size(sp);
    /* n <= HF_MEDIUM_MAX (small again: to a page) is the caller's move (plain.c). */
    if (n > ((size_t)1 << HF_ADDRESS_BITS)) {
        hfi_set_enomem();
        return NULL;
    }
    size_t need = hf_align_up(off + n, HF_OS_PAGE_SIZE);
    size_t size = sp->h.map_size;
    bool growing = n >= sp->asked;
    sp->asked = n;
    sp->is_huge = (long long)n >= hfi_options.huge_threshold;
    if (sp->guarded) { /* the guard must stay at the end: fits as it is, or moves */
        if (n <= usable) return p;
        void *q = hfi_span_alloc(n, HF_ALIGNMENT, false);
        if (q == NULL) return NULL;
        memcpy(q, p, usable);
        hfi_span_free(sp, p);
        return q;
    }
    if (need <= size) {
        /* A shrink gives back the segments past the request (to the cache, pages and all), then
         * the rest of the excess when it is at least a quarter and 1 MiB. A growing request
         * keeps every page: the next step of a doubling buffer needs them. */
        if (growing || off >= HF_SEGMENT_SIZE) return p;
        size_t keep = hf_align_up(need, HF_SEGMENT_SIZE);
        if (keep < size && size - keep >= HF_SPAN_SPLIT_MIN) {
            live_sub(size - keep);
            span_split(sp, keep);
            size = keep;
        }
        size_t spare = size - need;
        if (spare >= HF_SPAN_SPLIT_MIN && spare >= size / 4) {
            span_unpublish_from(sp, (uintptr_t)sp + need);
            hf_span *r = hfi_os_remap(sp, size, need, span_align(off), false);
            if (r != NULL) {
                span_rebind(r, need);
                live_sub(spare);
            } else {
                span_republish(sp);
            }
        }
        return p;
    }
    hf_span *r = span_grow(sp, need, span_align(off));
    if (r != NULL) {
        /* span_grow counts what is dirty for a calloc to come; a live block may write it all,
         * and when it is freed and cached a calloc must clear it all (the fuzzer found a
         * calloc of a grown and rewritten span reading old bytes past the old size) */
        r->dirty = r->h.map_size;
        live_add(need - size);
        r->user = (uint8_t *)r + off;
        return r->user;
    }
    void *q = hfi_span_alloc(n, HF_ALIGNMENT, false);
    if (q == NULL) return NULL;
    memcpy(q, p, usable);
    hfi_span_free(sp, p);
    return q;
}

size_t hfi_span_cache_trim(bool force) {
    hfi_lock(&span_lock);
    hf_span *drop = cache_expire_locked(hfi_now_ms(), force);
    update_due_locked();
    hfi_unlock(&span_lock);
    size_t n = 0;
    for (hf_span *sp = drop; sp; sp = sp->next) n++;
    unmap_list(drop);
    return n;
}

void hfi_span_fork_prepare(void) {
    hfi_lock(&span_lock);
}
void hfi_span_fork_parent(void) {
    hfi_unlock(&span_lock);
}
void hfi_span_fork_child(void) {
    hfi_lock_init(&span_lock);
}
