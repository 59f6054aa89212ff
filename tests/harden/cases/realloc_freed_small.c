/* harden: realloc_freed_small
 * level: 0
 * expect: heapforge: realloc of a freed block of 0x
 *
 * realloc of a freed 100-byte block.
 */
#include "harden.h"

int main(void) {
    void *keep = xmalloc(100), *p = xmalloc(100);
    free(p);
    harden_sink = realloc(announce(p), 50);
    free(keep);
    return 0;
}
