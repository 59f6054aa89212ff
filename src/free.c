/* free.c -- free and its checks.
 *
 * Fast path (owner thread, plain block): page-map load, owner compare, page lookup, a multiply
 * that proves p is the start of a carved block, the double-free mark compare, a push on
 * local_free. Everything else -- frees from other threads, spans, aligned interior pointers,
 * pages in the full queue, errors -- goes through hfi_free_generic. */
#include "internal/internal.h"
#include "harden/encode.h"

static inline uintptr_t free_mark(const hf_block *b) {
    return (uintptr_t)b ^ hfi_secret;
}

/* Is off (< 2^32) a multiple of the page's block size? One multiply, no divide. */
static inline bool is_block_offset(const hf_page *pg, uintptr_t off) {
    return (uint64_t)(uint32_t)off * pg->div_magic < pg->div_magic;
}

/* The common case of a block of another heap's page: kept for this heap's own mallocs
 * (foreign.c) when an anchor is already kept and there is room. The same checks as the full
 * path -- a block start inside the page's area, not marked free -- made without reading the
 * owner's page descriptor, whose line the owner writes on every call: the class comes from the
 * segment's page_class line, the rest from the class and this heap's stand-in page. */
static inline bool keep_fast(hf_header *h, void *p) {
    hf_heap *heap = hfi_tl_heap;
    if (atomic_load_explicit(&h->owner, memory_order_relaxed) == (uintptr_t)heap ||
        (h->kind != HF_SEG_SMALL && h->kind != HF_SEG_MEDIUM))
        return false;
    hf_segment *s = (hf_segment *)h;
    unsigned shift = h->page_shift;
    uintptr_t rel = (uintptr_t)p - (uintptr_t)s;
    uintptr_t i = rel >> shift;
    unsigned c = __atomic_load_n(&s->page_class[i], __ATOMIC_RELAXED);
    if (c >= HF_FOREIGN_CLASSES) return false; /* medium, or a free slot */
    hf_page *fp = &heap->foreign[c];
    uint32_t held = fp->capacity - fp->used;
    if (held - 1 >= (uint32_t)fp->reserved - 1) return false; /* no anchor yet, or full */
    /* Secure levels keep nothing (reserved is 0), so no guard page shortens the last slot. */
    uintptr_t first = i == 0 ? HF_SEGMENT_HEADER : 0;
    uintptr_t off = rel - (i << shift) - first;
    if (off + fp->block_size > ((uintptr_t)1 << shift) - first || !is_block_offset(fp, off))
        return false;
    hf_block *b = p;
    hfi_shadow_open(b, sizeof *b);
    bool kept = b->mark != free_mark(b);
    if (kept) {
        b->mark = free_mark(b);
        b->next = fp->free;
    }
    hfi_shadow_close(b, sizeof *b);
    if (!kept) return false; /* a double free: reported by the full path */
    fp->free = b;
    fp->capacity++;
    return true;
}

/* The fast path missed a block of ours: keep it if it is another heap's, else the full path.
 * A small function of its own, so the keep costs no spills of the full path's registers. */
HF_NOINLINE void hfi_free_other(hf_header *h, void *p) {
    if (HF_LIKELY(hfi_hooks == 0) && keep_fast(h, p)) return;
    hfi_free_generic(h, p);
}

/* The fast path, for a p the page map knows: a block of this thread's own page, not freed yet,
 * whose block size is at least n (n 0: plain free, and the compare folds away). False: nothing
 * was done. */
static inline __attribute__((always_inline)) bool free_own(void *p, size_t n) {
    hf_header *h = (hf_header *)((uintptr_t)p & ~HF_SEGMENT_MASK);
    hf_heap *heap = hfi_tl_heap;
    if (HF_UNLIKELY(atomic_load_explicit(&h->owner, memory_order_relaxed) != (uintptr_t)heap))
        return false;
    hf_page *pg = hfi_page_of((hf_segment *)h, p);
    uintptr_t off = (uintptr_t)p - (uintptr_t)pg->start;
    hf_block *b = p;
    /* free_limit is 0 while the page is full or holds aligned blocks: those go generic. */
    if (HF_UNLIKELY(!(off < pg->free_limit && is_block_offset(pg, off) && b->mark != free_mark(b) &&
                      n <= pg->block_size)))
        return false;
    hf_assert(hfi_secure == 0); /* secure levels never come here: links are raw */
    b->next = pg->local_free;
    b->mark = free_mark(b);
    pg->local_free = b;
    /* An emptied page is kept when it is the only one in its queue (no links), so a malloc/free
     * loop on one block costs no call. */
    if (HF_UNLIKELY(--pg->used == 0) && !pg->alone) hfi_heap_page_retire(heap, pg);
    return true;
}

