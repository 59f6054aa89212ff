/* aligned.c -- aligned_alloc, posix_memalign, memalign, valloc, pvalloc.
 *
 * Three ways to an aligned block, cheapest first: (1) a size class whose blocks are all
 * aligned (class size a multiple of the alignment; page starts are 8 KiB aligned), (2) a larger
 * block with an aligned interior pointer, the page flagged HF_PAGE_HAS_ALIGNED so free finds the
 * block start, (3) a span placed at the alignment. */
#include "internal/internal.h"

#include <errno.h>

void *hfi_malloc_aligned(size_t align, size_t n, bool zero) {
    /* Impossible for every policy: no block is that large, no mapping that aligned. */
    if (n > PTRDIFF_MAX || align > ((size_t)1 << (HF_ADDRESS_BITS - 1))) {
        hfi_set_enomem();
        return NULL;
    }
    if (HF_UNLIKELY(hfi_tl_heap == &hfi_heap_empty || hfi_hooks != 0)) {
        hfi_process_init();
        if (hfi_hooks != 0 && hfi_tl_hook_busy == 0)
            return hfi_hooked_alloc(n, align, HF_CALL_ALIGNED);
        if (hfi_lab_process_policy != 0 && align > HF_ALIGNMENT)
            return hfi_lab_process_malloc(n, align, false); /* the lab serves the process */
    }
    if (align <= HF_ALIGNMENT) return zero ? hfi_malloc_zero(n) : hf_malloc(n);
    if (align <= HF_SEGMENT_HEADER) {
        size_t rn = hf_align_up(n ? n : 1, align);
        if (rn <= HF_MEDIUM_MAX && hfi_class_size[hfi_class_of(rn)] % align == 0)
            return zero ? hfi_malloc_zero(rn) : hf_malloc(rn);
    }
    if (align <= HF_MEDIUM_MAX && n + align - HF_ALIGNMENT <= HF_MEDIUM_MAX) {
        size_t over = n + align - HF_ALIGNMENT;
        uint8_t *p = zero ? hfi_malloc_zero(over) : hf_malloc(over);
        if (p == NULL) return NULL;
        uint8_t *a = (uint8_t *)hf_align_up((uintptr_t)p, align);
        if (a != p) {
            hf_page *pg = hfi_page_of((hf_segment *)hfi_header_of(p), p);
            atomic_fetch_or_explicit(&pg->flags, HF_PAGE_HAS_ALIGNED, memory_order_relaxed);
            pg->free_limit = 0; /* frees of this page take the generic path */
        }
        return a;
    }
    return hfi_span_alloc(n, align, zero);
}

/* glibc 2.36 is the reference: memalign takes any alignment up to SIZE_MAX / 2 + 1, rounding it
 * up to a power of two (0 means none); above that it is EINVAL. A valid alignment that cannot be
 * served (2^47 and up) fails like any impossible request, with ENOMEM. */
HF_API void *hf_memalign(size_t align, size_t n) {
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    size_t a = HF_ALIGNMENT;
    while (a < align) a <<= 1;
    return hfi_malloc_aligned(a, n, false);
}

/* glibc 2.36's aligned_alloc is memalign (the C17 EINVAL for a bad alignment came in 2.38). */
HF_API void *hf_aligned_alloc(size_t align, size_t n) {
    return hf_memalign(align, n);
}

/* EINVAL (errno untouched) for an alignment that is not a power-of-two multiple of
 * sizeof(void *); ENOMEM when the block cannot be had, with errno ENOMEM too, as glibc's
 * posix_memalign leaves it (it fails through the memalign that sets it). */
HF_API int hf_posix_memalign(void **out, size_t align, size_t n) {
    if (!hf_is_pow2(align) || align < sizeof(void *)) return EINVAL;
    void *p = hfi_malloc_aligned(align, n, false);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

HF_API void *hf_valloc(size_t n) {
    return hfi_malloc_aligned(HF_OS_PAGE_SIZE, n, false);
}

HF_API void *hf_pvalloc(size_t n) {
    if (n > PTRDIFF_MAX) {
        hfi_set_enomem();
        return NULL;
    }
    size_t r = hf_align_up(n ? n : 1, HF_OS_PAGE_SIZE);
    return hfi_malloc_aligned(HF_OS_PAGE_SIZE, r, false);
}
