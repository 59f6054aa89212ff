/* fastpath -- N malloc(16)/free pairs and nothing else, for counting the instructions of the
 * allocator's fast path under callgrind (bench/run.py --fastpath). N is the first argument. */
#include <stdio.h>
#include <stdlib.h>

static inline void escape(void *p) {
    __asm__ volatile("" : : "g"(p) : "memory");
}

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    unsigned long nonnull = 0;
    for (long i = 0; i < n; i++) {
        void *p = malloc(16);
        escape(p);
        nonnull += (p != NULL);
        free(p);
    }
    printf("fastpath pairs=%ld checksum=%lu\n", n, nonnull);
    return nonnull == (unsigned long)n ? 0 : 1;
}
