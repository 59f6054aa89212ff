/* harden: double_free_interleaved
 * level: 0
 * expect: heapforge: double free of 0x
 *
 * p, q freed, then p again: the pattern that defeats a check of the list head only.
 */
#include "harden.h"

int main(void) {
    void *keep = xmalloc(48), *p = xmalloc(48), *q = xmalloc(48);
    free(p);
    free(q);
    free(announce(p));
    free(keep);
    return 0;
}
