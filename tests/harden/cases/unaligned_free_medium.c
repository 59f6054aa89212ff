/* harden: unaligned_free_medium
 * level: 0
 * expect: heapforge: invalid free of 0x
 *
 * free of a pointer 8 bytes into a 20,000-byte block.
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(20000), *p = xmalloc(20000);
    free(announce(p + 8));
    free(keep);
    return 0;
}
