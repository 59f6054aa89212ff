/* harden: double_free_medium
 * level: 0
 * expect: heapforge: double free of 0x
 *
 * A 20,000-byte block (a medium page) freed twice.
 */
#include "harden.h"

int main(void) {
    void *keep = xmalloc(20000), *p = xmalloc(20000);
    free(p);
    free(announce(p));
    free(keep);
    return 0;
}
