/* api_large: churn of 5-25 MiB blocks (up to 8 live at once) allocated, written, checked and
 * freed repeatedly, in random order; blocks must be distinct, 16-aligned and keep contents. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "heapforge.h"
#include "test_util.h"

enum { SLOTS = 8 };
struct slot {
    unsigned char *p;
    size_t n;
    uint64_t seed;
};

/* Sparse check: the first and last 4 KiB fully, then one word every 4 KiB. */
static void check_block(const struct slot *s) {
    CHECK_PATTERN(s->p, 4096, s->seed);
    for (size_t off = 4096; off + 8 <= s->n - 4096; off += 4096)
        CHECK_PATTERN(s->p + off, 8, s->seed + off);
    CHECK_PATTERN(s->p + s->n - 4096, 4096, s->seed + 1);
}
static void fill_block(const struct slot *s) {
    memset(s->p, 0, s->n);
    test_fill(s->p, 4096, s->seed);
    for (size_t off = 4096; off + 8 <= s->n - 4096; off += 4096)
        test_fill(s->p + off, 8, s->seed + off);
    test_fill(s->p + s->n - 4096, 4096, s->seed + 1);
}

int main(int argc, char **argv) {
    size_t iters = test_scaled(160, test_scale(argc, argv));
    struct slot slots[SLOTS] = {{0}};
    uint64_t rng = 0xfeedULL;
    for (size_t it = 0; it < iters; it++) {
        struct slot *s = &slots[test_rand(&rng) % SLOTS];
        if (s->p) {
            check_block(s);
            if (test_rand(&rng) % 4 == 0) { /* resize instead of free */
                size_t n = test_rand_range(&rng, 5 << 20, 25 << 20);
                unsigned char *q = realloc(s->p, n);
                CHECK(q != NULL);
                CHECK_PATTERN(q, 4096, s->seed);
                s->p = q;
                s->n = n;
                s->seed = test_rand(&rng);
                fill_block(s);
                continue;
            }
            free(s->p);
            s->p = NULL;
        }
        s->n = test_rand_range(&rng, 5 << 20, 25 << 20);
        s->p = malloc(s->n);
        CHECK(s->p != NULL);
        CHECK_ALIGNED(s->p, 16);
        CHECK(hf_owns(s->p));
        CHECK_GE(malloc_usable_size(s->p), s->n);
        for (int j = 0; j < SLOTS; j++) { /* no overlap with the other live blocks */
            const struct slot *o = &slots[j];
            if (o == s || !o->p) continue;
            CHECK(s->p + s->n <= o->p || o->p + o->n <= s->p);
        }
        s->seed = test_rand(&rng);
        fill_block(s);
    }
    for (int j = 0; j < SLOTS; j++)
        if (slots[j].p) {
            check_block(&slots[j]);
            free(slots[j].p);
        }
    puts("api_large: ok");
    return 0;
}
