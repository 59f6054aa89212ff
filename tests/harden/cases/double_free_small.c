/* harden: double_free_small
 * level: 0
 * expect: heapforge: double free of 0x
 *
 * A 48-byte block freed twice.
 */
#include "harden.h"

int main(void) {
    void *keep = xmalloc(48), *p = xmalloc(48);
    free(p);
    free(announce(p));
    free(keep);
    return 0;
}
