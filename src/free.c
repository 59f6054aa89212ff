/* free.c -- free and its checks.
 *
 * Fast path (owner thread, plain block): page-map load, owner compare, page lookup, a multiply
 * that proves p is the start of a carved block, the double-free mark compare, a push on
 * local_free. Everything else -- frees from other threads, spans, aligned interior pointers,
 * pages in the full queue, errors -- goes through hfi_free_generic: the hooks when they are
 * on, else the plain free (plain.c). */
#include "internal/internal.h"
#include "harden/encode.h"

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
    if (off + fp->block_size > ((uintptr_t)1 << shift) - first ||
        !hfi_page_is_block_offset(fp, off))
        return false;
    hf_block *b = p;
    hfi_shadow_open(b, sizeof *b);
    bool kept = b->mark != hfi_free_mark(b);
    if (kept) {
        b->mark = hfi_free_mark(b);
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
    if (HF_UNLIKELY(!(off < pg->free_limit && hfi_page_is_block_offset(pg, off) &&
                      b->mark != hfi_free_mark(b) && n <= pg->block_size)))
        return false;
    hf_assert(hfi_secure == 0); /* secure levels never come here: links are raw */
    b->next = pg->local_free;
    b->mark = hfi_free_mark(b);
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

/* Every case the fast path does not take. h is NULL when the page map has no header for p.
 * Instrumented, the hooks count the call and free through the plain path; else the plain
 * path at once (plain.c). */
HF_NOINLINE void hfi_free_generic(hf_header *h, void *p) {
    if (HF_UNLIKELY(hfi_hooks != 0)) {
        hfi_hooked_free(p);
        return;
    }
    hfi_plain_free_at(h, p);
}

/* C23's sized frees. Below the secure levels the size the program allocated is not kept, so
 * the check is the one the block itself allows: a size larger than the block is certainly
 * wrong. From level 1 the block map has the requested size: the size must equal it. */
static void check_size(void *p, size_t size) {
    if (p == NULL) return;
    if (hfi_secure != 0 && hfi_secure_check_size(p, size)) return;
    size_t usable = hfi_plain_usable(p, NULL);
    if (usable != 0 && size > usable) hfi_report(HF_ERR_FREE_SIZED_SIZE, p, size);
}

HF_API void hf_free_sized(void *p, size_t size) {
    check_size(p, size);
    hf_free(p);
}

HF_API void hf_free_aligned_sized(void *p, size_t alignment, size_t size) {
    /* A pointer that lacks the alignment it claims: a branch, so at every level. */
    if (alignment != 0 && (uintptr_t)p % alignment != 0)
        hfi_report(HF_ERR_FREE_ALIGNED_ALIGN, p, 0);
    check_size(p, size);
    hf_free(p);
}

HF_API size_t hf_usable_size(const void *p) {
    if (HF_UNLIKELY(hfi_secure != 0)) return hfi_secure_usable_size(p);
    return hfi_plain_usable(p, NULL);
}

HF_API int hf_owns(const void *p) {
    hf_header *h = hfi_header_of_slow(p);
    return h != NULL;
}
