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
    /* A byte that surely changes: byte 8 is in the freed block's mark (the block's address
     * xor the secret), and a fixed 'x' matched it one run in 256, so nothing was written. */
    volatile char *old = launder(announce(p));
    old[8] = (char)(old[8] ^ 0x5a);
    free(q);
    free(keep);
    return 0;
}
