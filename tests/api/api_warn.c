/* api_warn: with HEAPFORGE_ON_ERROR=warn a detected misuse is reported and the program carries
 * on, and the bad block is left alone: a block freed twice is not handed out twice, an interior
 * free frees nothing, realloc of a freed block returns NULL. Run by check_warn.sh, which counts
 * the report lines (one per misuse) and checks the exit status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

static void *volatile sink;
static void *launder(void *p) {
    sink = p;
    return sink;
}

int main(void) {
    /* 1: double free of a small block; the block must not come back twice. */
    char *keep = malloc(48), *p = malloc(48);
    CHECK(keep && p);
    free(p);
    free(launder(p));
    char *a = malloc(48), *b = malloc(48);
    CHECK(a != NULL && b != NULL && a != b);
    /* 2: double free of a large block. */
    char *big = malloc(1 << 20);
    CHECK(big != NULL);
    free(big);
    free(launder(big));
    /* 3: interior free: the block stays live and intact. */
    char *q = malloc(256);
    CHECK(q != NULL);
    memset(q, 0x5A, 256);
    free(launder(q + 16));
    for (int i = 0; i < 256; i++) CHECK((unsigned char)q[i] == 0x5A);
    /* 4: realloc of a freed block returns NULL and changes nothing. */
    char *r = malloc(64);
    CHECK(r != NULL);
    free(r);
    CHECK(realloc(launder(r), 128) == NULL);
    /* The heap still works. */
    for (int i = 0; i < 10000; i++) {
        void *x = malloc((size_t)(i % 500) + 1);
        CHECK(x != NULL);
        free(x);
    }
    free(keep);
    free(a);
    free(b);
    free(q);
    return 0;
}
