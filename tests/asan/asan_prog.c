/* asan_prog -- heapforge's blocks under AddressSanitizer (the `asan` preset, HF_ASAN=1:
 * src/internal/shadow.h). ASan's runtime owns the libc allocation names, so everything here
 * goes through hf_*.
 *   clean     many sizes, calloc, realloc in place and moving, aligned, large, reuse of freed
 *             blocks: no report (the allocator's own accesses to freed blocks are unpoisoned)
 *   uaf       reads a byte of a freed block      -> ASan's "use-after-poison" report
 *   overflow  reads one byte past a 100-byte request (inside its 112-byte class) -> the same
 * ASan reports manually poisoned memory as "use-after-poison": its interface offers no way to
 * mark bytes as a freed heap block (its own "heap-use-after-free" is for its own malloc). */
#include <stdio.h>
#include <string.h>

#include "heapforge.h"

static void *volatile sink;

static int clean(void) {
    static const size_t sizes[] = {1, 8, 16, 24, 100, 1000, 4096, 30000, 200000, 5 << 20};
    void *keep[64];
    unsigned k = 0;
    unsigned long sum = 0;
    for (unsigned r = 0; r < 3; r++) {
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            unsigned char *p = hf_malloc(sizes[i]);
            memset(p, (int)i, sizes[i]);
            keep[k++] = p;
        }
        for (unsigned i = 0; i < k; i += 2)
            hf_free(keep[i]), keep[i] = NULL; /* reused next round */
    }
    unsigned char *z = hf_calloc(100, 10);
    for (int i = 0; i < 1000; i++) sum += z[i];
    char *s = hf_malloc(10);
    strcpy(s, "heapforge");
    s = hf_realloc(s, 12);   /* in place */
    s = hf_realloc(s, 5000); /* moves */
    sum += strlen(s);
    s = hf_realloc(s, 40); /* moves back */
    sum += strlen(s);
    void *a = hf_aligned_alloc(4096, 100);
    memset(a, 1, 100);
    for (unsigned i = 0; i < k; i++) hf_free(keep[i]);
    hf_free(a);
    hf_free(s);
    hf_free(z);
    for (int i = 0; i < 20000; i++) hf_free(hf_malloc((size_t)(i % 700) + 1)); /* churn */
    printf("clean %lu\n", sum);
    return 0;
}

int main(int argc, char **argv) {
    const char *m = argc > 1 ? argv[1] : "clean";
    if (strcmp(m, "clean") == 0) return clean();
    volatile size_t at = 10;
    unsigned char *p = hf_malloc(strcmp(m, "uaf") == 0 ? 64 : 100);
    memset(p, 7, 64);
    sink = p;
    if (strcmp(m, "uaf") == 0)
        hf_free(p);
    else
        at = 100;
    printf("read %d\n", ((volatile unsigned char *)p)[at]);
    return 0;
}
