/* harden: overflow_one_byte_small
 * level: 1
 * expect: heapforge: heap corruption of 0x
 *
 * One byte written past a 40-byte request (the block's class is 48), then free: only a canary
 * after the requested size (level 1) can see it.
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(40), *p = xmalloc(40);
    p[40] = 'x';
    free(announce(p));
    free(keep);
    return 0;
}
