/* harden: realloc_interior_small
 * level: 0
 * expect: heapforge: invalid free of 0x
 *
 * realloc to a larger size of a pointer 16 bytes into a 64-byte block.
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(64), *p = xmalloc(64);
    harden_sink = realloc(announce(p + 16), 4096);
    free(keep);
    return 0;
}
