/* harden: overflow_one_byte_medium
 * level: 1
 * expect: heapforge: heap corruption of 0x
 *
 * One byte written past a 20,001-byte request, then free.
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(20001), *p = xmalloc(20001);
    p[20001] = 'x';
    free(announce(p));
    free(keep);
    return 0;
}
