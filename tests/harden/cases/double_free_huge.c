/* harden: double_free_huge
 * level: 3
 * expect: heapforge: double free of 0x
 *
 * A 64 MiB block freed twice. The first free unmaps it, so the second finds no header: until
 * quarantine (level 3) keeps freed address ranges reserved, it is a foreign pointer.
 */
#include "harden.h"

int main(void) {
    void *p = xmalloc((size_t)64 << 20);
    free(p);
    free(announce(p));
    return 0;
}
