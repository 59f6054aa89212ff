/* vg_prog -- small programs for memcheck (tests/valgrind/vg_check.sh runs them under valgrind
 * in the `valgrind` preset). Linked to libheapforge.so, so malloc and free are heapforge's;
 * memcheck sees the blocks only through the client requests of src/internal/shadow.h.
 *   clean     many sizes, calloc, realloc in place and moving, aligned, large; all freed
 *   uaf       reads a byte of a freed block             -> "Invalid read"
 *   overflow  reads one byte past a 100-byte request    -> "Invalid read" (inside the class)
 *   leak      loses one 4321-byte block                 -> "4,321 bytes ... definitely lost"
 * vg_check.sh runs valgrind with --soname-synonyms=somalloc=nouserintercepts: by default memcheck
 * would put its own malloc in place of heapforge's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The compiler must not see through the allocation calls or the reads. */
static void *volatile sink;

static int clean(void) {
    static const size_t sizes[] = {1, 8, 16, 24, 100, 1000, 4096, 30000, 200000, 5 << 20};
    void *keep[64];
    unsigned k = 0;
    for (unsigned r = 0; r < 3; r++)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            unsigned char *p = malloc(sizes[i]);
            memset(p, (int)i, sizes[i]);
            keep[k++] = p;
        }
    unsigned long sum = 0;
    unsigned char *z = calloc(100, 10);
    for (int i = 0; i < 1000; i++) sum += z[i];
    char *s = malloc(10);
    strcpy(s, "heapforge");
    s = realloc(s, 12);   /* in place */
    s = realloc(s, 5000); /* moves: the 10 defined bytes come along */
    sum += (unsigned long)strlen(s);
    s = realloc(s, 40); /* shrinks a lot: moves back */
    sum += (unsigned long)strlen(s);
    void *a = aligned_alloc(4096, 100);
    memset(a, 1, 100);
    for (unsigned i = 0; i < k; i++) free(keep[i]);
    free(a);
    free(s);
    free(z);
    printf("clean %lu\n", sum);
    return 0;
}

static int uaf(void) {
    unsigned char *p = malloc(64);
    memset(p, 7, 64);
    free(p);
    sink = p;
    printf("read %d\n", ((volatile unsigned char *)p)[10]);
    return 0;
}

static int overflow(void) {
    unsigned char *p = malloc(100); /* a 112-byte class: bytes 100..111 are slack */
    memset(p, 7, 100);
    volatile size_t past = 100;
    printf("read %d\n", ((volatile unsigned char *)p)[past]);
    free(p);
    return 0;
}

static void lose(void) {
    char *p = malloc(4321);
    memset(p, 1, 4321);
    sink = p;
    sink = NULL;
}

/* The lost block is not the first of its page: a page's descriptor holds the address of its
 * first block (hf_page.start), which memcheck's leak check would take for a pointer to it and
 * call the block "still reachable" (docs/hardening.md, "Valgrind and ASan"). */
static int leak(void) {
    void *first = malloc(4321);
    lose();
    free(first);
    void *q = malloc(10); /* and a clean alloc/free after it, to move the stack on */
    free(q);
    return 0;
}

int main(int argc, char **argv) {
    const char *m = argc > 1 ? argv[1] : "clean";
    if (strcmp(m, "clean") == 0) return clean();
    if (strcmp(m, "uaf") == 0) return uaf();
    if (strcmp(m, "overflow") == 0) return overflow();
    if (strcmp(m, "leak") == 0) return leak();
    fprintf(stderr, "vg_prog: unknown mode %s\n", m);
    return 2;
}
