/* harden: double_free_after_realloc
 * level: 0
 * expect: heapforge: double free of 0x
 *
 * The old pointer freed after realloc moved the block.
 */
#include "harden.h"

int main(void) {
    char *p = xmalloc(100), *keep = xmalloc(100);
    char *q = launder(realloc(p, 100000));
    if (q == NULL || q == p) return HARDEN_SETUP;
    free(announce(p));
    free(q);
    free(keep);
    return 0;
}