HF_API void hf_free(void *p) {
    if (HF_UNLIKELY(!hfi_pagemap_has_header(p))) {
        if (p != NULL) hfi_free_generic(NULL, p);
        return;
    }
    if (HF_LIKELY(free_own(p, 0))) return;
    hfi_free_other((hf_header *)((uintptr_t)p & ~HF_SEGMENT_MASK), p);
}

/* C++'s sized delete, operator delete(void *, size_t) and its array form (override/cxx.c has
 * the other forms): free's fast path with n <= the block size in the same compare (never taken
 * at the secure levels), every other case to the exact check and report in cxx.c. The shared
 * library only: in libheapforge.a a reference from free.o would pull cxx.o, and with it
 * libstdc++, into every C program (cxx.c has the static library's own). */
#ifdef HF_LIBC_ALIASES
__attribute__((visibility("default"))) void hfi_cxx_delete_sized(void *p,
                                                                 size_t n) __asm__("_ZdlPvm");
void hfi_cxx_delete_sized(void *p, size_t n) {
    if (HF_LIKELY(hfi_pagemap_has_header(p)) && HF_LIKELY(free_own(p, n))) return;
    hfi_cxx_delete_checked(p, n);
}
__attribute__((visibility("default"), alias("_ZdlPvm"))) void
hfi_cxx_delete_array_sized(void *p, size_t n) __asm__("_ZdaPvm");
#endif

/* In the shared library the libc name is the same function, not a wrapper: no extra jump on
 * the hottest call (CMakeLists.txt, HF_LIBC_ALIASES; override.c has the other libc names). */
#ifdef HF_LIBC_ALIASES
__attribute__((visibility("default"), alias("hf_free"))) void free(void *p);
#endif

/* Every case the fast path does not take. h is NULL when the page map has no header for p. */
HF_NOINLINE void hfi_free_generic(hf_header *h, void *p) {
    if (HF_UNLIKELY(hfi_hooks != 0) && hfi_tl_hook_busy == 0) {
        hfi_hooked_free(p); /* counts the call, then comes back here */
        return;
    }
    if (h == NULL) {
        h = hfi_header_of_slow(p);
        if (h == NULL) return; /* not ours: memory from before we were loaded, or bogus */
        if (h->kind != HF_SEG_SPAN && h->kind != HF_SEG_LAB) {
            hfi_report_error("invalid free", p, 0);
            return;
        }
    }
    if (h->kind == HF_SEG_SPAN) {
        hfi_span_free((hf_span *)h, p);
        return;
    }
    if (h->kind == HF_SEG_LAB) { /* a block of a lab arena */
        hfi_lab_free(h, p);
        return;
    }
    if (h->kind != HF_SEG_SMALL && h->kind != HF_SEG_MEDIUM) {
        hfi_report_error("double free", p, 0); /* the whole segment is free */
        return;
    }
    hf_segment *s = (hf_segment *)h;
    hf_page *pg = hfi_page_of(s, p);
    if (!pg->in_use) {
        hfi_report_error("double free", p, 0); /* the whole page is free */
        return;
    }
    uint32_t bs = pg->block_size;
    hf_heap *heap = hfi_tl_heap;
    bool local = atomic_load_explicit(&h->owner, memory_order_relaxed) == (uintptr_t)heap;
    /* capacity is the owner's to change; another thread checks against reserved. */
    uint32_t limit = local ? __atomic_load_n(&pg->capacity, __ATOMIC_RELAXED) : pg->reserved;
    uintptr_t off = (uintptr_t)p - (uintptr_t)pg->start;
    hf_block *b = p;
    if (!(off < (uint64_t)limit * bs && is_block_offset(pg, off))) {
        b = NULL;
        if (atomic_load_explicit(&pg->flags, memory_order_relaxed) & HF_PAGE_HAS_ALIGNED) {
            b = hfi_page_block_start(pg, p);
            if (b != NULL && !local && (uint8_t *)b >= hfi_page_end(pg)) b = NULL;
        }
        if (b == NULL) {
            hfi_report_error("invalid free", p, bs);
            return;
        }
    }
    hfi_shadow_open(b, sizeof *b); /* checker builds: the mark is the allocator's own word */
    bool again = b->mark == free_mark(b);
    if (!again) b->mark = free_mark(b);
    hfi_shadow_close(b, sizeof *b);
    if (again) {
        hfi_report_error("double free", p, bs);
        return;
    }
    if (local) {
        hfi_link_set(pg, b, pg->local_free);
        pg->local_free = b;
        if (--pg->used == 0)
            hfi_heap_page_retire(heap, pg);
        else if (atomic_load_explicit(&pg->flags, memory_order_relaxed) & HF_PAGE_IN_FULL)
            hfi_heap_page_unfull(heap, pg);
        return;
    }
    /* Another heap's block: kept for this thread's own mallocs while there is room. */
    if (!hfi_foreign_keep(heap, pg, b)) hfi_free_remote(h, pg, b);
}

