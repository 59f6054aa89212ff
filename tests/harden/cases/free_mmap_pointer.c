/* harden: free_mmap_pointer
 * level: none
 * expect: heapforge: invalid free of 0x
 *
 * free of a page from mmap. Not promised: such memory is indistinguishable from memory another
 * allocator handed out before heapforge was loaded, which free must ignore.
 */
#include <sys/mman.h>
#include "harden.h"

int main(void) {
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return HARDEN_SETUP;
    free(announce(p));
    return 0;
}
