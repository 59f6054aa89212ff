/* harden: free_aligned_sized_mismatch
 * level: 1
 * expect: heapforge: free_aligned_sized with a wrong alignment of 0x
 *
 * free_aligned_sized with an alignment (4096) the pointer does not have (it came from
 * aligned_alloc(64, ...)). Level 0 ignores the alignment argument.
 */
#include "harden.h"

int main(void) {
    if (free_aligned_sized == NULL) return HARDEN_UNAVAILABLE;
    void *keep = xmalloc(100), *p;
    do { /* a 64-aligned block that is not 4096-aligned */
        p = aligned_alloc(64, 128);
        if (p == NULL) return HARDEN_SETUP;
    } while ((uintptr_t)p % 4096 == 0);
    free_aligned_sized(announce(p), 4096, 128);
    free(keep);
    return 0;
}
