/* trim.c -- malloc_trim (hf_trim): give back to the OS, now, what the caches and this
 * thread's heap hold unused. An entry point like malloc: it may start the process. */
#include "internal/internal.h"

HF_API int hf_trim(size_t pad) {
    (void)pad;
    /* Secure level 3: the quarantine lets go first (verified, zeroed, freed). */
    if (hfi_secure >= HF_SECURE_QUARANTINE) hfi_quarantine_flush();
    size_t before = atomic_load(&hfi_os_stats.purges) + atomic_load(&hfi_os_stats.munmaps);
    /* Under a lab policy threads have no heap, and trim must not give them one. */
    hfi_process_init();
    hf_heap *heap =
        hfi_lab_process_policy != 0 && hfi_tl_heap == &hfi_heap_empty ? NULL : hfi_heap_get();
    if (heap != NULL) {
        /* Segments of exited threads come here first, so their free pages can go too. */
        while (hfi_heap_reclaim(heap)) {
        }
        hfi_heap_collect(heap, true);
    }
    hfi_segment_cache_trim(true);
    hfi_span_cache_trim(true);
    return atomic_load(&hfi_os_stats.purges) + atomic_load(&hfi_os_stats.munmaps) != before;
}
