/* harden: fault_uaf_large
 * level: 3
 * expect: SIGSEGV heapforge: use after free of {pointer}
 *     (size {size}): write at offset {offset}
 *
 * A write into a freed 1 MiB block: level 3 keeps a freed large block in the quarantine, purged
 * and PROT_NONE, so the write faults and the handler names the use after free.
 */
#include "harden.h"

int main(void) {
    char *p = xmalloc((size_t)1 << 20);
    size_t n = malloc_usable_size(p);
    memset(p, 0x5a, 4096);
    free(p);
    announce_fault(p, n, 4000);
    ((volatile char *)launder(p))[4000] = 'x';
    return 0;
}