/* Give b back to its page's owner: a lock-free push on the page's thread_free. */
void hfi_free_remote(hf_header *h, hf_page *pg, hf_block *b) {
    hf_block *old = atomic_load_explicit(&pg->thread_free, memory_order_relaxed);
    do {
        hfi_link_set(pg, b, old);
    } while (!atomic_compare_exchange_weak_explicit(&pg->thread_free, &old, b, memory_order_release,
                                                    memory_order_relaxed));
    hfi_remote_pending_mark(h);
}

/* A remote free reached h's segment: flag the segment, and on the flag's change its owner heap,
 * so the owner's slow path scans only when something came back (heap.c, revive_remote). The
 * owner read here may be going away: a stale heap (heaps are pooled, never unmapped) gets one
 * useless scan; an adopter clears the flag before it collects (segment.c). */
void hfi_remote_pending_mark(hf_header *h) {
    if (atomic_load_explicit(&h->remote_pending, memory_order_relaxed) != 0) return;
    atomic_store_explicit(&h->remote_pending, 1, memory_order_release);
    uintptr_t o = atomic_load_explicit(&h->owner, memory_order_acquire);
    if (o != 0 && o != HF_OWNER_NONE)
        atomic_store_explicit(&((hf_heap *)o)->remote_pending, 1, memory_order_release);
}

/* C23's sized frees. Below the secure levels the size the program allocated is not kept, so
 * the check is the one the block itself allows: a size larger than the block is certainly
 * wrong. From level 1 the block map has the requested size: the size must equal it. */
static void check_size(void *p, size_t size) {
    if (p == NULL) return;
    if (hfi_secure != 0 && hfi_tl_hook_busy == 0 && hfi_secure_check_size(p, size)) return;
    size_t usable = hfi_usable_size(p, NULL);
    if (usable != 0 && size > usable) hfi_report_error("free_sized with a wrong size", p, size);
}

HF_API void hf_free_sized(void *p, size_t size) {
    check_size(p, size);
    hf_free(p);
}

HF_API void hf_free_aligned_sized(void *p, size_t alignment, size_t size) {
    /* A pointer that lacks the alignment it claims: a branch, so at every level. */
    if (alignment != 0 && (uintptr_t)p % alignment != 0)
        hfi_report_error("free_aligned_sized with a wrong alignment", p, 0);
    check_size(p, size);
    hf_free(p);
}

size_t hfi_usable_size(const void *p, hf_header **hdr) {
    if (p == NULL) return 0;
    hf_header *h = hfi_header_of_slow(p);
    if (hdr) *hdr = h;
    if (h == NULL) return 0;
    if (h->kind == HF_SEG_SPAN) return hfi_span_usable((const hf_span *)h, p);
    if (h->kind == HF_SEG_LAB) return hfi_lab_usable_size(h, p);
    if (h->kind != HF_SEG_SMALL && h->kind != HF_SEG_MEDIUM) return 0;
    hf_page *pg = hfi_page_of((hf_segment *)h, p);
    if (!pg->in_use) return 0;
    /* No capacity check here: another thread may be extending the page. */
    if ((const uint8_t *)p < pg->start || (const uint8_t *)p >= hfi_page_end(pg)) return 0;
    size_t off = (size_t)((const uint8_t *)p - pg->start);
    return pg->block_size - off % pg->block_size;
}

HF_API size_t hf_usable_size(const void *p) {
    if (HF_UNLIKELY(hfi_secure != 0) && hfi_tl_hook_busy == 0) return hfi_secure_usable_size(p);
    return hfi_usable_size(p, NULL);
}

HF_API int hf_owns(const void *p) {
    hf_header *h = hfi_header_of_slow(p);
    return h != NULL;
}
