/* alloc.c -- malloc, calloc, realloc and reallocarray.
 *
 * malloc fast path: one TLS load, one direct-table load, pop the page's free list, count the
 * block and clear its double-free mark. Misses go to the heap's slow path (heap.c). */
#include "internal/internal.h"

#include <string.h>

/* Both fast paths: a direct-table page with a free block, else the heap's slow path. */
static inline void *malloc_any(size_t n, bool zero) {
    hf_heap *heap = hfi_tl_heap;
    hf_page *pg = hfi_direct_page(heap, n);
    if (HF_LIKELY(pg != NULL)) return hfi_page_pop(pg, n, zero);
    return hfi_heap_malloc_slow(heap, n, zero);
}

HF_API void *hf_malloc(size_t n) {
    return malloc_any(n, false);
}
/* In the shared library the libc name is the same function, not a wrapper: no extra jump on
 * the hottest call (CMakeLists.txt, HF_LIBC_ALIASES; override.c has the other libc names). */
#ifdef HF_LIBC_ALIASES
HF_MALLOC_ATTR __attribute__((visibility("default"), alias("hf_malloc"))) void *malloc(size_t n);
#endif

/* calloc's core: memory fresh from the OS is not cleared again. */
void *hfi_malloc_zero(size_t n) {
    return malloc_any(n, true);
}

HF_API void *hf_calloc(size_t count, size_t size) {
    size_t n;
    if (HF_UNLIKELY(__builtin_mul_overflow(count, size, &n))) {
        hfi_set_enomem();
        return NULL;
    }
    return hfi_malloc_zero(n);
}

HF_API void *hf_realloc(void *p, size_t n) {
    if (HF_UNLIKELY(hfi_hooks != 0) && hfi_tl_hook_busy == 0) return hfi_hooked_realloc(p, n);
    if (p == NULL) return hf_malloc(n);
    if (n == 0) { /* glibc's behaviour: free and return NULL */
        hf_free(p);
        return NULL;
    }
    hf_header *h;
    size_t usable = hfi_usable_size(p, &h);
    if (h == NULL) {
        /* Not ours: we cannot know its size, so we cannot move it. */
        hfi_set_enomem();
        return NULL;
    }
    if (h->kind == HF_SEG_SPAN) return hfi_span_realloc((hf_span *)h, p, n);
    if (h->kind == HF_SEG_LAB) return hfi_lab_realloc(h, p, n);
    hf_page *pg = usable ? hfi_page_of((hf_segment *)h, p) : NULL;
    hf_block *b = pg ? (hf_block *)((uint8_t *)p + usable - pg->block_size) : NULL;
    if (b == NULL || b->mark == ((uintptr_t)b ^ hfi_secret)) {
        hfi_report_error("realloc of a freed block", p, 0);
        return NULL;
    }
    /* In place when the block is big enough and not more than twice too big. */
    if (n <= usable && (n >= usable / 2 || usable <= 64)) return p;
    void *q = hf_malloc(n);
    if (q == NULL) return NULL;
    memcpy(q, p, n < usable ? n : usable);
    hf_free(p);
    return q;
}

HF_API void *hf_reallocarray(void *p, size_t count, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        hfi_set_enomem();
        return NULL;
    }
    return hf_realloc(p, n);
}
