/* harden: write_after_realloc_move
 * level: 3
 * expect: heapforge: write after free of 0x
 *
 * realloc moves the block; the program keeps writing through the old pointer. At level 3 the
 * old copy waits in the quarantine like any freed block, so the write is seen when it leaves
 * (here at exit).
 */
#include "harden.h"

int main(void) {
    char *p = xmalloc(64), *keep = xmalloc(64);
    char *q = launder(realloc(p, 4000));
    if (q == NULL || q == p) return HARDEN_SETUP;
    ((volatile char *)launder(announce(p)))[8] = 'x';
    free(q);
    free(keep);
    return 0;
}
