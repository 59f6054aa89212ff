/* large.c -- spans: blocks above HF_MEDIUM_MAX, each in a mapping of its own whose header sits
 * at the segment-aligned start (one OS page; the payload follows).
 *
 * Freed spans below the huge threshold wait in a process-wide cache (bounded in bytes, purged
 * after the purge delay) so that a program churning multi-MiB blocks reuses warm pages instead
 * of faulting fresh ones in every time. A cached span that is too big is shrunk in place and one
 * that is too small is grown with mremap, which moves page tables, never bytes. Huge spans are
 * unmapped on free. realloc of a span resizes the mapping in place, or moves it with mremap. */
#include "internal/internal.h"
#include "harden/guard.h"

#include <string.h>

static hf_lock span_lock;
static hf_span *cache_first, *cache_last; /* most recently freed first */
static size_t cache_bytes;
static uint64_t cache_due; /* when the oldest cached span expires (0: empty cache) */

/* Recompute cache_due after the cache changed; other threads read it without the lock. */
static void update_due_locked(void) {
    long long delay = hfi_options.purge_delay;
    uint64_t due = cache_last && delay >= 0 ? cache_last->cached_at + (uint64_t)delay + 1 : 0;
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

/* Move a span's page-map entries after its mapping moved or changed size. */
static void span_rebind(hf_span *old, size_t old_size, hf_span *sp, size_t new_size) {
    if (old != sp) {
        hfi_pagemap_unregister(old, (uint8_t *)old + old_size);
    } else if (new_size < old_size) {
        uintptr_t keep = hf_align_up((uintptr_t)sp + new_size, HF_SEGMENT_SIZE);
        if (keep < (uintptr_t)old + old_size)
            hfi_pagemap_unregister((void *)keep, (uint8_t *)old + old_size);
    }
    hfi_header_publish(&sp->h, sp, new_size, true);
}

/* Unlink spans that waited past the purge delay; the caller unmaps them after unlocking. */
static hf_span *cache_expire_locked(uint64_t now, bool all) {
    hf_span *out = NULL;
    long long delay = hfi_options.purge_delay;
    while (cache_last && (all || (delay >= 0 && cache_last->cached_at + (uint64_t)delay <= now))) {
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
    /* A bigger span is used as it is when the excess is at most one segment or the request
     * itself: its pages are warm, and a buffer that grows by realloc then grows in place. */
    bool too_big = size - need > need && size - need > HF_SEGMENT_SIZE;
    if (too_big || size < need) {
        hf_span *r = hfi_os_remap(sp, size, need, HF_SEGMENT_SIZE, size < need);
        if (r == NULL) {
            span_unmap(sp);
            return NULL;
        }
        span_rebind(sp, size, r, need);
        if (r->dirty > need) r->dirty = need;
        sp = r;
    }
    return sp;
}

/* A fresh mapping for a span. When the OS refuses it (hfi_os_map_aligned has already dropped
 * the caches), this thread's empty pages go too -- their segments reach the segment cache,
 * which the second attempt drops -- and the mapping is tried once more. */
static void *map_span(size_t need, size_t align, void **base, size_t *size) {
    void *p = hfi_os_map_aligned(need, align, base, size);
    if (p == NULL && hfi_tl_heap != &hfi_heap_empty) {
        hfi_heap_collect(hfi_tl_heap, true);
        p = hfi_os_map_aligned(need, align, base, size);
    }
    return p;
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
    long long limit = hfi_options.span_cache;
    /* Guarded spans are cached too, though never taken again (hfi_span_alloc): the header they
     * keep is how a double free of one is caught. A refused mapping drops the cache. */
    if (sp->is_huge || (long long)sp->h.map_size > limit / 2 || hfi_options.purge_delay == 0) {
        span_unmap(sp);
        return;
    }
    hfi_os_on_refusal(HF_RECLAIM_SPANS, hfi_span_cache_trim);
    uint64_t now = hfi_now_ms();
    sp->state = HF_SPAN_CACHED;
    sp->cached_at = now;
    hfi_lock(&span_lock);
    sp->prev = NULL;
    sp->next = cache_first;
    if (cache_first)
        cache_first->prev = sp;
    else
        cache_last = sp;
    cache_first = sp;
    __atomic_store_n(&cache_bytes, cache_bytes + sp->h.map_size, __ATOMIC_RELAXED);
    atomic_fetch_add_explicit(&hfi_os_stats.cached, sp->h.map_size, memory_order_relaxed);
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

void *hfi_span_realloc(hf_span *sp, void *p, size_t n) {
    if (!span_check(sp, p, "realloc of a freed block")) return NULL;
    size_t off = (size_t)(sp->user - (uint8_t *)sp);
    size_t usable = payload_size(sp);
    if (n <= HF_MEDIUM_MAX) { /* small again: move to a page */
        void *q = hf_malloc(n);
        if (q == NULL) return NULL;
        memcpy(q, p, n < usable ? n : usable); /* an over-aligned span may hold less than n */
        hfi_span_free(sp, p);
        return q;
    }
    if (n > ((size_t)1 << HF_ADDRESS_BITS)) {
        hfi_set_enomem();
        return NULL;
    }
    size_t need = hf_align_up(off + n, HF_OS_PAGE_SIZE);
    size_t size = sp->h.map_size;
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
        /* Shrink the mapping when at least a quarter (and 1 MiB) would be given back. */
        size_t spare = size - need;
        if (spare >= ((size_t)1 << 20) && spare >= size / 4) {
            hf_span *r = hfi_os_remap(sp, size, need, span_align(off), false);
            if (r != NULL) span_rebind(sp, size, r, need);
        }
        return p;
    }
    hf_span *r = hfi_os_remap(sp, size, need, span_align(off), true);
    if (r != NULL) {
        span_rebind(sp, size, r, need);
        r->user = (uint8_t *)r + off;
        r->dirty = need;
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
