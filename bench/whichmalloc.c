/* whichmalloc -- print the shared object that malloc and free resolve to, and check that a
 * block round-trips. bench/run.py uses it to prove an LD_PRELOAD really took effect. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *object_of(void *fn) {
    Dl_info info;
    if (dladdr(fn, &info) == 0 || info.dli_fname == NULL) return "?";
    return info.dli_fname;
}

int main(void) {
    void *(*volatile m)(size_t) = malloc;
    void (*volatile f)(void *) = free;
    char *p = m(100);
    if (p == NULL) return 1;
    memset(p, 1, 100);
    f(p);
    printf("malloc %s\nfree %s\n", object_of((void *)m), object_of((void *)f));
    return 0;
}
