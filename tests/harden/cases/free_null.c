/* harden: free_null
 * level: 0
 * expect: ok
 *
 * Negative control: free(NULL) and realloc(NULL, n) are valid and must not be reported.
 */
#include "harden.h"

int main(void) {
    free(launder(NULL));
    void *p = launder(realloc(launder(NULL), 32));
    if (p == NULL) return HARDEN_SETUP;
    free(p);
    return 0;
}
