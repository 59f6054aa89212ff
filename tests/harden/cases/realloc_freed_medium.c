/* harden: realloc_freed_medium
 * level: 0
 * expect: heapforge: realloc of a freed block of 0x
 *
 * realloc of a freed 20,000-byte block.
 */
#include "harden.h"

int main(void) {
    void *keep = xmalloc(20000), *p = xmalloc(20000);
    free(p);
    harden_sink = realloc(announce(p), 50);
    free(keep);
    return 0;
}
