/* harden: overflow_next_block_first_word
 * level: 1
 * expect: heapforge: heap corruption of 0x
 *
 * A write of one word past the usable end of a block, into the first word of the next block, which
 * is free (its free-list link); then mallocs of that size until the block comes back, and one
 * more. Level 0 follows the forged link; encoded links (level 1) do not decode to a block of the
 * page.
 */
#include "harden.h"

int main(void) {
    char *a = xmalloc(48), *b = xmalloc(48);
    free(b);
    uint64_t forged = 0x4141414141414140ULL;
    memcpy(a + malloc_usable_size(a), &forged, sizeof forged);
    /* Allocate until the corrupted block comes back (free lists are not LIFO across pages
     * and lists), then once more: that malloc follows the forged link. */
    for (int i = 0; i < 100000 && xmalloc(48) != b; i++) continue;
    memset(xmalloc(48), 0, 48);
    return 0;
}
