/* harden: interior_free_medium
 * level: 0
 * expect: heapforge: invalid free of 0x
 *
 * free of a pointer 4 KiB into a 30,000-byte block.
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(30000), *p = xmalloc(30000);
    free(announce(p + 4096));
    free(keep);
    return 0;
}
