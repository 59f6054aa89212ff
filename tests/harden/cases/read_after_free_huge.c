/* harden: read_after_free_huge
 * level: 0
 * expect: SIGSEGV
 *
 * A read from a freed 192 MiB block: huge blocks (128 MiB and more) are unmapped on free, so the
 * read faults.
 */
#include "harden.h"

int main(void) {
    char *p = xmalloc((size_t)192 << 20);
    memset(p, 0x5a, 4096);
    free(p);
    char c = ((volatile char *)launder(p))[32];
    return c == 0x5a ? 0 : HARDEN_MITIGATED;
}
