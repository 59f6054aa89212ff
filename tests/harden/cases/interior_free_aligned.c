/* harden: interior_free_aligned
 * level: 0
 * expect: heapforge: invalid free of 0x
 *
 * free of a pointer 16 bytes into a 256-byte-aligned block.
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(100), *p = aligned_alloc(256, 100);
    if (p == NULL) return HARDEN_SETUP;
    free(announce(p + 16));
    free(keep);
    return 0;
}
