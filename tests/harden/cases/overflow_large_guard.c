/* harden: overflow_large_guard
 * level: 2
 * expect: SIGSEGV
 *
 * A write one byte past the usable end of a 1 MiB block: a guard page after every large block
 * (level 2) turns it into SIGSEGV.
 */
#include "harden.h"

int main(void) {
    char *p = xmalloc((size_t)1 << 20);
    size_t n = malloc_usable_size(p);
    ((volatile char *)p)[n] = 'x';
    free(p);
    return 0;
}
