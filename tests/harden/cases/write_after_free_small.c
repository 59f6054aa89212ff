/* harden: write_after_free_small
 * level: 3
 * expect: heapforge: write after free of 0x
 *
 * A byte written in the middle of a freed block; the block is then reused. Zero on free (level 3)
 * lets the allocator check, on reuse, that the freed block is still zero.
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(64), *p = xmalloc(64);
    free(p);
    ((volatile char *)launder(p))[32] = 'x';
    for (int i = 0; i < 64; i++) harden_sink = xmalloc(64);
    free(keep);
    return 0;
}
