/* lab -- the allocator lab's benchmarks (bench/run.py --lab runs this).
 *
 *   bench-lab trace [OPS]   the same seeded random trace (mixed sizes 16 B - 16 KiB, a working
 *                           set that grows and shrinks) under every lab policy, each on a fresh
 *                           arena: ops/s, peak live bytes, peak footprint, utilization (peak
 *                           live / peak footprint).
 *   bench-lab scaling [S]   best-fit search cost against the number of free blocks: N free
 *                           blocks of sizes S .. S+1008 (kept apart by live blocks so they cannot
 *                           coalesce), then timed malloc/free pairs whose size forces a search;
 *                           ns per pair for N = 10^3 .. 10^6 (the skip list makes it ~log N).
 * Calls the hf_arena_* API directly (links libheapforge). */
#include "lab_common.h"

#include <heapforge.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SLOTS = 20000 };

static int trace(long ops) {
    static void *slot[SLOTS];
    static size_t len[SLOTS];
    printf("%-11s %12s %14s %16s %12s\n", "policy", "Mops/s", "peak live MiB", "peak footprint",
           "utilization");
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        hf_arena *a = hf_arena_create(policies[i], NULL);
        if (a == NULL) return 1;
        memset(slot, 0, sizeof slot);
        size_t live = 0, peak_live = 0; /* requested bytes: the same for every policy */
        uint64_t rng = 0x6c6162;
        double t0 = now_s();
        for (long op = 0; op < ops; op++) {
            /* the working set breathes: the share of slots in use swings between 20% and 80% */
            long phase = (op / (ops / 8 + 1)) & 1;
            unsigned k = (unsigned)(xs(&rng) % SLOTS);
            unsigned want_live = phase ? 80 : 20;
            if (slot[k] != NULL && xs(&rng) % 100 >= want_live) {
                hf_arena_free(a, slot[k]);
                slot[k] = NULL;
                live -= len[k];
            } else if (slot[k] == NULL) {
                unsigned r = (unsigned)(xs(&rng) % 100);
                size_t n = r < 70   ? 16 + xs(&rng) % 240
                           : r < 95 ? 256 + xs(&rng) % 3840
                                    : 4096 + xs(&rng) % 12288;
                slot[k] = hf_arena_malloc(a, n);
                if (slot[k] == NULL) return 1;
                memset(slot[k], (int)k, 16);
                len[k] = n;
                live += n;
                if (live > peak_live) peak_live = live;
            }
        }
        double dt = now_s() - t0;
        const char *why = hf_arena_check(a);
        if (why) {
            fprintf(stderr, "bench-lab: %s: %s\n", hf_policy_name(policies[i]), why);
            return 1;
        }
        hf_arena_statistics st;
        hf_arena_stats(a, &st);
        printf("%-11s %12.2f %14.2f %16.2f %12.3f\n", hf_policy_name(policies[i]),
               (double)ops / dt / 1e6, (double)peak_live / 1048576.0,
               (double)st.peak_footprint / 1048576.0,
               (double)peak_live / (double)st.peak_footprint);
        hf_arena_destroy(a);
    }
    return 0;
}

/* N free blocks of sizes base .. base + 1008 separated by small live blocks. */
static int scaling(size_t base) {
    printf("%-10s %14s %16s\n", "free blocks", "ns per pair", "ns / log2(N)");
    for (long n = 1000; n <= 1000000; n *= 10) {
        hf_arena_config cfg = {.initial_size = (size_t)n * (base + 608), .seed = 42};
        hf_arena *a = hf_arena_create(HF_POLICY_BEST_FIT, &cfg);
        if (a == NULL) return 1;
        void **hole = malloc(sizeof(void *) * (size_t)n);
        if (hole == NULL) return 1;
        for (long i = 0; i < n; i++) {
            hole[i] = hf_arena_malloc(a, base + 16 * (size_t)(i % 64));
            if (hf_arena_malloc(a, 16) == NULL || hole[i] == NULL) return 1; /* separator */
        }
        for (long i = 0; i < n; i++) hf_arena_free(a, hole[i]);
        /* Each pair asks for a size in the middle of the range: a search, a split, a merge. */
        long pairs = 200000;
        uint64_t rng = 7;
        double t0 = now_s();
        for (long i = 0; i < pairs; i++) {
            void *p = hf_arena_malloc(a, base + 16 * (size_t)(xs(&rng) % 64));
            if (p == NULL) return 1;
            hf_arena_free(a, p);
        }
        double ns = (now_s() - t0) * 1e9 / (double)pairs;
        hf_arena_statistics st;
        hf_arena_stats(a, &st);
        double lg = 0;
        for (long m = st.free_blocks; m > 1; m >>= 1) lg += 1;
        printf("%-10zu %14.1f %16.2f\n", st.free_blocks, ns, ns / lg);
        free(hole);
        hf_arena_destroy(a);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "trace") == 0)
        return trace(argc >= 3 ? atol(argv[2]) : 2000000);
    if (argc >= 2 && strcmp(argv[1], "scaling") == 0)
        return scaling(argc >= 3 ? (size_t)atol(argv[2]) : 32);
    fprintf(stderr, "usage: bench-lab trace [OPS] | bench-lab scaling [SMALLEST_SIZE]\n");
    return 2;
}
