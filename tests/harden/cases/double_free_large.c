/* harden: double_free_large
 * level: 0
 * expect: heapforge: double free of 0x
 *
 * A 1 MiB block (a span, cached after the first free) freed twice.
 */
#include "harden.h"

int main(void) {
    void *keep = xmalloc((size_t)1 << 20), *p = xmalloc((size_t)1 << 20);
    free(p);
    free(announce(p));
    free(keep);
    return 0;
}
