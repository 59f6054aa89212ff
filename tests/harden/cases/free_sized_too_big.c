/* harden: free_sized_too_big
 * level: 0
 * expect: heapforge: free_sized with a wrong size of 0x
 *
 * free_sized of a 100-byte block with 4096: larger than the block, certainly wrong.
 */
#include "harden.h"

int main(void) {
    if (free_sized == NULL) return HARDEN_UNAVAILABLE;
    void *keep = xmalloc(100), *p = xmalloc(100);
    free_sized(announce(p), 4096);
    free(keep);
    return 0;
}
