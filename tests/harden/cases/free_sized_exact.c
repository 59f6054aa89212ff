/* harden: free_sized_exact
 * level: 0
 * expect: ok
 *
 * Negative control: the sized frees with the right size and alignment, at every size range, must
 * not be reported.
 */
#include "harden.h"

int main(void) {
    static const size_t sizes[] = {1, 48, 1000, 20000, 200000, (size_t)40 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = xmalloc(sizes[i]), *q = aligned_alloc(4096, sizes[i]);
        if (q == NULL) return HARDEN_SETUP;
        if (free_sized != NULL && free_aligned_sized != NULL) {
            free_sized(p, sizes[i]);
            free_aligned_sized(q, 4096, sizes[i]);
        } else {
            free(p);
            free(q);
        }
    }
    return 0;
}
