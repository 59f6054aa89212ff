/* harden: double_free_remote_second
 * level: 0
 * expect: heapforge: double free of 0x
 *
 * Freed by the owner, then again by another thread (a remote double free).
 */
#include <pthread.h>
#include "harden.h"

static void *free_it(void *p) {
    free(p);
    return NULL;
}

int main(void) {
    void *keep = xmalloc(64), *p = xmalloc(64);
    free(p);
    pthread_t t;
    if (pthread_create(&t, NULL, free_it, announce(p)) != 0 || pthread_join(t, NULL) != 0)
        return HARDEN_SETUP;
    free(keep);
    return 0;
}
