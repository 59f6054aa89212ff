/* harden: free_sized_too_small
 * level: 1
 * expect: heapforge: free_sized with a wrong size of 0x
 *
 * free_sized of a 100-byte block with 16. Needs the requested size, which level 0 does not keep
 * (the block's class would accept 16); level 1 keeps it for the canary.
 */
#include "harden.h"

int main(void) {
    if (free_sized == NULL) return HARDEN_UNAVAILABLE;
    void *keep = xmalloc(100), *p = xmalloc(100);
    free_sized(announce(p), 16);
    free(keep);
    return 0;
}
