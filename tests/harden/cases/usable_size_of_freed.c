/* harden: usable_size_of_freed
 * level: 1
 * expect: heapforge: malloc_usable_size of a freed block of 0x
 *
 * malloc_usable_size of a freed block. Level 0 answers with the block's size (the double-free mark
 * is checked only by free and realloc).
 */
#include "harden.h"

int main(void) {
    void *keep = xmalloc(64), *p = xmalloc(64);
    free(p);
    harden_sink = (void *)(uintptr_t)malloc_usable_size(announce(p));
    free(keep);
    return 0;
}
