/* alloc.c -- malloc, calloc, realloc and reallocarray.
 *
 * malloc fast path: one TLS load, one direct-table load, pop the page's free list, count the
 * block and clear its double-free mark. Misses go to the heap's slow path (heap.c), or, for a
 * thread's first call, the hooks or a lab policy, through hfi_malloc_routed. realloc is the
 * plain one (plain.c) unless the hooks are on. */
#include "internal/internal.h"

#include <string.h>

/* Both fast paths: a direct-table page with a free block, else the heap's slow path. */
static inline void *malloc_any(size_t n, bool zero) {
    hf_heap *heap = hfi_tl_heap;
    hf_page *pg = hfi_direct_page(heap, n);
    if (HF_LIKELY(pg != NULL)) return hfi_page_pop(pg, n, zero);
    return hfi_malloc_miss(heap, n, zero);
}

/* The thread has no heap yet, a lab policy serves the process, or the allocator runs
 * instrumented: start the process if needed, then count the call (the hooks do the work
 * through the plain path) or do it plainly (the lab, or the thread's new heap). */
HF_NOINLINE void *hfi_malloc_routed(size_t n, bool zero) {
    hfi_process_init();
    if (hfi_hooks != 0) return hfi_hooked_alloc(n, 0, zero ? HF_CALL_CALLOC : HF_CALL_MALLOC);
    return hfi_plain_malloc(n, zero);
}

HF_API void *hf_malloc(size_t n) {
    return malloc_any(n, false);
}
/* In the shared library the libc name is the same function, not a wrapper: no extra jump on
 * the hottest call (CMakeLists.txt, HF_LIBC_ALIASES; override.c has the other libc names). */
#ifdef HF_LIBC_ALIASES
HF_MALLOC_ATTR __attribute__((visibility("default"), alias("hf_malloc"))) void *malloc(size_t n);
#endif

HF_API void *hf_calloc(size_t count, size_t size) {
    size_t n;
    if (HF_UNLIKELY(__builtin_mul_overflow(count, size, &n))) {
        hfi_set_enomem();
        return NULL;
    }
    return malloc_any(n, true); /* memory fresh from the OS is not cleared again */
}

/* Instrumented, the hooks count the call and resize through the plain path. */
HF_API void *hf_realloc(void *p, size_t n) {
    if (HF_UNLIKELY(hfi_hooks != 0)) {
        hfi_process_init();
        return hfi_hooked_realloc(p, n);
    }
    return hfi_plain_realloc(p, n);
}

HF_API void *hf_reallocarray(void *p, size_t count, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) {
        hfi_set_enomem();
        return NULL;
    }
    return hf_realloc(p, n);
}
