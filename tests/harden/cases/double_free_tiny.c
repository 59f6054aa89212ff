/* harden: double_free_tiny
 * level: 0
 * expect: heapforge: double free of 0x
 *
 * malloc(0)'s unique block freed twice.
 */
#include "harden.h"

int main(void) {
    void *keep = xmalloc(0), *p = xmalloc(0);
    free(p);
    free(announce(p));
    free(keep);
    return 0;
}
