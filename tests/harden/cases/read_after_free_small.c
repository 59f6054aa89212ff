/* harden: read_after_free_small
 * level: none
 * expect: mitigated
 *
 * Secret bytes read back from a freed block. No level catches a read; zero on free (level 3) makes
 * it read zeros (exit HARDEN_MITIGATED), below that the secret leaks (exit 0).
 */
#include "harden.h"

int main(void) {
    char *keep = xmalloc(64), *p = xmalloc(64);
    memset(p, 0x5a, 64);
    free(p);
    char c = ((volatile char *)launder(p))[32];
    free(keep);
    return c == 0x5a ? 0 : HARDEN_MITIGATED;
}
