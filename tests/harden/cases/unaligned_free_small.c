/* harden: unaligned_free_small
 * level: 0
 * expect: heapforge: invalid free of 0x
 *
 * free of a pointer one byte into a 64-byte block.
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(64), *p = xmalloc(64);
    free(announce(p + 1));
    free(keep);
    return 0;
}
