/* harden: realloc_freed_large
 * level: 0
 * expect: heapforge: realloc of a freed block of 0x
 *
 * realloc of a freed 1 MiB block (cached span).
 */
#include "harden.h"

int main(void) {
    void *keep = xmalloc((size_t)1 << 20), *p = xmalloc((size_t)1 << 20);
    free(p);
    harden_sink = realloc(announce(p), 50);
    free(keep);
    return 0;
}
