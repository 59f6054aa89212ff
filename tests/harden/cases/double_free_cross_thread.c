/* harden: double_free_cross_thread
 * level: 0
 * expect: heapforge: double free of 0x
 *
 * Freed by another thread, then again by the owner.
 */
#include <pthread.h>
#include "harden.h"

static void *free_it(void *p) {
    free(p);
    return NULL;
}

int main(void) {
    void *keep = xmalloc(64), *p = xmalloc(64);
    pthread_t t;
    if (pthread_create(&t, NULL, free_it, p) != 0 || pthread_join(t, NULL) != 0)
        return HARDEN_SETUP;
    free(announce(p));
    free(keep);
    return 0;
}
