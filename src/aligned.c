/* aligned.c -- aligned_alloc, posix_memalign, memalign, valloc, pvalloc.
 *
 * The entry points and their glibc-compatible argument checks; the placement itself is
 * hfi_plain_aligned (plain.c). */
#include "internal/internal.h"

#include <errno.h>

/* The aligned entry (memalign's family, operator new's aligned forms): impossible requests
 * fail here for every policy; instrumented, the hooks count the call; else the plain path. */
void *hfi_malloc_aligned(size_t align, size_t n, bool zero) {
    /* Impossible for every policy: no block is that large, no mapping that aligned. */
    if (n > PTRDIFF_MAX || align > ((size_t)1 << (HF_ADDRESS_BITS - 1))) {
        hfi_set_enomem();
        return NULL;
    }
    if (HF_UNLIKELY(hfi_tl_heap == &hfi_heap_empty || hfi_hooks != 0)) {
        hfi_process_init();
        if (hfi_hooks != 0) return hfi_hooked_alloc(n, align, HF_CALL_ALIGNED);
    }
    return hfi_plain_aligned(align, n, zero);
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
