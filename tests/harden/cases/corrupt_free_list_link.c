/* harden: corrupt_free_list_link
 * level: 1
 * expect: heapforge: heap corruption of 0x
 * expect from 3: heapforge: write after free of 0x
 *
 * A pointer-sized value written into a freed block's first word (its free-list link), then mallocs
 * of that size until the block comes back, and one more: level 0 hands out the forged address.
 * From level 1 the forged link does not decode to a block of the page; from level 3 the block
 * waits in the quarantine instead of on a free list, so the write is seen as a write after free
 * (when the block leaves the quarantine, here at exit).
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(48), *p = xmalloc(48);
    free(p);
    uint64_t forged = 0x4141414141414140ULL;
    memcpy(launder(p), &forged, sizeof forged);
    /* Allocate until the corrupted block comes back (free lists are not LIFO across pages
     * and lists), then once more: that malloc follows the forged link. */
    for (int i = 0; i < 100000 && xmalloc(48) != p; i++) continue;
    memset(xmalloc(48), 0, 48);
    free(keep);
    return 0;
}
