/* harden: free_sized_large_wrong
 * level: 0
 * expect: heapforge: free_sized with a wrong size of 0x
 *
 * free_sized of a 1 MiB block with 8 MiB.
 */
#include "harden.h"

int main(void) {
    if (free_sized == NULL) return HARDEN_UNAVAILABLE;
    void *keep = xmalloc((size_t)1 << 20), *p = xmalloc((size_t)1 << 20);
    free_sized(announce(p), (size_t)8 << 20);
    free(keep);
    return 0;
}
