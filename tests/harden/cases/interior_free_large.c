/* harden: interior_free_large
 * level: 0
 * expect: heapforge: invalid free of 0x
 *
 * free of a pointer 8 KiB into a 1 MiB block.
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc((size_t)1 << 20), *p = xmalloc((size_t)1 << 20);
    free(announce(p + 8192));
    free(keep);
    return 0;
}
