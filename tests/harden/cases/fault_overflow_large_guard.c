/* harden: fault_overflow_large_guard
 * level: 2
 * expect: SIGSEGV heapforge: overflow past the end of {pointer}
 *     (size {size}): write at offset {offset}
 *
 * A write one byte past the usable end of a 1 MiB block lands on the guard page that follows
 * every large block from level 2; the fault handler names the overflow, the block and the offset
 * before the process dies of the SIGSEGV.
 */
#include "harden.h"

int main(void) {
    char *p = xmalloc((size_t)1 << 20);
    size_t n = malloc_usable_size(p);
    announce_fault(p, n, n);
    ((volatile char *)p)[n] = 'x';
    free(p);
    return 0;
}
