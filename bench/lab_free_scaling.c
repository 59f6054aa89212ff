/* lab_free_scaling -- does freeing stay O(1) / O(log regions) per block as a lab heap grows?
 *
 *   bench-lab-free-scaling [MAXN] [POLICY]
 *
 * For N = 100k, 200k, 400k, 800k (up to MAXN, default 800000) and every lab policy (or the one
 * named): a fresh arena with the replay's configuration (64 KiB initial size and growth step, so
 * the region count grows with the heap), N seeded random blocks of 16-512 bytes, then every block
 * freed in a seeded random order. Prints the number of regions' worth of memory (footprint / 64
 * KiB), ns per malloc and ns per free. A free whose region lookup walks a list costs O(regions),
 * which is O(N): ns per free then doubles with N (quadratic total); a flat column means the
 * lookup does not depend on the heap's size. The arena is checked (hf_arena_check) after the
 * frees. Calls the hf_arena_* API directly (links libheapforge). */
#include "lab_common.h"

#include <heapforge.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One run: returns 0, or 1 after a message. */
static int run(hf_policy pol, size_t n, void **blocks) {
    hf_arena_config cfg = {.initial_size = 64 << 10, .growth_step = 64 << 10, .seed = 0x5EED};
    hf_arena *a = hf_arena_create(pol, &cfg);
    if (a == NULL) {
        fprintf(stderr, "lab_free_scaling: cannot create a %s arena\n", hf_policy_name(pol));
        return 1;
    }
    uint64_t rng = 0x9E3779B97F4A7C15ULL ^ n;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        blocks[i] = hf_arena_malloc(a, 16 + xs(&rng) % 497);
        if (blocks[i] == NULL) {
            fprintf(stderr, "lab_free_scaling: %s: malloc %zu of %zu failed\n", hf_policy_name(pol),
                    i, n);
            return 1;
        }
        *(size_t *)blocks[i] = i;
    }
    double t1 = now_s();
    hf_arena_statistics st;
    hf_arena_stats(a, &st);
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates: a random free order */
        size_t j = (size_t)(xs(&rng) % (i + 1));
        void *t = blocks[i];
        blocks[i] = blocks[j];
        blocks[j] = t;
    }
    double t2 = now_s();
    for (size_t i = 0; i < n; i++) hf_arena_free(a, blocks[i]);
    double t3 = now_s();
    const char *why = hf_arena_check(a);
    if (why != NULL) {
        fprintf(stderr, "lab_free_scaling: %s: %s\n", hf_policy_name(pol), why);
        return 1;
    }
    printf("%-11s %8zu %9zu %10.1f %10.1f\n", hf_policy_name(pol), n, st.footprint / (64 << 10),
           (t1 - t0) * 1e9 / (double)n, (t3 - t2) * 1e9 / (double)n);
    fflush(stdout);
    hf_arena_destroy(a);
    return 0;
}

int main(int argc, char **argv) {
    size_t maxn = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 800000;
    hf_policy only = HF_POLICY_FAST;
    if (argc > 2 && hf_policy_from_name(argv[2], &only) != 0) {
        fprintf(stderr, "lab_free_scaling: unknown policy %s\n", argv[2]);
        return 2;
    }
    void **blocks = malloc(maxn * sizeof *blocks);
    if (blocks == NULL) return 1;
    printf("%-11s %8s %9s %10s %10s\n", "policy", "N", "64K units", "ns/malloc", "ns/free");
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        if (only != HF_POLICY_FAST && policies[i] != only) continue;
        for (size_t n = 100000; n <= maxn; n *= 2)
            if (run(policies[i], n, blocks) != 0) return 1;
    }
    free(blocks);
    return 0;
}
