/* harden: interior_free_small
 * level: 0
 * expect: heapforge: invalid free of 0x
 *
 * free of a pointer 16 bytes into a 64-byte block.
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(64), *p = xmalloc(64);
    free(announce(p + 16));
    free(keep);
    return 0;
}
