/* harden: fault_overflow_segment_guard
 * level: 2
 * expect: SIGSEGV heapforge: overflow past the end of {pointer}
 *     (size {size}): write at offset {offset}
 *
 * A write just past a 4 KiB block that ends where its 4 MiB segment's last OS page begins: from
 * level 2 that page is a guard, and the fault handler names the segment's last block. The case
 * allocates 4 KiB blocks until one ends on a 4 MiB boundary less 4 KiB (elsewhere, as under
 * glibc, it writes past the last block it got: a plain overflow into the neighbour).
 */
#include "harden.h"

#define BLOCK  4096u
#define UNIT   ((uintptr_t)4 << 20)
#define BLOCKS 4000

int main(void) {
    static char *got[BLOCKS];
    char *p = NULL;
    for (int i = 0; i < BLOCKS && p == NULL; i++) {
        got[i] = xmalloc(BLOCK - 1); /* the secure levels ask for one byte more: the 4 KiB class */
        if ((((uintptr_t)got[i] + BLOCK) & (UNIT - 1)) == UNIT - BLOCK) p = got[i];
    }
    if (p == NULL) p = got[BLOCKS - 1];
    announce_fault(p, BLOCK, BLOCK);
    ((volatile char *)p)[BLOCK] = 'x';
    return 0;
}
