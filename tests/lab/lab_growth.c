/* lab_growth: a request that needs the arena to grow succeeds on the first call, under every
 * policy and backing. A heap of small blocks (half of them freed again, so the policy holds many
 * small holes and lends tower records) is followed by requests of growing sizes whose page
 * rounding leaves every possible slack (including bash's 757,780 bytes that first fit once
 * refused); each must return a block at once, its contents intact until freed, and the arena
 * must validate after every request. */
#include <stdint.h>
#include <string.h>

#include "lab_util.h"

enum { SMALL = 30000, BIG = 24 };

static int passed;
static unsigned char *small[SMALL];

static size_t largest_free(hf_arena *a) {
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    return st.largest_free;
}

/* Fills the arena's memory with small blocks and small holes until no free block of 2,400 bytes
 * or more is left (the fits then cannot carve a tower chunk, and ask for room the arena no longer
 * has), without ever making the arena grow: requests stay below the largest free block. */
static int fill_with_holes(hf_arena *a, uint64_t *rng) {
    int count = 0;
    for (int round = 0; round < 64; round++) {
        size_t big;
        while ((big = largest_free(a)) >= 2400 && count < SMALL) {
            size_t n = 16 + test_rand(rng) % 200;
            if (big < 4096) n = big - 300; /* eat the last big block whole */
            small[count] = hf_arena_malloc(a, n);
            CHECK(small[count] != NULL);
            small[count][0] = (unsigned char)count;
            count++;
        }
        /* Holes: every free draws tower heights, and some need records no chunk has left. */
        for (int k = 0; k < 400; k++) {
            int i = (int)(test_rand(rng) % (uint64_t)count);
            if (small[i] == NULL) continue;
            hf_arena_free(a, small[i]);
            small[i] = NULL;
        }
        if (largest_free(a) < 2400) break; /* no room fed since: the state we want */
    }
    return count;
}

/* A heap of small holes, then one request of n bytes that must grow the arena. */
static void run(hf_policy pol, const hf_arena_config *cfg, size_t n, const char *what) {
    hf_arena *a = hf_arena_create(pol, cfg);
    CHECK(a != NULL);
    uint64_t rng = 0x67726f77 + (uint64_t)pol * 977 + n;
    memset(small, 0, sizeof small);
    int count = fill_with_holes(a, &rng);
    check_arena(a, "the small heap");
    unsigned char *p = hf_arena_malloc(a, n);
    if (p == NULL)
        fprintf(stderr, "%s (%s): malloc(%zu) returned NULL after %d small blocks\n",
                hf_policy_name(pol), what, n, count);
    CHECK(p != NULL);
    CHECK_GE(hf_arena_usable_size(a, p), n);
    memset(p, 0xa5, n);
    check_arena(a, "the big request");
    /* A second, bigger one: growth again, from the state the first left. */
    unsigned char *q = hf_arena_malloc(a, 2 * n + 4093);
    CHECK(q != NULL);
    memset(q, 0x5a, 2 * n + 4093);
    CHECK_EQ(p[0], 0xa5);
    CHECK_EQ(p[n - 1], 0xa5);
    check_arena(a, "the second big request");
    hf_arena_free(a, p);
    hf_arena_free(a, q);
    for (int i = 0; i < count; i++)
        if (small[i] != NULL) {
            CHECK_EQ(small[i][0], (unsigned char)i);
            hf_arena_free(a, small[i]);
        }
    check_arena(a, "freeing everything");
    hf_arena_destroy(a);
    passed++;
}

int main(void) {
    const hf_arena_config plain = {.seed = 3};
    const hf_arena_config small_step = {
        .seed = 4, .initial_size = 256 << 10, .growth_step = 64 << 10};
    const hf_arena_config brk = {.seed = 5,
                                 .initial_size = 256 << 10,
                                 .growth_step = 64 << 10,
                                 .backing = HF_BACKING_SBRK,
                                 .mmap_threshold = 64 << 20};
    for (size_t p = 0; p < NPOL; p++) {
        for (int i = 0; i < BIG; i++) {
            /* bash's 757,780 first, then sizes 4,093 apart: every page-rounding slack. */
            size_t n = i == 0 ? 757780 : 600000 + (size_t)i * 4093 * 3;
            run(lab_policies[p], &plain, n, "default config");
            if (i % 4 == 0) {
                run(lab_policies[p], &small_step, n, "64 KiB growth");
                run(lab_policies[p], &brk, n, "sbrk backing");
            }
        }
    }
    printf("lab_growth: %d runs passed\n", passed);
    return 0;
}
