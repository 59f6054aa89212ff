/* harden: double_free_aligned
 * level: 0
 * expect: heapforge: double free of 0x
 *
 * A 256-byte-aligned block freed twice.
 */
#include "harden.h"

int main(void) {
    void *keep = xmalloc(100), *p = aligned_alloc(256, 100);
    if (p == NULL) return HARDEN_SETUP;
    free(p);
    free(announce(p));
    free(keep);
    return 0;
}
